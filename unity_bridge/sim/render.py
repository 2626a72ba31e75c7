"""What the simulated headset's patient sees, drawn with Pillow and numpy (no Qt, no engine).

Every stimulus parameter visibly changes the picture, so a therapist rehearsing with the
simulated headset (or a test) can tell from the mirror that a slider reached the headset.
Spiders: nearer ones sit lower and look bigger, ``count`` is how many are drawn and
``movement`` makes them crawl. Balcony: the street below shrinks as the floor rises, the
railing bar drops with its height, and wind flutters a flag, bends a plant and drives the
clouds. Calm beach: the make-safe scene, with slow waves.

Speed: the parts of a scene that do not move (gradients, the room, the street canyon for a
floor) are drawn once per scene, size and floor and cached; each frame copies that layer
and draws a few dozen primitives on it (spiders, railing, flag, waves), so a 1280x720
frame takes a few milliseconds and JPEG encoding costs about as much again. The caches
hold images that are only ever copied, so ``render_view`` is safe to call from any thread.
"""

from __future__ import annotations

import functools
import io
import math
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

RGB = tuple[int, int, int]


def _param(
    name: str, label: str, unit: str, lo: float, hi: float, step: float, default: float, increases: bool = True
) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "unit": unit,
        "min": lo,
        "max": hi,
        "step": step,
        "default": default,
        "intensity_increases": increases,
    }


SCENES: tuple[dict[str, Any], ...] = (
    {
        "id": "spiders",
        "label": "Spiders in a living room",
        "description": "House spiders on a living-room floor: they come closer, grow, multiply and crawl.",
        "calm": False,
        "parameters": [
            _param("distance", "Distance", "m", 0.3, 5.0, 0.1, 5.0, increases=False),
            _param("size", "Spider size", "cm", 1.0, 20.0, 0.5, 3.0),
            _param("count", "Number of spiders", "", 1.0, 20.0, 1.0, 1.0),
            _param("movement", "Movement", "", 0.0, 1.0, 0.05, 0.2),
        ],
    },
    {
        "id": "heights",
        "label": "Balcony of a tall building",
        "description": "Looking down over a balcony railing at the street: higher floors, a lower railing, more wind.",
        "calm": False,
        "parameters": [
            _param("floor", "Floor", "floor", 1.0, 40.0, 1.0, 2.0),
            _param("railing", "Railing height", "m", 0.0, 1.2, 0.05, 1.1, increases=False),
            _param("wind", "Wind", "m/s", 0.0, 15.0, 0.5, 1.0),
        ],
    },
    {
        "id": "calm",
        "label": "Calm beach",
        "description": "A quiet beach with slow waves; the scene make-safe fades to.",
        "calm": True,
        "parameters": [],
    },
)

_BY_ID: dict[str, dict[str, Any]] = {s["id"]: s for s in SCENES}
_CALM_ID = next(s["id"] for s in SCENES if s["calm"])


# -- shared helpers ---------------------------------------------------------------------


def _values(scene: dict[str, Any], params: dict[str, float]) -> dict[str, float]:
    """Each declared parameter's value, clamped to its range; a missing or non-numeric value
    falls back to the default, so a bad value in a live session never breaks the view."""
    out = {}
    for p in scene["parameters"]:
        raw = params.get(p["name"], p["default"]) if params else p["default"]
        try:
            value = float(raw)
        except (TypeError, ValueError):
            value = float(p["default"])
        if not math.isfinite(value):
            value = float(p["default"])
        out[p["name"]] = min(float(p["max"]), max(float(p["min"]), value))
    return out


def _vertical(h: int, w: int, stops: list[tuple[float, RGB]]) -> np.ndarray:
    """An h x w x 3 (uint8, read-only view) vertical gradient through colour stops placed at
    fractions of the height: one column computed, broadcast across the width."""
    ys = np.linspace(0.0, 1.0, h)
    fracs = [f for f, _ in stops]
    column = np.stack([np.interp(ys, fracs, [c[i] for _, c in stops]) for i in range(3)], axis=1)
    return np.broadcast_to(np.rint(column).astype(np.uint8)[:, None, :], (h, w, 3))


def _to_image(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(arr, dtype=np.uint8), "RGB")


def _ellipse_points(cx: float, cy: float, rx: float, ry: float, angle: float, squash: float, n: int = 14) -> list:
    """A rotated ellipse as a flat polygon list, foreshortened vertically by ``squash``."""
    a = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    x, y = rx * np.cos(a), ry * np.sin(a)
    ca, sa = math.cos(angle), math.sin(angle)
    px = cx + x * ca - y * sa
    py = cy + (x * sa + y * ca) * squash
    return np.stack([px, py], axis=1).ravel().tolist()


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans where installed (it has · and ×), else Pillow's bundled font."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def _printable(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> str:
    """Plain stand-ins for the multiplication sign when the font lacks it."""
    if getattr(font, "path", "").endswith("DejaVuSans.ttf"):
        return text
    return text.replace("×", "x")


def _fmt(value: float, step: float) -> str:
    """A value with as many decimals as its step needs (0.05 -> 2, 0.5 -> 1, 1 -> 0)."""
    decimals = 0
    while decimals < 3 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-9:
        decimals += 1
    return f"{value:.{decimals}f}"


# -- spiders ----------------------------------------------------------------------------

_WALL_Y = 0.52  # where the wall meets the floor, as a fraction of the height
_FAR_Y, _NEAR_Y = 0.60, 0.80  # where a spider stands at 5 m and at 0.3 m
_SPIDER_COLOUR: RGB = (34, 27, 23)
_LEG_COLOUR: RGB = (44, 35, 30)


def _floor_y(d: float, h: int) -> float:
    """Screen row of a point on the floor ``d`` metres away: nearer is lower. A perspective
    curve (1/d) eased so that the far half of the range still moves visibly."""
    u = (1.0 / d - 0.2) / (1.0 / 0.3 - 0.2)
    u = math.copysign(math.sqrt(abs(u)), u)
    return h * (_FAR_Y + (_NEAR_Y - _FAR_Y) * u)


@functools.lru_cache(maxsize=8)
def _spider_room(w: int, h: int) -> Image.Image:
    """The living room without spiders: wall, window, picture, sofa, wooden floor, rug."""
    wall_y = int(h * _WALL_Y)
    arr = np.empty((h, w, 3), np.uint8)
    arr[:wall_y] = _vertical(wall_y, w, [(0.0, (236, 226, 206)), (1.0, (214, 200, 176))])
    arr[wall_y:] = _vertical(h - wall_y, w, [(0.0, (160, 118, 80)), (1.0, (186, 138, 94))])
    img = _to_image(arr)
    d = ImageDraw.Draw(img)
    line = max(1, round(w / 640))
    # Floorboards converging on a vanishing point above the wall line.
    vx, vy = w / 2, h * 0.30
    for i in range(-14, 15):
        xb = w / 2 + i * w * 0.09
        k = (wall_y - vy) / (h - vy)
        d.line([(vx + (xb - vx) * k, wall_y), (xb, h)], fill=(146, 106, 72), width=line)
    # Rug, a trapezoid on the floor from about 4 m to 0.8 m, with a border.
    y_top, y_bot = _floor_y(4.0, h), _floor_y(0.8, h)
    d.polygon([(w * 0.3, y_top), (w * 0.7, y_top), (w * 0.9, y_bot), (w * 0.1, y_bot)], fill=(170, 98, 86))
    inset = (y_bot - y_top) * 0.12
    top, bot = y_top + inset, y_bot - inset
    slope = (0.2 * w) / (y_bot - y_top)  # how far the sides lean out per pixel down
    d.polygon(
        [
            (w * 0.3 - (top - y_top) * slope + inset * 1.6, top),
            (w * 0.7 + (top - y_top) * slope - inset * 1.6, top),
            (w * 0.9 - (y_bot - bot) * slope - inset * 1.6, bot),
            (w * 0.1 + (y_bot - bot) * slope + inset * 1.6, bot),
        ],
        outline=(222, 178, 124),
        width=line * 2,
    )
    # Skirting board.
    d.rectangle([0, wall_y - h * 0.018, w, wall_y], fill=(246, 242, 234))
    # Window with sky, and a mullion cross.
    wx0, wy0, wx1, wy1 = w * 0.07, h * 0.09, w * 0.29, h * 0.40
    sky = _to_image(_vertical(int(wy1 - wy0), int(wx1 - wx0), [(0.0, (150, 196, 232)), (1.0, (210, 228, 240))]))
    img.paste(sky, (int(wx0), int(wy0)))
    frame = max(2, round(w / 180))
    d.rectangle([wx0, wy0, wx1, wy1], outline=(250, 248, 244), width=frame)
    d.line([((wx0 + wx1) / 2, wy0), ((wx0 + wx1) / 2, wy1)], fill=(250, 248, 244), width=frame)
    d.line([(wx0, (wy0 + wy1) / 2), (wx1, (wy0 + wy1) / 2)], fill=(250, 248, 244), width=frame)
    # A framed landscape.
    px0, py0, px1, py1 = w * 0.42, h * 0.15, w * 0.56, h * 0.31
    d.rectangle([px0, py0, px1, py1], fill=(176, 206, 222), outline=(150, 112, 78), width=frame)
    d.polygon(
        [(px0 + frame, py1 - frame), (px0 + (px1 - px0) * 0.45, py0 + (py1 - py0) * 0.45), (px1 - frame, py1 - frame)],
        fill=(112, 150, 104),
    )
    # Sofa against the wall on the right.
    sx0, sx1 = w * 0.70, w * 1.02
    d.rounded_rectangle([sx0, h * 0.34, sx1, h * 0.50], radius=h * 0.03, fill=(98, 138, 140))
    d.rounded_rectangle([sx0 - w * 0.01, h * 0.44, sx1, h * 0.56], radius=h * 0.02, fill=(112, 154, 154))
    d.rounded_rectangle([sx0 - w * 0.03, h * 0.40, sx0 + w * 0.03, h * 0.57], radius=h * 0.02, fill=(90, 128, 130))
    d.rounded_rectangle([w * 0.76, h * 0.37, w * 0.84, h * 0.45], radius=h * 0.015, fill=(222, 196, 120))
    return img


# Where each of up to 20 spiders sits: sideways position (-1..1), how much further than the
# nearest it is (fraction), resting heading, and crawl frequencies and phases. Fixed, so the
# same values always draw the same room.
_LAYOUT = np.random.default_rng(20260).random((20, 7))
_LAYOUT[0, :2] = (0.5, 0.0)  # the nearest spider stands in the middle, at exactly `distance`


def _spider_placements(v: dict[str, float], t: float, w: int, h: int) -> list[tuple[float, float, float, float, float]]:
    """(x, y, body length px, heading, leg phase) for each spider, farthest first."""
    count = max(1, min(20, round(v["count"])))
    movement = v["movement"]
    out = []
    for i in range(count):
        side, further, rest_heading, f1, f2, p1, p2 = _LAYOUT[i]
        d = min(9.0, v["distance"] + 2.5 * further)  # `distance` is the nearest one's
        s = min(0.45 * h, 2.0 * w * (v["size"] / 100.0) / d)  # body length: size over distance
        x = w * (0.5 + 0.84 * (side - 0.5))
        y = _floor_y(d, h)
        heading = (rest_heading - 0.5) * 2 * math.pi
        leg_phase = 0.0
        if movement > 0:
            # Each spider wanders on its own slow Lissajous path and faces where it goes.
            w1, w2 = 0.35 + 0.5 * f1, 0.3 + 0.4 * f2
            ax, ay = movement * (0.07 * w + 1.0 * s), movement * (0.025 * h + 0.3 * s)
            a1, a2 = w1 * t + 2 * math.pi * p1, w2 * t + 2 * math.pi * p2
            x += ax * math.sin(a1)
            y += ay * math.sin(a2)
            heading = math.atan2(ay * w2 * math.cos(a2) / 0.55, ax * w1 * math.cos(a1))
            leg_phase = t * (6.0 + 6.0 * movement)
        out.append((x, y, s, heading, leg_phase))
    out.sort(key=lambda p: p[1])
    return out


# Leg roots in the body frame (degrees from the heading) and the extra bend of the lower leg.
_LEG_ANGLES = (38.0, 72.0, 108.0, 142.0)


def _draw_spider(
    d: ImageDraw.ImageDraw, x: float, y: float, s: float, heading: float, phase: float, gait: float
) -> None:
    """A spider seen from above and in front, ``s`` px long, foreshortened on the floor."""
    squash = 0.6
    ch, sh = math.cos(heading), math.sin(heading)

    def at(fx: float, fy: float) -> tuple[float, float]:
        return x + fx * ch - fy * sh, y + (fx * sh + fy * ch) * squash

    width = max(1, round(s * 0.045))
    root = at(0.1 * s, 0.0)
    for side in (-1, 1):
        for k, base in enumerate(_LEG_ANGLES):
            swing = gait * 0.35 * math.sin(phase + k * math.pi / 2 + (side + 1) * math.pi / 2)
            a = math.radians(base) + swing
            b = a + (a - math.pi / 2) * 0.55
            kx, ky = 0.5 * s * math.cos(a), side * 0.5 * s * math.sin(a)
            fx, fy = kx + 0.55 * s * math.cos(b), ky + side * 0.55 * s * math.sin(b)
            d.line([root, at(0.1 * s + kx, ky), at(0.1 * s + fx, fy)], fill=_LEG_COLOUR, width=width)
    d.polygon(_ellipse_points(*at(-0.24 * s, 0.0), 0.3 * s, 0.22 * s, heading, squash), fill=_SPIDER_COLOUR)
    d.polygon(_ellipse_points(*at(0.14 * s, 0.0), 0.17 * s, 0.14 * s, heading, squash), fill=_SPIDER_COLOUR)
    if s >= 14:  # markings on the abdomen, once there is room for them
        d.polygon(_ellipse_points(*at(-0.28 * s, 0.0), 0.12 * s, 0.045 * s, heading, squash, 8), fill=(92, 72, 56))


def _draw_spiders(img: Image.Image, v: dict[str, float], t: float) -> None:
    w, h = img.size
    d = ImageDraw.Draw(img)
    for x, y, s, heading, phase in _spider_placements(v, t, w, h):
        _draw_spider(d, x, y, s, heading, phase, v["movement"])


def _spiders_caption(v: dict[str, float]) -> str:
    count = round(v["count"])
    return (
        f"spiders · {v['distance']:.1f} m · {round(v['size'] * 2) / 2:g} cm · ×{count}"
        f" · crawl {v['movement'] * 100:.0f}%"
    )


# -- balcony ----------------------------------------------------------------------------

_SKY_BOTTOM = 0.2  # the sky band; below it the view looks down into the street
_EDGE_Y = 0.8  # the front edge of the balcony slab
_RAIL_SPAN = 0.46  # screen height of a 1.2 m railing, as a fraction of the height
_FACADE_X = 9.0  # metres from the middle of the street to the facades
_CARS: tuple[tuple[float, float, RGB], ...] = (
    (-3.2, -3.0, (196, 58, 52)),
    (3.2, 6.0, (236, 236, 232)),
    (-3.2, 13.0, (52, 96, 178)),
    (3.2, -12.0, (232, 190, 58)),
    (-3.2, -22.0, (170, 176, 184)),
    (3.2, 22.0, (58, 140, 96)),
    (-3.2, 33.0, (206, 120, 52)),
    (3.2, -34.0, (120, 70, 150)),
    (-3.2, -46.0, (236, 236, 232)),
    (3.2, 45.0, (196, 58, 52)),
    (-3.2, 58.0, (90, 96, 108)),
    (3.2, -60.0, (52, 96, 178)),
)


class _Canyon:
    """The street canyon seen from straight above: facades converge on a street whose scale
    is 1 / (height of the eye above it), so a higher floor shows it smaller and further."""

    def __init__(self, w: int, h: int, floor: int):
        self.w, self.h, self.floor = w, h, floor
        self.y0, self.y1 = h * _SKY_BOTTOM, h * _EDGE_Y
        self.cx, self.cy = w / 2, (self.y0 + self.y1) / 2
        self.f = 0.18 * w  # focal length in pixels
        self.eye = 3.0 * floor + 1.6  # metres above the street
        self.scale = self.f / self.eye  # pixels per metre at street level
        self.street_r = _FACADE_X * self.scale

    def r(self, height_m: float) -> float:
        """Distance from the middle of the street, in px, of a facade point at that height."""
        return self.f * _FACADE_X / max(0.3, self.eye - height_m)

    def fill(self, arr: np.ndarray) -> None:
        """Facades shaded by depth (hazier towards the street), pavements and road."""
        xs = np.arange(self.w, dtype=float)
        off = np.abs(xs - self.cx)
        depth = np.clip(self.street_r / np.maximum(off, 1.0), 0.0, 1.0) ** 0.8
        near, far = np.array([214, 206, 194], float), np.array([128, 132, 144], float)
        band = slice(int(self.y0), math.ceil(self.y1))
        arr[band] = np.rint(near + (far - near) * depth[:, None]).astype(np.uint8)[None, :, :]
        road = off <= self.street_r
        pavement = off > 6.4 * self.scale
        arr[band, road & pavement] = (176, 172, 164)
        arr[band, road & ~pavement] = (96, 99, 106)

    def draw(self, d: ImageDraw.ImageDraw) -> None:
        """Windows and storey lines across the street, lane markings, trees and cars."""
        floor, f, eye, scale = self.floor, self.f, self.eye, self.scale
        y0, y1, cx, cy, r = self.y0, self.y1, self.cx, self.cy, self.r
        # Windows and storey lines of the buildings across, for every storey below the eye.
        for k in range(floor + 1):
            slab = r(3.0 * k)
            if slab - r(3.0 * k - 3.0) >= 3 and slab < cx:
                for side in (-1, 1):
                    x = cx + side * slab
                    d.line([(x, y0), (x, y1)], fill=(150, 146, 140), width=1)
            if k == floor:
                break
            r_lo, r_hi = r(3.0 * k + 0.9), r(3.0 * k + 2.3)
            if r_hi - r_lo < 1.5 or r_lo >= cx:
                continue
            r_hi = min(r_hi, cx + 2)
            mid = f / max(0.3, eye - 3.0 * k - 1.6)
            pitch = 3.6 * mid
            if pitch < 3:
                continue
            for side in (-1, 1):
                xa, xb = sorted((cx + side * r_lo, cx + side * r_hi))
                j0 = math.floor((y0 - cy) / pitch) - 1
                j1 = math.ceil((y1 - cy) / pitch) + 1
                for j in range(j0, j1):
                    yc = cy + j * pitch
                    ya, yb = max(y0, yc - 0.8 * mid), min(y1, yc + 0.8 * mid)
                    if ya < yb:
                        glass = (120, 150, 176) if (j * 7 + k * 3 + side) % 5 else (196, 206, 214)
                        d.rectangle([xa, ya, xb, yb], fill=glass)
        # Lane markings, kerb trees and parked or waiting cars, all at street scale.
        dash = max(1, round(0.15 * scale))
        span = (y1 - y0) / 2 / scale + 6
        m = -math.ceil(span / 6) * 6
        while m < span:
            d.rectangle([cx - dash, cy + m * scale, cx + dash, cy + (m + 3) * scale], fill=(236, 230, 200))
            m += 6
        tree_r = f / max(0.3, eye - 6.0)
        if eye > 8.0:
            canopy = 2.2 * tree_r
            m = -math.ceil(span / 9) * 9 + 4.5
            while m < span:
                for side in (-1, 1):
                    tx, ty = cx + side * 7.6 * tree_r, cy + m * tree_r
                    d.ellipse([tx - canopy, ty - canopy, tx + canopy, ty + canopy], fill=(92, 140, 78))
                    d.ellipse(
                        [tx - canopy * 0.55, ty - canopy * 0.7, tx + canopy * 0.3, ty + canopy * 0.15],
                        fill=(122, 168, 96),
                    )
                m += 9
        for lane_x, along, colour in _CARS:
            x, y = cx + lane_x * scale, cy + along * scale
            hw, hl = 0.95 * scale, 2.2 * scale
            if y + hl < y0 or y - hl > y1:
                continue
            d.rounded_rectangle([x - hw, y - hl, x + hw, y + hl], radius=max(1, 0.4 * scale), fill=colour)
            if scale > 4:
                d.rectangle([x - hw * 0.75, y - hl * 0.35, x + hw * 0.75, y + hl * 0.3], fill=(60, 70, 84))


@functools.lru_cache(maxsize=12)
def _balcony(w: int, h: int, floor: int) -> Image.Image:
    """Everything on the balcony that does not move, apart from the railing: sky and
    skyline, the street canyon for this floor, and the slab."""
    arr = np.empty((h, w, 3), np.uint8)
    sky_h = int(h * _SKY_BOTTOM)
    arr[:sky_h] = _vertical(sky_h, w, [(0.0, (132, 180, 228)), (1.0, (206, 224, 240))])
    edge = int(h * _EDGE_Y)
    arr[edge:] = _vertical(h - edge, w, [(0.0, (188, 182, 172)), (1.0, (208, 202, 192))])
    canyon = _Canyon(w, h, floor)
    canyon.fill(arr)
    img = _to_image(arr)
    d = ImageDraw.Draw(img)
    canyon.draw(d)
    # Whatever of the street drawing spilled past the canyon goes under the sky and the slab.
    img.paste(_to_image(arr[:sky_h]), (0, 0))
    img.paste(_to_image(arr[edge:]), (0, edge))
    # Distant towers along the bottom of the sky.
    rng = np.random.default_rng(7)
    x = -w * 0.02
    while x < w:
        bw = w * (0.03 + 0.05 * rng.random())
        top = sky_h - h * (0.03 + 0.09 * rng.random())
        shade = int(170 + 30 * rng.random())
        d.rectangle([x, top, x + bw, sky_h], fill=(shade - 8, shade, shade + 14))
        x += bw + w * 0.004
    d.line([(0, sky_h), (w, sky_h)], fill=(150, 150, 156), width=max(1, round(h / 240)))
    # The slab's front edge and its tiles.
    line = max(1, round(w / 640))
    d.rectangle([0, h * _EDGE_Y, w, h * (_EDGE_Y + 0.018)], fill=(150, 146, 140))
    for i in range(-10, 11):
        d.line(
            [(w / 2 + i * w * 0.08, h * (_EDGE_Y + 0.018)), (w / 2 + i * w * 0.13, h)], fill=(176, 170, 160), width=line
        )
    return img


def _draw_railing(img: Image.Image, railing: float) -> None:
    """Posts and a top bar at the railing's height (none at 0 m): a lower railing leaves
    more of the drop open. Drawn per frame, so a railing ramp costs no cache misses."""
    if railing <= 0.0:
        return
    w, h = img.size
    d = ImageDraw.Draw(img)
    top = h * (_EDGE_Y - _RAIL_SPAN * railing / 1.2)
    bar = max(3, round(h * 0.016))
    post = max(2, round(w / 320))
    for i in range(17):
        px = (i + 0.5) * w / 17
        d.rectangle([px - post, top, px + post, h * (_EDGE_Y + 0.01)], fill=(86, 92, 100))
    mid = (top + h * _EDGE_Y) / 2
    d.rectangle([0, mid - bar / 3, w, mid + bar / 3], fill=(96, 102, 110))
    d.rectangle([0, top - bar / 2, w, top + bar / 2], fill=(232, 234, 238), outline=(110, 116, 124))


def _draw_balcony_life(img: Image.Image, v: dict[str, float], t: float) -> None:
    """What the wind moves: clouds, the flag and the potted plant (all still at 0 m/s)."""
    w, h = img.size
    d = ImageDraw.Draw(img)
    wind = v["wind"]
    strength = min(1.0, wind / 10.0)
    # Clouds drift with the wind.
    for i, (x0, y, size) in enumerate(((0.15, 0.05, 1.0), (0.55, 0.09, 0.7), (0.85, 0.04, 0.85))):
        cw = w * 0.12 * size
        x = (x0 * w + wind * t * w * 0.004 * (1 + 0.3 * i)) % (w + 2 * cw) - cw
        for dx, dy, rr in ((0.0, 0.0, 0.35), (0.3, -0.15, 0.3), (0.55, 0.02, 0.28), (-0.3, 0.04, 0.25)):
            cr = cw * rr
            cx, cy = x + dx * cw, h * y + dy * cw
            d.ellipse([cx - cr * 1.4, cy - cr * 0.7, cx + cr * 1.4, cy + cr * 0.7], fill=(248, 250, 252))
    # The flag: hangs limp without wind, stands out and flutters as it grows.
    pole_x, pole_top, base = w * 0.88, h * 0.26, h * 0.97
    d.rectangle([pole_x - w * 0.003, pole_top, pole_x + w * 0.003, base], fill=(120, 122, 128))
    length, depth = w * 0.13, h * 0.08
    omega = 2.0 + 0.6 * wind
    lift = (math.pi / 2) * (0.12 + 0.88 * strength) + 0.1 * strength * math.sin(omega * 0.7 * t)
    ripple = depth * 0.22 * min(1.0, wind / 6.0)
    # The hoist edge stays on the pole; each point of it streams out along the same curve.
    top_edge, mid_edge, bottom_edge = [], [], []
    for n in range(9):
        u = n / 8
        droop = max(0.0, lift - 0.35 * (1.0 - strength) * u)
        dx, dy = -math.sin(droop), math.cos(droop)  # from hanging down towards pointing left
        wave = ripple * u * math.sin(3.0 * u * math.pi - omega * t)
        px, py = pole_x + length * u * dx - wave * dy, pole_top + length * u * dy + wave * dx
        top_edge.append((px, py))
        mid_edge.append((px, py + depth / 2))
        bottom_edge.append((px, py + depth))
    d.polygon(top_edge + mid_edge[::-1], fill=(214, 72, 60))
    d.polygon(mid_edge + bottom_edge[::-1], fill=(244, 206, 90))
    # A potted plant bending and swaying.
    px, py = w * 0.1, h * 0.86
    pot_w = w * 0.045
    lean = 0.35 * strength
    for i in range(7):
        a = -math.pi / 2 + (i - 3) * 0.32 + lean + 0.22 * strength * math.sin(omega * 0.8 * t + i * 0.9)
        leaf = h * (0.11 + 0.03 * (i % 3))
        tip = (px + leaf * math.cos(a), py + leaf * math.sin(a))
        side = (-math.sin(a) * leaf * 0.16, math.cos(a) * leaf * 0.16)
        midp = (px + leaf * 0.5 * math.cos(a), py + leaf * 0.5 * math.sin(a))
        colour = (78, 148, 86) if i % 2 else (60, 124, 72)
        d.polygon(
            [(px, py), (midp[0] + side[0], midp[1] + side[1]), tip, (midp[0] - side[0], midp[1] - side[1])], fill=colour
        )
    d.polygon(
        [(px - pot_w, py), (px + pot_w, py), (px + pot_w * 0.75, h * 0.96), (px - pot_w * 0.75, h * 0.96)],
        fill=(192, 108, 74),
    )
    d.rectangle([px - pot_w * 1.08, py - h * 0.008, px + pot_w * 1.08, py + h * 0.012], fill=(168, 92, 62))


def _heights_caption(v: dict[str, float]) -> str:
    floor = round(v["floor"])
    return (
        f"balcony · floor {floor} ({3 * floor} m up) · railing {v['railing']:.2f} m · wind {_fmt(v['wind'], 0.5)} m/s"
    )


# -- calm beach -------------------------------------------------------------------------

_HORIZON, _SHORE = 0.44, 0.68


@functools.lru_cache(maxsize=8)
def _beach(w: int, h: int) -> Image.Image:
    """Sky, low sun, sea and sand."""
    arr = _vertical(
        h,
        w,
        [
            (0.0, (136, 184, 226)),
            (_HORIZON - 0.005, (250, 222, 192)),
            (_HORIZON, (84, 150, 178)),
            (_SHORE, (112, 184, 190)),
            (_SHORE + 0.005, (238, 218, 178)),
            (1.0, (224, 198, 154)),
        ],
    )
    arr = arr.copy()
    # A soft sun glow over the sky only, computed in the box it can reach.
    sx, sy, radius, reach = w * 0.7, h * (_HORIZON - 0.1), h * 0.07, h * 0.25
    x0, x1 = max(0, int(sx - radius - reach)), min(w, int(sx + radius + reach) + 1)
    y0, y1 = max(0, int(sy - radius - reach)), min(int(h * _HORIZON), int(sy + radius + reach) + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dist = np.hypot(xx - sx, yy - sy)
    glow = np.clip(1.0 - (dist - radius) / reach, 0.0, 1.0) ** 2 * 0.5
    glow[dist <= radius] = 1.0
    box = arr[y0:y1, x0:x1].astype(np.float32)
    box += (np.array([255, 244, 220], np.float32) - box) * glow[:, :, None]
    arr[y0:y1, x0:x1] = np.rint(box).astype(np.uint8)
    return _to_image(arr)


def _draw_beach_life(img: Image.Image, t: float) -> None:
    """Slow waves rolling in, the wash on the sand, and a boat drifting far out."""
    w, h = img.size
    d = ImageDraw.Draw(img)
    sea_top, shore = h * _HORIZON, h * _SHORE
    for k in range(7):
        p = (k / 7 + 0.03 * t) % 1.0
        y = sea_top + (shore - sea_top) * p**1.6
        seg, gap = w * (0.05 + 0.12 * p), w * (0.06 + 0.1 * p)
        x = -((k * 97 + 13 * t * (0.5 + p)) % (seg + gap))
        while x < w:
            d.line([(x, y), (x + seg, y)], fill=(176, 218, 222), width=max(1, round(h * 0.004 * (0.3 + p))))
            x += seg + gap
    reach = h * (0.02 + 0.018 * (1 + math.sin(0.5 * t)))
    xs = np.linspace(0, w, 33)
    ys = shore + reach + h * 0.006 * np.sin(xs / w * 6 * math.pi + 0.7 * t)
    wash = [(0.0, shore), (float(w), shore), *zip(xs[::-1].tolist(), ys[::-1].tolist(), strict=True)]
    d.polygon(wash, fill=(196, 214, 200))
    d.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=(250, 250, 246), width=max(1, round(h * 0.006)))
    bx = (w * 0.2 + w * 0.004 * t) % (w * 1.1) - w * 0.05
    by = sea_top + h * 0.02
    d.polygon(
        [(bx - w * 0.016, by), (bx + w * 0.016, by), (bx + w * 0.011, by + h * 0.01), (bx - w * 0.011, by + h * 0.01)],
        fill=(96, 92, 100),
    )
    d.polygon([(bx, by - h * 0.05), (bx, by - h * 0.003), (bx + w * 0.014, by - h * 0.003)], fill=(252, 250, 244))


# -- overlays and the public API --------------------------------------------------------


def _text_box(img: Image.Image, text: str, size: int, anchor: str, colour: RGB = (240, 240, 236)) -> None:
    """Text on a darkened patch of the picture in one corner ("bl", "tl"): readable on any
    scene, without hiding it behind an opaque bar."""
    w, h = img.size
    font = _font(size)
    text = _printable(text, font)
    left, top, right, bottom = font.getbbox(text)
    pad = max(2, size // 3)
    bw, bh = right - left + 2 * pad, bottom - top + 2 * pad
    margin = max(2, size // 2)
    x0 = margin
    y0 = h - margin - bh if anchor == "bl" else margin
    box = (x0, y0, min(w, x0 + bw), min(h, y0 + bh))
    patch = img.crop(box)
    img.paste(Image.blend(patch, Image.new("RGB", patch.size, (16, 18, 22)), 0.62), box)
    ImageDraw.Draw(img).text((x0 + pad - left, y0 + pad - top), text, fill=colour, font=font)


def _paused_badge(img: Image.Image, size: int) -> None:
    """An amber "paused" badge with the pause sign, top right."""
    w, _ = img.size
    font = _font(size)
    d = ImageDraw.Draw(img)
    left, top, right, bottom = font.getbbox("paused")
    pad = max(2, size // 3)
    bar_w, gap = max(2, size // 5), max(2, size // 6)
    bw = right - left + 3 * pad + 2 * bar_w + gap
    bh = bottom - top + 2 * pad
    x1 = w - max(2, size // 2)
    x0, y0 = x1 - bw, max(2, size // 2)
    d.rounded_rectangle([x0, y0, x1, y0 + bh], radius=bh // 3, fill=(236, 176, 48))
    for bx in (x0 + pad, x0 + pad + bar_w + gap):
        d.rectangle([bx, y0 + pad, bx + bar_w - 1, y0 + bh - pad], fill=(28, 24, 20))
    d.text((x0 + 2 * pad + 2 * bar_w + gap - left, y0 + pad - top), "paused", fill=(28, 24, 20), font=font)


def _scene_image(scene_id: str, v: dict[str, float], t: float, w: int, h: int) -> tuple[Image.Image, str]:
    """One scene without overlays, and its caption."""
    if scene_id == "spiders":
        img = _spider_room(w, h).copy()
        _draw_spiders(img, v, t)
        return img, _spiders_caption(v)
    if scene_id == "heights":
        img = _balcony(w, h, round(v["floor"])).copy()
        _draw_railing(img, v["railing"])
        _draw_balcony_life(img, v, t)
        return img, _heights_caption(v)
    img = _beach(w, h).copy()
    _draw_beach_life(img, t)
    return img, "calm beach"


def render_view(
    scene_id: str,
    params: dict[str, float],
    t: float,
    *,
    width: int,
    height: int | None = None,
    calm_mix: float = 0.0,
    paused: bool = False,
    label: str = "",
) -> Image.Image:
    """The patient's view (RGB) of ``scene_id`` with ``params`` at animation time ``t`` seconds.

    ``height`` defaults to 16:9. ``calm_mix`` (0..1) blends towards the calm scene, as during
    the make-safe fade; at 1 the picture is the calm scene. ``label`` is written small in the
    top-left corner, ``paused`` adds a badge top right, and a caption at the bottom names the
    scene and its key values. Parameters missing from ``params`` take their defaults; values
    are clamped to their ranges. Raises ValueError for an unknown scene or a size under 16x9.
    Any thread.
    """
    scene = _BY_ID.get(scene_id)
    if scene is None:
        raise ValueError(f"unknown scene {scene_id!r}; known: {', '.join(_BY_ID)}")
    w = int(width)
    h = round(w * 9 / 16) if height is None else int(height)
    if w < 16 or h < 9:
        raise ValueError(f"view size {w}x{h} is too small; ask for at least 16x9 pixels")
    try:
        mix = min(1.0, max(0.0, float(calm_mix)))
    except (TypeError, ValueError):
        mix = 0.0
    if not math.isfinite(mix):
        mix = 0.0
    t = float(t) if math.isfinite(t) else 0.0
    if scene["calm"] or mix >= 1.0:
        img, caption = _scene_image(_CALM_ID, {}, t, w, h)
    else:
        img, caption = _scene_image(scene_id, _values(scene, params), t, w, h)
        if mix > 0.0:
            calm, _ = _scene_image(_CALM_ID, {}, t, w, h)
            img = Image.blend(img, calm, mix)
            caption = f"{caption} · calming {mix * 100:.0f}%"
    size = max(9, round(h * 0.032))
    _text_box(img, caption, size, "bl")
    if label:
        _text_box(img, label, max(8, round(size * 0.8)), "tl", colour=(214, 220, 228))
    if paused:
        _paused_badge(img, size)
    return img


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    """Baseline JPEG bytes of ``image`` (what a mirror frame carries); ``quality`` is clamped
    to 1..95, above which files grow with no visible gain. Any thread."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=min(95, max(1, int(quality))), optimize=False)
    return buf.getvalue()
