"""The recorder process: LabRecorder's engine (the ``labrecorder`` package) in a process of
its own, started by :class:`console.recording.recorder.SessionRecorder`.

Why a process: the engine's Python binding keeps the interpreter lock while it opens and
closes streams, and closing waits for every stream, including one whose sensor vanished
before it sent its header. In the console's process that froze the window, and with it the
heartbeats to the headsets. Here it freezes nothing. It also makes recording outlive the
console: if the console is killed, this process sees its stdin close and finishes the file
properly (footers and clock offsets included).

It ignores SIGINT, SIGTERM and SIGHUP: those are for the console, which then stops it
properly; a recorder killed with them would leave the file without its footers.

Protocol on stdio, one line each:
- in: a JSON object ``{"streams": [stream XML...]}``, then
  ``stop`` (or end of input: the console is gone);
- out: JSON objects ``{"event": "started" | "stopped" | "error", ...}``; every other line is
  the engine's own log, which the console routes into the session's ``recorder.log``.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path


def emit(**event: object) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def wait_complete(path: Path, timeout: float) -> bool:
    """The engine finishes writing after stop() returns: wait until the file settles."""
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        size = path.stat().st_size if path.exists() else 0
        if size > 0 and size == last:
            with open(path, "rb") as fh:
                if fh.read(4) == b"XDF:":
                    return True
        last = size
        time.sleep(0.25)
    return False


def main(argv: list[str]) -> int:
    # This process ends by its input ("stop", or the console gone), never by a signal meant for
    # the console: Ctrl+C reaches the terminal's whole process group, and `systemctl stop` or a
    # logout the whole session, while the console is still finishing the file.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    path = Path(argv[0])
    stop_timeout = float(argv[1]) if len(argv) > 1 else 12.0
    opened: list = []

    def open_recording() -> None:
        try:
            request = json.loads(sys.stdin.readline())
            import labrecorder

            # No "watch for" queries: the engine's watcher keeps the interpreter lock while it
            # waits, and then stop() never returns.
            opened.append(labrecorder.Recording(str(path), request["streams"], []))
            opened.append(len(request["streams"]))
        except Exception as exc:  # anything here means no recording: say it in one line
            opened.append(exc)

    faulthandler.dump_traceback_later(3 * stop_timeout, exit=True)  # see below
    opener = threading.Thread(target=open_recording, name="open", daemon=True)
    opener.start()
    opener.join(stop_timeout)
    if not opened or isinstance(opened[0], Exception):
        why = opened[0] if opened else f"a stream did not answer within {stop_timeout:g} s"
        emit(event="error", text=f"the recorder could not start: {why}")
        sys.stdout.flush()
        os._exit(1)
    faulthandler.cancel_dump_traceback_later()
    emit(event="started", streams=opened[1], pid=os.getpid())
    for line in sys.stdin:  # until "stop", or the console's end of the pipe closes
        if line.strip() == "stop":
            break
    done = threading.Event()

    def stop() -> None:
        recording = opened.pop(0)
        recording.stop()
        # The engine's file is flushed and closed only when the object goes away.
        del recording
        done.set()

    # The engine may hold the interpreter lock while it waits; this backstop needs none.
    faulthandler.dump_traceback_later(3 * stop_timeout, exit=True)
    threading.Thread(target=stop, name="stop", daemon=True).start()
    if not done.wait(stop_timeout) or not wait_complete(path, stop_timeout):
        # A stream that went away during the recording (its sensor switched off) keeps the
        # engine waiting for it forever. What it wrote stays readable (chunks are written as
        # they come): leave without the footers.
        emit(
            event="error",
            text=f"the recorder could not close {path.name} within {stop_timeout:g} s (a stream went away "
            "during the recording?); the file is readable without its footers",
        )
        sys.stdout.flush()
        os._exit(3)
    emit(event="stopped", path=str(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
