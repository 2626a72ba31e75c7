"""Recording a session: the demo recorded into a folder, read back with pyxdf."""

from __future__ import annotations

import json

import pytest

pyxdf = pytest.importorskip("pyxdf", reason="pyxdf reads the recordings back (dev dependency)")

from console.recording import RecordingError, SessionRecorder  # noqa: E402


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
    events = [json.loads(v[0])["text"] for v in by_name["vrclinic-events"]["time_series"]]
    assert any(text.startswith("SUDS") for text in events)
    # Everything is on one clock: the events fall inside the physiology's time span.
    ecg = by_name["vrclinic-sim-ECG"]["time_stamps"]
    ev_t = by_name["vrclinic-events"]["time_stamps"]
    assert ecg[0] - 5 < ev_t[0] and ev_t[-1] < ecg[-1] + 5
    log = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    assert log[0]["text"].startswith("connected")


def test_an_unwritable_folder_is_refused_with_advice(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RecordingError, match="Cannot write the session folder"):
        SessionRecorder(blocker / "session").start([])
