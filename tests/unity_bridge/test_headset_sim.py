"""The simulated headset as the console sees it, over the real link: scenes, ramps,
applied values, errors, make safe, pause/resume, prompts, telemetry and the mirror."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from protocol import messages
from protocol.link import HeadsetJoined, MessageReceived, MirrorFrameReady


@pytest.fixture
def headset(link, events, beater, sims):
    sim = sims(link, "sim-a")
    events.wait(lambda e: isinstance(e, HeadsetJoined), timeout=10)
    status(events, "running")
    return sim


def received(events, kind, predicate=lambda m: True, timeout=5.0):
    return events.wait(
        lambda e: isinstance(e, MessageReceived) and isinstance(e.message, kind) and predicate(e.message),
        timeout=timeout,
        what=kind.__name__,
    ).message


def status(events, state, timeout=5.0):
    return received(events, messages.SceneStatus, lambda m: m.state == state, timeout)


def applied_after(events, start_index, name):
    events.pump()
    return [
        e.message
        for e in events.seen[start_index:]
        if isinstance(e, MessageReceived)
        and isinstance(e.message, messages.ParameterApplied)
        and e.message.name == name
    ]


def test_catalogue_declares_scenes_with_parameter_ranges(link, events, headset):
    catalogue = received(events, messages.SceneCatalogue)
    scenes = {s.id: s for s in catalogue.scenes}
    assert {"spiders", "heights"} <= set(scenes)
    assert sum(s.calm for s in catalogue.scenes) == 1
    spiders = {p.name: p for p in scenes["spiders"].parameters}
    assert {"distance", "size", "count", "movement"} <= set(spiders)
    assert spiders["distance"].unit == "m" and spiders["distance"].min < spiders["distance"].max
    assert not spiders["distance"].intensity_increases


def test_a_ramp_moves_smoothly_and_ends_on_target(link, events, headset):
    events.mark()
    start = len(events.seen)
    msg_id = link.send("sim-a", messages.SetParameter(name="distance", value=1.0, ramp_s=1.0))
    final = received(events, messages.ParameterApplied, lambda m: not m.ramping and m.name == "distance")
    values = applied_after(events, start, "distance")
    assert values[0].ref_id == msg_id and values[0].ramping and values[0].target == 1.0
    assert final.value == 1.0
    progress = [m.value for m in values]
    assert progress == sorted(progress, reverse=True), "a ramp towards 1 m never moves away"
    assert 5 <= len(values) <= 14  # about 10 reports a second, not a flood


def test_invalid_requests_are_refused_with_the_reason(link, events, headset):
    bad = link.send("sim-a", messages.SetParameter(name="distance", value=50.0))
    error = received(events, messages.Error, lambda m: m.ref_id == bad)
    assert error.code == "out_of_range" and "distance" in error.text and "5" in error.text
    bad = link.send("sim-a", messages.SetParameter(name="floor", value=3.0))
    assert received(events, messages.Error, lambda m: m.ref_id == bad).code == "unknown_parameter"
    bad = link.send("sim-a", messages.LoadScene(scene_id="dentist"))
    assert received(events, messages.Error, lambda m: m.ref_id == bad).code == "unknown_scene"


def test_load_scene_reports_loading_then_running_with_values(link, events, headset):
    events.mark()
    link.send(
        "sim-a", messages.LoadScene(scene_id="heights", parameters=[messages.ParameterValue(name="floor", value=9)])
    )
    loading = status(events, "loading")
    assert loading.scene_id == "heights"
    running = status(events, "running")
    values = {p.name: p.value for p in running.parameters}
    assert running.scene_id == "heights" and values["floor"] == 9.0 and "railing" in values


@pytest.mark.parametrize("during", ["running", "loading", "paused", "ramping"])
def test_make_safe_works_from_any_state_and_resume_brings_the_scene_back(link, events, headset, during):
    events.mark()
    if during == "loading":
        link.send("sim-a", messages.LoadScene(scene_id="heights"))
        status(events, "loading")
    elif during == "paused":
        link.send("sim-a", messages.Pause())
        status(events, "paused")
    elif during == "ramping":
        link.send("sim-a", messages.SetParameter(name="distance", value=0.5, ramp_s=5))
        received(events, messages.ParameterApplied, lambda m: m.ramping)
    events.mark()
    link.send("sim-a", messages.MakeSafe(fade_s=0.2, reason="test"))
    safe = status(events, "safe")
    assert safe.scene_id == "calm" and safe.parameters == []
    done = received(events, messages.SafetyEvent, lambda m: m.kind == "make_safe_done")
    assert "calm" in done.text
    refused = link.send("sim-a", messages.SetParameter(name="distance", value=2.0))
    assert received(events, messages.Error, lambda m: m.ref_id == refused).code == "busy"
    events.mark()
    link.send("sim-a", messages.Resume(fade_s=0.2))
    back = status(events, "running")
    assert back.scene_id == ("heights" if during == "loading" else "spiders")


def test_pause_freezes_a_ramp_and_resume_continues_it(link, events, headset):
    events.mark()
    link.send("sim-a", messages.SetParameter(name="distance", value=1.0, ramp_s=1.0))
    received(events, messages.ParameterApplied, lambda m: m.ramping)
    time.sleep(0.3)
    link.send("sim-a", messages.Pause())
    status(events, "paused")
    frozen = headset.sim.snapshot().values["distance"]
    time.sleep(0.5)
    assert headset.sim.snapshot().values["distance"] == frozen
    assert 1.0 < frozen < 5.0
    events.mark()
    link.send("sim-a", messages.Resume())
    final = received(events, messages.ParameterApplied, lambda m: not m.ramping and m.name == "distance")
    assert final.value == 1.0


def test_suds_answers_follow_the_stimulus(link, events, headset):
    def ask(prompt_id):
        link.send("sim-a", messages.Prompt(prompt_id=prompt_id, kind="suds", text="How anxious, 0-100?"))
        answer = received(events, messages.PromptAnswer, lambda m: m.prompt_id == prompt_id)
        assert answer.answered and 0 <= answer.value <= 100 and answer.answered_at >= answer.shown_at
        return answer.value

    time.sleep(1.0)
    calm = ask(1)
    for name, value in (("distance", 0.3), ("size", 20.0), ("count", 20.0), ("movement", 1.0)):
        link.send("sim-a", messages.SetParameter(name=name, value=value))
    # Distress builds over seconds: the therapist asks again until the answer shows it.
    answers = [ask(2)]
    deadline = time.monotonic() + 15.0
    while answers[-1] <= calm + 20 and time.monotonic() < deadline:
        time.sleep(0.5)
        answers.append(ask(len(answers) + 2))
    assert answers[-1] > calm + 20, f"SUDS stayed near {calm} after the stimulus grew: {answers}"


def test_expectancy_prompt_is_answered_in_percent(link, events, headset):
    link.send("sim-a", messages.Prompt(prompt_id=5, kind="expectancy", text="How likely will it bite, 0-100 %?"))
    answer = received(events, messages.PromptAnswer, lambda m: m.prompt_id == 5)
    assert answer.kind == "expectancy" and 0 <= answer.value <= 100


def test_telemetry_reports_health_and_pose(link, events, headset):
    telemetry = received(events, messages.Telemetry)
    assert 0 < telemetry.battery_pct <= 100 and telemetry.fps > 0 and telemetry.temperature_c > 20
    assert len(telemetry.head_position) == 3 and abs(sum(q * q for q in telemetry.head_rotation) - 1) < 1e-6


def decode(frame: messages.MirrorFrame) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(frame.jpeg)).convert("RGB"), dtype=np.int16)


def take_frame(link, events, timeout=5.0) -> messages.MirrorFrame:
    events.wait(lambda e: isinstance(e, MirrorFrameReady), timeout=timeout)
    events.mark()
    item = link.take_mirror_frame("sim-a")
    assert item is not None
    return item.frame


@pytest.mark.slow
def test_mirror_follows_the_requested_size_and_rate_and_shows_parameter_changes(link, events, headset):
    link.send("sim-a", messages.MirrorSettings(enabled=True, max_fps=10, max_width=320, quality=80))
    first = take_frame(link, events)
    assert (first.width, first.height) == (320, 180)
    assert decode(first).shape == (180, 320, 3)
    link.send("sim-a", messages.SetParameter(name="distance", value=0.3))
    link.send("sim-a", messages.SetParameter(name="count", value=12))
    received(events, messages.ParameterApplied, lambda m: m.name == "count")
    time.sleep(0.3)
    later = take_frame(link, events)
    assert np.abs(decode(later) - decode(first)).mean() > 3, "the view did not change with the stimulus"
    # Rate: over two seconds, no more than the 10 fps asked for (with slack for timing edges).
    seqs = []
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        seqs.append(take_frame(link, events).seq)
    assert 12 <= len(seqs) <= 23
    link.send("sim-a", messages.MirrorSettings(enabled=True, max_fps=10, max_width=640))
    time.sleep(0.3)
    link.take_mirror_frame("sim-a")
    events.mark()
    assert take_frame(link, events).width == 640


@pytest.mark.slow
def test_a_console_that_does_not_look_never_accumulates_frames(link, events, headset):
    """Latest frame wins: an unread mirror leaves one frame waiting, never a queue."""
    link.send("sim-a", messages.MirrorSettings(enabled=True, max_fps=30, max_width=320))
    time.sleep(2.0)
    events.pump()
    ready = [e for e in events.seen if isinstance(e, MirrorFrameReady)]
    assert len(ready) == 1, "one notification while the frame waits"
    snap = link.headsets()
    first = link.take_mirror_frame("sim-a")
    assert first is not None and link.take_mirror_frame("sim-a") is None
    engine = headset.sim.client
    # The engine sent about what it rendered (acks keep coming), and the console replaced
    # all but the newest: nothing backed up anywhere.
    assert engine.frames_sent >= 30
    assert snap["sim-a"].frames_received - snap["sim-a"].frames_replaced <= 1
