"""Sessions whose console stopped without closing the recording (killed, crashed, power
lost), and their recovery. No Qt.

A recording in progress has ``"state": "recording"`` in its ``session.json`` together with
the console's process id and host. If that process no longer runs, the session was
interrupted. What it holds is still good: LabRecorder writes its chunks as they come (a
killed console loses well under a second), and the event log is flushed line by line.
Recovering reads the files back with the field's own reader (pyxdf) to show what survived,
and marks the session as recovered, without rewriting any recorded byte.

Threads: neither runs in the control (GUI) thread, whose timer sends the heartbeats.
:func:`find_interrupted` reads a few small files per folder (a sessions folder on a slow
or network disk can still take seconds) and runs in the session store's thread, in order
with its writes (see :meth:`console.recording.control.RecordingController.interrupted`);
:func:`recover` reads the whole recording and runs in a worker thread of its own.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from console.core.clock import clock_text
from console.recording.journal import wall_now, write_manifest
from console.records import recorded


@dataclass
class Interrupted:
    folder: Path
    session_id: str
    patient: str
    started_wall: str
    xdf_mb: float

    def describe(self) -> str:
        who = f"patient {self.patient}, " if self.patient else ""
        when = self.started_wall.replace("T", " ")[:16] or "unknown time"
        return f"{self.session_id} ({who}started {when}, {self.xdf_mb:.1f} MB recorded)"


@dataclass
class Recovered:
    folder: Path
    ok: bool
    text: str  # what survived, in words


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a running vrclinic console (a reused pid of another program is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and not ours to judge
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid
    return b"vrclinic" in cmdline or b"-m\x00console\x00" in cmdline  # `vrclinic ...` or `python -m console ...`


def find_interrupted(folders: Iterable[Path]) -> list[Interrupted]:
    """The session folders among ``folders`` (and their sub-folders one level down) whose
    recording was never closed and whose console is gone. Not the control thread."""
    seen: set[Path] = set()
    found = []
    for folder in folders:
        folder = Path(folder)
        candidates = [folder] + (sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else [])
        for candidate in candidates:
            manifest = recorded.read_manifest(candidate)
            key = candidate.resolve()
            if manifest.get("state") != "recording" or key in seen:
                continue
            seen.add(key)
            if manifest.get("host") not in (None, socket.gethostname()):
                continue  # another computer's session (a shared folder): that console decides
            pid = manifest.get("pid")
            if isinstance(pid, int) and process_alive(pid):
                continue
            xdf = candidate / recorded.XDF
            found.append(
                Interrupted(
                    folder=candidate,
                    session_id=str(manifest.get("session_id") or candidate.name),
                    patient=str(manifest.get("patient") or ""),
                    started_wall=str(manifest.get("started_wall") or ""),
                    xdf_mb=xdf.stat().st_size / 1e6 if xdf.exists() else 0.0,
                )
            )
    return found


def recover(folder: Path) -> Recovered:
    """Worker thread. Read what survived and mark the session recovered (the manifest only)."""
    folder = Path(folder)
    manifest = recorded.read_manifest(folder)
    kept = manifest.get("problems")
    problems = [p for p in kept if isinstance(p, str)] if isinstance(kept, list) else []
    try:
        session = recorded.load(folder)
    except recorded.SessionFileError as exc:
        session = None
        problems.append(f"interrupted; the recording could not be read back: {exc}")
        text = f"{folder.name}: the recording could not be read ({exc}). The files are kept as they are."
    else:
        samples = sum(n for _, _, n in session.streams)
        last = session.start + session.duration
        problems.append(
            f"interrupted at session time {clock_text(session.duration)}: the console stopped without "
            f"closing the recording; recovered {wall_now()[:16].replace('T', ' ')}"
        )
        manifest.setdefault("ended_clock", last)
        manifest["duration_s"] = round(session.duration, 3)
        text = (
            f"{folder.name}: {clock_text(session.duration)} recorded, {len(session.streams)} streams, "
            f"{samples:,} samples, {len(session.events)} events, {len(session.ratings)} ratings"
            + (f", {len(session.mirror)} mirror frames" if session.mirror else "")
            + " — readable with pyxdf."
        )
        if session.completeness is not None and session.completeness.problems:
            text += f" Missing: {session.completeness.summary()}."
    manifest.update(state="recovered", recovered_wall=wall_now(), problems=problems)
    manifest.setdefault("ended_wall", None)
    write_manifest(folder, manifest)
    return Recovered(folder, session is not None, text)
