"""Simulated physiology: LSL streams of a simulated patient (``vrclinic physio-sim``).

A real program users run — for demos, therapist rehearsal and technician checks — and the
load the console's tests and benchmarks plot. It replays real recordings (ECG, EDA and
respiration at 100 Hz from the NeuroKit2 project, shipped in ``unity_bridge/sim/data/``,
see the README there), resampled to the rates physiology sensors announce, and bends them
with the patient's arousal:

==========  ======  =======  ========  ================================================
stream      type    rate     unit      how arousal (0 calm .. 1 very aroused) shows
==========  ======  =======  ========  ================================================
PREFIX-ECG  ECG     500 Hz   mV        heart rate up to +70 %: each recorded beat is
                                       replayed shorter (QT shortens with the square
                                       root of the interval, diastole takes the rest)
PREFIX-PPG  PPG     100 Hz   a.u.      one pulse wave per ECG beat, after the pulse
                                       transit time; smaller pulses (vasoconstriction)
PREFIX-EDA  EDA     32 Hz    µS        tonic level up to +4 µS, more and larger skin
                                       conductance responses (SCRs)
PREFIX-RESP RESP    50 Hz    a.u.      breathing up to 1.9 × faster
PREFIX-EEG  EEG     1000 Hz  µV        (``--eeg32`` only) 32 channels of synthetic EEG
                                       for load tests; alpha fades with arousal
==========  ======  =======  ========  ================================================

PREFIX defaults to ``vrclinic-sim``; each stream's source_id is its name, so inlets
reconnect by themselves when the simulator restarts. Channel labels and units are in each
stream's XML description (``desc/channels/channel/{label,unit,type}``).

Arousal comes from the simulated headset's patient (``--follow NAME`` subscribes to the
LSL stream ``vrclinic-sim-patient-NAME``, type ``SimPatient``: arousal 0..1 and distress
0..100 at about 10 Hz), so heart rate and skin conductance rise with the stimulus
intensity and fall as the patient habituates. Without ``--follow`` it is a slow, gentle
random walk near rest.

Threads: :meth:`PhysioSimulator.run` is the simulator loop and owns the outlets and the
signal generators; :meth:`PhysioSimulator.start` runs it in a thread of its own. Other
threads may call :meth:`PhysioSimulator.stop` and read the ``heart_rate_bpm``,
``arousal_now`` and ``beat_times`` attributes.
"""

from __future__ import annotations

import argparse
import csv
import importlib.resources
import io
import math
import random
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

SOURCE_RATE = 100.0  # Hz, both recordings
RECORDINGS = {
    # file, first and last row used: the resting file's 8 minutes of rest (photosensor low)
    "resting": ("bio_resting_8min_100hz.csv", 2019, 50026),
    "eventrelated": ("bio_eventrelated_100hz.csv", 0, 15000),
}
EEG_LABELS = (  # the 10-20 positions of a common 32-channel cap
    *("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "FC5", "FC1", "FC2", "FC6", "T7", "C3", "Cz", "C4", "T8"),
    *("TP9", "CP5", "CP1", "CP2", "CP6", "TP10", "P7", "P3", "Pz", "P4", "P8", "PO9", "O1", "Oz", "O2", "PO10"),
)
PATIENT_STREAM_PREFIX = "vrclinic-sim-patient-"
CHUNK_S = 0.02  # push cadence: 50 chunks a second, like a wireless sensor


@dataclass(frozen=True)
class StreamSpec:
    kind: str  # "ECG", "PPG", "EDA", "RESP", "EEG"
    rate: float
    labels: tuple[str, ...]
    unit: str


SPECS = (
    StreamSpec("ECG", 500.0, ("ECG",), "mV"),
    StreamSpec("PPG", 100.0, ("PPG",), "a.u."),
    StreamSpec("EDA", 32.0, ("EDA",), "µS"),
    StreamSpec("RESP", 50.0, ("RESP",), "a.u."),
)
EEG_SPEC = StreamSpec("EEG", 1000.0, EEG_LABELS, "µV")


# ---------------------------------------------------------------------------------------
# The recordings


@dataclass(frozen=True)
class Recording:
    """One shipped recording at 100 Hz, cropped to its usable part."""

    name: str
    ecg: np.ndarray
    eda: np.ndarray
    rsp: np.ndarray
    r_peaks: np.ndarray  # sample indices of the ECG's R waves

    @property
    def resting_heart_rate(self) -> float:
        return 60.0 * SOURCE_RATE / float(np.median(np.diff(self.r_peaks)))


def find_r_peaks(ecg: np.ndarray, rate: float = SOURCE_RATE) -> np.ndarray:
    """Sample indices of R waves: energy of the first difference above a threshold, then the
    maximum within 100 ms, with a 350 ms refractory period. Good enough for clean resting ECG."""
    slope = np.diff(ecg, prepend=ecg[0])
    energy = np.convolve(slope * slope, np.ones(5) / 5, mode="same")
    threshold = 0.3 * np.percentile(energy, 99.5)
    search, refractory = int(0.1 * rate), int(0.35 * rate)
    peaks = []
    i = 0
    while i < len(ecg):
        if energy[i] > threshold:
            j = i + int(np.argmax(ecg[i : i + search]))
            peaks.append(j)
            i = j + refractory
        else:
            i += 1
    return np.asarray(peaks, dtype=np.int64)


def load_recording(name: str = "resting") -> Recording:
    """Load a shipped recording (``resting`` or ``eventrelated``) from the package data."""
    if name not in RECORDINGS:
        raise ValueError(f"unknown recording '{name}'; choose one of {', '.join(RECORDINGS)}")
    filename, first, last = RECORDINGS[name]
    text = importlib.resources.files("unity_bridge.sim").joinpath("data", filename).read_text()
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().upper() for h in next(reader)]
    table = np.array([[float(v) for v in row] for row in reader if row], dtype=np.float64)[first:last]
    cols = {h: table[:, i] for i, h in enumerate(header)}
    ecg = cols["ECG"]
    return Recording(name, ecg, cols["EDA"], cols["RSP"], find_r_peaks(ecg))


def _catmull_rom(src: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``src`` read at fractional indices ``pos`` with cubic (Catmull–Rom) interpolation:
    smooth QRS complexes when 100 Hz is played at 500 Hz."""
    i1 = np.floor(pos).astype(np.int64)
    f = pos - i1
    last = len(src) - 1
    p0 = src[np.clip(i1 - 1, 0, last)]
    p1 = src[np.clip(i1, 0, last)]
    p2 = src[np.clip(i1 + 1, 0, last)]
    p3 = src[np.clip(i1 + 2, 0, last)]
    return 0.5 * (
        2 * p1 + (p2 - p0) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f * f + (3 * (p1 - p2) + p3 - p0) * f * f * f
    )


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    pad = np.pad(x, (width // 2, width - width // 2 - 1), mode="edge")
    return np.convolve(pad, np.ones(width) / width, mode="valid")


# ---------------------------------------------------------------------------------------
# Arousal sources


class ArousalSource(Protocol):
    def value(self, t: float) -> float:
        """Arousal 0..1 at console time ``t`` (called by the simulator loop)."""
        ...

    def close(self) -> None: ...


class FixedArousal:
    """A constant arousal; ``level`` may be changed from any thread."""

    def __init__(self, level: float = 0.0):
        self.level = level

    def value(self, t: float) -> float:
        return min(1.0, max(0.0, self.level))

    def close(self) -> None:
        pass


class RandomWalkArousal:
    """A slow, gentle random walk near rest (Ornstein–Uhlenbeck around 0.15, time constant
    60 s), for running without a simulated headset."""

    def __init__(self, seed: int | None = None, mean: float = 0.15, spread: float = 0.08, tau_s: float = 60.0):
        self._rng = random.Random(seed)
        self.mean, self.spread, self.tau_s = mean, spread, tau_s
        self._level = mean
        self._t: float | None = None

    def value(self, t: float) -> float:
        if self._t is not None and t > self._t:
            dt = min(t - self._t, 1.0)
            self._level += (self.mean - self._level) * dt / self.tau_s
            self._level += self.spread * math.sqrt(2 * dt / self.tau_s) * self._rng.gauss(0, 1)
            self._level = min(1.0, max(0.0, self._level))
        self._t = t
        return self._level

    def close(self) -> None:
        pass


class FollowedArousal:
    """Arousal of the simulated headset's patient, read from its ``SimPatient`` LSL stream.

    A thread of its own finds the stream (``vrclinic-sim-patient-NAME``) and pulls it; until
    the stream is found, or after it has been silent for ``stale_s``, the value drifts back
    to rest along a :class:`RandomWalkArousal`.
    """

    def __init__(self, headset_name: str, log: Callable[[str], None] = print, stale_s: float = 3.0):
        self.stream_name = PATIENT_STREAM_PREFIX + headset_name
        self.log = log
        self.stale_s = stale_s
        self.followed: float | None = None
        self.distress: float | None = None
        self._received_at = -math.inf
        self._fallback = RandomWalkArousal()
        self._level = self._fallback.mean
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="follow-patient", daemon=True)
        self._thread.start()

    @property
    def connected(self) -> bool:
        return time.perf_counter() - self._received_at < self.stale_s

    def value(self, t: float) -> float:
        rest = self._fallback.value(t)
        if self.followed is not None and self.connected:
            self._level = self.followed
        else:
            self._level += (rest - self._level) * 0.01  # back to rest over a few seconds
        return min(1.0, max(0.0, self._level))

    def _run(self) -> None:
        import pylsl

        inlet = None
        was_connected = False
        self.log(f"waiting for the simulated patient's stream '{self.stream_name}'")
        while not self._stop.is_set():
            try:
                if inlet is None:
                    found = pylsl.resolve_byprop("name", self.stream_name, minimum=1, timeout=1.0)
                    if found:
                        inlet = pylsl.StreamInlet(found[0], max_buflen=5, recover=True)
                    continue
                chunk, _ = inlet.pull_chunk(timeout=0.0, max_samples=64)
                if chunk:
                    self.followed = min(1.0, max(0.0, float(chunk[-1][0])))
                    self.distress = float(chunk[-1][1]) if len(chunk[-1]) > 1 else None
                    self._received_at = time.perf_counter()
            except Exception as exc:  # keep simulating; say what happened
                self.log(f"reading '{self.stream_name}' failed ({exc}); retrying")
                inlet = None
                self._stop.wait(1.0)
            if self.connected != was_connected:
                was_connected = self.connected
                self.log(
                    f"following '{self.stream_name}'"
                    if was_connected
                    else f"'{self.stream_name}' went quiet; arousal drifts back to rest"
                )
            self._stop.wait(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(3)


# ---------------------------------------------------------------------------------------
# Signal generators; each belongs to the simulator loop


class _Smoothed:
    """First-order lag: how fast a body signal follows arousal."""

    def __init__(self, tau_s: float, value: float = 0.0):
        self.tau_s, self.value = tau_s, value

    def step(self, target: float, dt: float) -> float:
        self.value += (target - self.value) * (1 - math.exp(-dt / self.tau_s))
        return self.value


class _EcgPlayer:
    """Replays the recorded ECG beat by beat, each beat shortened by the heart-rate factor.

    A beat runs from 250 ms before one R wave to 250 ms before the next. Its first part
    (P wave, QRS, T wave: up to 0.6 s) is shortened with the square root of the interval
    ratio (Bazett), the rest (diastole) takes what is left, so faster hearts look right
    rather than like a fast-forwarded tape. Every R wave played is reported to ``on_beat``.
    """

    LEAD_S = 0.25

    def __init__(self, rec: Recording, rate: float):
        lead = int(self.LEAD_S * SOURCE_RATE)
        self.src = rec.ecg
        self.bounds = rec.r_peaks[rec.r_peaks >= lead] - lead
        self.dt = 1.0 / rate
        self.k = 0  # current beat
        self.tau = 0.0  # seconds into the current beat
        self.beat_start: float | None = None
        self.plan: tuple[float, float, float, float] | None = None  # RR, RR', S, S'
        self.offset = 0.0  # baseline step at the loop point, fading out

    def render(self, t_first: float, n: int, hr_factor: float, on_beat: Callable[[float], None]) -> np.ndarray:
        if self.beat_start is None:
            self.beat_start = t_first
        out = np.empty(n)
        i = 0
        while i < n:
            b0, b1 = self.bounds[self.k], self.bounds[self.k + 1]
            if self.plan is None:
                rr = (b1 - b0) / SOURCE_RATE
                rr_new = rr / hr_factor
                s = min(0.6, 0.7 * rr)
                s_new = min(s * math.sqrt(rr_new / rr), 0.85 * rr_new)
                self.plan = (rr, rr_new, s, s_new)
                on_beat(self.beat_start + self.LEAD_S * s_new / s)
            rr, rr_new, s, s_new = self.plan
            m = min(n - i, max(1, math.ceil((rr_new - self.tau) / self.dt - 1e-9)))
            taus = self.tau + np.arange(m) * self.dt
            src_s = np.where(taus < s_new, taus * s / s_new, s + (taus - s_new) * (rr - s) / (rr_new - s_new))
            values = _catmull_rom(self.src, b0 + src_s * SOURCE_RATE)
            if self.offset:
                values += self.offset * np.exp(-(np.arange(m) * self.dt) / 0.5)
                self.offset *= math.exp(-m * self.dt / 0.5)
                if abs(self.offset) < 1e-4:
                    self.offset = 0.0
            out[i : i + m] = values
            i += m
            self.tau += m * self.dt
            if self.tau >= rr_new - 1e-9:
                self.tau -= rr_new
                self.beat_start += rr_new
                self.plan = None
                self.k += 1
                if self.k + 1 >= len(self.bounds):  # loop back to the first beat, without a step
                    self.offset += float(self.src[self.bounds[-1]] - self.src[self.bounds[0]])
                    self.k = 0
        return out


class _Looped:
    """A 100 Hz source replayed at a variable speed, looping without a step (the jump at
    the loop point is cancelled by an offset that fades over ``fade_s``)."""

    def __init__(self, src: np.ndarray, fade_s: float):
        self.src = src
        self.pos = 0.0
        self.offset = 0.0
        self.fade_s = fade_s

    def render(self, n: int, step: float) -> np.ndarray:
        """``n`` values, advancing ``step`` source samples per output sample (a chunk is far
        shorter than the recording, so it wraps at most once)."""
        pos = self.pos + np.arange(n) * step
        end = len(self.src) - 3
        d = math.exp(-step / SOURCE_RATE / self.fade_s)  # offset decay per output sample
        k = int(np.argmax(pos >= end)) if pos[-1] >= end else n  # first sample after the loop point
        values = np.empty(n)
        values[:k] = _catmull_rom(self.src, pos[:k]) + self.offset * d ** np.arange(k)
        offset = self.offset * d**k
        if k < n:
            offset += float(self.src[end] - self.src[0])
            pos[k:] -= end
            values[k:] = _catmull_rom(self.src, pos[k:]) + offset * d ** np.arange(n - k)
            offset *= d ** (n - k)
        self.offset = offset if abs(offset) > 1e-9 else 0.0
        self.pos = float(pos[-1]) + step
        return values


class _PpgSynth:
    """Pulse waves (systolic peak and dicrotic wave) after each ECG beat."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.pulses: deque[tuple[float, float]] = deque()  # (onset, amplitude)

    def add_beat(self, r_time: float, arousal: float) -> None:
        transit = 0.25 - 0.06 * arousal  # pulse transit time shortens as blood pressure rises
        self.pulses.append((r_time + transit, 1.0 - 0.4 * arousal))

    def render(self, times: np.ndarray) -> np.ndarray:
        out = np.zeros(len(times))
        while self.pulses and self.pulses[0][0] < times[0] - 1.5:
            self.pulses.popleft()
        for onset, amp in self.pulses:
            u = times - onset
            live = (u > -0.1) & (u < 1.5)
            if not live.any():
                continue
            uu = u[live]
            wave = np.exp(-(((uu - 0.14) / 0.06) ** 2)) + 0.38 * np.exp(-(((uu - 0.38) / 0.09) ** 2))
            out[live] += amp * wave
        return out + 0.01 * self.rng.standard_normal(len(times))


class _EdaModel:
    """Skin conductance: a tonic level that rises with arousal, the recording's own fast
    fluctuations (its slow trend removed) and skin conductance responses whose rate and
    size grow with arousal."""

    def __init__(self, rec: Recording, rng: np.random.Generator, base_us: float = 5.0):
        trend = _moving_average(rec.eda, int(20 * SOURCE_RATE))
        self.detail = _Looped(rec.eda - trend, fade_s=5.0)
        self.rng = rng
        self.base_us = base_us
        self.tonic = _Smoothed(20.0, 0.0)
        self.scrs: deque[tuple[float, float]] = deque()  # (onset, amplitude µS)

    def render(self, times: np.ndarray, rate: float, arousal: float, dt: float) -> np.ndarray:
        tonic = self.base_us + 4.0 * self.tonic.step(arousal, dt)
        # Responses: about 1 a minute at rest, up to 10 a minute very aroused.
        expected = (1 + 9 * arousal) / 60 * dt
        for _ in range(self.rng.poisson(expected)):
            amp = (0.1 + 0.7 * arousal) * self.rng.uniform(0.5, 1.5)
            self.scrs.append((times[0] + 1.5 + self.rng.uniform(0, dt), amp))  # ~1.5 s latency
        out = tonic + self.detail.render(len(times), SOURCE_RATE / rate)
        while self.scrs and self.scrs[0][0] < times[0] - 30:
            self.scrs.popleft()
        for onset, amp in self.scrs:
            u = np.maximum(times - onset, 0.0)
            out += amp * 1.55 * (np.exp(-u / 3.0) - np.exp(-u / 0.75))  # Bateman, peak ≈ amp
        return out


class _EegSynth:
    """32 channels of EEG-like noise: 1/f-ish background, posterior alpha that fades with
    arousal, a little mains hum. For load tests; not a recording."""

    def __init__(self, rng: np.random.Generator, rate: float):
        self.rng = rng
        self.dt = 1.0 / rate
        self.state = np.zeros(len(EEG_LABELS))
        posterior = np.array([lab.startswith(("P", "O")) for lab in EEG_LABELS])
        self.alpha_gain = np.where(posterior, 9.0, 3.0)
        self.phase = rng.uniform(0, 2 * np.pi, len(EEG_LABELS))

    def render(self, times: np.ndarray, arousal: float) -> np.ndarray:
        n = len(times)
        noise = self.rng.standard_normal((n, len(EEG_LABELS))) * 2.0
        out = np.empty((n, len(EEG_LABELS)))
        state = self.state
        for i in range(n):
            state = 0.97 * state + noise[i]
            out[i] = state
        self.state = state
        alpha = np.sin(2 * np.pi * 10.0 * times[:, None] + self.phase) * self.alpha_gain * (1 - 0.7 * arousal)
        hum = 0.8 * np.sin(2 * np.pi * 50.0 * times)[:, None]
        return out + alpha + hum


# ---------------------------------------------------------------------------------------


class PhysioSimulator:
    """LSL outlets with a simulated patient's ECG, PPG, EDA, respiration (and optionally
    32-channel EEG), following an arousal source.

    The outlets exist from construction on (so they can be discovered at once); samples flow
    while :meth:`run` (or the thread from :meth:`start`) runs, in chunks every 20 ms,
    each sample stamped with its exact time on ``pylsl.local_clock()``.
    """

    def __init__(
        self,
        prefix: str = "vrclinic-sim",
        *,
        arousal: ArousalSource | None = None,
        recording: str = "resting",
        eeg32: bool = False,
        seed: int | None = None,
        log: Callable[[str], None] | None = None,
    ):
        import pylsl

        self._pylsl = pylsl
        self.log = log or (lambda line: None)
        self.arousal_source: ArousalSource = arousal or RandomWalkArousal(seed)
        self.recording = load_recording(recording)
        rng = np.random.default_rng(seed)
        self.specs = (*SPECS, EEG_SPEC) if eeg32 else SPECS
        self.stream_names = {spec.kind: f"{prefix}-{spec.kind}" for spec in self.specs}
        self._outlets = {spec.kind: self._outlet(spec, self.stream_names[spec.kind]) for spec in self.specs}
        self._ecg = _EcgPlayer(self.recording, 500.0)
        self._ppg = _PpgSynth(rng)
        self._resp = _Looped(self.recording.rsp, fade_s=3.0)
        self._eda = _EdaModel(self.recording, rng)
        self._eeg = _EegSynth(rng, EEG_SPEC.rate) if eeg32 else None
        self._heart = _Smoothed(3.0, 0.0)
        self._breath = _Smoothed(5.0, 0.0)
        self._stop = threading.Event()
        self._stop_requested = False  # set by a signal handler; see request_stop()
        self._thread: threading.Thread | None = None
        self.arousal_now = 0.0
        self.heart_rate_bpm = self.recording.resting_heart_rate
        self.beat_times: deque[float] = deque(maxlen=600)  # console times of the R waves played

    def _outlet(self, spec: StreamSpec, name: str):
        from unity_bridge.sim.lsl import stream_info

        pylsl = self._pylsl
        extra = {"manufacturer": "vrclinic physio-sim (simulated patient)"}
        if spec.kind != "EEG":
            extra["recording"] = f"NeuroKit2 bio_{self.recording.name} (MIT), replayed"
        info = stream_info(name, spec.kind, spec.rate, [(label, spec.unit) for label in spec.labels], **extra)
        return pylsl.StreamOutlet(info, chunk_size=0, max_buffered=30)

    # -- running ---------------------------------------------------------------------

    def start(self) -> PhysioSimulator:
        """Run the simulator loop in a thread of its own (any thread; returns at once)."""
        self._thread = threading.Thread(target=self.run, name="physio-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the loop to stop (any thread)."""
        self._stop.set()

    def request_stop(self) -> None:
        """Ask the loop to stop from a signal handler: takes no lock (an Event's set() may
        deadlock there, if the signal arrived while this thread was inside the Event's own
        lock, e.g. in its wait()). The loop notices within one chunk."""
        self._stop_requested = True

    def close(self) -> None:
        """Stop, wait for the loop, close the arousal source and the outlets (any thread but
        the loop's)."""
        self.stop()
        if self._thread is not None:
            self._thread.join(5)
        self.arousal_source.close()
        self._outlets.clear()

    def __enter__(self) -> PhysioSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, duration: float | None = None) -> None:
        """The simulator loop: push what is due every 20 ms until :meth:`stop` or
        ``duration`` seconds."""
        clock = self._pylsl.local_clock
        t0 = clock()
        sent = dict.fromkeys(self._outlets, 0)
        last = t0
        while not self._stop.is_set() and not self._stop_requested:
            now = clock()
            if duration is not None and now - t0 >= duration:
                break
            dt = max(0.0, now - last)
            last = now
            self.arousal_now = self.arousal_source.value(now)
            for spec in self.specs:
                due = int((now - t0) * spec.rate) - sent[spec.kind]
                if due <= 0:
                    continue
                times = t0 + (sent[spec.kind] + np.arange(due)) / spec.rate
                data = self._render(spec.kind, times, spec.rate, dt)
                try:
                    self._outlets[spec.kind].push_chunk(
                        np.ascontiguousarray(data.reshape(due, -1), dtype=np.float32), timestamp=float(times[-1])
                    )
                except Exception as exc:  # keep the other streams going
                    self.log(f"pushing {spec.kind} failed: {exc}")
                sent[spec.kind] += due
            self._stop.wait(max(0.0, CHUNK_S - (clock() - now)))

    def _render(self, kind: str, times: np.ndarray, rate: float, dt: float) -> np.ndarray:
        arousal = self.arousal_now
        if kind == "ECG":
            factor = 1.0 + 0.7 * self._heart.step(arousal, dt)
            self.heart_rate_bpm = self.recording.resting_heart_rate * factor

            def on_beat(t: float) -> None:
                self.beat_times.append(t)
                self._ppg.add_beat(t, arousal)

            return self._ecg.render(float(times[0]), len(times), factor, on_beat)
        if kind == "PPG":
            return self._ppg.render(times)
        if kind == "RESP":
            speed = 1.0 + 0.9 * self._breath.step(arousal, dt)
            return self._resp.render(len(times), speed * SOURCE_RATE / rate)
        if kind == "EDA":
            return self._eda.render(times, rate, arousal, dt)
        assert self._eeg is not None
        return self._eeg.render(times, arousal)


# ---------------------------------------------------------------------------------------
# The command line: `vrclinic physio-sim`


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``vrclinic physio-sim``."""
    parser.add_argument(
        "--prefix",
        default="vrclinic-sim",
        help="stream name prefix: streams are PREFIX-ECG, -PPG, -EDA, -RESP (default %(default)s)",
    )
    parser.add_argument(
        "--follow",
        metavar="NAME",
        default=None,
        help="follow the arousal of the simulated headset NAME (its LSL stream vrclinic-sim-patient-NAME)",
    )
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--eeg32", action="store_true", help="also stream 32 channels of EEG at 1 kHz (load tests)")
    parser.add_argument(
        "--recording",
        choices=sorted(RECORDINGS),
        default="resting",
        help="which recording to replay (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the random parts (SCRs, noise)")


def main(args: argparse.Namespace) -> int:
    """Run ``vrclinic physio-sim`` until Ctrl+C, SIGTERM or ``--duration``."""

    def log(line: str) -> None:
        print(f"[physio-sim] {line}", flush=True)

    try:
        arousal: ArousalSource | None = FollowedArousal(args.follow, log) if args.follow else None
        sim = PhysioSimulator(
            args.prefix, arousal=arousal, recording=args.recording, eeg32=args.eeg32, seed=args.seed, log=log
        )
    except Exception as exc:
        print(f"physio-sim could not create its LSL streams: {exc}", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sim.request_stop())
    for spec in sim.specs:
        log(
            f"streaming {sim.stream_names[spec.kind]} ({spec.kind}, {spec.rate:g} Hz, "
            f"{len(spec.labels)} channel{'s' if len(spec.labels) > 1 else ''}, {spec.unit})"
        )
    log("arousal: " + (f"following headset '{args.follow}'" if args.follow else "gentle random walk near rest"))
    log("Ctrl+C to stop")
    try:
        sim.run(args.duration)
    finally:
        sim.arousal_source.close()
    log("stopped")
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="physio-sim", description="Simulated physiology: LSL streams.")
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
