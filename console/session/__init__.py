"""The live session: the model of headsets, stimulus, ratings and the event log, and the
clinical workflow on top of it (clinic/). No Qt."""
