"""The simulated headset's view: every slider shows in the picture, in the direction it means;
sizes, make-safe fade, pause badge and JPEG frames are what the console expects."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from unity_bridge.sim import render

SCENES = {s["id"]: s for s in render.SCENES}
WIDTH = 320
SCENE_ROWS = 0.86  # the picture above the caption band: captions change with every value


def defaults(scene: str) -> dict[str, float]:
    return {p["name"]: p["default"] for p in SCENES[scene]["parameters"]}


def spec(scene: str, name: str) -> dict:
    return next(p for p in SCENES[scene]["parameters"] if p["name"] == name)


def view(scene: str, params: dict[str, float], t: float = 2.0, width: int = WIDTH, **kw) -> np.ndarray:
    """The picture without its caption band, as int16 so differences do not wrap."""
    a = np.asarray(render.render_view(scene, params, t, width=width, **kw), dtype=np.int16)
    return a[: int(a.shape[0] * SCENE_ROWS)]


def changed(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of pixels that differ clearly (more than 24 levels in some channel)."""
    return float((np.abs(a - b).max(axis=2) > 24).mean())


def spider_mask(a: np.ndarray) -> np.ndarray:
    """Spider pixels: the only near-black things in the living room."""
    return a.max(axis=2) < 60


# -- catalogue ---------------------------------------------------------------------------


def test_scenes_declare_what_the_console_builds_its_controls_from():
    assert [s["id"] for s in render.SCENES] == ["spiders", "heights", "calm"]
    assert [s["id"] for s in render.SCENES if s["calm"]] == ["calm"]
    for s in render.SCENES:
        assert set(s) == {"id", "label", "description", "calm", "parameters"} and s["label"] and s["description"]
        for p in s["parameters"]:
            assert set(p) == {"name", "label", "unit", "min", "max", "step", "default", "intensity_increases"}
            assert p["min"] < p["max"] and p["step"] > 0 and p["min"] <= p["default"] <= p["max"], p
    assert not SCENES["calm"]["parameters"]
    lower_is_scarier = {(s["id"], p["name"]) for s in render.SCENES for p in s["parameters"]}
    lower_is_scarier = {k for k in lower_is_scarier if not spec(*k)["intensity_increases"]}
    assert lower_is_scarier == {("spiders", "distance"), ("heights", "railing")}


# -- every parameter shows ---------------------------------------------------------------


@pytest.mark.parametrize("scene, name", [(s["id"], p["name"]) for s in render.SCENES for p in s["parameters"]])
def test_every_parameter_visibly_changes_the_view(scene, name):
    p = spec(scene, name)
    # Spiders a metre away, so that size, count and movement have something to show on.
    base = defaults(scene) | ({"distance": 1.0} if scene == "spiders" and name != "distance" else {})
    low = view(scene, base | {name: p["min"]})
    high = view(scene, base | {name: p["max"]})
    share = changed(low, high)
    assert share > 0.004, f"{scene}.{name} from min to max changed only {share:.2%} of the picture"


def test_nearer_spiders_look_bigger_and_stand_lower():
    boxes = []
    for distance in (5.0, 2.0, 0.6):
        rows, cols = np.nonzero(spider_mask(view("spiders", {"distance": distance, "movement": 0.0}, width=640)))
        assert rows.size, f"no spider in view at {distance} m"
        boxes.append((rows.size, rows.mean(), cols.max() - cols.min()))
    areas, centres, spans = zip(*boxes, strict=True)
    assert areas[0] < areas[1] < areas[2]
    assert centres[0] < centres[1] < centres[2], "a nearer spider stands lower in the frame"
    assert spans[2] > 5 * spans[0]


def test_spider_size_scales_the_spiders():
    areas = [spider_mask(view("spiders", {"distance": 1.5, "size": s, "movement": 0.0})).sum() for s in (2, 6, 15)]
    assert areas[0] < areas[1] < areas[2]
    assert areas[2] > 10 * areas[0]


def test_count_is_how_many_spiders_are_drawn():
    def spiders_in_view(count: int) -> int:
        mask = spider_mask(view("spiders", {"distance": 2.0, "size": 3, "count": count, "movement": 0.0}, width=640))
        return count_blobs(mask)

    assert spiders_in_view(1) == 1
    assert spiders_in_view(3) == 3
    assert spiders_in_view(20) > spiders_in_view(8) > spiders_in_view(3)


def count_blobs(mask: np.ndarray) -> int:
    """Connected groups of True pixels (8-neighbourhood), by flood fill."""
    seen = np.zeros_like(mask)
    h, w = mask.shape
    blobs = 0
    for y, x in zip(*np.nonzero(mask), strict=True):
        if seen[y, x]:
            continue
        blobs += 1
        stack = [(y, x)]
        seen[y, x] = True
        while stack:
            cy, cx = stack.pop()
            for ny in range(max(0, cy - 1), min(h, cy + 2)):
                for nx in range(max(0, cx - 1), min(w, cx + 2)):
                    if mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
    return blobs


def test_spiders_crawl_only_when_there_is_movement():
    still = {"distance": 1.0, "count": 3, "size": 5, "movement": 0.0}
    assert np.array_equal(view("spiders", still, t=1.0), view("spiders", still, t=7.5))
    slow, fast = still | {"movement": 0.2}, still | {"movement": 1.0}
    assert changed(view("spiders", slow, t=1.0), view("spiders", slow, t=2.0)) > 0
    assert changed(view("spiders", fast, t=1.0), view("spiders", fast, t=2.0)) > changed(
        view("spiders", slow, t=1.0), view("spiders", slow, t=2.0)
    )


def street_pixels(a: np.ndarray) -> int:
    """Asphalt pixels (the road's grey) in the canyon between the sky and the balcony."""
    h = a.shape[0] / SCENE_ROWS
    canyon = a[int(h * 0.22) : int(h * 0.78)]
    return int((np.abs(canyon - np.array([96, 99, 106])).max(axis=2) <= 3).sum())


def test_the_street_shrinks_as_the_balcony_rises():
    roads = [street_pixels(view("heights", {"floor": f, "railing": 0.0, "wind": 0.0})) for f in (1, 5, 15, 40)]
    assert roads[0] > roads[1] > roads[2] > roads[3] > 0
    assert roads[0] > 10 * roads[3]


def railing_top_row(a: np.ndarray) -> int | None:
    """The first row where the railing's light top bar spans most of the width."""
    bar = (np.abs(a - np.array([232, 234, 238])).max(axis=2) <= 3).mean(axis=1) > 0.6
    rows = np.nonzero(bar)[0]
    return int(rows[0]) if rows.size else None


def test_the_railing_bar_drops_with_its_height_and_is_gone_at_zero():
    rows = [railing_top_row(view("heights", {"railing": r, "wind": 0.0})) for r in (1.2, 0.8, 0.3)]
    assert None not in rows
    assert rows[0] < rows[1] < rows[2], "a lower railing sits lower in the frame"
    assert railing_top_row(view("heights", {"railing": 0.0, "wind": 0.0})) is None


def test_wind_moves_the_balcony_only_when_it_blows():
    calm_air = {"floor": 10, "wind": 0.0}
    assert np.array_equal(view("heights", calm_air, t=1.0), view("heights", calm_air, t=9.0))
    breeze, gale = calm_air | {"wind": 2.0}, calm_air | {"wind": 15.0}
    assert changed(view("heights", breeze, t=1.0), view("heights", breeze, t=1.5)) > 0
    assert changed(view("heights", gale, t=1.0), view("heights", gale, t=1.5)) > changed(
        view("heights", breeze, t=1.0), view("heights", breeze, t=1.5)
    )


def test_the_beach_has_slow_waves():
    assert 0 < changed(view("calm", {}, t=1.0), view("calm", {}, t=3.0)) < 0.2


# -- size, fade, badges, bad input ------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [(640, None, (640, 360)), (1280, None, (1280, 720)), (333, None, (333, 187)), (200, 100, (200, 100))],
)
def test_sizes_are_honoured(width, height, expected):
    for scene in SCENES:
        image = render.render_view(scene, {}, 0.0, width=width, height=height)
        assert image.size == expected and image.mode == "RGB"


def test_a_view_too_small_to_draw_is_refused():
    with pytest.raises(ValueError, match="too small"):
        render.render_view("calm", {}, 0.0, width=8)


def test_full_calm_mix_shows_the_calm_scene_and_half_is_in_between():
    scary = {"distance": 0.3, "size": 12, "count": 12, "movement": 1.0}
    calm, spiders = view("calm", {}), view("spiders", scary)
    assert np.array_equal(view("spiders", scary, calm_mix=1.0), calm)
    half = view("spiders", scary, calm_mix=0.5)
    assert np.abs(half - calm).mean() > 5 and np.abs(half - spiders).mean() > 5
    assert np.abs(half - (calm + spiders) / 2).mean() < 2
    assert np.array_equal(view("spiders", scary, calm_mix=0.0), spiders)


def test_paused_badge_sits_top_right_and_label_top_left():
    plain = np.asarray(render.render_view("heights", {}, 1.0, width=640), dtype=np.int16)
    paused = np.asarray(render.render_view("heights", {}, 1.0, width=640, paused=True), dtype=np.int16)
    diff = np.abs(plain - paused).max(axis=2) > 24
    rows, cols = np.nonzero(diff)
    assert rows.size > 200
    assert rows.max() < 60 and cols.min() > 480
    labelled = np.asarray(render.render_view("heights", {}, 1.0, width=640, label="sim-a · 1234"), dtype=np.int16)
    rows, cols = np.nonzero(np.abs(plain - labelled).max(axis=2) > 24)
    assert rows.size > 100 and rows.max() < 60 and cols.max() < 320


def test_bad_values_fall_back_rather_than_break_the_view():
    base = defaults("spiders")
    assert np.array_equal(view("spiders", {"distance": math.nan}), view("spiders", base))
    assert np.array_equal(view("spiders", {"size": "big"}), view("spiders", base))  # type: ignore[dict-item]
    assert np.array_equal(view("spiders", {"distance": -4.0}), view("spiders", base | {"distance": 0.3}))
    assert np.array_equal(view("spiders", {"unknown": 3.0}), view("spiders", base))
    assert np.array_equal(view("calm", {}), view("spiders", base, calm_mix=7.0))


def test_unknown_scene_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown scene 'dentist'; known: spiders, heights, calm"):
        render.render_view("dentist", {}, 0.0, width=100)


# -- JPEG ---------------------------------------------------------------------------------


def test_jpeg_frames_decode_back_at_the_same_size():
    image = render.render_view("spiders", {"distance": 1.0, "count": 4}, 0.0, width=480)
    jpeg = render.encode_jpeg(image, 70)
    assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
    decoded = Image.open(io.BytesIO(jpeg))
    assert decoded.format == "JPEG" and decoded.size == (480, 270)
    similar = np.abs(np.asarray(decoded.convert("RGB"), dtype=np.int16) - np.asarray(image, dtype=np.int16)).mean()
    assert similar < 6
    assert len(render.encode_jpeg(image, 20)) < len(jpeg) < len(render.encode_jpeg(image, 95))
    assert render.encode_jpeg(image, 500)[:2] == b"\xff\xd8"  # clamped, not refused
