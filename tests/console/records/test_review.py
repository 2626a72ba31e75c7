"""The review model on a real recorded demo session: what the window shows at a cursor time
is what the recording says was true then. No Qt."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from console.records.recorded import RecordedSession, load
from console.records.review import SPEEDS, ReviewModel, ago_text, mmss

pytest.importorskip("pyxdf")


@pytest.fixture(scope="module")
def session(recorded_demo) -> RecordedSession:
    folder, result = recorded_demo
    assert result.returncode == 0, result.stderr[-2000:]
    return load(folder)


@pytest.fixture
def model(session) -> ReviewModel:
    return ReviewModel(session)


def synthetic(events: list[tuple[float, str]], duration: float = 60.0) -> ReviewModel:
    """A session made by hand, for the rules that the demo's timing cannot pin down."""
    s = RecordedSession(Path("/nonexistent"), start=100.0, end=100.0 + duration)
    s.events = [{"t": t, "at": 100.0 + t, "kind": kind, "headset": "h", "text": kind} for t, kind in events]
    return ReviewModel(s)


def test_seeking_to_a_suds_rating_shows_it_as_the_latest(model, session):
    suds = [r for r in session.ratings if r["kind"] == "suds"]
    assert len(suds) >= 2, "the demo asks SUDS twice"
    model.seek(suds[0]["t"] - 0.05)
    assert "suds" not in model.snapshot().ratings, "nothing rated before the first answer"
    for r in suds:
        model.seek(r["t"])
        latest = model.snapshot().ratings["suds"]
        assert (latest.value, latest.ago_s) == (r["value"], pytest.approx(0.0, abs=1e-9))
    model.seek(suds[-1]["t"] + 3.0)
    latest = model.snapshot().ratings["suds"]
    assert latest.value == suds[-1]["value"] and latest.ago_s == pytest.approx(3.0)
    assert ago_text(latest.ago_s) == "3 s ago"


def test_stimulus_values_at_the_cursor_are_the_recordings(model, session):
    times = [float(t) for t in np.linspace(0, model.duration, 97)]
    times += [float(t) + d for points in session.stimulus.values() for t, _ in points for d in (-1e-3, 0.0)]
    for t in times:
        model.seek(t)
        assert model.snapshot().stimulus == session.stimulus_at(model.t)


def test_stimulus_values_change_where_the_recording_changed():
    m = synthetic([])
    m.session.stimulus = {"distance (m)": [(2.0, 4.0), (10.0, 2.5)], "count": [(5.0, 1.0)]}
    m = ReviewModel(m.session)
    m.seek(1.0)
    assert m.snapshot().stimulus == {}
    m.seek(9.99)
    assert m.snapshot().stimulus == {"distance (m)": 4.0, "count": 1.0}
    m.seek(10.0)
    assert m.snapshot().stimulus == {"distance (m)": 2.5, "count": 1.0} == m.session.stimulus_at(10.0)


def test_next_and_previous_event_land_on_event_times(model, session):
    times = sorted({e["t"] for e in session.events if 0 <= e["t"] <= model.duration})
    visited = []
    while model.next_event():
        visited.append(model.t)
    assert visited == pytest.approx([t for t in times if t > 1e-6]), "from 0:00 to each later event in turn"
    assert model.snapshot().event_index == len(model.events) - 1
    model.seek(model.duration)
    back = []
    while model.previous_event():
        back.append(model.t)
    # From a cursor on an event, "previous" is the one before it (the last event may end the session).
    assert back == pytest.approx([t for t in times if t < model.duration - 1e-6][::-1])

    markers = [e["t"] for e in session.events if e["kind"] == "marker"]
    assert len(markers) >= 2, "the demo marks 'scene loaded' and 'patient looked away'"
    model.seek(0)
    # (A demo recorded on a loaded machine may hold a safety event, a watchdog's, before them.)
    first = min(e["t"] for e in session.events if e["kind"] in ("marker", "safety") and e["t"] > 1e-6)
    assert model.next_event(kinds=("marker", "safety")) and model.t == pytest.approx(first)
    model.seek(0)
    assert model.next_event(kinds=("marker",)) and model.t == pytest.approx(markers[0])
    assert model.events[model.snapshot().event_index]["kind"] == "marker"
    assert model.next_event(kinds=("marker",)) and model.t == pytest.approx(markers[1])
    answers = [e["t"] for e in session.events if e["kind"] == "answer"]
    model.seek(model.duration)
    assert model.previous_event(kinds=("rating",)) and model.t == pytest.approx(answers[-1])
    model.seek(model.duration)
    assert not model.next_event(), "nothing after the end: the cursor stays"
    assert model.t == model.duration


def test_playback_at_4x_moves_4_s_per_wall_second_and_stops_at_the_end(model):
    model.set_speed(4.0)
    model.play()
    model.advance(1.0)
    assert model.t == pytest.approx(4.0) and model.playing
    model.advance(0.25)
    assert model.t == pytest.approx(5.0)
    model.advance(3600.0)
    assert (model.t, model.playing) == (model.duration, False)
    model.advance(1.0)
    assert model.t == model.duration, "a paused model does not move"
    model.play()
    assert (model.t, model.playing) == (0.0, True), "play at the end starts from the beginning"
    with pytest.raises(ValueError):
        model.set_speed(3.0)
    assert SPEEDS == (1.0, 2.0, 4.0, 8.0)


def test_the_cursor_is_held_within_the_session(model):
    model.seek(-5)
    assert model.t == 0.0
    model.step(-1)
    assert model.t == 0.0
    model.seek(model.duration + 100)
    assert model.t == model.duration
    model.step(10)
    assert model.t == model.duration
    assert model.snapshot().time_text == f"{mmss(model.duration)} / {mmss(model.duration)}"
    model.seek(0)
    assert re.fullmatch(r"00:00 / 00:[1-5]\d", model.snapshot().time_text)  # a 20-odd second demo


def test_signal_values_at_the_cursor_are_the_last_sample_and_none_outside_the_stream(model):
    kinds = {s.kind.upper() for s in model.signals}
    assert {"ECG", "PPG", "EDA", "RESP"} <= kinds, f"the demo recorded {kinds}; problems: {model.session.problems}"
    assert "SIMPATIENT" not in kinds, "the simulation's own state is no physiology"
    eda_index = next(i for i, s in enumerate(model.signals) if s.kind == "EDA" and len(s.t) > 100)
    eda = model.signals[eda_index]
    t = float(eda.t[len(eda.t) // 2]) + 0.001
    model.seek(t)
    value = model.snapshot().signals[eda_index]
    assert value.units == ["µS"] and value.values == [float(eda.data[len(eda.t) // 2, 0])]
    model.seek(float(eda.t[0]) - 1.0)
    assert model.snapshot().signals[eda_index].values is None, "before the sensor started"


def test_changes_are_announced_once_per_change(model):
    seen = []
    model.changed.connect(lambda: seen.append(model.t))
    model.seek(3.0)
    model.seek(3.0)  # no change, no announcement
    model.step(1.0)
    model.play()
    model.advance(0.5)
    model.pause()
    assert seen == [3.0, 4.0, 4.0, 4.5, 4.5]


def test_recent_events_are_those_of_the_last_seconds_up_to_the_cursor():
    m = synthetic([(1.0, "control"), (5.0, "marker"), (14.0, "safety"), (20.0, "answer")])
    m.seek(14.5)
    snap = m.snapshot()
    assert [e["t"] for e in snap.recent_events] == [5.0, 14.0]
    m.seek(15.5)
    assert [e["t"] for e in m.snapshot().recent_events] == [14.0]
    assert snap.event_index == 2
    m.seek(0.5)
    assert m.snapshot().event_index == -1 and m.snapshot().recent_events == []


def test_previous_event_while_playing_goes_past_an_event_just_passed():
    m = synthetic([(10.0, "marker"), (20.0, "marker")])
    m.seek(20.05)
    assert m.previous_event() and m.t == 20.0, "paused: the event just before"
    m.seek(20.05)
    m.play()
    assert m.previous_event() and m.t == 10.0, "playing: a second press would otherwise land on 20 again"
