"""A short real recording for the tests that damage one: a few seconds of ECG (500 Hz) and EDA
(32 Hz) from real LSL outlets, the session's own marker streams and an event log, recorded by
:class:`~console.recording.recorder.SessionRecording` (LabRecorder's engine in its process)
as the console records. Made once per test process (about 10 s) and copied by each test."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from tests.conftest import wait_until
from tests.console.physio.lsl_helpers import Pusher, resolve

RECORD_S = 5.0
ECG_HZ, EDA_HZ = 500.0, 32.0
_made: dict[str, Path] = {}
_lock = threading.Lock()


def _record(folder: Path) -> None:
    from console.recording.recorder import SessionOutlets, SessionRecording
    from console.session.model import SessionModel

    tag = uuid.uuid4().hex[:8]
    ecg = Pusher(f"short-ECG-{tag}", "ECG", ECG_HZ, signal=lambda t: (np.sin(2 * np.pi * 1.2 * t) ** 20)[:, None])
    eda = Pusher(f"short-EDA-{tag}", "EDA", EDA_HZ, unit="uS", signal=lambda t: (2 + 0.1 * np.sin(t))[:, None])
    model = SessionModel(link=None)
    outlets = SessionOutlets(model, prefix=f"short-{tag}")
    rec = SessionRecording(
        model,
        folder,
        outlets,
        # By name: at once (a full resolve waits); generous for a loaded machine.
        lambda: [resolve(ecg.name, timeout=20.0), resolve(eda.name, timeout=20.0)],
        patient="P-007",
        mirror_fps=0,
        expect=(ecg.name, eda.name),
    )
    said: list[tuple[str, str]] = []
    try:
        rec.begin()
        wait_until(lambda: said.extend(rec.poll()) or rec.recorder.recording, timeout=30, what="the recorder")
        wait_until(lambda: said.extend(rec.poll()) or any(t.startswith("recording ") for _, t in said), 10)
        until = time.monotonic() + RECORD_S
        n = 0
        while time.monotonic() < until:
            n += 1
            model.note("marker", "", f"mark {n}")
            said.extend(rec.poll())
            time.sleep(0.5)
        rec.end()
        wait_until(lambda: said.extend(rec.poll()) or rec.finished.is_set(), timeout=30, what="the recording to end")
        said.extend(rec.poll())
    finally:
        ecg.close()
        eda.close()
    errors = [t for k, t in said if k == "error"]
    assert not errors, errors


def short_recording(into: Path) -> Path:
    """A copy of this process's short recording in ``into`` (a new folder); returns it."""
    with _lock:
        if "folder" not in _made:
            folder = Path(tempfile.mkdtemp(prefix="vrclinic-short-")) / "session"
            _record(folder)
            _made["folder"] = folder
    shutil.copytree(_made["folder"], into)
    return into


def cut_in_half(folder: Path) -> int:
    """``session.xdf`` cut at half its size, as a disk that lost its end; returns the new size."""
    xdf = folder / "session.xdf"
    size = xdf.stat().st_size // 2
    with open(xdf, "r+b") as fh:
        fh.truncate(size)
    return size


def garbage_in_the_middle(folder: Path, length: int = 4096, seed: int = 12) -> int:
    """``length`` random bytes written over the middle of ``session.xdf``; returns where."""
    xdf = folder / "session.xdf"
    at = xdf.stat().st_size // 2 - length // 2
    with open(xdf, "r+b") as fh:
        fh.seek(at)
        fh.write(np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes())
    return at
