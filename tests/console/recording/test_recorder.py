"""Recording a session: the demo recorded into a folder, read back with pyxdf."""

from __future__ import annotations

import itertools
import json
import os
import threading
from pathlib import Path

import pytest

pyxdf = pytest.importorskip("pyxdf", reason="pyxdf reads the recordings back (dev dependency)")

from console.recording.journal import RecordingError  # noqa: E402
from console.recording.recorder import SessionRecorder  # noqa: E402
from tests.conftest import wait_until  # noqa: E402


def test_a_recorded_demo_opens_in_pyxdf_with_physiology_stimulus_and_events(recorded_demo):
    folder, result = recorded_demo
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"session recorded to {folder / 'session.xdf'}" in result.stdout
    streams, _header = pyxdf.load_xdf(str(folder / "session.xdf"))
    assert len({s["info"]["uid"][0] for s in streams}) == len(streams), "a stream was recorded twice"
    # Two streams may share a name (two sensors of one model; here, leftovers of earlier
    # tests on this machine): take the one that was live during the session.
    by_name = {}
    for s in sorted(streams, key=lambda s: len(s["time_stamps"])):
        by_name[s["info"]["name"][0]] = s
    for name, rate in (("vrclinic-sim-ECG", 500), ("vrclinic-sim-EDA", 32), ("vrclinic-sim-RESP", 50)):
        stamps = by_name[name]["time_stamps"]
        span = stamps[-1] - stamps[0]
        assert span > 4 and len(stamps) == pytest.approx(span * rate, rel=0.1), name
    stimulus = [json.loads(v[0]) for v in by_name["vrclinic-stimulus"]["time_series"]]
    assert any(s["parameter"] == "distance" and s["applied"] is not None and s["applied"] < 4 for s in stimulus)
    telemetry = [json.loads(v[0]) for v in by_name["vrclinic-telemetry"]["time_series"]]
    assert telemetry and telemetry[-1]["headset"] == "demo-headset" and 0 < telemetry[-1]["battery_pct"] <= 100
    events = [json.loads(v[0])["text"] for v in by_name["vrclinic-events"]["time_series"]]
    assert any(text.startswith("SUDS") for text in events)
    # Everything is on one clock: the events fall inside the physiology's time span.
    ecg = by_name["vrclinic-sim-ECG"]["time_stamps"]
    ev_t = by_name["vrclinic-events"]["time_stamps"]
    assert ecg[0] - 5 < ev_t[0] and ev_t[-1] < ecg[-1] + 5
    log = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    assert any(e["kind"] == "link" and e["text"].startswith("connected") for e in log)
    # The event log was written as the session went (not at the end): it holds the stop too.
    assert any(e["text"] == "recording stopping: closing the file" for e in log)
    manifest = json.loads((folder / "session.json").read_text())
    assert manifest["state"] == "complete" and manifest["session_id"] == folder.name
    assert set(manifest["streams"]) >= {"vrclinic-sim-ECG", "vrclinic-events", "vrclinic-stimulus"}


def test_the_patients_view_is_recorded_at_a_reduced_rate_on_the_sessions_clock(recorded_demo):
    from PIL import Image

    from console.records.recorded import load

    folder, result = recorded_demo
    assert result.returncode == 0, result.stderr[-2000:]
    session = load(folder)
    frames = session.mirror
    manifest = json.loads((folder / "session.json").read_text())
    assert len(frames) == manifest["mirror_frames"] > 0
    # About 2 frames a second while the headset streamed (it starts after connecting).
    times = [f.t for f in frames]
    assert times == sorted(times) and min(b - a for a, b in itertools.pairwise(times)) >= 0.4
    assert len(frames) >= 0.6 * 2.0 * (times[-1] - times[0])
    # Frames are on the recording's clock: from the moment recording starts (the XDF only
    # once its streams are open) to the moment it was stopped (the XDF a little later: the
    # recorder takes seconds to close its streams).
    ecg = session.signal("ECG")
    assert 0 <= times[0] < ecg.t[0] + 1
    assert manifest["ended_clock"] - 1.5 < frames[-1].at <= manifest["ended_clock"]
    with Image.open(frames[-1].path) as image:
        assert image.size == (frames[-1].width, frames[-1].height) and image.format == "JPEG"


def test_an_unwritable_folder_is_refused_with_advice(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RecordingError, match="Cannot write the session folder"):
        SessionRecorder(blocker / "session").start([])


def test_a_full_disk_is_reported_and_the_session_goes_on(tmp_path):
    """/dev/full fails every write with ENOSPC, like a full disk. The journal's thread finds
    out; the control thread hears it in words at its next poll."""
    from console.recording.journal import EventJournal
    from console.recording.recorder import SessionRecording
    from console.session.model import SessionModel

    model = SessionModel(link=None)  # no headsets needed: the log is what is written
    rec = SessionRecording(model, tmp_path / "s", outlets=None, streams=list, mirror_fps=0)
    rec.journal = EventJournal(Path("/dev/full"), model.started_at, on_error=rec._journal_failed)
    model.logged.connect(rec._logged)
    model.note("marker", "", "patient said the spider looks less scary")
    model.note("marker", "", "second note")
    errors: list[str] = []
    wait_until(lambda: errors.extend(t for k, t in rec.poll() if k == "error") or errors, what="the error")
    assert [e.text for e in model.log][-1] == "second note"  # the live log carries on
    with pytest.raises(OSError):
        rec.journal.close(timeout=10)
    errors += [t for k, t in rec.poll() if k == "error"]
    assert len(errors) == 1 and "No space left on device" in errors[0] and "the session goes on" in errors[0]


def test_logging_an_event_never_waits_for_the_event_log_file(tmp_path):
    """The event log's file is where writes block (a FIFO nobody reads yet, like a hung
    network drive): the control thread's calls return at once while the file waits, and
    what reaches the file once it is read is the whole log, its keyed chain intact."""
    from console.recording.journal import EventJournal
    from console.records import recorded
    from console.session.model import SessionModel

    fifo = tmp_path / "blocked"
    os.mkfifo(fifo)
    model = SessionModel(link=None)
    made: list[EventJournal] = []
    returned = threading.Event()

    def control_thread() -> None:
        journal = EventJournal(fifo, model.started_at)
        made.append(journal)
        model.logged.connect(journal.write)
        for n in range(200):  # about 100 kB: more than a pipe holds
            model.note("marker", "", f"mark {n} " + "x" * 400)
        journal.stop()
        returned.set()

    threading.Thread(target=control_thread, name="test-control", daemon=True).start()
    if not returned.wait(10):
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # lets the stuck open go on
        pytest.fail("the control thread waited for the event log's file")
    (journal,) = made
    assert not journal.is_open  # the write is still waiting, in the journal's thread
    with open(fifo, "rb") as reader:  # now the file takes the lines
        written = reader.read()
    journal.close(timeout=10)
    (tmp_path / "read").mkdir()
    (tmp_path / "read" / recorded.EVENTS).write_bytes(written)
    rows, damaged, check = recorded.read_event_log(tmp_path / "read" / recorded.EVENTS)
    key = recorded.audit_key()
    assert check.text() == f"200 entries, intact (keyed, key {key.id})" and damaged == 0
    assert [r["text"] for r in rows] == [e.text for e in model.log]


def test_an_unwritable_sessions_folder_is_said_in_words_after_start_returns(tmp_path):
    """Checking the folder waits for the disk: it happens in the recording's thread, and
    the controller's poll says what is wrong and ends the recording."""
    from console.recording.control import RecordingController
    from console.session.model import SessionModel

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    model = SessionModel(link=None)
    controller = RecordingController(model, tmp_path / "home", None, list, settle_s=0.5)
    controller.settings.sessions_dir = str(blocker)
    try:
        controller.start()
        assert controller.recording  # start returned before the disk was asked

        def said() -> bool:
            controller.poll()
            return not controller.recording

        wait_until(said, timeout=10, what="the recording to end")
        (error,) = [e.text for e in model.log if e.kind == "error"]
        assert error.startswith("recording: Cannot write the session folder") and "Choose a folder" in error
        assert not controller.finishing  # nothing to finish or import
    finally:
        controller.close()


def test_settings_survive_a_restart_and_a_broken_file(tmp_path):
    from console.recording.recorder import RecordingSettings

    path = tmp_path / "settings.json"
    RecordingSettings(auto_record=True, mirror_fps=1.0).save(path)
    assert RecordingSettings.load(path) == RecordingSettings(auto_record=True, mirror_fps=1.0)
    path.write_text("{ not json")
    assert RecordingSettings.load(path) == RecordingSettings()


@pytest.mark.slow
def test_every_sample_and_timestamp_pushed_comes_back_exactly(tmp_path):
    """60 s of 64 channels at 1 kHz plus ECG, PPG, EDA, respiration and markers, pushed as
    fast as LSL takes them through real outlets, recorded, and read back with pyxdf: every
    value (counters) and every stored timestamp. The same method as `make bench`."""
    from tests.bench import bench_record

    result = bench_record.record_once(0, tmp_path)
    streams = result["streams"]
    assert {s.spec.kind for s in streams} >= {"EEG", "ECG", "EDA", "Markers"}
    assert sum(s.count for s in streams) > 90_000
    assert result["lost"] == 0, result["detail"]


def test_the_event_log_is_hash_chained_so_an_entry_changed_afterwards_shows(tmp_path):
    """Append-only and tamper-evident: an entry edited or removed after the session breaks
    the chain, and the review and the report say so; a crash's cut-off last line does not."""
    from console.recording.journal import EventJournal
    from console.records import recorded
    from console.session.model import SessionModel

    model = SessionModel(link=None)
    log = tmp_path / recorded.EVENTS
    journal = EventJournal(log, model.started_at)
    model.logged.connect(journal.write)
    for n in range(5):
        model.note("decision", "", f"suggestion #{n} dismissed", {"suggestion": n, "response": "dismissed"})
    journal.close()
    again = EventJournal(log, model.started_at)  # appending later goes on with the same chain
    model.logged.disconnect(journal.write)
    model.logged.connect(again.write)
    model.note("marker", "", "after a restart")
    again.close()
    assert recorded.verify_chain(log).text() == f"6 entries, intact (keyed, key {recorded.audit_key().id})"
    assert recorded.load(tmp_path).problems == ["no session.xdf: only the event log is available"]

    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / recorded.EVENTS).write_text("".join(lines) + lines[0][:20], encoding="utf-8")  # a crash mid-line
    assert recorded.verify_chain(cut / recorded.EVENTS).broken_at is None

    lines[2] = lines[2].replace("dismissed", "accepted")
    log.write_text("".join(lines), encoding="utf-8")
    s = recorded.load(tmp_path)
    assert s.log_check.broken_at == 3 and s.log_check.altered_at == 3
    assert (
        f"the event log: ALTERED at row 3 of events.jsonl: its keyed link (key {recorded.audit_key().id}) does not "
        "match: changed, added or removed after recording"
    ) in s.problems
    del lines[2]
    log.write_text("".join(lines), encoding="utf-8")
    assert recorded.verify_chain(log).broken_at == 3  # a line removed breaks it too


def test_a_recording_starts_with_the_known_streams_and_without_a_vanished_one():
    """Resolving every stream waited 2 s for late answers at each start of a recording (and of
    each part after a full disk); the recorder now asks for the known streams by name."""
    import uuid

    import pylsl

    from console.recording.recorder import resolve_now

    tag = uuid.uuid4().hex[:8]

    def outlet(name: str) -> pylsl.StreamOutlet:
        return pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0, "string", f"{name}-{uuid.uuid4().hex}"))

    ecg, events = outlet(f"known-ECG-{tag}"), outlet(f"known-events-{tag}")
    unknown = outlet(f"unknown-{tag}")
    vanished = pylsl.StreamInfo(f"vanished-{tag}", "EEG", 8, 250, "float32", f"gone-{tag}")  # nobody sends it
    known = [ecg.get_info(), events.get_info()]
    found = {info.uid() for info in resolve_now(known)}
    assert {ecg.get_info().uid(), events.get_info().uid()} <= found
    assert unknown.get_info().uid() not in found
    # One known stream gone: the others are still recorded (after the whole wait).
    got = resolve_now([*known, vanished], wait_s=1.0)
    assert {ecg.get_info().uid(), events.get_info().uid()} <= {info.uid() for info in got}
    assert vanished.name() not in {info.name() for info in got}
    # A name no XPath literal holds: everything is asked for, the known streams among it.
    odd = outlet(f"""it's "odd" {tag}""")
    found = {info.uid() for info in resolve_now([odd.get_info(), ecg.get_info()], wait_s=1.0)}
    assert {odd.get_info().uid(), ecg.get_info().uid(), unknown.get_info().uid()} <= found
