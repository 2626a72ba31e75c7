"""Data-quality checks: pure functions on arrays and the per-stream monitor."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from console.physio.quality import (
    QualityConfig,
    QualityMonitor,
    Severity,
    describe_channels,
    flat_channels,
    format_rate,
    measured_rate,
    timestamp_gaps,
    worst,
)

CFG = QualityConfig()


def regular(rate: float, seconds: float, start: float = 100.0) -> np.ndarray:
    return start + np.arange(int(rate * seconds)) / rate


def test_measured_rate_of_a_regular_stream_is_its_rate():
    assert abs(measured_rate(regular(500, 6), 5.0) - 500) < 0.01
    assert abs(measured_rate(regular(32, 6), 5.0) - 32) < 0.01


def test_measured_rate_of_a_stalled_stream_falls_to_zero():
    ts = regular(100, 3)
    assert measured_rate(ts, 2.0, now=ts[-1] + 10) == 0.0
    assert measured_rate(np.array([]), 2.0) is None


@given(st.floats(min_value=1.0, max_value=2000.0), st.floats(min_value=-0.3, max_value=0.3))
def test_measured_rate_follows_a_drifting_clock(nominal, drift):
    ts = 50.0 + np.arange(int(nominal * 3) + 2) / (nominal * (1 + drift))
    assert abs(measured_rate(ts, 2.0) / (nominal * (1 + drift)) - 1) < 1e-6


def test_gaps_longer_than_the_threshold_are_found():
    ts = regular(250, 2)
    gapped = np.concatenate([ts[:200], ts[260:]])  # 60 samples (0.24 s) lost
    count, longest = timestamp_gaps(gapped, 250, CFG)
    assert count == 1 and abs(longest - 0.244) < 1e-6
    assert timestamp_gaps(ts, 250, CFG) == (0, 0.0)
    assert timestamp_gaps(gapped, 0, CFG) == (0, 0.0)  # irregular: no expected interval


def test_flat_channels_are_found_and_moving_ones_not():
    t = np.linspace(0, 2, 200)
    data = np.column_stack([np.sin(t * 7), np.full_like(t, 5.03), np.full_like(t, 0.0), 1e-3 * np.cos(t)])
    assert flat_channels(data, CFG.flat_tolerance) == [1, 2]
    assert flat_channels(data[:2], CFG.flat_tolerance) == []  # too few samples to say


def test_channel_names_in_warnings():
    assert describe_channels([0], ("ECG",)) == "ECG"
    assert describe_channels([0, 1], ()) == "channel 1, channel 2"
    assert describe_channels([0, 1, 2, 3, 4], ("Fp1", "Fp2", "F3", "F4", "C3")) == "Fp1, Fp2 and 3 more"
    assert format_rate(500.0) == "500 Hz" and format_rate(31.96) == "32.0 Hz" and format_rate(None) == "—"


def assess(monitor, now, ts, data, last_arrival, selected_at=0.0, lost=False):
    flags = monitor.assess(now, ts, data, last_arrival, selected_at, lost)
    return {f.kind: f for f in flags}


def test_monitor_waits_then_reports_a_clean_stream_ok():
    monitor = QualityMonitor(250.0, ("ECG",))
    empty = np.empty(0)
    flags = assess(monitor, 1.0, empty, np.empty((0, 1)), None)
    assert flags["waiting"].severity == Severity.NOTICE
    ts = regular(250, 6, start=1.0)
    data = np.sin(ts)[:, None]
    assert assess(monitor, ts[-1] + 0.02, ts, data, ts[-1] + 0.01) == {}


def test_monitor_flags_a_stall_then_loss_in_words():
    monitor = QualityMonitor(250.0, ("ECG",), QualityConfig(lost_after_s=3.0))
    ts = regular(250, 6, start=1.0)
    data = np.sin(ts)[:, None]
    stalled = assess(monitor, ts[-1] + 1.5, ts, data, ts[-1])
    assert stalled["dropout"].severity == Severity.WARNING
    assert "no samples for 1.5 s" in stalled["dropout"].text
    lost = assess(monitor, ts[-1] + 3.5, ts, data, ts[-1])
    assert lost["lost"].severity == Severity.LOST and "sensor" in lost["lost"].text
    assert worst(list(lost.values())) == Severity.LOST


def test_monitor_keeps_a_short_gap_on_screen_for_a_while():
    monitor = QualityMonitor(250.0, ("ECG",))
    ts = regular(250, 6, start=1.0)
    gapped = np.concatenate([ts[:1000], ts[1100:]])
    data = np.sin(gapped)[:, None]
    now = gapped[-1] + 0.02
    assert "0.40 s gap" in assess(monitor, now, gapped, data, now)["dropout"].text
    # The same samples again a little later: the gap stays reported for hold_s ...
    assert "dropout" in assess(monitor, now + 2.0, gapped, data, now + 1.99)
    # ... and then clears.
    assert "dropout" not in assess(monitor, now + CFG.hold_s + 1.0, gapped, data, now + CFG.hold_s + 0.99)


def test_monitor_flags_a_flat_channel_by_name():
    monitor = QualityMonitor(100.0, ("EDA", "TEMP"))
    ts = regular(100, 3, start=1.0)
    data = np.column_stack([np.sin(ts), np.full_like(ts, 33.2)])
    flags = assess(monitor, ts[-1] + 0.02, ts, data, ts[-1])
    assert flags["flat"].channels == (1,) and "Flat line on TEMP" in flags["flat"].text


def test_monitor_flags_rate_drift_with_both_rates():
    monitor = QualityMonitor(500.0, ("ECG",))
    ts = regular(440, 6, start=1.0)  # 12 % slow
    flags = assess(monitor, ts[-1] + 0.02, ts, np.sin(ts)[:, None], ts[-1])
    assert "440 Hz is 12 % below the announced 500 Hz" in flags["rate"].text
    ok = regular(505, 6, start=1.0)  # 1 %: fine
    assert "rate" not in assess(QualityMonitor(500.0), ok[-1] + 0.02, ok, np.sin(ok)[:, None], ok[-1])
