"""Live metrics on real LSL streams: the simulated patient's body, acquired as the console
does, a resting baseline, then arousal rising with its heart rate, with the reason said."""

from __future__ import annotations

import pytest

from console.physio.acquisition import Acquisition
from console.physio.live_metrics import Baseline, LiveMetrics, arousal
from tests.conftest import wait_until
from tests.console.physio.lsl_helpers import described, unique  # noqa: F401
from unity_bridge.sim.physio import FixedArousal, PhysioSimulator


def test_the_index_is_the_mean_excess_over_baseline_and_names_the_strongest_driver():
    base = Baseline(hr_bpm=70.0, scl_us=5.0, scr_per_min=1.0, seconds=60)
    pct, drivers = arousal({"hr_bpm": 100.0, "scl_us": 5.0, "scr_per_min": 1.0}, base)
    # HR +30 bpm is twice "clearly up" (15 bpm); the two others are at baseline: mean 2/3.
    assert pct == pytest.approx(100 * (2.0 / 3) / 2)
    assert drivers.startswith("HR +30 bpm over baseline")
    assert arousal({"hr_bpm": 60.0, "scl_us": None, "scr_per_min": None}, base)[0] == 0.0  # calmer: 0, not negative
    assert arousal({"hr_bpm": None, "scl_us": None, "scr_per_min": None}, base) == (None, "")


@pytest.mark.slow
def test_baseline_then_arousal_follows_the_simulated_patients_heart(unique):  # noqa: F811
    level = FixedArousal(0.0)
    sim = PhysioSimulator(unique("live"), arousal=level, seed=5)
    streams = {kind: described(name) for kind, name in sim.stream_names.items()}
    acquisition = Acquisition()
    live = LiveMetrics(acquisition, acquisition.selected, interval_s=0.5, window_s=12.0, baseline_s=4.0)
    try:
        sim.start()
        acquisition.set_selection([streams["ECG"], streams["EDA"]])
        live.start()
        wait_until(lambda: (live.latest() or None) is not None and live.latest().baseline is not None, 40, "baseline")
        reading = live.latest()
        assert reading.hr_source == streams["ECG"].name and reading.hr_quality in ("good", "fair")
        assert reading.baseline.hr_bpm == pytest.approx(sim.heart_rate_bpm, abs=8)
        assert reading.arousal_pct is not None and reading.arousal_pct < 25
        assert "arousal" in reading.text()

        level.level = 1.0  # the patient is frightened: heart rate climbs over seconds
        wait_until(lambda: sim.heart_rate_bpm > reading.baseline.hr_bpm + 20, 20, "the simulated heart rate up")

        # Skin conductance may lift the arousal before the heart-rate window has caught up: wait
        # for the reading that shows both (the moment each shows depends on this machine's load).
        def heart_and_arousal_up() -> bool:
            latest = live.latest()
            return (latest.arousal_pct or 0) > 25 and (latest.hr_bpm or 0) > latest.baseline.hr_bpm + 10

        wait_until(heart_and_arousal_up, 20, "arousal and heart rate up")
        now = live.latest()
        assert "HR +" in now.drivers and "over baseline" in now.drivers
    finally:
        live.stop()
        acquisition.close()
        sim.close()
