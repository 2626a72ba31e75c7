"""The simulated patient: distress follows the stimulus, habituates within a step, learning
carries over to later trials, make-safe calms, answers are ratings; and scene intensity
reads each slider the right way round."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unity_bridge.sim import render
from unity_bridge.sim.patient import SimulatedPatient, scene_intensity

DT = 0.1


def run(patient: SimulatedPatient, intensity: float, seconds: float, dt: float = DT) -> list[float]:
    """Hold one intensity for a while, as the engine loop does; the distress trace."""
    trace = []
    for _ in range(round(seconds / dt)):
        patient.update(intensity, dt)
        trace.append(patient.distress)
    return trace


# -- distress and habituation ------------------------------------------------------------


def test_distress_is_higher_at_higher_intensity_once_settled():
    settled = []
    for intensity in (0.0, 0.2, 0.5, 0.9):
        patient = SimulatedPatient(seed=1)
        run(patient, intensity, 15)
        settled.append(patient.distress)
    assert settled[0] < settled[1] < settled[2] < settled[3]
    assert settled[3] > settled[1] + 30
    assert settled[0] < 10, "at rest the patient stays near baseline"


def test_distress_rises_over_seconds_not_at_once():
    trace = run(SimulatedPatient(seed=1), 1.0, 10)
    assert trace[0] < 20 and trace[-1] > 70


def test_distress_peaks_then_habituates_at_a_constant_step():
    trace = run(SimulatedPatient(seed=1), 0.9, 240)
    peak = max(trace)
    peak_s = trace.index(peak) * DT
    assert 3 < peak_s < 60, f"peak at {peak_s:.0f} s"
    assert peak > 60
    assert trace[-1] <= 0.7 * peak, f"fell only from {peak:.0f} to {trace[-1]:.0f} in four minutes"
    after_peak = trace[trace.index(peak) :]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(after_peak)), "no rebound at a constant step"


def test_a_later_exposure_to_the_same_step_peaks_lower():
    patient = SimulatedPatient(seed=1)
    first = max(run(patient, 0.8, 180))
    run(patient, 0.0, 300)  # a long break: short-term habituation fades, learning stays
    second = max(run(patient, 0.8, 60))
    assert second < 0.85 * first


def test_the_same_break_without_exposure_keeps_the_fear():
    fresh = SimulatedPatient(seed=1)
    run(fresh, 0.0, 480)
    assert max(run(fresh, 0.8, 60)) == pytest.approx(max(run(SimulatedPatient(seed=1), 0.8, 60)), abs=1.0)


def test_a_step_up_brings_distress_back_up():
    patient = SimulatedPatient(seed=1)
    run(patient, 0.4, 120)
    settled = patient.distress
    assert max(run(patient, 0.8, 30)) > settled + 15


def test_habituation_to_a_weaker_step_covers_a_stronger_one_only_in_part():
    patient = SimulatedPatient(seed=1)
    run(patient, 0.4, 120)
    built = patient.habituation
    patient.update(0.8, DT)  # the step is noticed without being announced
    assert patient.habituation < 0.6 * built
    run(patient, 0.8, 120)
    stronger = patient.habituation
    patient.update(0.4, DT)
    assert patient.habituation == pytest.approx(stronger, rel=0.01), "a step down keeps what was learned"


def test_a_break_lets_short_term_habituation_fade():
    straight_back, after_break = SimulatedPatient(seed=1), SimulatedPatient(seed=1)
    for patient, rest in ((straight_back, 20), (after_break, 600)):
        run(patient, 0.8, 180)
        run(patient, 0.0, rest)
    assert max(run(after_break, 0.8, 60)) > max(run(straight_back, 0.8, 60)) + 5


def test_make_safe_brings_distress_down_within_seconds():
    patient = SimulatedPatient(seed=1)
    run(patient, 1.0, 20)
    before = patient.distress
    trace = run(patient, 0.0, 30)
    assert trace[10] > 0.5 * before, "distress does not vanish in a second"
    assert trace[-1] < 15 and trace[-1] < 0.2 * before


def test_arousal_follows_distress_with_a_lag():
    patient = SimulatedPatient(seed=1)
    run(patient, 1.0, 1)
    assert 0 <= patient.arousal < patient.distress / 100, "the body lags the feeling on the way up"
    run(patient, 1.0, 30)
    assert patient.arousal > 0.5
    run(patient, 0.0, 15)
    assert 1 >= patient.arousal > patient.distress / 100, "and settles more slowly"


def test_one_long_update_matches_many_short_ones():
    a, b = SimulatedPatient(seed=1), SimulatedPatient(seed=1)
    run(a, 0.7, 60)
    b.update(0.7, 60.0)
    assert b.distress == pytest.approx(a.distress, abs=1.0)
    assert b.fear == pytest.approx(a.fear, abs=0.01)


def test_nonsense_input_is_ignored_not_fatal():
    patient = SimulatedPatient(seed=1)
    run(patient, 0.5, 10)
    before = patient.distress
    patient.update(0.5, -1.0)
    patient.update(0.5, math.nan)
    assert patient.distress == before
    patient.update(math.nan, 1.0)
    patient.update(7.0, 1.0)
    assert 0 <= patient.distress <= 100 and 0 <= patient.arousal <= 1


# -- answers -----------------------------------------------------------------------------


def session(seed: int | None) -> list[int]:
    patient = SimulatedPatient(seed=seed)
    answers = [patient.answer_expectancy()]
    for intensity in (0.3, 0.6, 0.9, 0.0):
        run(patient, intensity, 40)
        answers += [patient.answer_suds(), patient.answer_expectancy(), patient.answer_outcome()]
    return answers


def test_answers_are_ratings_and_repeatable_with_a_seed():
    answers = session(3)
    assert all(isinstance(a, int) and 0 <= a <= 100 for a in answers)
    assert answers == session(3)
    assert any(session(3) != session(s) for s in (4, 5, 6))


def test_suds_answers_track_what_the_patient_feels():
    patient = SimulatedPatient(seed=7)
    for intensity in (0.1, 0.5, 1.0):
        run(patient, intensity, 15)
        answers = [patient.answer_suds() for _ in range(20)]
        mean = sum(answers) / len(answers)
        assert abs(mean - patient.distress) < 5
        assert all(a % 5 == 0 for a in answers), "patients answer in fives"


def test_expectancy_falls_as_the_patient_learns():
    patient = SimulatedPatient(seed=2, noise=0)
    run(patient, 0.7, 5)
    before = patient.answer_expectancy()
    run(patient, 0.7, 600)
    assert patient.answer_expectancy() < before - 10


def test_outcome_reports_overwhelm_only_when_the_step_was_too_much():
    gentle = SimulatedPatient(seed=2, noise=0)
    run(gentle, 0.4, 60)
    run(gentle, 0.0, 20)
    assert gentle.answer_outcome() == 0
    flooded = SimulatedPatient(seed=2, noise=0, sensitivity=1.5)
    run(flooded, 1.0, 60)
    run(flooded, 0.0, 20)
    assert flooded.answer_outcome() >= 30


def test_outcome_describes_the_latest_trial():
    patient = SimulatedPatient(seed=2, noise=0, sensitivity=1.5)
    run(patient, 1.0, 60)
    run(patient, 0.0, 30)
    assert patient.answer_outcome() >= 30
    run(patient, 0.3, 60)  # a gentle trial after the overwhelming one
    assert patient.answer_outcome() == 0


def test_time_spent_overwhelmed_teaches_less():
    # The same exposure to two patients who differ only in how much distress they can bear.
    bearing, overwhelmed = SimulatedPatient(seed=1, tolerance=95), SimulatedPatient(seed=1, tolerance=50)
    run(bearing, 0.9, 300)
    run(overwhelmed, 0.9, 300)
    assert bearing.fear < overwhelmed.fear - 0.03
    assert overwhelmed.answer_outcome() > bearing.answer_outcome()


# -- scene intensity ---------------------------------------------------------------------

STIMULUS_SCENES = [s for s in render.SCENES if s["parameters"]]


@pytest.mark.parametrize("scene", STIMULUS_SCENES, ids=lambda s: s["id"])
def test_scene_intensity_moves_the_right_way_for_every_parameter(scene):
    params = scene["parameters"]
    base = {p["name"]: p["default"] for p in params}
    for p in params:
        values = [p["min"] + (p["max"] - p["min"]) * k / 4 for k in range(5)]
        levels = [scene_intensity(params, base | {p["name"]: v}) for v in values]
        if not p["intensity_increases"]:
            levels.reverse()
        assert all(a < b for a, b in itertools.pairwise(levels)), (p["name"], levels)
    mildest = {p["name"]: (p["min"] if p["intensity_increases"] else p["max"]) for p in params}
    scariest = {p["name"]: (p["max"] if p["intensity_increases"] else p["min"]) for p in params}
    assert scene_intensity(params, mildest) == 0.0
    assert scene_intensity(params, scariest) == pytest.approx(1.0)


def test_closer_spiders_mean_more_intensity():
    params = next(s for s in render.SCENES if s["id"] == "spiders")["parameters"]
    assert scene_intensity(params, {"distance": 0.5}) > scene_intensity(params, {"distance": 4.0})


def test_the_calm_scene_has_no_intensity():
    calm = next(s for s in render.SCENES if s["calm"])
    assert scene_intensity(calm["parameters"], {}) == 0.0
    assert scene_intensity(calm["parameters"], {"distance": 0.3}) == 0.0


@given(
    scene=st.sampled_from(STIMULUS_SCENES),
    data=st.data(),
)
def test_scene_intensity_stays_in_range_whatever_the_values(scene, data):
    params = scene["parameters"]
    values = {
        p["name"]: data.draw(st.floats(allow_nan=True, allow_infinity=True) | st.floats(p["min"], p["max"]))
        for p in params
    }
    level = scene_intensity(params, values)
    assert 0.0 <= level <= 1.0
