"""Live physiology metrics during a session: heart rate and skin conductance from the
streams being acquired, a resting baseline, and an arousal index relative to it, with the
words for what drives it. No Qt.

The index is deliberately simple and says how it is made: each available sign of arousal
is expressed as its excess over the patient's own baseline, in a unit a clinician reads as
"clearly up" (heart rate +15 bpm; 3 more skin conductance responses a minute; skin
conductance level +1 µS), and the index is their mean, as a percentage of twice that
(0 % = at baseline, 100 % = twice "clearly up" or more). It is decision *support*: the
therapist sees the numbers behind it.

Threads: one worker thread (``vrclinic-metrics``) reads the acquisition's buffers (copies
taken under its locks) every ``interval_s`` and has :mod:`console.physio.metrics` (NeuroKit2)
compute in a process of its own (:mod:`console.physio.metrics_proc`: NeuroKit's import and
its computations hold the interpreter's lock, which the window's heartbeats must not wait
for), about 20 ms for 30 s of 500 Hz ECG. Readers in any thread call
:meth:`LiveMetrics.latest`, or set ``on_reading`` to hear of each reading in the worker;
:meth:`LiveMetrics.start_baseline` may be called from any thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from console.physio.metrics_proc import MetricsProcess
from console.physio.streams import StreamDescription

CLEARLY_UP = {"hr": 15.0, "scr": 3.0, "scl": 1.0}  # bpm; responses per minute; µS


@dataclass(frozen=True)
class Baseline:
    hr_bpm: float | None
    scl_us: float | None
    scr_per_min: float | None
    seconds: float  # how much rest it was measured over


@dataclass(frozen=True)
class LiveReading:
    at: float  # console clock of the newest sample used
    hr_bpm: float | None
    hr_quality: str
    hr_source: str  # stream name
    scl_us: float | None
    scr_per_min: float | None
    eda_quality: str
    baseline: Baseline | None
    baseline_progress: float  # 0..1 while the baseline is being measured
    arousal_pct: float | None
    drivers: str  # what drives the index, in words with the numbers

    def values(self) -> dict[str, float | None]:
        """The numbers by name, as the clinical session and the metrics stream take them."""
        return {
            "hr_bpm": self.hr_bpm,
            "scl_us": self.scl_us,
            "scr_per_min": self.scr_per_min,
            "arousal_pct": self.arousal_pct,
        }

    def text(self) -> str:
        """One line for the console: what is measured, the baseline, the index and why."""
        parts = []
        if self.hr_bpm is not None:
            parts.append(f"HR {self.hr_bpm:.0f} bpm" + ("" if self.hr_quality == "good" else f" ({self.hr_quality})"))
        if self.scl_us is not None:
            parts.append(f"SCL {self.scl_us:.2f} µS")
        if self.scr_per_min is not None:
            parts.append(f"{self.scr_per_min:.0f} SCRs/min")
        if not parts:
            return "No heart rate or skin conductance yet: tick an ECG, PPG or EDA stream."
        if self.baseline is None:
            parts.append(f"measuring resting baseline… {self.baseline_progress:.0%}")
        elif self.arousal_pct is not None:
            parts.append(f"arousal {self.arousal_pct:.0f} % — {self.drivers}")
        return " · ".join(parts)


def arousal(reading: dict[str, float | None], baseline: Baseline) -> tuple[float | None, str]:
    """The index (0–100 %) and its drivers in words, from current values and the baseline."""
    excess, words = [], []
    pairs = (
        ("hr", reading.get("hr_bpm"), baseline.hr_bpm, "HR {:+.0f} bpm over baseline"),
        ("scr", reading.get("scr_per_min"), baseline.scr_per_min, "{:+.0f} SCRs/min over baseline"),
        ("scl", reading.get("scl_us"), baseline.scl_us, "skin conductance {:+.2f} µS over baseline"),
    )
    for key, now, base, fmt in pairs:
        if now is None or base is None or not math.isfinite(now) or not math.isfinite(base):
            continue
        delta = now - base
        excess.append(delta / CLEARLY_UP[key])
        words.append((abs(delta / CLEARLY_UP[key]), fmt.format(delta)))
    if not excess:
        return None, ""
    pct = float(np.clip(np.mean(excess) / 2.0, 0.0, 1.0) * 100.0)
    words.sort(reverse=True)  # the strongest driver first
    return pct, ", ".join(w for _, w in words)


class LiveMetrics:
    def __init__(
        self,
        acquisition,
        selected: Callable[[], list[StreamDescription]],
        *,
        interval_s: float = 1.0,
        window_s: float = 30.0,
        baseline_s: float = 60.0,
        clock: Callable[[], float] = time.perf_counter,
        compute: MetricsProcess | None = None,
    ):
        self.acquisition = acquisition
        self.compute = compute or MetricsProcess()  # starts now: NeuroKit loads meanwhile
        self._selected = selected
        self.interval_s = interval_s
        self.window_s = window_s
        self.baseline_s = baseline_s
        self.clock = clock
        self._lock = threading.Lock()
        self._latest: LiveReading | None = None
        self._baseline: Baseline | None = None
        self._samples: list[dict[str, float | None]] = []  # readings during the baseline
        self._baseline_from: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0
        self.problem = ""  # why the last update failed, in words; "" when it worked
        # Called in the worker thread with each new reading (the window forwards it to the
        # GUI thread at once, rather than finding it at its next poll).
        self.on_reading: Callable[[LiveReading], None] | None = None

    def start(self) -> LiveMetrics:
        self._thread = threading.Thread(target=self._run, name="vrclinic-metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.compute.close()

    def latest(self) -> LiveReading | None:
        with self._lock:
            return self._latest

    def start_baseline(self) -> None:
        """Measure the resting baseline again from now on (the patient is at rest)."""
        with self._lock:
            self._baseline, self._samples, self._baseline_from = None, [], None

    # -- the worker ------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._update()
                self.problem = ""
            except Exception as exc:  # a bad window must not end live metrics; the next may be fine
                self.errors += 1
                self.problem = str(exc) or type(exc).__name__

    def _pick(self, kinds: tuple[str, ...]) -> StreamDescription | None:
        for kind in kinds:
            for s in self._selected():
                if s.type.upper() == kind and s.nominal_rate > 0:
                    return s
        return None

    def _update(self) -> None:
        values: dict[str, float | None] = {"hr_bpm": None, "scl_us": None, "scr_per_min": None}
        hr_quality = eda_quality = ""
        hr_source = ""
        newest = None
        heart = self._pick(("ECG", "PPG"))
        if heart is not None:
            t, data = self.acquisition.latest(heart.uid, self.window_s)
            if len(t) > heart.nominal_rate * 8:  # a few beats at least
                kind = "ECG" if heart.type.upper() == "ECG" else "PPG"
                bpm, hr_quality = self.compute.heart(kind, data[:, 0], heart.nominal_rate, float(t[0]))
                hr_source, newest = heart.name, float(t[-1])
                values["hr_bpm"] = bpm
        skin = self._pick(("EDA", "GSR"))
        if skin is not None:
            t, data = self.acquisition.latest(skin.uid, self.window_s)
            if len(t) > skin.nominal_rate * 8:
                scl, scr, eda_quality = self.compute.skin(data[:, 0], skin.nominal_rate, float(t[0]))
                values["scl_us"], values["scr_per_min"] = scl, scr
                newest = max(newest or 0.0, float(t[-1]))
        now = newest if newest is not None else self.clock()
        with self._lock:
            baseline, progress = self._baseline_step(now, values)
            pct, drivers = arousal(values, baseline) if baseline is not None else (None, "")
            self._latest = LiveReading(
                at=now,
                hr_bpm=values["hr_bpm"],
                hr_quality=hr_quality,
                hr_source=hr_source,
                scl_us=values["scl_us"],
                scr_per_min=values["scr_per_min"],
                eda_quality=eda_quality,
                baseline=baseline,
                baseline_progress=progress,
                arousal_pct=pct,
                drivers=drivers,
            )
            reading = self._latest
        if self.on_reading is not None:
            self.on_reading(reading)

    def _baseline_step(self, now: float, values: dict[str, float | None]) -> tuple[Baseline | None, float]:
        """Under the lock: collect readings until baseline_s of them, then fix the baseline."""
        if self._baseline is not None:
            return self._baseline, 1.0
        if all(v is None for v in values.values()):
            return None, 0.0
        if self._baseline_from is None:
            self._baseline_from = now
        self._samples.append(values)
        elapsed = now - self._baseline_from
        if elapsed < self.baseline_s:
            return None, elapsed / self.baseline_s

        def mean(key: str) -> float | None:
            found = [s[key] for s in self._samples if s[key] is not None]
            return float(np.mean(found)) if found else None

        self._baseline = Baseline(mean("hr_bpm"), mean("scl_us"), mean("scr_per_min"), elapsed)
        return self._baseline, 1.0
