"""The metrics process: the same numbers as computing in the console's own process, and a
process that dies is replaced without the live session noticing more than one reading."""

from __future__ import annotations

import math

import numpy as np
import pytest

from console.physio import metrics
from console.physio.metrics_proc import MetricsProcess, MetricsUnavailable
from tests.console.physio.test_metrics import RATE, resting  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow  # each MetricsProcess starts a Python process that imports NeuroKit

N30, N20 = int(30 * RATE), int(20 * RATE)


@pytest.fixture(scope="module")
def process():
    p = MetricsProcess()
    yield p
    p.close()


def test_heart_rate_and_skin_conductance_match_the_in_process_computation(process, resting):  # noqa: F811
    ecg = resting["ECG"][:N30]
    bpm, quality = process.heart("ECG", ecg, RATE, 100.0)
    here = metrics.heart_rate_from_ecg(ecg, RATE, t0=100.0)
    assert quality == here.quality
    assert bpm == pytest.approx(here.bpm_at(100.0 + (len(ecg) - 1) / RATE, window_s=10.0), abs=1e-9)

    eda = resting["EDA"][:N30]
    scl, scr, quality = process.skin(eda, RATE, 100.0)
    sc = metrics.skin_conductance(eda, RATE, t0=100.0)
    assert quality == sc.quality
    assert scl == pytest.approx(sc.scl_at(float(sc.t[-1])))
    assert scr == pytest.approx(sc.scr_per_min(float(sc.t[0]), float(sc.t[-1])))


def test_a_bad_window_is_an_error_in_words_and_the_process_goes_on(process, resting):  # noqa: F811
    assert process.heart("ECG", np.array([math.nan] * 10), RATE, 0.0) == (None, "poor")
    with pytest.raises(ValueError, match="unknown op 'spectrum'"):
        process._ask({"op": "spectrum", "rate": RATE, "t0": 0.0, "data": b""})
    bpm, _ = process.heart("ECG", resting["ECG"][:N20], RATE, 0.0)
    assert bpm is not None and 40 < bpm < 100


@pytest.mark.timeout(240)  # three NeuroKit imports in a niced process: minutes on a saturated machine
def test_a_killed_process_is_replaced_on_the_next_request(resting):  # noqa: F811
    p = MetricsProcess()
    try:
        p.heart("ECG", resting["ECG"][:N20], RATE, 0.0)
        p._proc.kill()
        p._proc.wait(5)
        bpm, _ = p.heart("ECG", resting["ECG"][:N20], RATE, 0.0)  # noticed dead: replaced first
        assert bpm is not None and p.restarts == 1
        p._proc.stdin.close()  # a pipe broken under it: said, then replaced on the next request
        with pytest.raises(MetricsUnavailable):
            p.heart("ECG", resting["ECG"][:N20], RATE, 0.0)
        bpm, _ = p.heart("ECG", resting["ECG"][:N20], RATE, 0.0)
        assert bpm is not None and p.restarts == 2
    finally:
        p.close()
