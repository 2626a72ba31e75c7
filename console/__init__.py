"""The vrclinic console: the therapist's side of a VR exposure session.

Rooms: ``core`` (shared, no Qt), ``session`` (the live model and clinical workflow),
``physio`` (LSL and metrics), ``recording`` (writing a session), ``records`` (reading it
back: store, review, export, report), ``qt`` (every widget), ``apps`` (entry points)."""
