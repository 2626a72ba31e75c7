"""Automatic y scaling of the live plots, without Qt: when and how a plot's range, or each
lane's range in a stacked plot, follows the signal.

The policy is calm: a range grows at once when the signal leaves it, shrinks only once
the signal has become much smaller, is never zoomed into noise, and does not follow a
signal that merely wobbles (a plot that rescales all the time is hard to read, and, at 256
lanes, costly to redraw).

Pure numpy; each object is used by one thread (the GUI thread in the console).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

# Overlaid plots (up to four channels on one axis in their unit).
MIN_SPAN = {"EDA": 0.5, "GSR": 0.5}  # smallest automatic range by stream type, in the stream's unit
OVERLAY_PAD = 0.08  # room above and below the signal, as a fraction of its range
OVERLAY_SHRINK = 1.6  # the range shrinks once it is this many times wider than needed
LEVEL_FLOOR = 0.02  # smallest range, as a fraction of the signal's level (no zoom into noise)

# Stacked lanes (one lane per channel, y = -lane ± 0.5).
LANE_HEADROOM = 1.3  # a lane's span is this many times its signal's 1st–99th percentile range
LANE_GROW = 1.15  # the span grows once the signal needs this many times more (a wobble does not)
LANE_SHRINK = 0.5  # ... and shrinks once it needs less than this fraction
LANE_RECENTER = 0.15  # the centre follows once the signal's middle moved this fraction of the span


def overlay_range(
    values: np.ndarray, current: tuple[float, float] | None, min_span: float = 0.0
) -> tuple[float, float] | None:
    """The y range for an overlaid plot showing ``values`` (samples × channels on screen),
    or None to keep ``current``.

    The range is the signal's min to max plus a margin; a quiet signal is shown over at
    least ``min_span`` (skin conductance: 0.5 µS) or 2 % of its level, so that noise is not
    blown up into jagged lines. Once set, the range changes only when the signal leaves
    it, or when it has become more than 1.6 times wider than needed.
    """
    finite = values[np.isfinite(values)]
    if finite.size < 2:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    floor = max(min_span, LEVEL_FLOOR * max(abs(lo), abs(hi)))
    want_lo, want_hi = lo, hi
    if hi - lo < floor:
        mid = (hi + lo) / 2
        want_lo, want_hi = mid - floor / 2, mid + floor / 2
    pad = max((want_hi - want_lo) * OVERLAY_PAD, 1e-6 * max(1.0, abs(want_hi)), 1e-9)
    want = (want_lo - pad, want_hi + pad)
    if current is None:
        return want
    cur_lo, cur_hi = current
    left = lo < cur_lo or hi > cur_hi
    too_wide = (cur_hi - cur_lo) > OVERLAY_SHRINK * (want[1] - want[0])
    return want if left or too_wide else None


def lane_statistics(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per lane, from its min and max columns (columns × lanes): the 1st percentile of the
    minima, the 99th of the maxima and the median of the column middles (nearest ranks) —
    the range the signal uses, ignoring the rarest 1 % of columns at each end (a lone
    artefact does not flatten the lane). NaN for a lane without samples.

    One partial sort per statistic for all lanes at once (ten times cheaper than
    ``np.percentile``'s interpolation); only lanes with gaps (NaN) take numpy's NaN-aware
    path."""
    n = len(lo)
    if n == 0:
        nothing = np.full(lo.shape[1], np.nan)
        return nothing, nothing.copy(), nothing.copy()
    first, last, middle_rank = int(0.01 * (n - 1)), math.ceil(0.99 * (n - 1)), n // 2
    # Lanes as rows: each lane's columns contiguous for the partial sorts.
    lo_rows, hi_rows = np.ascontiguousarray(lo.T), np.ascontiguousarray(hi.T)
    low = np.partition(lo_rows, first, axis=1)[:, first]
    high = np.partition(hi_rows, last, axis=1)[:, last]
    middles = (lo_rows + hi_rows) / 2
    middle = np.partition(middles, middle_rank, axis=1)[:, middle_rank]
    gaps = ~(np.isfinite(lo_rows).all(axis=1) & np.isfinite(hi_rows).all(axis=1))
    if gaps.any():
        with warnings.catch_warnings():  # a lane of NaNs only: NaN, and the lane keeps its scale
            warnings.simplefilter("ignore", RuntimeWarning)
            low[gaps] = np.nanpercentile(lo_rows[gaps], 1, axis=1, method="lower")
            high[gaps] = np.nanpercentile(hi_rows[gaps], 99, axis=1, method="higher")
            middle[gaps] = np.nanpercentile(middles[gaps], 50, axis=1, method="higher")
    return low, high, middle


class LaneAutoscale:
    """Per-lane scaling of a stacked plot: each lane's centre and span (units per lane).

    Automatic (``auto``): each lane's span follows its signal with hysteresis — it grows as
    soon as the signal needs 15 % more, shrinks when it needs less than half — and its
    centre follows the signal's middle once it moved 15 % of the span. Fixed (the user
    zoomed, or set a span): spans stay, lanes without one take ``fixed_span``; centres
    still follow.

    The work is spread over frames: :meth:`step` measures a few lanes per call, and the new
    scale is published (:attr:`centers`, :attr:`spans`) when every lane has been measured
    once, so that the lanes change together and a redraw follows at most once per round.

    A scale first measured on a window that is still filling rests on few columns, and its
    hysteresis then holds a span that can sit just under the growth threshold, to cross it
    by chance seconds later: :meth:`settle` measures the first full window once without
    hysteresis, so that the one late adjustment comes when the window fills, not at random.
    """

    def __init__(self, lanes: int, *, auto: bool = True, fixed_span: float | None = None):
        self.lanes = lanes
        self.auto = auto
        self.fixed_span = fixed_span
        self.centers = np.zeros(lanes)
        self.spans = np.ones(lanes)
        self.has_span = np.zeros(lanes, dtype=bool)  # the lane's span came from its signal or the user
        self.has_center = np.zeros(lanes, dtype=bool)
        self.rounds = 0  # rounds completed
        self.settled = False  # measured once, without hysteresis, on a full window
        self._cursor = 0  # next lane to measure in this round
        self._next = self._published()

    def _published(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.centers.copy(), self.spans.copy(), self.has_span.copy(), self.has_center.copy()

    @property
    def started(self) -> bool:
        """Whether any lane has a scale from its signal yet."""
        return bool(self.has_center.any())

    def fix(self, span: float | None = None, lane: int | None = None) -> None:
        """Fixed scaling from now on: ``span`` units per lane for every lane (or only
        ``lane``); None keeps the spans on screen."""
        self.auto = False
        if span is not None:
            targets = slice(None) if lane is None else lane
            if lane is None:
                self.fixed_span = float(span)
            self.spans[targets] = span
            self.has_span[targets] = True
        elif self.fixed_span is None:
            self.fixed_span = float(np.median(self.spans[self.has_span])) if self.has_span.any() else 1.0
        self.restart()

    def follow(self) -> None:
        """Automatic scaling from now on; the next measurement rescales every lane."""
        self.auto, self.fixed_span = True, None
        self.restart()

    def restart(self) -> None:
        """Drop a round in progress (its lanes are measured again)."""
        self._cursor = 0
        self._next = self._published()

    def step(self, lo: np.ndarray, hi: np.ndarray, shown: np.ndarray, count: int) -> bool:
        """Measure the next ``count`` lanes from the raster's min/max columns (columns ×
        lanes; ``shown``: the columns that hold samples). At the end of a round, publish
        the new scale: True when a centre or span changed (the lanes need a redraw)."""
        if shown.sum() < 2:
            return False
        start = self._cursor
        stop = min(self.lanes, start + max(1, count))
        self._judge(slice(start, stop), lo[shown, start:stop], hi[shown, start:stop])
        self._cursor = stop
        if stop < self.lanes:
            return False
        return self._publish()

    def rescale_all(self, lo: np.ndarray, hi: np.ndarray, shown: np.ndarray) -> bool:
        """A whole round at once (the first data, a new window): True when anything changed.
        The window is filling again, so it will be settled again once full."""
        self.restart()
        self.settled = False
        return self.step(lo, hi, shown, self.lanes)

    def settle(self, lo: np.ndarray, hi: np.ndarray, shown: np.ndarray) -> bool:
        """A whole round at once on the first full window, each lane's centre and (when
        automatic) span taken from its signal without hysteresis: True when anything changed."""
        if shown.sum() < 2:
            return False
        self.restart()
        self._judge(slice(0, self.lanes), lo[shown], hi[shown], hysteresis=False)
        self.settled = True
        return self._publish()

    def _publish(self) -> bool:
        centers, spans, has_span, has_center = self._next
        changed = not (np.array_equal(centers, self.centers) and np.array_equal(spans, self.spans))
        self.centers, self.spans, self.has_span, self.has_center = centers, spans, has_span, has_center
        self.rounds += 1
        self.restart()
        return changed

    def _judge(self, lanes: slice, lo: np.ndarray, hi: np.ndarray, hysteresis: bool = True) -> None:
        centers, spans, has_span, has_center = self._next
        low, high, middle = lane_statistics(lo, hi)
        measured = np.isfinite(low) & np.isfinite(high) & np.isfinite(middle)
        wanted = np.maximum((high - low) * LANE_HEADROOM, 1e-9)
        old = self.spans[lanes]
        known = self.has_span[lanes]
        if self.auto:
            change = measured & (~known | (wanted > old * LANE_GROW) | (wanted < old * LANE_SHRINK) | ~hysteresis)
            spans[lanes] = np.where(change, wanted, old)
            has_span[lanes] = known | measured
        else:  # fixed: a lane without a span yet takes the fixed one (or its signal's)
            fresh = measured & ~known
            spans[lanes] = np.where(fresh, wanted if self.fixed_span is None else self.fixed_span, old)
            has_span[lanes] = known | fresh
        span = np.where(has_span[lanes], spans[lanes], wanted)
        moved = ~self.has_center[lanes] | (np.abs(middle - self.centers[lanes]) > LANE_RECENTER * span) | ~hysteresis
        recenter = measured & moved
        centers[lanes] = np.where(recenter, middle, self.centers[lanes])
        has_center[lanes] = self.has_center[lanes] | measured
