"""The lane raster: samples in, the pixels a viewer sees out (no Qt)."""

from __future__ import annotations

import numpy as np

from console.physio.lanes import LaneRaster

INK = 0xFF000000
PAPER = 0xFFFFFFFF


def drawn(raster: LaneRaster) -> np.ndarray:
    return raster.image != raster.background


def row_of(value: float, lane: int, height: int, y_range: tuple[float, float]) -> int:
    """The image row (0 at the top) where ``value`` of ``lane`` (centre 0, span 1) is drawn."""
    lo, hi = y_range
    return int(height - 1 - np.floor((value - lane - lo) * height / (hi - lo)))


def raster_of(lanes: int, width: int = 100, height: int = 40, window_s: float = 1.0, **kwargs) -> LaneRaster:
    raster = LaneRaster(lanes, INK, PAPER, **kwargs)
    raster.configure(width, height, window_s, (-lanes + 0.5, 0.5))
    return raster


def test_lanes_are_drawn_where_their_samples_are_and_a_dropout_is_a_gap():
    raster = raster_of(2)
    t = 10.0 + np.arange(0, 1.0, 0.001)
    values = np.column_stack([np.full_like(t, 0.25), np.full_like(t, -0.25)])
    keep = np.r_[np.arange(400), np.arange(600, 1000)]  # 0.2 s without samples in the middle
    raster.add(t[keep], values[keep])
    image = drawn(raster)
    row0, row1 = row_of(0.25, 0, 40, (-1.5, 0.5)), row_of(-0.25, 1, 40, (-1.5, 0.5))
    assert image[row0].sum() >= 75 and image[row1].sum() >= 75
    assert image.sum() == image[row0].sum() + image[row1].sum()  # 1-px traces, nothing else
    gap = [c for c in range(100) if not image[:, c].any()]
    assert len(gap) >= 18  # the dropout shows as a gap of ~0.2 s


def test_the_window_is_full_once_its_samples_span_it_and_a_dropout_does_not_empty_it():
    raster = raster_of(1)
    t = 10.0 + np.arange(0, 1.0, 0.001)
    raster.add(t[:500], np.zeros((500, 1)))
    assert not raster.full  # half a window so far
    raster.add(t[800:], np.zeros((200, 1)))  # 0.3 s dropout, then samples to the window's end
    assert raster.full
    raster.configure(100, 40, 2.0, (-0.5, 0.5))  # a new window: filling again
    assert not raster.full


def test_a_spike_narrower_than_a_pixel_still_shows_at_its_full_height():
    raster = raster_of(1, width=100, height=100)  # 10 samples per pixel column
    t = 10.0 + np.arange(0, 1.0, 0.001)
    values = np.zeros((len(t), 1), dtype=np.float32)
    values[503] = 0.4  # one sample, a tenth of a column
    raster.add(t, values)
    image = drawn(raster)
    top_row = row_of(0.4, 0, 100, (-0.5, 0.5))
    base_row = row_of(0.0, 0, 100, (-0.5, 0.5))
    spike_columns = np.flatnonzero(image[top_row])
    assert len(spike_columns) == 1
    # The column is drawn from the baseline up to the spike, joined to its neighbours.
    assert image[top_row : base_row + 1, spike_columns[0]].all()
    assert image[base_row].sum() >= 95


def test_the_window_scrolls_old_samples_away():
    raster = raster_of(1)
    t = 10.0 + np.arange(0, 1.0, 0.001)
    raster.add(t, np.full((len(t), 1), 0.3))
    raster.add(t + 1.0, np.full((len(t), 1), -0.3))  # a whole window later
    image = drawn(raster)
    assert not image[row_of(0.3, 0, 40, (-0.5, 0.5))].any()
    assert image[row_of(-0.3, 0, 40, (-0.5, 0.5))].sum() >= 95


def test_a_new_scale_replaces_the_picture_whole_and_keeps_the_samples_that_came_meanwhile():
    rng = np.random.default_rng(3)
    lanes = 16
    t = 10.0 + np.arange(0, 2.0, 0.001)
    values = rng.standard_normal((len(t), lanes)).astype(np.float32) * 0.1
    chunks = [slice(0, 1500)] + [slice(1500 + 17 * k, 1500 + 17 * (k + 1)) for k in range(20)]
    raster = raster_of(lanes, redraw_budget=lanes * 25)  # 25 of the 100 columns per frame
    unchanged = raster_of(lanes)  # what the old scale shows
    rescaled = raster_of(lanes)  # what the new scale shows
    rescaled.set_scale(np.zeros(lanes), np.full(lanes, 0.5))  # lanes twice as tall
    for k, chunk in enumerate(chunks):
        for r in (raster, unchanged, rescaled):
            r.add(t[chunk], values[chunk])
        if k == 0:
            raster.set_scale(np.zeros(lanes), np.full(lanes, 0.5))
        raster.advance()
        if raster.redrawing:  # never half of each: the old picture until the new one is complete
            assert np.array_equal(raster.image, unchanged.image)
        else:
            assert np.array_equal(raster.image, rescaled.image)
        if k == 1:
            assert raster.redrawing  # 256 lanes would not fit a frame: spread
    assert raster.rescales == 1 and not np.array_equal(unchanged.image, rescaled.image)


def test_a_zoom_redraws_at_once():
    raster = raster_of(2)
    t = 10.0 + np.arange(0, 1.0, 0.001)
    raster.add(t, np.full((len(t), 2), 0.25))
    raster.configure(100, 40, 1.0, (-0.5, 0.5))  # only lane 0 in view now
    image = drawn(raster)
    assert not raster.redrawing
    assert image[row_of(0.25, 0, 40, (-0.5, 0.5))].sum() >= 95 and image.sum() <= 100
