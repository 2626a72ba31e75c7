"""The writer side of a session's record: the recorder and its process, record control
(start/stop, auto-record, the store), and recovery of interrupted sessions. No Qt."""
