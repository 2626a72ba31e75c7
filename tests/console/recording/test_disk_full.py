"""Recording onto a disk that fills up: a real tmpfs of a few MB, filled by another file while
LabRecorder writes, then freed. The console says it once and then its changes, goes on in a
new XDF part when space is back, and the end message, session.json, the readers and the store
say what was recorded, never more."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from tests.conftest import wait_until
from tests.console.physio.lsl_helpers import Pusher, resolve

pytestmark = pytest.mark.slow  # a real recording of some seconds


@pytest.fixture
def small_disk(tmp_path) -> Path:
    """A tmpfs of 24 MB of its own, mounted for this test (root on Linux; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(
            f"a full disk is simulated with a small tmpfs, which needs root and mount(8): {done.stderr.strip()}"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk: Path, leave_mb: float) -> Path:
    """Another file takes the disk's space up to ``leave_mb`` MB left (0: every byte)."""
    filler = disk / f"filler-{uuid.uuid4().hex[:6]}"
    block = b"\0" * (1 << 16)
    with open(filler, "wb") as fh:
        while True:
            free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
            if free <= leave_mb * 1e6:
                break
            try:
                fh.write(block[: int(max(4096, min(len(block), free - leave_mb * 1e6)))])
                fh.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
    return filler


def test_a_disk_that_fills_up_is_said_once_and_recording_goes_on_when_space_is_back(small_disk):
    from console.core.clock import clock_text
    from console.recording.recorder import SessionOutlets, SessionRecording
    from console.records import completeness
    from console.records.recorded import load
    from console.records.store import SessionStore
    from console.session.model import SessionModel

    tag = uuid.uuid4().hex[:8]
    ecg = Pusher(f"disk-ECG-{tag}", "ECG", 500.0, signal=lambda t: np.sin(t)[:, None])
    # 32 channels at 1 kHz: far more than a memory page between two looks at the disk, so a disk
    # filled to its last byte cuts the part being written (tmpfs hands out whole pages).
    eeg = Pusher(f"disk-EEG-{tag}", "EEG", 1000.0, channels=32)
    model = SessionModel(link=None)
    outlets = SessionOutlets(model, prefix=f"disk-{tag}")

    def streams() -> list:
        # Generous: on a loaded machine a resolve took over 5 s, failing the recorder's thread.
        return [resolve(ecg.name, timeout=20.0), resolve(eeg.name, timeout=20.0)]

    rec = SessionRecording(model, small_disk / "session", outlets, streams, mirror_fps=0)
    rec.expect = (ecg.name, eeg.name)
    rec.CHECK_EVERY_S = 0.5
    rec.full_mb, rec.resume_mb, rec.low_mb = 4.0, 8.0, 6.0
    said: list[tuple[str, str]] = []

    def poll() -> list[tuple[str, str]]:
        said.extend(rec.poll())
        return said

    def saying(text: str) -> list[str]:
        return [t for _, t in poll() if text in t]

    marks = iter(range(1, 1000))

    def mark_while(seconds: float) -> None:
        """The therapist's markers every half second: the event log is written meanwhile."""
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            model.note("marker", "", f"mark {next(marks)}")
            poll()
            time.sleep(0.5)

    fillers = []
    try:
        rec.begin()
        wait_until(lambda: saying("recording "), timeout=30, what="the recorder")
        mark_while(2.0)
        fillers.append(fill(small_disk, 2.0))  # under the 4 MB mark: the part is closed, its footers fit
        wait_until(lambda: saying("is full"), timeout=10, what="the full disk said")
        mark_while(2.5)  # five more looks at the full disk: nothing more is said
        assert len(saying("is full")) == 1 and not saying("space is back")
        assert rec.state_text == "paused: the disk is full"  # what the recording bar shows meanwhile
        fillers.pop().unlink()
        wait_until(lambda: saying("disk space is back"), timeout=20, what="recording to go on")
        mark_while(2.0)
        fillers.append(fill(small_disk, 0.0))  # every byte, between two looks: the engine's writes fail
        wait_until(lambda: len(saying("is full")) == 2, timeout=10, what="the full disk said again")
        mark_while(1.5)
        fillers.pop().unlink()
        wait_until(lambda: len(saying("disk space is back")) == 2, timeout=20, what="recording to go on again")
        mark_while(2.0)
        rec.end()
        wait_until(lambda: poll() and rec.finished.is_set(), timeout=40, what="the recording to end")
        poll()
    finally:
        for filler in fillers:
            with contextlib.suppress(OSError):
                filler.unlink()
        ecg.close()
        eeg.close()
    folder = small_disk / "session"
    texts = [t for _, t in said]
    # Said once each time it happened, and when it changed back; never at every look.
    assert len(saying("is full")) == 2 and len(saying("disk space is back")) == 2, texts

    manifest = json.loads((folder / "session.json").read_text())
    assert manifest["state"] == "incomplete"
    assert [p["file"] for p in manifest["parts"]] == ["session.xdf", "session.part2.xdf", "session.part3.xdf"]
    gaps = manifest["gaps"]
    assert len(gaps) == 2 and all(g["to_clock"] > g["from_clock"] for g in gaps)
    scans = [completeness.scan_file(path) for path in completeness.xdf_parts(folder)]
    # session.json says which parts got their footers, as the files show; the second was cut by
    # the disk filled to its last byte.
    closed = [scan.whole and scan.headers == scan.footers for scan in scans]
    assert [p["closed"] for p in manifest["parts"]] == closed == [True, False, True], scans
    for path in (folder / "session.xdf", folder / "session.part3.xdf"):  # each a whole XDF of its own
        streams, _ = pyxdf.load_xdf(str(path), dejitter_timestamps=False)
        assert streams and all("footer" in stream for stream in streams)

    # The end message and session.json say what the files hold, never more.
    held = sum(scan.span_s for scan in scans)
    assert manifest["recorded_s"] == pytest.approx(held, abs=0.01)
    ran = manifest["ended_clock"] - manifest["recording_started_clock"]
    assert held < ran - sum(g["to_clock"] - g["from_clock"] for g in gaps) + 0.5
    (ended,) = [t for t in texts if t.startswith("session recorded to")]
    names = "session.xdf, session.part2.xdf, session.part3.xdf"
    assert f"incompletely: the XDF files ({names}) hold {clock_text(held)}" in ended
    assert ended.count("(the disk was full)") == 2

    # The readers join the parts and say where nothing was recorded.
    s = load(folder)
    ecg_t = s.start + s.signal("ECG").t
    for gap in gaps:  # samples before and after each gap, none inside
        assert (ecg_t < gap["from_clock"]).any() and (ecg_t > gap["to_clock"]).any()
        assert not ((ecg_t > gap["from_clock"] + 0.5) & (ecg_t < gap["to_clock"] - 0.5)).any()
    assert sum("nothing recorded from" in p and "the disk was full" in p for p in s.problems) == 2
    assert any(p.startswith("session.part2.xdf was not closed: none of its streams has a footer") for p in s.problems)
    # When the event log's file failed on the full disk (said once: whether its last lines still
    # fit in the disk's last page is a matter of timing), the markers after it come from the
    # recording's events stream, and the readers say so.
    failed = len(saying("the event log can no longer be written"))
    taken = any("later entries were taken from the recording's events stream" in p for p in s.problems)
    assert failed <= 1 and taken == bool(failed), (texts, s.problems)
    marked = [int(e["text"].split()[1]) for e in s.events if e["kind"] == "marker"]
    last = next(marks) - 1
    assert marked[-1] == last and len(marked) >= last - 8, marked  # those said while nothing recorded are gone

    # The export copies every part, checked, and its tables hold the samples of all of them.
    from console.records.export import export

    out = small_disk.parent / "export"
    export(folder, out)
    sums = (out / "xdf" / "SHA256SUMS").read_text()
    assert all(f"  {name}\n" in sums for name in ("session.xdf", "session.part2.xdf", "session.part3.xdf"))
    index = (out / "streams.csv").read_text()
    assert f",{len(s.signal('ECG').t)}," in index
    readme = (out / "README.txt").read_text()
    assert "None found" not in readme and "nothing recorded from" in readme

    # The store lists what was recorded: interrupted, with the seconds held.
    with SessionStore(small_disk / "store.sqlite3") as store:
        store.import_session_folder(folder)
        (row,) = store.sessions()
    assert row.state == "interrupted" and row.duration_s == pytest.approx(held, abs=0.01)
    assert row.summary["incomplete"]["recorded_s"] == manifest["recorded_s"]
