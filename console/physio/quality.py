"""Data-quality checks for physiology streams, in words a technician can act on.

Pure functions on numpy arrays (no threads, no LSL) plus :class:`QualityMonitor`, a small
state object per stream that remembers recent problems for a few seconds, so that a short
dropout stays visible long enough for a person to see it.

The checks:

- **waiting**: the stream is selected but no sample has arrived yet;
- **dropout**: no sample arrived for longer than ``stall_intervals`` expected sample
  intervals (and at least ``stall_min_s``), or the timestamps jump by more than
  ``gap_intervals`` intervals (samples lost on the way);
- **lost**: no sample for ``lost_after_s`` seconds or the source is gone;
- **flat line**: a channel's values do not change over ``flat_window_s`` (electrode off,
  sensor saturated or unplugged);
- **rate drift**: the measured rate is more than ``rate_tolerance`` off the announced one.

All times are in the console's clock (``pylsl.local_clock()``, which is
``time.perf_counter()`` on Linux).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np


class Severity(enum.IntEnum):
    """How bad a flag is; the stream table colours rows by the worst one."""

    OK = 0
    NOTICE = 1  # worth knowing (waiting for data), nothing is wrong yet
    WARNING = 2  # the data on screen is not to be trusted
    LOST = 3  # no data at all


@dataclass(frozen=True, slots=True)
class QualityFlag:
    """One problem with a stream, with the sentence shown to the user."""

    kind: str  # "waiting", "dropout", "lost", "flat", "rate"
    severity: Severity
    text: str
    channels: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class QualityConfig:
    """Thresholds of the checks; the defaults suit ECG/PPG/EDA/respiration at 25–1000 Hz."""

    flat_window_s: float = 2.0
    flat_tolerance: float = 1e-6  # peak-to-peak below this × max(1, |level|) counts as flat
    stall_intervals: float = 10.0
    stall_min_s: float = 1.0
    lost_after_s: float = 5.0
    gap_intervals: float = 5.0
    gap_min_s: float = 0.05  # sensors that bunch samples (Bluetooth) jitter by tens of ms
    rate_window_s: float = 5.0
    rate_tolerance: float = 0.10
    hold_s: float = 5.0  # a dropout stays on screen this long after it ended


def measured_rate(timestamps: np.ndarray, window_s: float, now: float | None = None) -> float | None:
    """Samples per second over the last ``window_s`` seconds of ``timestamps`` (sorted).

    With ``now`` given and the last sample older than the window, the samples in
    ``[now - window_s, now]`` are counted instead, so a stalled stream's rate falls to 0
    rather than freezing at its last value. None when there are fewer than two samples.
    """
    n = len(timestamps)
    if n < 2:
        return 0.0 if now is not None and n and now - float(timestamps[-1]) > window_s else None
    last = float(timestamps[-1])
    if now is not None and now - last > window_s:
        return 0.0
    start = int(np.searchsorted(timestamps, last - window_s, side="left"))
    span = last - float(timestamps[start])
    count = n - start
    if count < 2 or span <= 0:
        return None
    return (count - 1) / span


def timestamp_gaps(timestamps: np.ndarray, nominal_rate: float, config: QualityConfig) -> tuple[int, float]:
    """Number of gaps longer than the dropout threshold in ``timestamps``, and the longest
    one in seconds. A regular stream (nominal rate > 0) only; irregular streams have no
    expected interval, so (0, 0.0)."""
    if nominal_rate <= 0 or len(timestamps) < 2:
        return 0, 0.0
    threshold = max(config.gap_intervals / nominal_rate, config.gap_min_s)
    steps = np.diff(timestamps)
    big = steps > threshold
    count = int(np.count_nonzero(big))
    return count, float(steps[big].max()) if count else 0.0


def flat_channels(data: np.ndarray, tolerance: float) -> list[int]:
    """Indices of the channels of ``data`` (samples × channels) whose values do not move:
    peak-to-peak at most ``tolerance`` × max(1, |mean level|). Needs at least 3 samples."""
    if data.ndim != 2 or data.shape[0] < 3:
        return []
    finite = np.where(np.isfinite(data), data, 0.0)
    spread = np.ptp(finite, axis=0)
    level = np.maximum(1.0, np.abs(finite[0]))
    return [int(c) for c in np.flatnonzero(spread <= tolerance * level)]


def rate_deviation(measured: float | None, nominal: float) -> float | None:
    """Relative deviation (measured - nominal) / nominal, or None when either is unknown."""
    if measured is None or nominal <= 0:
        return None
    return (measured - nominal) / nominal


def describe_channels(channels: list[int], labels: tuple[str, ...]) -> str:
    """'ECG' or 'Fp1, Fp2 and 3 more': channel names as the user sees them (1-based numbers
    when the stream has no labels)."""
    names = [labels[c] if c < len(labels) and labels[c] else f"channel {c + 1}" for c in channels]
    if len(names) <= 3:
        return ", ".join(names)
    return f"{', '.join(names[:2])} and {len(names) - 2} more"


def format_rate(rate: float | None) -> str:
    """A rate as a person reads it: '500 Hz', '32.0 Hz', '0.5 Hz', '—' when unknown."""
    if rate is None or not math.isfinite(rate):
        return "—"
    if rate >= 100:
        return f"{rate:.0f} Hz"
    if rate >= 1:
        return f"{rate:.1f} Hz"
    return f"{rate:.2f} Hz"


@dataclass
class QualityMonitor:
    """The checks for one stream, remembering recent dropouts for ``config.hold_s``.

    Not thread-safe: one caller at a time (the acquisition calls it under its lock).
    """

    nominal_rate: float
    channel_labels: tuple[str, ...] = ()
    config: QualityConfig = field(default_factory=QualityConfig)
    _checked_until: float = -math.inf  # timestamps up to here were already checked for gaps
    _last_gap: tuple[float, float] | None = None  # (when it was seen, length in s)

    def stall_threshold_s(self) -> float:
        """Seconds without a sample after which the stream counts as dropping out."""
        if self.nominal_rate <= 0:
            return max(self.config.stall_min_s, self.config.lost_after_s / 2)
        return max(self.config.stall_min_s, self.config.stall_intervals / self.nominal_rate)

    def assess(
        self,
        now: float,
        timestamps: np.ndarray,
        data: np.ndarray,
        last_arrival: float | None,
        selected_at: float,
        source_lost: bool = False,
    ) -> list[QualityFlag]:
        """Flags for the stream now.

        ``timestamps``/``data`` are the most recent samples (at least the last
        ``max(flat_window_s, rate_window_s)`` seconds), ``last_arrival`` the console time the
        last chunk arrived (None if none yet), ``selected_at`` when acquisition started, and
        ``source_lost`` whether LSL reported the source gone.
        """
        cfg = self.config
        flags: list[QualityFlag] = []
        silent_since = last_arrival if last_arrival is not None else selected_at
        silent_s = now - silent_since
        if source_lost or (last_arrival is not None and silent_s >= cfg.lost_after_s):
            reason = "the source closed the stream" if source_lost else f"no data for {silent_s:.0f} s"
            flags.append(
                QualityFlag(
                    "lost",
                    Severity.LOST,
                    f"Stream lost: {reason}. Check that the sensor is on and its app is still streaming.",
                )
            )
            return flags
        if last_arrival is None:
            if silent_s >= cfg.lost_after_s:
                flags.append(
                    QualityFlag(
                        "lost",
                        Severity.LOST,
                        f"No data in {silent_s:.0f} s since the stream was selected. "
                        "Check that the sensor is on and streaming, and that no firewall blocks LSL "
                        "(TCP/UDP ports 16571–16604).",
                    )
                )
            else:
                flags.append(QualityFlag("waiting", Severity.NOTICE, "Waiting for the first samples…"))
            return flags

        if silent_s >= self.stall_threshold_s():
            flags.append(QualityFlag("dropout", Severity.WARNING, f"Dropout: no samples for {silent_s:.1f} s."))

        new = timestamps[timestamps > self._checked_until] if len(timestamps) else timestamps
        if len(new):
            # Include the last already-checked sample so a gap right at the boundary counts.
            start = max(0, len(timestamps) - len(new) - 1)
            count, longest = timestamp_gaps(timestamps[start:], self.nominal_rate, cfg)
            if count:
                self._last_gap = (now, longest)
            self._checked_until = float(timestamps[-1])
        if self._last_gap is not None and not any(f.kind == "dropout" for f in flags):
            seen_at, longest = self._last_gap
            if now - seen_at <= cfg.hold_s:
                flags.append(QualityFlag("dropout", Severity.WARNING, f"Dropout: a {longest:.2f} s gap in the data."))
            else:
                self._last_gap = None

        if len(timestamps):
            recent = data[timestamps >= timestamps[-1] - cfg.flat_window_s]
            covered = float(timestamps[-1] - timestamps[0]) >= cfg.flat_window_s * 0.9
            flat = flat_channels(recent, cfg.flat_tolerance) if covered else []
            if flat:
                flags.append(
                    QualityFlag(
                        "flat",
                        Severity.WARNING,
                        f"Flat line on {describe_channels(flat, self.channel_labels)} for "
                        f"{cfg.flat_window_s:.0f} s: electrode off, sensor unplugged or saturated?",
                        tuple(flat),
                    )
                )

        if self.nominal_rate > 0 and len(timestamps) >= 2 and silent_s < self.stall_threshold_s():
            history_s = float(timestamps[-1] - timestamps[0])
            if history_s >= cfg.rate_window_s * 0.9:
                rate = measured_rate(timestamps, cfg.rate_window_s)
                deviation = rate_deviation(rate, self.nominal_rate)
                if deviation is not None and abs(deviation) > cfg.rate_tolerance:
                    direction = "below" if deviation < 0 else "above"
                    flags.append(
                        QualityFlag(
                            "rate",
                            Severity.WARNING,
                            f"Rate drift: measured {format_rate(rate)} is {abs(deviation) * 100:.0f} % {direction} "
                            f"the announced {format_rate(self.nominal_rate)}.",
                        )
                    )
        return flags


def worst(flags: list[QualityFlag] | tuple[QualityFlag, ...]) -> Severity:
    """The most severe of ``flags`` (OK when there are none)."""
    return max((f.severity for f in flags), default=Severity.OK)
