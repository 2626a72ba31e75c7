"""Physiology metrics: heart rate and RR intervals from ECG or PPG, skin conductance level and
responses (SCRs) from EDA, breathing rate from respiration, each with a quality flag in words.
No Qt, no LSL: pure functions over numpy arrays, plus ``vrclinic metrics FILE.csv``, which
computes the same numbers offline so a researcher can check them against their own tools.

Threads: everything here is called from worker threads or commands, **never the GUI thread**.
The first call imports NeuroKit2 (2–3.5 s: it pulls in pandas, scipy, scikit-learn and
matplotlib); a worker can call :func:`preload` at start-up to pay that early. The functions
hold a module lock while NeuroKit runs, because ``warnings.catch_warnings`` (used to turn
NeuroKit's warnings into quality reasons instead of console noise) changes process-wide state
and is not thread-safe in Python 3.11: two of our calls never overlap, and a warning another
thread raises during a call may be recorded here instead of shown (it is not lost silently:
warnings that are not NeuroKit's are re-emitted after the call).

Signal processing is NeuroKit2's (validated pipelines, cited in each function); what is ours is
the choice of steps, the quality rules and the bookkeeping:

- **ECG** (:func:`heart_rate_from_ecg`): ``ecg_clean`` (0.5 Hz high-pass, mains notch) and
  ``ecg_peaks`` (NeuroKit's QRS detector). Artifact correction (Lipponen & Tarvainen 2019,
  ``signal_fixpeaks(method="Kubios")``, what ``ecg_peaks(correct_artifacts=True)`` runs) is
  applied **only when the detection has missed or extra beats**. On clean recordings the
  method also "corrects" beats it classes as ectopic by moving them to where a regular beat
  would be: on the event-related file it moved two normal sinus beats by 110 and 50 ms away
  from their R waves (checked against an independent detector). So such beats are kept as
  detected and only named in the quality reason.
- **PPG** (:func:`heart_rate_from_ppg`): ``ppg_clean`` (Elgendi: 0.5–8 Hz band-pass) and
  ``ppg_findpeaks`` (Elgendi 2013), the same correction rule.
- **Quality of beats**: the template-matching index of Orphanidou et al. (2015), the mean
  correlation of each beat with the average beat (what NeuroKit's
  ``ecg_quality(method="templatematch")`` computes; ours is the same arithmetic in numpy, 1 ms
  instead of 60–80 ms through pandas, and a test checks both agree), below 0.66 = poor (the
  paper's threshold), below 0.90 = fair; plus the share of RR intervals outside 300–2000 ms
  (30–200 bpm). NeuroKit's default ``averageQRS`` index is not used: it rescales distances
  to 0..1 within each call, so pure noise scores 0.61 and a clean ECG 0.76.
- **EDA** (:func:`skin_conductance`): ``eda_clean`` (3 Hz low-pass), ``eda_phasic``
  (0.05 Hz high-pass split into tonic and phasic, as Biopac's AcqKnowledge does; NeuroKit's
  default), then the peak rule of ``eda_peaks(method="neurokit")`` (responses larger than
  10 % of the largest in the signal, onset = the trough before the peak, amplitude = peak
  minus onset) **and** an absolute floor of 0.05 µS, so that a quiet window does not turn its
  own ripples into responses. ``eda_peaks`` itself is not called: it finds the onset of every
  ripple first (100+ ms a call on a quiet minute); ``signal_findpeaks(height_min=...)`` does
  the same without them. Responses whose onset lies before the signal starts (amplitude
  unknown) are dropped. Quality follows Kleckner et al. (2018): samples outside 0.05–60 µS or
  changing faster than 10 µS/s are invalid.
- **Respiration** (:func:`breathing`): ``rsp_clean`` (Khodadad 2018: 0.05–3 Hz band-pass) and
  ``rsp_peaks``, i.e. the first steps of ``rsp_process``; the rest of ``rsp_process``
  (amplitude, RVT, symmetry, phase) costs 50–300 ms and is not needed for a rate. Rate per
  breath = 60 / trough-to-trough interval.

Validation on the real recordings in ``shared/data/physio`` (NeuroKit's example data, 100 Hz),
done by ``tests/console/test_metrics.py`` against an independent reference detector (SciPy:
5–20 Hz Butterworth band-pass, squared, peaks at least 300 ms apart above 20 % of the 99th
percentile, each refined to the maximum of the 0.5 Hz high-passed ECG within ±60 ms):

==========================  =========================  =========================
                            resting 8 min (506.8 s)    event-related (150 s)
==========================  =========================  =========================
beats ours / reference      478 / 478, all within      152 / 152, all within
                            10 ms (median 0 ms)        10 ms (median 0 ms)
mean HR ours / reference    56.60 / 56.60 bpm          60.86 / 60.86 bpm
RR mean                     1060.0 / 1060.0 ms         985.9 / 985.9 ms
SDNN                        83.56 / 83.47 ms           85.60 / 84.94 ms
RMSSD                       64.64 / 64.45 ms           75.89 / 73.69 ms
==========================  =========================  =========================

(At 100 Hz beat times are quantised to 10 ms; that alone moves RMSSD by a few ms.) NeuroKit's
own Pan–Tompkins detector agrees on the RR series (mean RR identical, SDNN 85.1 ms) but marks
each beat 80 ms after the R peak at this rate, so it serves for RR, not for beat times. SCRs
follow both *negative* images of the event-related file 3.0 s and 1.1 s after their onset and
neither *neutral* one. Breathing at rest is slow in this recording: 9.5 breaths/min over the
whole file (6.7–12.4 in single minutes), confirmed by eye and by a second detector
(band-pass and peak picking: 9.57 breaths/min; event-related file 16.84 / 16.86).

Cost of one call (measured on a 2-core machine, Python 3.11, NeuroKit2 0.2.13, after the first
import; median of 50): :func:`heart_rate_from_ecg` on 60 s of 500 Hz ECG 6.6 ms (p90 7.8 ms;
30 s: 5.0 ms); :func:`heart_rate_from_ppg` on 60 s of 100 Hz PPG 4.6 ms; :func:`skin_conductance`
on 60 s of 32 Hz EDA 4.9 ms; :func:`breathing` on 60 s of 50 Hz respiration 1.9 ms. Calling all
of them every second on sliding windows from one worker thread costs about 2 % of a core.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RR_MIN_MS = 300.0  # 200 bpm: faster is not a heart rate we can believe from a resting patient
RR_MAX_MS = 2000.0  # 30 bpm
TEMPLATE_POOR = 0.66  # Orphanidou et al. 2015: average beat–template correlation for acceptable ECG
TEMPLATE_GOOD = 0.90
SCR_MIN_AMPLITUDE_US = 0.05  # absolute floor; the field uses 0.01–0.05 µS (Boucsein 2012)
EDA_VALID_RANGE_US = (0.05, 60.0)  # Kleckner et al. 2018
EDA_MAX_SLOPE_US_PER_S = 10.0  # Kleckner et al. 2018
BREATH_MIN_S = 1.5  # 40 breaths/min
BREATH_MAX_S = 20.0  # 3 breaths/min
GOOD, FAIR, POOR = "good", "fair", "poor"

_NK_LOCK = threading.RLock()
_nk_module: Any = None


def preload() -> None:
    """Import NeuroKit2 now (2–3.5 s), so that the first metric is quick. The import holds the
    GIL for long stretches: call it before anything time-critical runs (the console does, at
    start, before its link opens), not from a worker thread during a live session."""
    _nk()


def _nk() -> Any:
    """NeuroKit2, imported on first use: ``vrclinic`` and the console start without paying for
    it, and matplotlib (which NeuroKit imports) never picks a GUI backend in a worker thread."""
    global _nk_module
    if _nk_module is None:
        with _NK_LOCK:
            if _nk_module is None:
                os.environ.setdefault("MPLBACKEND", "Agg")
                import neurokit2

                _nk_module = neurokit2
    return _nk_module


# Sentences for NeuroKit's warnings, by the start of the warning's text.
_NK_WARNING_TEXT = {
    "Too few peaks detected": "too few beats or breaths to compute a rate",
    "The sampling rate is too low": "the sampling rate is too low for this filter",
    "EDA signal is sampled at very low frequency": "EDA sampled at 6 Hz or less: not filtered before analysis",
    "Not enough peaks and troughs": "too few breaths in the signal",
}


# Where warnings of the computation itself come from: NeuroKit and the libraries it calls.
_THIRD_PARTY = tuple(f"{os.sep}{pkg}{os.sep}" for pkg in ("neurokit2", "numpy", "pandas", "scipy", "sklearn"))


@contextmanager
def _neurokit_warnings(reasons: list[str]) -> Iterator[None]:
    """Run NeuroKit with its warnings recorded instead of printed. NeuroKit's own warnings become
    sentences in ``reasons``; numerical warnings from inside NeuroKit, numpy, pandas or SciPy
    (empty slices, NaN means on a broken signal) are dropped, because the quality rules judge
    the result anyway; any other warning (another thread's) is re-emitted afterwards."""
    with _NK_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            others = []
            for w in caught:
                text = str(w.message)
                if w.category.__name__ == "NeuroKitWarning":
                    sentence = next((s for k, s in _NK_WARNING_TEXT.items() if text.startswith(k)), None)
                    sentence = sentence or f"NeuroKit: {text.strip()}"
                    if sentence not in reasons:
                        reasons.append(sentence)
                elif not any(part in w.filename for part in _THIRD_PARTY):
                    others.append(w)
    for w in others:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _grade(poor: list[str], fair: list[str], notes: list[str], good_text: str) -> tuple[str, str]:
    """The worst problem decides the grade; the reason lists every problem, then the notes."""
    if poor:
        return POOR, "; ".join(poor + fair + notes)
    if fair:
        return FAIR, "; ".join(fair + notes)
    return GOOD, "; ".join([good_text, *notes])


def _prepare(signal: Sequence[float] | np.ndarray, rate: float) -> tuple[np.ndarray, list[str], list[str]]:
    """A float copy with gaps (NaN, inf) filled by linear interpolation, and what was wrong:
    (signal, poor reasons, fair reasons). Dropped-out samples arrive from LSL as gaps."""
    if not rate or not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"sampling rate must be a positive number of Hz, not {rate!r}")
    x = np.array(signal, dtype=float).ravel()
    poor: list[str] = []
    fair: list[str] = []
    bad = ~np.isfinite(x)
    if bad.all():
        return np.zeros(0), ["no valid samples"], fair
    if bad.any():
        share = bad.mean()
        idx = np.arange(len(x))
        x[bad] = np.interp(idx[bad], idx[~bad], x[~bad])
        (poor if share > 0.2 else fair).append(f"{share:.0%} of samples missing (filled in)")
    return x, poor, fair


def _is_flat(x: np.ndarray) -> bool:
    return len(x) > 0 and float(np.ptp(x)) <= 1e-9 * max(1.0, float(np.max(np.abs(x))))


def _template_correlation(x: np.ndarray, peaks: np.ndarray) -> float:
    """Orphanidou et al. (2015) template matching as NeuroKit's ``templatematch`` does it: beats
    cut one mean cycle long around each peak, the template is their mean, the index is the mean
    correlation of the beats with it. NaN with fewer than 3 whole beats."""
    if len(peaks) < 3:
        return math.nan
    half = round(0.5 * float(np.mean(np.diff(peaks))))
    peaks = peaks[(peaks - half >= 0) & (peaks + half < len(x))]
    if len(peaks) < 3 or half < 2:
        return math.nan
    beats = x[peaks[:, None] + np.arange(-half, half)[None, :]]
    beats = beats - beats.mean(axis=1, keepdims=True)
    template = beats.mean(axis=0)
    denom = np.linalg.norm(beats, axis=1) * np.linalg.norm(template)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (beats @ template) / denom
    return float(np.nanmean(r)) if np.isfinite(r).any() else math.nan


# ---------------------------------------------------------------------------------------
# Heart rate


@dataclass
class HeartRate:
    """Beats and the heart rate they give. Times are in seconds on the caller's clock (``t0`` is
    the time of the first sample)."""

    peaks_t: np.ndarray  # beat times (R peaks, or PPG systolic peaks), s
    rr_ms: np.ndarray  # intervals between beats (n - 1), ms
    t: np.ndarray  # time of each heart-rate value: the beat that ends its interval (peaks_t[1:])
    bpm: np.ndarray  # instantaneous heart rate per beat, 60000 / rr_ms
    quality: str  # "good" | "fair" | "poor"
    quality_reason: str
    source: str = "ECG"  # or "PPG"
    template_r: float = math.nan  # Orphanidou template-matching index, 1 = every beat has the same shape
    implausible_fraction: float = math.nan  # of the detected intervals, outside 300–2000 ms
    corrected_beats: int = 0  # beats added, removed or moved by the artifact correction

    def plausible_rr_ms(self) -> np.ndarray:
        """RR intervals a heart can make; the statistics ignore the others (detection errors)."""
        rr = self.rr_ms
        return rr[(rr >= RR_MIN_MS) & (rr <= RR_MAX_MS)]

    def mean_bpm(self) -> float:
        """Mean heart rate as beats per minute of the plausible intervals (60000 / mean RR), the
        way HRV tools define it; NaN without intervals."""
        rr = self.plausible_rr_ms()
        return 60000.0 / float(rr.mean()) if len(rr) else math.nan

    def mean_rr_ms(self) -> float:
        rr = self.plausible_rr_ms()
        return float(rr.mean()) if len(rr) else math.nan

    def sdnn_ms(self) -> float:
        """Standard deviation of the RR intervals (sample SD, ddof = 1); NaN with fewer than 2."""
        rr = self.plausible_rr_ms()
        return float(rr.std(ddof=1)) if len(rr) >= 2 else math.nan

    def rmssd_ms(self) -> float:
        """Root mean square of successive RR differences; NaN with fewer than 2 intervals."""
        rr = self.plausible_rr_ms()
        return float(np.sqrt(np.mean(np.diff(rr) ** 2))) if len(rr) >= 2 else math.nan

    def bpm_at(self, t: float, window_s: float = 10.0) -> float:
        """Mean heart rate over the ``window_s`` seconds ending at ``t`` (beats whose interval
        ends in (t - window_s, t]); NaN if there are none."""
        sel = (self.t > t - window_s) & (self.t <= t)
        rr = self.rr_ms[sel]
        rr = rr[(rr >= RR_MIN_MS) & (rr <= RR_MAX_MS)]
        return 60000.0 / float(rr.mean()) if len(rr) else math.nan

    def series(self, step_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Heart rate on a regular time grid (linear between beats) for plotting; empty arrays
        without heart-rate values."""
        if len(self.t) == 0:
            return np.zeros(0), np.zeros(0)
        grid = np.arange(self.t[0], self.t[-1] + 1e-9, step_s)
        return grid, np.interp(grid, self.t, self.bpm)


def _no_beats(source: str, reason: str) -> HeartRate:
    empty = np.zeros(0)
    return HeartRate(empty, empty, empty, empty, POOR, reason, source=source)


def _heart_rate(
    source: str,
    x: np.ndarray,
    rate: float,
    t0: float,
    find_peaks: Any,
    poor: list[str],
    fair: list[str],
) -> HeartRate:
    """The part ECG and PPG share: peaks → quality → (correction) → RR and heart rate."""
    what = "ECG" if source == "ECG" else "pulse"
    if len(x) < 2 * rate:
        return _no_beats(source, "; ".join([*poor, f"too short: {len(x) / rate:.1f} s, need at least 2 s"]))
    if _is_flat(x):
        return _no_beats(source, f"flat line: no {what} signal (electrode or sensor off, or not connected)")
    nk = _nk()
    notes: list[str] = []
    try:
        with _neurokit_warnings(notes):
            clean, peaks = find_peaks(nk, x, rate)
    except Exception as exc:  # NeuroKit raises many types on unusable input; a live session must go on
        return _no_beats(source, "; ".join([*poor, f"{what} could not be analysed ({type(exc).__name__}: {exc})"]))
    peaks = np.asarray(peaks, dtype=np.int64)
    if len(peaks) < 3:
        return _no_beats(source, "; ".join([*poor, f"fewer than 3 beats found in {len(x) / rate:.0f} s", *notes]))

    raw_rr = np.diff(peaks) / rate * 1000.0
    implausible = float(np.mean((raw_rr < RR_MIN_MS) | (raw_rr > RR_MAX_MS)))
    template_r = _template_correlation(clean, peaks)
    corrected = 0
    if len(peaks) >= 8:
        peaks, corrected, ectopic = _correct_missed_extra(nk, peaks, rate, notes)
        if ectopic:
            notes.append(f"{ectopic} beat(s) with an irregular interval (possibly ectopic), kept as detected")
    if not template_r >= TEMPLATE_POOR:  # NaN too
        poor.append(f"beats do not share a shape (template r = {template_r:.2f} < {TEMPLATE_POOR}): noise or artifacts")
    elif template_r < TEMPLATE_GOOD:
        fair.append(f"beat shapes vary (template r = {template_r:.2f} < {TEMPLATE_GOOD}): some noise")
    if implausible > 0.2:
        poor.append(f"{implausible:.0%} of beat intervals outside 300–2000 ms")
    elif implausible > 0:
        fair.append(f"{implausible:.0%} of beat intervals outside 300–2000 ms")
    if corrected > 0.05 * len(peaks):
        fair.append(f"{corrected} missed or extra beats corrected")
    elif corrected:
        notes.append(f"{corrected} missed or extra beat(s) corrected")
    quality, reason = _grade(
        poor,
        fair,
        notes,
        f"{len(peaks)} beats of one shape (template r = {template_r:.2f}), intervals all within 300–2000 ms",
    )
    peaks_t = t0 + peaks / rate
    rr = np.diff(peaks) / rate * 1000.0
    return HeartRate(
        peaks_t=peaks_t,
        rr_ms=rr,
        t=peaks_t[1:],
        bpm=60000.0 / rr,
        quality=quality,
        quality_reason=reason,
        source=source,
        template_r=template_r,
        implausible_fraction=implausible,
        corrected_beats=corrected,
    )


def _correct_missed_extra(nk: Any, peaks: np.ndarray, rate: float, notes: list[str]) -> tuple[np.ndarray, int, int]:
    """Lipponen & Tarvainen (2019) artifact correction, applied only when it finds missed or
    extra beats (see the module docstring for why not for ectopic ones). Returns (peaks,
    number of missed + extra beats, number of beats classed ectopic or long/short)."""
    try:
        with _neurokit_warnings(notes):
            artifacts, _ = nk.signal_fixpeaks(peaks, sampling_rate=rate, method="Kubios", iterative=False)
            missed_extra = len(artifacts["missed"]) + len(artifacts["extra"])
            ectopic = len(artifacts["ectopic"]) + len(artifacts["longshort"])
            if not missed_extra:
                return peaks, 0, ectopic
            _, fixed = nk.signal_fixpeaks(peaks, sampling_rate=rate, method="Kubios", iterative=True)
    except Exception as exc:  # correction is an improvement, never a reason to lose the beats
        notes.append(f"artifact correction skipped ({type(exc).__name__})")
        return peaks, 0, 0
    fixed = np.unique(np.asarray(fixed, dtype=np.int64))
    return fixed, missed_extra, ectopic


def _ecg_peaks(nk: Any, x: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    clean = np.asarray(nk.ecg_clean(x, sampling_rate=rate))
    _, info = nk.ecg_peaks(clean, sampling_rate=rate)
    return clean, info["ECG_R_Peaks"]


def _ppg_peaks(nk: Any, x: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    clean = np.asarray(nk.ppg_clean(x, sampling_rate=rate))
    info = nk.ppg_findpeaks(clean, sampling_rate=rate)
    return clean, info["PPG_Peaks"]


def heart_rate_from_ecg(signal: Sequence[float] | np.ndarray, rate: float, t0: float = 0.0) -> HeartRate:
    """Heart rate and RR intervals from an ECG lead (any unit) sampled at ``rate`` Hz (100 Hz
    and up; R-peak times are only as precise as one sample). Never raises on bad signals: a
    flat line, noise or too little data give ``quality == "poor"`` with the reason."""
    x, poor, fair = _prepare(signal, rate)
    return _heart_rate("ECG", x, rate, t0, _ecg_peaks, poor, fair)


def heart_rate_from_ppg(signal: Sequence[float] | np.ndarray, rate: float, t0: float = 0.0) -> HeartRate:
    """Pulse rate and inter-beat intervals from a photoplethysmogram sampled at ``rate`` Hz
    (25 Hz and up). Pulse intervals follow RR intervals but add pulse-transit-time jitter, so
    RMSSD from PPG reads higher than from ECG. Never raises on bad signals."""
    x, poor, fair = _prepare(signal, rate)
    return _heart_rate("PPG", x, rate, t0, _ppg_peaks, poor, fair)


# ---------------------------------------------------------------------------------------
# Skin conductance


@dataclass
class SkinConductance:
    """Tonic level and phasic responses of electrodermal activity; times in s on the caller's
    clock, conductance in the signal's unit (µS for every EDA sensor we know)."""

    t: np.ndarray  # sample times
    scl: np.ndarray  # tonic skin conductance level per sample
    scr_onsets_t: np.ndarray  # where each response starts rising
    scr_peaks_t: np.ndarray
    scr_amplitudes: np.ndarray  # peak minus onset of the phasic signal, µS
    quality: str
    quality_reason: str
    invalid_fraction: float = 0.0  # Kleckner et al. 2018: out of range or too steep

    def _span(self, start: float | None, end: float | None) -> tuple[float, float]:
        if len(self.t) == 0:
            return (start or 0.0), (end or 0.0)
        dt = (self.t[-1] - self.t[0]) / max(1, len(self.t) - 1)
        return (self.t[0] if start is None else start), (self.t[-1] + dt if end is None else end)

    def scr_count(self, start: float | None = None, end: float | None = None) -> int:
        """Responses whose onset lies in [start, end) (default: the whole signal)."""
        start, end = self._span(start, end)
        return int(np.count_nonzero((self.scr_onsets_t >= start) & (self.scr_onsets_t < end)))

    def scr_per_min(self, start: float | None = None, end: float | None = None) -> float:
        """Responses per minute in [start, end); NaN for an empty span."""
        start, end = self._span(start, end)
        return self.scr_count(start, end) / ((end - start) / 60.0) if end > start else math.nan

    def scl_at(self, t: float) -> float:
        """Tonic level at time ``t`` (interpolated); NaN outside the signal."""
        if len(self.t) == 0 or t < self.t[0] or t > self.t[-1]:
            return math.nan
        return float(np.interp(t, self.t, self.scl))


def _eda_invalid(x: np.ndarray, rate: float) -> np.ndarray:
    """Kleckner et al. (2018) rules 1 and 2: out of 0.05–60 µS, or changing faster than 10 µS/s."""
    low, high = EDA_VALID_RANGE_US
    bad = (x < low) | (x > high)
    steep = np.abs(np.diff(x)) * rate > EDA_MAX_SLOPE_US_PER_S
    bad[1:] |= steep
    bad[:-1] |= steep
    return bad


def skin_conductance(signal: Sequence[float] | np.ndarray, rate: float, t0: float = 0.0) -> SkinConductance:
    """Skin conductance level and responses from EDA sampled at ``rate`` Hz (works from 8 Hz;
    our live sensors send 32 Hz, the reference files 100 Hz). Never raises on bad signals.

    Responses are counted reliably only in signals of 20 s or more (the 0.05 Hz high-pass
    needs that long to settle), and in a window holding one large response, responses under
    10 % of it are not counted (NeuroKit's rule)."""
    x, poor, fair = _prepare(signal, rate)
    n = len(x)
    t = t0 + np.arange(n) / rate
    empty = np.zeros(0)

    def failed(reason: str, invalid: float = 0.0) -> SkinConductance:
        return SkinConductance(t, np.full(n, np.nan), empty, empty, empty, POOR, reason, invalid)  # no level to trust

    if n < 4 * rate:
        return failed("; ".join([*poor, f"too short: {n / rate:.1f} s, need at least 4 s"]))
    if _is_flat(x):
        return failed("flat line: no EDA signal (electrodes off, or sensor not connected)", 1.0)
    invalid = float(_eda_invalid(x, rate).mean())
    nk = _nk()
    notes: list[str] = []
    try:
        with _neurokit_warnings(notes):
            clean = np.asarray(nk.eda_clean(x, sampling_rate=rate))
            parts = nk.eda_phasic(clean, sampling_rate=rate, method="highpass")
            tonic = parts["EDA_Tonic"].to_numpy()
            phasic = parts["EDA_Phasic"].to_numpy()
            # eda_peaks(method="neurokit") finds peaks with signal_findpeaks(relative_height_min=0.1,
            # relative_max=True). Asking for the absolute floor first spares finding the onset of
            # every ripple of a quiet signal (100+ ms a call); the 10 % rule is applied below.
            found = nk.signal_findpeaks(phasic, height_min=SCR_MIN_AMPLITUDE_US)
    except Exception as exc:  # see _heart_rate
        return failed("; ".join([*poor, f"EDA could not be analysed ({type(exc).__name__}: {exc})"]), invalid)
    peaks = np.asarray(found["Peaks"], dtype=np.int64)
    onsets = np.asarray(found["Onsets"], dtype=float)
    height = np.asarray(found["Height"], dtype=float)  # prominence, what NeuroKit's 10 % rule compares
    known = np.isfinite(onsets)  # NaN: the response rose before the signal began; its size is unknown
    amps = np.full(len(peaks), np.nan)
    amps[known] = phasic[peaks[known]] - phasic[onsets[known].astype(np.int64)]  # as eda_peaks measures it
    relevant = height >= 0.1 * height.max() if len(height) else np.zeros(0, dtype=bool)
    keep = known & relevant & (amps >= SCR_MIN_AMPLITUDE_US)

    if invalid > 0.2:
        poor.append(f"{invalid:.0%} of samples outside 0.05–60 µS or changing faster than 10 µS/s")
    elif invalid > 0:
        fair.append(f"{invalid:.0%} of samples outside 0.05–60 µS or changing faster than 10 µS/s")
    if n < 20 * rate:
        fair.append(f"only {n / rate:.0f} s: responses need 20 s or more to be counted reliably")
    quality, reason = _grade(poor, fair, notes, "level in range, no jumps")
    return SkinConductance(
        t=t,
        scl=tonic,
        scr_onsets_t=t0 + onsets[keep] / rate,
        scr_peaks_t=t0 + peaks[keep] / rate,
        scr_amplitudes=amps[keep],
        quality=quality,
        quality_reason=reason,
        invalid_fraction=invalid,
    )


# ---------------------------------------------------------------------------------------
# Breathing


@dataclass
class Breathing:
    """Breathing rate per breath; times in s on the caller's clock."""

    t: np.ndarray  # end of each breath (the trough that closes it)
    rate_bpm: np.ndarray  # breaths per minute, 60 / breath duration
    quality: str
    quality_reason: str = ""
    breath_t: np.ndarray = field(default_factory=lambda: np.zeros(0))  # every trough (start of a breath)

    def _plausible(self) -> np.ndarray:
        return self.rate_bpm[(self.rate_bpm >= 60 / BREATH_MAX_S) & (self.rate_bpm <= 60 / BREATH_MIN_S)]

    def mean_rate_bpm(self) -> float:
        """Breaths per minute over the plausible breaths (60 / mean breath duration); NaN without."""
        r = self._plausible()
        return 60.0 / float(np.mean(60.0 / r)) if len(r) else math.nan

    def rate_at(self, t: float, window_s: float = 30.0) -> float:
        """Mean breathing rate over the breaths ending in (t - window_s, t]; NaN if none."""
        r = self.rate_bpm[(self.t > t - window_s) & (self.t <= t)]
        r = r[(r >= 60 / BREATH_MAX_S) & (r <= 60 / BREATH_MIN_S)]
        return 60.0 / float(np.mean(60.0 / r)) if len(r) else math.nan


def breathing(signal: Sequence[float] | np.ndarray, rate: float, t0: float = 0.0) -> Breathing:
    """Breathing rate from a respiration belt (or any respiration signal) at ``rate`` Hz (10 Hz
    and up). Never raises on bad signals."""
    x, poor, fair = _prepare(signal, rate)
    empty = np.zeros(0)
    if len(x) < 10 * rate:
        return Breathing(empty, empty, POOR, "; ".join([*poor, f"too short: {len(x) / rate:.1f} s, need 10 s"]))
    if _is_flat(x):
        return Breathing(empty, empty, POOR, "flat line: no respiration signal (belt loose or not connected)")
    nk = _nk()
    notes: list[str] = []
    try:
        with _neurokit_warnings(notes):
            clean = np.asarray(nk.rsp_clean(x, sampling_rate=rate))
            _, info = nk.rsp_peaks(clean, sampling_rate=rate)
    except Exception as exc:  # see _heart_rate
        return Breathing(empty, empty, POOR, f"respiration could not be analysed ({type(exc).__name__}: {exc})")
    troughs = np.asarray(info["RSP_Troughs"], dtype=float)
    troughs = np.sort(troughs[np.isfinite(troughs)])
    breath_t = t0 + troughs / rate
    if len(breath_t) < 3:
        poor.append(f"fewer than 2 whole breaths in {len(x) / rate:.0f} s")
        return Breathing(empty, empty, POOR, "; ".join(poor + notes), breath_t)
    dur = np.diff(breath_t)
    implausible = float(np.mean((dur < BREATH_MIN_S) | (dur > BREATH_MAX_S)))
    if implausible > 0.2:
        poor.append(f"{implausible:.0%} of breaths faster than 40 or slower than 3 per minute")
    elif implausible > 0:
        fair.append(f"{implausible:.0%} of breaths faster than 40 or slower than 3 per minute")
    quality, reason = _grade(poor, fair, notes, f"{len(dur)} breaths, all 3–40 per minute")
    return Breathing(breath_t[1:], 60.0 / dur, quality, reason, breath_t)


# ---------------------------------------------------------------------------------------
# Summary and the command


def _r(value: float, digits: int) -> float | None:
    """Rounded for JSON; None (null) for NaN, which JSON cannot hold."""
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def summarize(
    columns: dict[str, np.ndarray],
    rate: float,
    ecg: str | None = None,
    ppg: str | None = None,
    eda: str | None = None,
    rsp: str | None = None,
    t0: float = 0.0,
) -> dict[str, Any]:
    """The metrics of one recording as a flat dict for JSON: keys only for the signals named.
    Heart rate comes from the ECG when one is named, else from the PPG (``hr_source``); with
    both, the PPG's own rate is added as ``ppg_hr_bpm_mean``. Times (``scr_onsets_s``) count
    from ``t0``, the time of the first row. Raises KeyError for a column not in ``columns``."""
    named = {"ecg": ecg, "ppg": ppg, "eda": eda, "rsp": rsp}
    for kind, name in named.items():
        if name is not None and name not in columns:
            raise KeyError(f"no column {name!r} for --{kind}")
    lengths = {len(columns[name]) for name in named.values() if name is not None}
    n = max(lengths) if lengths else 0
    out: dict[str, Any] = {"rate_hz": rate, "start_s": _r(t0, 3), "duration_s": _r(n / rate, 2), "samples": n}
    out["columns"] = {kind: name for kind, name in named.items() if name is not None}

    if ecg is not None or ppg is not None:
        hr = (
            heart_rate_from_ecg(columns[ecg], rate, t0)
            if ecg is not None
            else heart_rate_from_ppg(columns[ppg], rate, t0)
        )
        bpm = 60000.0 / hr.plausible_rr_ms()
        out.update(
            hr_source=hr.source,
            hr_bpm_mean=_r(hr.mean_bpm(), 2),
            rr_mean_ms=_r(hr.mean_rr_ms(), 1),
            rr_sdnn_ms=_r(hr.sdnn_ms(), 1),
            rr_rmssd_ms=_r(hr.rmssd_ms(), 1),
            hr_bpm_min=_r(float(bpm.min()), 1) if len(bpm) else None,
            hr_bpm_max=_r(float(bpm.max()), 1) if len(bpm) else None,
            beat_count=len(hr.peaks_t),
            hr_quality=hr.quality,
            hr_quality_reason=hr.quality_reason,
        )
        if ecg is not None and ppg is not None:
            pulse = heart_rate_from_ppg(columns[ppg], rate, t0)
            out.update(
                ppg_hr_bpm_mean=_r(pulse.mean_bpm(), 2),
                ppg_beat_count=len(pulse.peaks_t),
                ppg_quality=pulse.quality,
                ppg_quality_reason=pulse.quality_reason,
            )
    if eda is not None:
        sc = skin_conductance(columns[eda], rate, t0)
        amps = sc.scr_amplitudes
        out.update(
            scl_mean_us=_r(float(np.mean(sc.scl)) if len(sc.scl) else math.nan, 3),
            scl_start_us=_r(float(sc.scl[0]) if len(sc.scl) else math.nan, 3),
            scl_end_us=_r(float(sc.scl[-1]) if len(sc.scl) else math.nan, 3),
            scr_count=sc.scr_count(),
            scr_per_min=_r(sc.scr_per_min(), 2),
            scr_amplitude_mean_us=_r(float(amps.mean()) if len(amps) else math.nan, 3),
            scr_onsets_s=[_r(v, 2) for v in sc.scr_onsets_t],
            eda_quality=sc.quality,
            eda_quality_reason=sc.quality_reason,
        )
    if rsp is not None:
        br = breathing(columns[rsp], rate, t0)
        out.update(
            rsp_rate_bpm=_r(br.mean_rate_bpm(), 2),
            breath_count=len(br.rate_bpm),
            rsp_quality=br.quality,
            rsp_quality_reason=br.quality_reason,
        )
    return out


class MetricsInputError(Exception):
    """A file or column the command cannot use; the message says what to do."""


def read_csv(path: Path) -> dict[str, np.ndarray]:
    """Columns of a CSV file with one header line and numbers below it (the NeuroKit example
    files, ``vrclinic export`` tables). Empty or non-numeric cells become NaN."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [name.strip() for name in next(reader, [])]
            if not header:
                raise MetricsInputError(f"{path} is empty: expected a header line with column names")
            rows = [row for row in reader if row]
    except OSError as exc:
        raise MetricsInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise MetricsInputError(f"{path} is not a readable CSV file: {exc}") from exc
    data = np.full((len(rows), len(header)), np.nan)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row[: len(header)]):
            with contextlib.suppress(ValueError):  # text or empty: a gap, which the metrics fill or report
                data[i, j] = float(cell)
    return {name: data[:, j] for j, name in enumerate(header)}


# Column names the command takes without being told (case-insensitive).
_AUTO = {"ecg": ("ecg",), "ppg": ("ppg", "pleth"), "eda": ("eda", "gsr"), "rsp": ("rsp", "resp", "respiration")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vrclinic metrics``."""
    parser.add_argument("file", type=Path, help="CSV file: one header line, one column per channel")
    parser.add_argument("--rate", type=float, required=True, metavar="HZ", help="sampling rate of the rows")
    for kind, what in (
        ("ecg", "ECG"),
        ("ppg", "PPG (pulse)"),
        ("eda", "EDA (skin conductance)"),
        ("rsp", "respiration"),
    ):
        parser.add_argument(
            f"--{kind}",
            metavar="COL",
            default=None,
            help=f"column with the {what} (default: a column named {kind.upper()})",
        )
    parser.add_argument("--start", type=float, default=None, metavar="S", help="analyse from this time (s, row / rate)")
    parser.add_argument("--end", type=float, default=None, metavar="S", help="analyse up to this time (s)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _columns_for(args: argparse.Namespace, available: list[str]) -> dict[str, str | None]:
    chosen = {kind: getattr(args, kind) for kind in _AUTO}
    unknown = [f"--{kind} {name!r}" for kind, name in chosen.items() if name is not None and name not in available]
    if unknown:
        raise MetricsInputError(f"no such column: {', '.join(unknown)}. The file has: {', '.join(available)}")
    if all(name is None for name in chosen.values()):
        lower = {name.lower(): name for name in available}
        for kind, names in _AUTO.items():
            chosen[kind] = next((lower[n] for n in names if n in lower), None)
        if all(name is None for name in chosen.values()):
            raise MetricsInputError(
                "name the columns to analyse with --ecg, --ppg, --eda or --rsp. The file has: " + ", ".join(available)
            )
    return chosen


_TABLE = (
    ("hr_source", "heart rate from", ""),
    ("hr_bpm_mean", "heart rate, mean", "bpm"),
    ("rr_mean_ms", "RR interval, mean", "ms"),
    ("rr_sdnn_ms", "RR SDNN", "ms"),
    ("rr_rmssd_ms", "RR RMSSD", "ms"),
    ("beat_count", "beats", ""),
    ("hr_quality", "heart rate quality", ""),
    ("ppg_hr_bpm_mean", "pulse rate (PPG), mean", "bpm"),
    ("ppg_quality", "PPG quality", ""),
    ("scl_mean_us", "skin conductance level, mean", "µS"),
    ("scr_count", "skin conductance responses", ""),
    ("scr_per_min", "responses per minute", "/min"),
    ("scr_amplitude_mean_us", "response amplitude, mean", "µS"),
    ("eda_quality", "EDA quality", ""),
    ("rsp_rate_bpm", "breathing rate, mean", "/min"),
    ("breath_count", "breaths", ""),
    ("rsp_quality", "respiration quality", ""),
)


def format_table(summary: dict[str, Any]) -> str:
    """The summary as a short table for people, quality reasons below it."""
    lines = [f"{'duration':30s} {summary['duration_s']} s at {summary['rate_hz']:g} Hz"]
    for key, label, unit in _TABLE:
        if key in summary:
            value = summary[key]
            lines.append(f"{label:30s} {'—' if value is None else value}{' ' + unit if unit else ''}")
    for key in ("hr_quality", "ppg_quality", "eda_quality", "rsp_quality"):
        if key in summary:
            lines.append(f"{key.split('_')[0].upper()}: {summary[key]}: {summary[key + '_reason']}")
    return "\n".join(lines)


# The rates a physiological recording can have: below 1 Hz no heart beat or skin response is
# seen; above 100 kHz no sensor samples (it is a typo, or the wrong column taken for the rate).
RATE_RANGE_HZ = (1.0, 100_000.0)
# The shortest stretch each analysis can use (as the analyses themselves say when given less).
SHORTEST_S = {"ecg": 2.0, "ppg": 2.0, "eda": 4.0, "rsp": 10.0}


def _usable(args: argparse.Namespace, rows: int, first: int, last: int, chosen: dict[str, str | None]) -> None:
    """MetricsInputError, in words, for input no analysis can use: a file with no rows or too
    few, a window with nothing in it, a column with no numbers there."""
    rate = args.rate
    whole = f"{args.file} has {rows:,} row{'s' if rows != 1 else ''} ({rows / rate:.3g} s at {rate:g} Hz)"
    if rows == 0:
        raise MetricsInputError(f"{args.file} has a header but no rows of numbers below it: nothing to analyse")
    if last <= first:
        asked = f"--start {args.start if args.start is not None else 0:g}" + (
            f" --end {args.end:g}" if args.end is not None else ""
        )
        raise MetricsInputError(f"the window {asked} holds no rows: {whole}. Choose a window inside it.")
    need = max(SHORTEST_S[kind] for kind, name in chosen.items() if name is not None)
    held = (last - first) / rate
    if held < need:
        where = "the window holds" if (args.start is not None or args.end is not None) else f"{args.file} holds"
        raise MetricsInputError(
            f"{where} {last - first:,} row{'s' if last - first != 1 else ''}, {held:.3g} s at {rate:g} Hz; "
            f"the analysis asked for needs at least {need:g} s ({math.ceil(need * rate):,} rows). "
            "Check --rate, or give a longer recording."
        )


def run(args: argparse.Namespace) -> int:
    """``vrclinic metrics``: 0 done, 2 unusable input (with the reason on stderr: an impossible
    rate, a file with no or too few rows, an empty window, a column with no numbers)."""
    try:
        low, high = RATE_RANGE_HZ
        if not args.rate or not math.isfinite(args.rate) or not low <= args.rate <= high:
            raise MetricsInputError(
                f"--rate {args.rate:g} is not a sampling rate a physiological recording has: give the rows' "
                f"rate in samples per second, from {low:g} to {high:,.0f}"
            )
        columns = read_csv(args.file)
        chosen = _columns_for(args, list(columns))
        rows = len(next(iter(columns.values())))
        first = 0 if args.start is None else max(0, round(args.start * args.rate))
        last = rows if args.end is None else min(rows, max(first, round(args.end * args.rate)))
        first = min(first, rows)
        _usable(args, rows, first, last, chosen)
        columns = {name: values[first:last] for name, values in columns.items()}
        empty = [f"{name!r}" for name in chosen.values() if name is not None and not np.isfinite(columns[name]).any()]
        if empty:
            raise MetricsInputError(
                f"no numbers in column {', '.join(empty)} of {args.file}"
                + (" in the window" if args.start is not None or args.end is not None else "")
                + ": every cell is empty or text"
            )
        summary = summarize(columns, args.rate, **chosen, t0=first / args.rate)
    except MetricsInputError as exc:
        print(f"vrclinic metrics: {exc}", file=sys.stderr)
        return 2
    summary = {"file": str(args.file), **summary}
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(format_table(summary))
    return 0
