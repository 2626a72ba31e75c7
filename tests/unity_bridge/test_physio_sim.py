"""The simulated physiology (`vrclinic physio-sim`): real recordings replayed as LSL
streams at the announced rates, following the simulated patient's arousal."""

from __future__ import annotations

import argparse
import threading

import numpy as np
import pylsl
import pytest

from console.physio.acquisition import Acquisition
from tests.conftest import wait_until
from tests.console.physio.lsl_helpers import described, unique  # noqa: F401
from unity_bridge.sim import physio
from unity_bridge.sim.physio import FixedArousal, FollowedArousal, PhysioSimulator, find_r_peaks, load_recording


def test_the_shipped_recordings_load_with_plausible_physiology():
    for name in ("resting", "eventrelated"):
        rec = load_recording(name)
        assert len(rec.ecg) == len(rec.eda) == len(rec.rsp) > 10_000
        assert 50 < rec.resting_heart_rate < 70  # both are calm adults, about 56-60 bpm
        assert 4 < np.median(rec.eda) < 17  # µS
    with pytest.raises(ValueError, match="unknown recording"):
        load_recording("nope")


def test_r_peaks_of_a_synthetic_ecg_are_found():
    t = np.arange(0, 20, 0.01)
    ecg = np.zeros_like(t)
    beats = np.arange(0.5, 19.5, 0.8)
    for b in beats:
        ecg += np.exp(-(((t - b) / 0.012) ** 2))
    peaks = find_r_peaks(ecg)
    assert len(peaks) == len(beats) and np.allclose(peaks / 100, beats, atol=0.011)


def heart_rate_from_ecg(ts: np.ndarray, ecg: np.ndarray, rate: float) -> float:
    """Beats per minute counted from an ECG (R waves: sharp peaks well above the median)."""
    step = int(rate / 100)
    peaks = find_r_peaks(ecg[::step])
    assert len(peaks) >= 3, "too few beats to count"
    return 60.0 / float(np.median(np.diff(ts[::step][peaks])))


def ecgs_over(sims: list[PhysioSimulator], seconds: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ECG of each simulator over the same ``seconds``: (timestamps, samples)."""
    inlets = [pylsl.StreamInlet(described(sim.stream_names["ECG"]).info) for sim in sims]
    for inlet in inlets:
        inlet.open_stream(timeout=5)
        inlet.flush()
    got: list[tuple[list, list]] = [([], []) for _ in inlets]
    t_end = pylsl.local_clock() + seconds
    while pylsl.local_clock() < t_end:
        for inlet, (chunks, stamps) in zip(inlets, got, strict=True):
            data, ts = inlet.pull_chunk(timeout=0.05, max_samples=4096, as_numpy=True)
            chunks.append(data)
            stamps.append(ts)
    for inlet in inlets:
        inlet.close_stream()
    return [(np.concatenate(stamps), np.concatenate(chunks)[:, 0]) for chunks, stamps in got]


@pytest.mark.slow
def test_the_streams_are_found_with_units_and_their_measured_rates_match(unique):  # noqa: F811
    prefix = unique("sim")
    with PhysioSimulator(prefix, arousal=FixedArousal(0.2), eeg32=True, seed=1) as sim:
        streams = {kind: described(name) for kind, name in sim.stream_names.items()}
        assert {s.type for s in streams.values()} == {"ECG", "PPG", "EDA", "RESP", "EEG"}
        assert streams["EDA"].channel_units == ("µS",) and streams["ECG"].channel_units == ("mV",)
        assert streams["EEG"].channel_count == 32 and streams["EEG"].channel_labels[0] == "Fp1"
        acquisition = Acquisition()
        try:
            acquisition.set_selection(streams.values())
            rates = {"ECG": 500, "PPG": 100, "EDA": 32, "RESP": 50, "EEG": 1000}

            def measured(kind: str) -> float:
                status = acquisition.status(streams[kind].uid)
                return status.measured_rate or 0.0

            wait_until(lambda: all(abs(measured(k) / r - 1) < 0.01 for k, r in rates.items()), 10, "rates within 1 %")
            for kind in rates:
                assert acquisition.status(streams[kind].uid).summary == "OK"
            _, eda = acquisition.latest(streams["EDA"].uid, 2.0)
            assert 3 < float(np.median(eda)) < 12  # a skin conductance level in µS
        finally:
            acquisition.close()


@pytest.mark.slow
def test_following_an_aroused_patient_raises_heart_rate(unique):  # noqa: F811
    headset = unique("headset")
    # The simulated headset's patient stream, played here: very aroused.
    info = pylsl.StreamInfo(f"vrclinic-sim-patient-{headset}", "SimPatient", 2, 10.0, pylsl.cf_float32, headset)
    outlet = pylsl.StreamOutlet(info)
    stop = threading.Event()

    def publish() -> None:
        while not stop.wait(0.1):
            outlet.push_sample([0.95, 80.0])

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    log: list[str] = []
    follower = FollowedArousal(headset, log=log.append)
    calm = PhysioSimulator(unique("calm"), arousal=FixedArousal(0.0), seed=2)
    aroused = PhysioSimulator(unique("aroused"), arousal=follower, seed=3)
    try:
        wait_until(lambda: follower.connected, 10, "the patient stream followed")
        assert any("following" in line for line in log)
        calm.start()
        aroused.start()
        wait_until(lambda: aroused.heart_rate_bpm > 85, 15, "the heart rate up")  # arousal is smoothed over ~3 s
        (ts_calm, ecg_calm), (ts_fast, ecg_fast) = ecgs_over([calm, aroused], 4.5)
        bpm_calm = heart_rate_from_ecg(ts_calm, ecg_calm, 500)
        bpm_fast = heart_rate_from_ecg(ts_fast, ecg_fast, 500)
        assert 50 < bpm_calm < 65 and bpm_fast > 1.4 * bpm_calm
        assert aroused.arousal_now > 0.9 and follower.distress == 80.0
    finally:
        calm.close()
        aroused.close()
        stop.set()
        publisher.join(2)


@pytest.mark.slow
def test_the_command_runs_for_its_duration(unique, capsys):  # noqa: F811
    parser = argparse.ArgumentParser()
    physio.add_arguments(parser)
    args = parser.parse_args(["--prefix", unique("cli"), "--duration", "0.5", "--seed", "4"])
    assert physio.main(args) == 0
    out = capsys.readouterr().out
    assert "-ECG (ECG, 500 Hz, 1 channel, mV)" in out and "stopped" in out
