"""The simulated view: every parameter shows, sizes are honoured, JPEG round-trips."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from unity_bridge.sim import render

SCENES = {s["id"]: s for s in render.SCENES}


def pixels(scene: str, params: dict[str, float], t: float = 1.0, **kw) -> np.ndarray:
    return np.asarray(render.render_view(scene, params, t, width=320, **kw), dtype=np.int16)


def defaults(scene: str) -> dict[str, float]:
    return {p["name"]: p["default"] for p in SCENES[scene]["parameters"]}


@pytest.mark.parametrize(
    "scene, name",
    [(s["id"], p["name"]) for s in render.SCENES for p in s["parameters"]],
)
def test_every_parameter_visibly_changes_the_view(scene, name):
    spec = next(p for p in SCENES[scene]["parameters"] if p["name"] == name)
    # Other parameters at values where this one shows (e.g. movement needs a spider in view).
    base = defaults(scene) | ({"distance": 1.0, "count": 3} if scene == "spiders" and name != "distance" else {})
    low = pixels(scene, base | {name: spec["min"]}, t=2.0)
    high = pixels(scene, base | {name: spec["max"]}, t=2.0)
    changed = (np.abs(low - high).max(axis=2) > 24).mean()
    assert changed > 0.002, f"{scene}.{name} from min to max changed only {changed:.2%} of the pixels"


def test_movement_animates_only_when_there_is_movement():
    still = {"distance": 1.0, "count": 3, "size": 5, "movement": 0.0}
    assert np.array_equal(pixels("spiders", still, t=1.0), pixels("spiders", still, t=2.0))
    moving = still | {"movement": 1.0}
    assert not np.array_equal(pixels("spiders", moving, t=1.0), pixels("spiders", moving, t=2.0))


def test_sizes_are_honoured():
    assert render.render_view("heights", {}, 0, width=640).size == (640, 360)
    assert render.render_view("heights", {}, 0, width=200, height=100).size == (200, 100)


def test_full_calm_mix_shows_the_calm_scene():
    calm = pixels("calm", {})
    faded = pixels("spiders", defaults("spiders") | {"distance": 0.3, "count": 12}, calm_mix=1.0)
    assert np.abs(calm - faded).mean() < 1.0
    halfway = pixels("spiders", defaults("spiders") | {"distance": 0.3, "count": 12}, calm_mix=0.5)
    assert np.abs(calm - halfway).mean() > 5.0


def test_paused_badge_is_drawn():
    assert not np.array_equal(pixels("heights", {}, paused=True), pixels("heights", {}, paused=False))


def test_unknown_scene_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown scene 'dentist'"):
        render.render_view("dentist", {}, 0, width=100)


def test_jpeg_decodes_back_at_the_same_size():
    jpeg = render.encode_jpeg(render.render_view("spiders", {}, 0, width=480), 70)
    assert jpeg[:2] == b"\xff\xd8"
    assert Image.open(io.BytesIO(jpeg)).size == (480, 270)
    assert len(render.encode_jpeg(render.render_view("spiders", {}, 0, width=480), 20)) < len(jpeg)
