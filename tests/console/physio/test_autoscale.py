"""Automatic scaling of the live plots: signals in, the ranges a viewer would see out (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest

from console.physio.autoscale import LaneAutoscale, lane_statistics, overlay_range

COLUMNS = 1000  # pixel columns on screen


def envelope(signal: np.ndarray, per_column: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The min/max columns a raster keeps of ``signal`` (samples × lanes)."""
    blocks = signal.reshape(-1, per_column, signal.shape[1])
    return blocks.min(axis=1), blocks.max(axis=1)


def noise(rng: np.random.Generator, lanes: int, amplitude: np.ndarray | float) -> np.ndarray:
    return (rng.standard_normal((COLUMNS * 10, lanes)) * amplitude).astype(np.float32)


def one_round(scale: LaneAutoscale, signal: np.ndarray, per_step: int | None = None) -> bool:
    lo, hi = envelope(signal)
    shown = np.ones(len(lo), dtype=bool)
    if per_step is None:
        return scale.rescale_all(lo, hi, shown)
    changed = False
    for _ in range(-(-scale.lanes // per_step)):
        changed = scale.step(lo, hi, shown, per_step) or changed
    return changed


def test_a_lane_whose_signal_grows_is_rescaled_one_that_wobbles_stays_still():
    rng = np.random.default_rng(7)
    scale = LaneAutoscale(2)
    one_round(scale, noise(rng, 2, 10.0))
    first = scale.spans.copy()
    assert 60 < first[0] < 120  # 1.3 × the 1st–99th percentile range of ±10 µV noise
    for _ in range(20):  # the same kind of signal again and again, each a little different
        wobble = rng.uniform(0.93, 1.07, 2)
        one_round(scale, noise(rng, 2, 10.0 * wobble))
        assert np.array_equal(scale.spans, first)
    assert np.abs(scale.centers).max() < 3  # centred on the signal
    grown = noise(rng, 2, np.array([30.0, 10.0]))  # lane 0 triples
    assert one_round(scale, grown)
    assert scale.spans[0] > 2.5 * first[0] and scale.spans[1] == first[1]


def test_a_scale_measured_on_a_filling_window_is_settled_once_on_the_full_one():
    """Seen live: lanes scaled on the first second of EEG sat just under the growth
    threshold and jumped by chance seconds after the window had filled."""
    rng = np.random.default_rng(11)
    scale = LaneAutoscale(8)
    signal = noise(rng, 8, 10.0)
    lo, hi = envelope(signal)
    few = np.zeros(len(lo), dtype=bool)
    few[:60] = True  # the first columns of a filling window
    scale.rescale_all(lo, hi, few)
    young = scale.spans.copy()
    everything = np.ones(len(lo), dtype=bool)
    scale.settle(lo, hi, everything)
    assert scale.settled and not np.array_equal(scale.spans, young)
    low, high, _ = lane_statistics(lo, hi)
    assert np.allclose(scale.spans, (high - low) * 1.3)  # the full window's own span, exactly
    settled = scale.spans.copy()
    for _ in range(20):  # then the same signal, other samples in each window: still
        assert not one_round(scale, noise(rng, 8, 10.0), per_step=3)
    assert np.array_equal(scale.spans, settled)
    scale.rescale_all(lo, hi, few)  # a new window fills again
    assert not scale.settled


def test_a_lane_shrinks_only_once_its_signal_is_much_smaller():
    rng = np.random.default_rng(8)
    scale = LaneAutoscale(1)
    one_round(scale, noise(rng, 1, 10.0))
    first = scale.spans[0]
    one_round(scale, noise(rng, 1, 7.0))
    assert scale.spans[0] == first
    one_round(scale, noise(rng, 1, 3.0))
    assert scale.spans[0] < 0.4 * first


def test_a_lone_artefact_does_not_flatten_the_lane():
    rng = np.random.default_rng(9)
    signal = noise(rng, 1, 10.0)
    signal[5000:5020] += 400.0  # a blink: two columns of 1000
    scale = LaneAutoscale(1)
    one_round(scale, signal)
    assert scale.spans[0] < 120


def test_a_lane_that_drifts_is_recentred_and_a_lane_without_samples_keeps_its_scale():
    rng = np.random.default_rng(10)
    scale = LaneAutoscale(2)
    one_round(scale, noise(rng, 2, 10.0))
    spans = scale.spans.copy()
    drifted = noise(rng, 2, 10.0) + np.array([50.0, 0.0], dtype=np.float32)
    drifted[:, 1] = np.nan  # lane 1's electrode came off
    one_round(scale, drifted)
    assert 45 < scale.centers[0] < 55 and abs(scale.centers[1]) < 3
    assert scale.spans[1] == spans[1]


def test_the_work_is_spread_and_the_lanes_change_together():
    rng = np.random.default_rng(11)
    amplitude = rng.uniform(5, 20, 256)
    scale = LaneAutoscale(256)
    one_round(scale, noise(rng, 256, amplitude))
    before = scale.spans.copy()
    lo, hi = envelope(noise(rng, 256, amplitude * 3))
    shown = np.ones(len(lo), dtype=bool)
    # Nine lanes per frame: 29 frames for 256 lanes; nothing on screen changes before the last.
    assert not any(scale.step(lo, hi, shown, 9) for _ in range(28))
    assert np.array_equal(scale.spans, before)
    assert scale.step(lo, hi, shown, 9) and (scale.spans > 2.5 * before).all()


def test_fixed_spans_stay_and_centres_still_follow():
    rng = np.random.default_rng(12)
    scale = LaneAutoscale(2)
    one_round(scale, noise(rng, 2, 10.0))
    scale.fix(span=40.0, lane=1)
    one_round(scale, noise(rng, 2, 50.0) + 100.0)
    assert scale.spans[1] == 40.0 and scale.spans[0] < 120 and 95 < scale.centers[1] < 105
    scale.follow()
    one_round(scale, noise(rng, 2, 50.0) + 100.0)
    assert scale.spans.min() > 300


def test_lane_statistics_are_numpys_nan_aware_percentiles():
    rng = np.random.default_rng(13)
    lo = rng.standard_normal((500, 8)).astype(np.float32)
    hi = lo + rng.uniform(0, 1, (500, 8)).astype(np.float32)
    lo[::7, 3] = np.nan
    hi[::7, 3] = np.nan
    lo[:, 5] = hi[:, 5] = np.nan  # no samples at all
    low, high, middle = lane_statistics(lo, hi)
    with pytest.warns(RuntimeWarning, match="All-NaN"):  # numpy's reference says so about lane 5
        expected = [
            np.nanpercentile(lo, 1, axis=0, method="lower"),
            np.nanpercentile(hi, 99, axis=0, method="higher"),
            np.nanpercentile((lo + hi) / 2, 50, axis=0, method="higher"),
        ]
    assert np.array_equal(low, expected[0], equal_nan=True) and np.array_equal(high, expected[1], equal_nan=True)
    assert np.allclose(middle, expected[2], equal_nan=True)
    assert np.isnan(low[5]) and np.isfinite(np.delete(low, 5)).all()


def test_an_overlaid_plot_grows_at_once_and_does_not_follow_a_wobble():
    t = np.arange(0, 10, 0.01)
    breathing = np.sin(2 * np.pi * 0.25 * t)[:, None]
    shown = overlay_range(breathing, None)
    assert shown is not None and shown[0] < -1 and shown[1] > 1
    for gain in (0.95, 1.0, 1.04, 0.98, 1.02):
        assert overlay_range(breathing * gain, shown) is None
    deeper = overlay_range(breathing * 1.5, shown)
    assert deeper is not None and deeper[1] > 1.5
    assert overlay_range(breathing * 0.5, deeper) is not None  # much smaller: shrinks


def test_a_quiet_signal_is_not_blown_up_into_noise():
    rng = np.random.default_rng(14)
    skin = 4.0 + rng.standard_normal((320, 1)) * 0.005  # µS, nearly flat
    lo, hi = overlay_range(skin, None, min_span=0.5)
    assert hi - lo >= 0.5 and lo < 4.0 < hi
