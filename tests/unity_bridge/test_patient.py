"""The simulated patient: distress follows intensity, habituates, and learning carries over."""

from __future__ import annotations

import pytest

from unity_bridge.sim import render
from unity_bridge.sim.patient import SimulatedPatient, scene_intensity


def run(patient: SimulatedPatient, intensity: float, seconds: float, dt: float = 0.1) -> list[float]:
    trace = []
    for _ in range(int(seconds / dt)):
        patient.update(intensity, dt)
        trace.append(patient.distress)
    return trace


def test_distress_is_higher_at_higher_intensity():
    low, high = SimulatedPatient(seed=1), SimulatedPatient(seed=1)
    run(low, 0.2, 15)
    run(high, 0.8, 15)
    assert high.distress > low.distress + 25


def test_distress_peaks_then_habituates_at_a_constant_step():
    trace = run(SimulatedPatient(seed=1), 0.9, 240)
    peak = max(trace)
    peak_at = trace.index(peak)
    assert 3 < peak_at * 0.1 < 60, "the peak comes within the first minute"
    assert peak > 50
    assert trace[-1] <= 0.7 * peak, f"fell only from {peak:.0f} to {trace[-1]:.0f}"


def test_a_later_exposure_to_the_same_step_peaks_lower():
    patient = SimulatedPatient(seed=1)
    first = max(run(patient, 0.9, 180))
    run(patient, 0.0, 300)  # a long break: short-term habituation fades, learning stays
    second = max(run(patient, 0.9, 60))
    assert second < first * 0.9


def test_stimulus_off_brings_distress_down():
    patient = SimulatedPatient(seed=1)
    run(patient, 1.0, 20)
    before = patient.distress
    run(patient, 0.0, 30)
    assert patient.distress < 0.1 * before


def test_answers_are_ratings_and_repeatable_with_a_seed():
    def session(seed):
        p = SimulatedPatient(seed=seed)
        run(p, 0.7, 20)
        return [p.answer_suds(), p.answer_expectancy(), p.answer_outcome()]

    answers = session(3)
    assert all(0 <= a <= 100 for a in answers)
    assert answers == session(3)


def test_expectancy_falls_as_the_patient_learns():
    patient = SimulatedPatient(seed=2)
    before = patient.answer_expectancy()
    run(patient, 0.9, 600)
    assert patient.answer_expectancy() < before - 10


@pytest.mark.parametrize("scene", [s for s in render.SCENES if s["parameters"]], ids=lambda s: s["id"])
def test_scene_intensity_moves_the_right_way_for_every_parameter(scene):
    params = scene["parameters"]
    base = {p["name"]: p["default"] for p in params}
    for p in params:
        low = scene_intensity(params, base | {p["name"]: p["min"]})
        high = scene_intensity(params, base | {p["name"]: p["max"]})
        if p["intensity_increases"]:
            assert high > low, p["name"]
        else:
            assert low > high, p["name"]
    scariest = {p["name"]: (p["max"] if p["intensity_increases"] else p["min"]) for p in params}
    assert scene_intensity(params, scariest) == pytest.approx(1.0)


def test_the_calm_scene_has_no_intensity():
    calm = next(s for s in render.SCENES if s["calm"])
    assert scene_intensity(calm["parameters"], {}) == 0.0
