"""The lanes of a many-channel stream (EEG) as pixels: min/max decimation to one pixel
column per time slice, drawn incrementally into a ring image. Pure numpy, no Qt: the
widget (:mod:`console.qt.physio_panel`) only blits :attr:`LaneRaster.image` to the screen.

Why an image and not curves: 32 (or 256) curves of thousands of points each cost more than
a whole 60 Hz frame; the raster draws only the newest few columns per frame.

Why a rescale is spread over frames: a new scaling changes every pixel, and redrawing all
columns of 256 lanes at once takes longer than a frame. The new scaling is drawn into a
second image, :data:`REDRAW_BUDGET` lane-columns per frame, while the first one stays on
screen (and keeps receiving new samples); the two swap when the second one is complete,
so the user never sees a half-redrawn plot, only the new scale a few frames later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Lane-columns (lanes × pixel columns) redrawn per frame for a new scale: about 2 ms here.
# 32 lanes × 1400 columns fit in one frame (no delay); 256 lanes take about 7 frames.
REDRAW_BUDGET = 48_000


@dataclass(frozen=True, eq=False)
class LaneScale:
    """Where each lane's values go: lane ``i`` is centred at y = -i (data units of the plot),
    a value ``v`` is drawn at ``-i + (v - centers[i]) / spans[i]``, within ``y_range`` (the
    view, bottom to top)."""

    y_range: tuple[float, float]
    centers: np.ndarray
    spans: np.ndarray

    def same(self, other: LaneScale) -> bool:
        return (
            self.y_range == other.y_range
            and np.array_equal(self.centers, other.centers)
            and np.array_equal(self.spans, other.spans)
        )


class LaneRaster:
    """The lanes of a many-channel stream drawn incrementally into a ring image.

    Time is cut into slices of ``window_s / width`` seconds on the console clock, one pixel
    column each; a column holds the min and max of each lane's samples in its slice (the
    "peak" reduction pyqtgraph does per curve, here for all channels at once: a spike
    narrower than a column still shows at its full height) and is drawn as a vertical 1-px
    span per lane, joined to the previous column like a line. New samples only touch the
    newest few columns, so a frame costs a few columns, not the whole window. Slices without
    samples stay empty: a dropout shows as a gap, at the right time.

    :attr:`image` (height × width ARGB32, row 0 at the top) is what is on screen; column
    ``newest % width`` holds the newest slice. One thread (the GUI thread).
    """

    def __init__(self, lanes: int, colour: int, background: int = 0, redraw_budget: int = REDRAW_BUDGET):
        self.lanes = lanes
        self.colour = np.uint32(colour)
        # An opaque background makes the image a plain copy on screen (no blending).
        self.background = np.uint32(background)
        self.redraw_budget = redraw_budget
        self.width = self.height = 0
        self.window_s = 0.0
        self.bin_s = 1.0
        self.scale = LaneScale((0.0, 1.0), np.zeros(lanes, dtype=np.float32), np.ones(lanes, dtype=np.float32))
        self.image = np.zeros((1, 1), dtype=np.uint32)
        self.lo = np.full((1, lanes), np.nan, dtype=np.float32)  # per column and lane: min of the slice
        self.hi = np.full((1, lanes), np.nan, dtype=np.float32)  # ... and max
        self.bin_of_column = np.full(1, -1, dtype=np.int64)  # the slice each column holds, -1: none
        self.newest = -1  # newest time slice drawn
        self.rescales = 0  # redraws for a new scale (for benches and checks)
        # A redraw in progress for a new scale: its image, its scale, the columns still to draw.
        self._next_image: np.ndarray | None = None
        self._next_scale: LaneScale | None = None
        self._todo = np.empty(0, dtype=np.int64)

    # -- canvas and scale ------------------------------------------------------------

    def configure(self, width: int, height: int, window_s: float, y_range: tuple[float, float]) -> bool:
        """Set the canvas (screen pixels, seconds shown) and the view's y range. Returns True
        when the canvas was reset (new size or window): the caller then adds the window's
        samples again. A new y range alone (the user zoomed) redraws at once from the kept
        columns, with any lane scale still being drawn."""
        if (width, height, window_s) != (self.width, self.height, self.window_s):
            self.width, self.height, self.window_s = width, height, window_s
            self.bin_s = window_s / width
            self.image = np.full((height, width), self.background, dtype=np.uint32)
            self.lo = np.full((width, self.lanes), np.nan, dtype=np.float32)
            self.hi = np.full((width, self.lanes), np.nan, dtype=np.float32)
            self.bin_of_column = np.full(width, -1, dtype=np.int64)
            self.newest = -1
            target = self._next_scale or self.scale
            self.scale = LaneScale(y_range, target.centers, target.spans)
            self._cancel_redraw()
            return True
        if y_range != self.scale.y_range:
            target = self._next_scale or self.scale
            self.scale = LaneScale(y_range, target.centers, target.spans)
            self._cancel_redraw()
            self.image[:] = self.background
            self._draw(self.image, self.scale, np.flatnonzero(self.bin_of_column >= 0))
        return False

    def set_scale(self, centers: np.ndarray, spans: np.ndarray) -> None:
        """New lane centres and spans (one each per lane, in the stream's unit). Drawn by the
        next calls of :meth:`advance` (by the next one when the whole redraw fits its budget);
        the old scale stays on screen until then."""
        scale = LaneScale(
            self.scale.y_range, np.asarray(centers, dtype=np.float32).copy(), np.asarray(spans, dtype=np.float32).copy()
        )
        if scale.same(self._next_scale or self.scale):
            return
        if self.width == 0 or self.newest < 0:  # nothing drawn yet: nothing to redraw
            self.scale = scale
            self._cancel_redraw()
            return
        self._next_scale = scale
        self._next_image = np.full_like(self.image, self.background)
        self._todo = np.flatnonzero(self.bin_of_column >= 0)

    @property
    def redrawing(self) -> bool:
        """Whether a new scale is still being drawn (the old one is on screen meanwhile)."""
        return self._next_scale is not None

    def advance(self) -> None:
        """Draw the next columns of a new scale, within the budget; show it when complete.
        Call once per frame."""
        if self._next_scale is None or self._next_image is None:
            return
        count = max(1, self.redraw_budget // max(1, self.lanes))
        columns, self._todo = self._todo[:count], self._todo[count:]
        self._draw(self._next_image, self._next_scale, columns)
        if len(self._todo) == 0:
            self.image, self.scale = self._next_image, self._next_scale
            self.rescales += 1
            self._cancel_redraw()

    def _cancel_redraw(self) -> None:
        self._next_image, self._next_scale = None, None
        self._todo = np.empty(0, dtype=np.int64)

    # -- samples ---------------------------------------------------------------------

    def add(self, timestamps: np.ndarray, values: np.ndarray) -> None:
        """Draw new samples (``values`` samples × lanes, timestamps on the console clock,
        ascending)."""
        if len(timestamps) == 0 or self.width == 0:
            return
        bins = np.floor(timestamps / self.bin_s).astype(np.int64)
        newest = int(bins[-1])
        if newest > self.newest:
            # Columns that now hold a new slice lose the slice a window older.
            if self.newest < 0 or newest - self.newest >= self.width:
                stale = np.arange(self.width)
            else:
                stale = np.arange(self.newest + 1, newest + 1) % self.width
            self.lo[stale] = np.nan
            self.hi[stale] = np.nan
            self.bin_of_column[stale] = -1
            self.image[:, stale] = self.background
            if self._next_image is not None:
                self._next_image[:, stale] = self.background
            self.newest = newest
        keep = bins > self.newest - self.width
        if not keep.all():
            bins, values = bins[keep], values[keep]
            if len(bins) == 0:
                return
        starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
        slices = bins[starts]
        values = values.astype(np.float32, copy=False)
        lo = np.minimum.reduceat(values, starts, axis=0)
        hi = np.maximum.reduceat(values, starts, axis=0)
        columns = slices % self.width
        same = self.bin_of_column[columns] == slices  # slices that already had samples
        lo[same] = np.fmin(lo[same], self.lo[columns[same]])
        hi[same] = np.fmax(hi[same], self.hi[columns[same]])
        self.lo[columns], self.hi[columns], self.bin_of_column[columns] = lo, hi, slices
        # Redraw the touched columns and the ones after them (their joins changed), in the
        # image on screen and in the one being drawn for a new scale.
        touched = np.unique(np.r_[columns, (columns + 1) % self.width])
        self._draw(self.image, self.scale, touched)
        if self._next_image is not None and self._next_scale is not None:
            self._draw(self._next_image, self._next_scale, touched)

    def shown(self) -> np.ndarray:
        """Which columns hold a slice of the window (a boolean per column)."""
        return self.bin_of_column >= 0

    @property
    def full(self) -> bool:
        """Whether the samples drawn since the canvas was set span the whole window (a
        dropout inside it is a gap, not an unfilled window)."""
        held = self.bin_of_column[self.bin_of_column >= 0]
        return len(held) > 0 and self.newest - int(held.min()) >= self.width - 2

    # -- drawing ---------------------------------------------------------------------

    def _draw(self, image: np.ndarray, scale: LaneScale, columns: np.ndarray) -> None:
        if len(columns) == 0:
            return
        height, width = self.height, self.width
        if len(columns) == width:
            image.fill(self.background)
        else:
            image[:, columns] = self.background
        slices = self.bin_of_column[columns]
        previous = (columns - 1) % width
        joined = ((self.bin_of_column[previous] == slices - 1) & (slices >= 0))[:, None]
        y_lo, y_hi = scale.y_range
        to_px = np.float32(height / (y_hi - y_lo))
        # Row of value v in lane i, counted from the bottom: floor(((v - center) / span - i - y_lo)
        # * to_px), as v * gain + offset per lane (two operations per value instead of four).
        gain = to_px / scale.spans
        offset = (-scale.centers / scale.spans - np.arange(self.lanes, dtype=np.float32) - np.float32(y_lo)) * to_px
        # Rows of each column needed (the columns and the ones before them, for the joins), once.
        needed = np.union1d(columns, previous)
        px_lo = np.floor(self.lo[needed] * gain + offset)
        px_hi = np.floor(self.hi[needed] * gain + offset)
        at, at_previous = np.searchsorted(needed, columns), np.searchsorted(needed, previous)
        low, high = px_lo[at], px_hi[at]
        bottom = np.where(joined, np.fmin(low, px_hi[at_previous]), low)
        top = np.where(joined, np.fmax(high, px_lo[at_previous]), high)
        visible = (top >= 0) & (bottom < height)  # False for empty slices (NaN)
        if not visible.any():
            return
        # int32 indices: half the memory traffic of int64 (an image has far fewer than 2^31 pixels).
        bottom = np.clip(bottom[visible], 0, height - 1).astype(np.int32)
        top = np.clip(top[visible], 0, height - 1).astype(np.int32)
        col = np.broadcast_to(columns.astype(np.int32)[:, None], visible.shape)[visible]
        # Every vertical span as flat pixel indices (row 0 at the top): one ragged range.
        lengths = top - bottom + 1
        before = np.cumsum(lengths, dtype=np.int32) - lengths
        starts = (height - 1 - top) * np.int32(width) + col
        flat = np.repeat(starts - before * np.int32(width), lengths)
        flat += np.arange(len(flat), dtype=np.int32) * np.int32(width)
        image.ravel()[flat] = self.colour
