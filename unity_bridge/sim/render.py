"""What the simulated patient sees: simple scenes drawn with Pillow, in which every stimulus
parameter visibly changes the picture, so a therapist (or a test) can tell from the mirror
that a slider reached the headset.

Backgrounds are numpy gradients cached per scene and size; each frame copies one and draws
a few primitives on it, which keeps a 1280x720 frame well under the 33 ms a 30 fps mirror
allows on a modest machine. Pure functions; any thread.
"""

from __future__ import annotations

import functools
import io
import math
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SCENES: tuple[dict[str, Any], ...] = (
    {
        "id": "spiders",
        "label": "Spiders in a living room",
        "description": "A living room; spiders on the floor come closer, grow, multiply and crawl.",
        "calm": False,
        "parameters": [
            {
                "name": "distance",
                "label": "Distance",
                "unit": "m",
                "min": 0.3,
                "max": 5.0,
                "step": 0.1,
                "default": 5.0,
                "intensity_increases": False,
            },
            {
                "name": "size",
                "label": "Spider size",
                "unit": "cm",
                "min": 1.0,
                "max": 20.0,
                "step": 0.5,
                "default": 3.0,
                "intensity_increases": True,
            },
            {
                "name": "count",
                "label": "Number of spiders",
                "unit": "",
                "min": 1.0,
                "max": 20.0,
                "step": 1.0,
                "default": 1.0,
                "intensity_increases": True,
            },
            {
                "name": "movement",
                "label": "Movement",
                "unit": "",
                "min": 0.0,
                "max": 1.0,
                "step": 0.05,
                "default": 0.2,
                "intensity_increases": True,
            },
        ],
    },
    {
        "id": "heights",
        "label": "Balcony of a tall building",
        "description": "Looking down from a balcony: higher floors, a lower railing, more wind.",
        "calm": False,
        "parameters": [
            {
                "name": "floor",
                "label": "Floor",
                "unit": "floor",
                "min": 1.0,
                "max": 40.0,
                "step": 1.0,
                "default": 2.0,
                "intensity_increases": True,
            },
            {
                "name": "railing",
                "label": "Railing height",
                "unit": "m",
                "min": 0.0,
                "max": 1.2,
                "step": 0.05,
                "default": 1.1,
                "intensity_increases": False,
            },
            {
                "name": "wind",
                "label": "Wind",
                "unit": "m/s",
                "min": 0.0,
                "max": 15.0,
                "step": 0.5,
                "default": 1.0,
                "intensity_increases": True,
            },
        ],
    },
    {
        "id": "calm",
        "label": "Calm beach",
        "description": "A quiet beach at dusk; the scene make-safe fades to.",
        "calm": True,
        "parameters": [],
    },
)

_SCENE_IDS = {s["id"] for s in SCENES}


def _gradient(h: int, w: int, stops: list[tuple[float, tuple[int, int, int]]]) -> np.ndarray:
    """Vertical gradient through colour stops at fractions of the height."""
    ys = np.linspace(0.0, 1.0, h)
    fracs = [f for f, _ in stops]
    channels = [np.interp(ys, fracs, [c[i] for _, c in stops]) for i in range(3)]
    column = np.stack(channels, axis=1).astype(np.uint8)
    return np.repeat(column[:, None, :], w, axis=1)


@functools.lru_cache(maxsize=16)
def _background(scene_id: str, w: int, h: int) -> Image.Image:
    if scene_id == "spiders":
        arr = _gradient(
            h, w, [(0.0, (214, 196, 170)), (0.52, (190, 170, 142)), (0.55, (128, 92, 60)), (1.0, (92, 62, 38))]
        )
        img = Image.fromarray(arr)
        d = ImageDraw.Draw(img)
        horizon = int(h * 0.55)
        # Floorboards converging on a vanishing point; a window and a picture on the wall.
        for i in range(-8, 9):
            d.line([(w / 2 + i * w * 0.02, horizon), (w / 2 + i * w * 0.16, h)], fill=(80, 54, 32), width=1)
        d.rectangle(
            [w * 0.08, h * 0.12, w * 0.28, h * 0.42],
            fill=(170, 200, 225),
            outline=(240, 236, 228),
            width=max(2, w // 160),
        )
        d.line([(w * 0.18, h * 0.12), (w * 0.18, h * 0.42)], fill=(240, 236, 228), width=max(2, w // 200))
        d.rectangle(
            [w * 0.62, h * 0.18, w * 0.80, h * 0.34], fill=(120, 140, 110), outline=(90, 70, 50), width=max(2, w // 200)
        )
        d.rectangle([w * 0.0, horizon - h * 0.02, w, horizon], fill=(230, 222, 205))  # skirting board
        return img
    if scene_id == "heights":
        arr = _gradient(h, w, [(0.0, (120, 170, 220)), (0.45, (190, 215, 235)), (1.0, (200, 205, 210))])
        return Image.fromarray(arr)
    arr = _gradient(
        h,
        w,
        [
            (0.0, (250, 196, 150)),
            (0.42, (252, 226, 190)),
            (0.46, (92, 150, 184)),
            (0.68, (70, 128, 168)),
            (0.70, (236, 218, 180)),
            (1.0, (222, 198, 156)),
        ],
    )
    return Image.fromarray(arr)


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _draw_spider(d: ImageDraw.ImageDraw, x: float, y: float, r: float, t: float, phase: float, moving: float) -> None:
    leg_w = max(1, int(r / 5))
    wiggle = math.sin(t * 12 + phase) * 0.25 * moving
    for side in (-1, 1):
        for k in range(4):
            angle = math.radians(-50 + k * 33) + wiggle * (1 if k % 2 else -1)
            knee = (x + side * r * 1.4 * math.cos(angle), y - r * 0.9 + r * 1.2 * math.sin(angle))
            foot = (knee[0] + side * r * 0.9, knee[1] + r * 1.1)
            d.line([(x, y), knee, foot], fill=(20, 16, 14), width=leg_w, joint="curve")
    d.ellipse([x - r * 0.75, y - r * 0.55, x + r * 0.75, y + r * 0.75], fill=(28, 22, 20))
    d.ellipse([x - r * 0.42, y - r * 1.05, x + r * 0.42, y - r * 0.35], fill=(40, 32, 28))
    eye = max(1.0, r * 0.1)
    for ex in (-0.15, 0.15):
        d.ellipse([x + ex * r - eye, y - r * 0.85 - eye, x + ex * r + eye, y - r * 0.85 + eye], fill=(200, 40, 30))


def _spiders(img: Image.Image, p: dict[str, float], t: float) -> str:
    w, h = img.size
    d = ImageDraw.Draw(img)
    distance, size = p.get("distance", 5.0), p.get("size", 3.0)
    count, movement = round(p.get("count", 1.0)), p.get("movement", 0.2)
    horizon = h * 0.55
    # Nearer spiders sit lower in the frame and look bigger: perspective from eye height.
    y_base = horizon + (h - horizon) * min(1.0, 0.25 / distance) ** 0.5 * 0.95
    radius = max(2.0, w * 0.008 * size / distance)
    for i in range(count):
        phase = i * 2.399  # golden angle: spread without clumping
        x = w * (0.5 + 0.4 * math.sin(phase) * min(1.0, (count - 1) / 3))
        y = y_base + h * 0.12 * math.cos(phase * 1.7) * min(1.0, (count - 1) / 5) * min(1.0, 1.2 / distance)
        x += math.sin(t * (0.6 + 0.25 * (i % 3)) + phase) * w * 0.12 * movement
        y += math.cos(t * (0.5 + 0.2 * (i % 4)) + phase) * h * 0.03 * movement
        _draw_spider(d, x, min(max(y, horizon + radius), h - radius), radius, t, phase, movement)
    plural = "s" if count != 1 else ""
    return f"spiders · {distance:.1f} m · {size:g} cm · {count} spider{plural} · movement {movement:.2f}"


def _heights(img: Image.Image, p: dict[str, float], t: float) -> str:
    w, h = img.size
    d = ImageDraw.Draw(img)
    floor, railing, wind = p.get("floor", 2.0), p.get("railing", 1.1), p.get("wind", 1.0)
    drop_m = floor * 3.0
    # The street far below: its apparent size shrinks with the height of the balcony.
    scale = min(1.0, 6.0 / drop_m)
    street_top = h * (0.55 + 0.25 * (1 - scale))
    d.rectangle([0, street_top, w, h], fill=(96, 100, 104))
    lane = max(1, int(4 * scale * w / 640))
    for k in range(12):
        x0 = k * w / 6 - (t * 40 % (w / 6))
        d.rectangle(
            [x0, street_top + (h - street_top) * 0.48, x0 + w / 14, street_top + (h - street_top) * 0.48 + lane],
            fill=(230, 230, 210),
        )
    car_w, car_h = w * 0.09 * scale, h * 0.05 * scale
    for k, colour in enumerate(((200, 40, 40), (40, 90, 200), (230, 200, 40), (30, 140, 80))):
        cx = (k * w / 3.7 + t * w * 0.05 * (1 + k % 2)) % (w + car_w) - car_w
        cy = street_top + (h - street_top) * (0.2 + 0.45 * (k % 2))
        d.rounded_rectangle([cx, cy, cx + car_w, cy + car_h], radius=max(1, car_h / 4), fill=colour)
    # Facades on both sides, converging towards the street.
    d.polygon(
        [(0, 0), (w * 0.16, 0), (w * 0.16 + w * 0.1 * (1 - scale), street_top), (0, street_top)], fill=(150, 140, 130)
    )
    d.polygon(
        [(w, 0), (w * 0.84, 0), (w * 0.84 - w * 0.1 * (1 - scale), street_top), (w, street_top)], fill=(160, 150, 140)
    )
    # The balcony floor and its railing: a lower railing leaves more of the drop in view.
    d.rectangle([0, h * 0.92, w, h], fill=(170, 160, 150))
    rail_y = h * 0.92 - (h * 0.55) * (railing / 1.2)
    if railing > 0.02:
        d.rectangle([0, rail_y, w, rail_y + max(3, h * 0.015)], fill=(70, 72, 76))
        for k in range(13):
            x = k * w / 12
            d.rectangle([x - max(1, w // 400), rail_y, x + max(1, w // 400), h * 0.92], fill=(80, 82, 86))
    # A flag on the balcony: its sway grows with the wind.
    pole_x, pole_top = w * 0.9, h * 0.2
    d.line([(pole_x, pole_top), (pole_x, h * 0.92)], fill=(60, 60, 60), width=max(2, w // 320))
    flap = wind / 15.0
    tip_x = pole_x - w * 0.12 * (0.3 + 0.7 * flap)
    sway = math.sin(t * (1.5 + wind * 0.4)) * h * 0.05 * flap
    d.polygon(
        [
            (pole_x, pole_top),
            (tip_x, pole_top + h * 0.03 + sway + h * 0.06 * (1 - flap)),
            (pole_x, pole_top + h * 0.08),
        ],
        fill=(210, 50, 60),
    )
    return f"balcony · floor {floor:.0f} ({drop_m:.0f} m drop) · railing {railing:.2f} m · wind {wind:.1f} m/s"


def _calm(img: Image.Image, t: float) -> str:
    w, h = img.size
    d = ImageDraw.Draw(img)
    sea_top, sea_bottom = h * 0.46, h * 0.69
    for k in range(6):
        y = sea_top + (sea_bottom - sea_top) * (k + 1) / 7
        pts = [(x, y + math.sin(x / w * 12 + t * 0.8 + k) * h * 0.004) for x in np.linspace(0, w, 40)]
        d.line(pts, fill=(150, 190, 210), width=max(1, h // 360))
    d.ellipse([w * 0.68, h * 0.16, w * 0.78, h * 0.16 + w * 0.1], fill=(255, 236, 200))
    return "calm beach"


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
    """The patient's view of ``scene_id`` with ``params`` at animation time ``t`` (RGB).

    ``calm_mix`` blends towards the calm scene (1.0 = fully calm), as during make-safe.
    """
    if scene_id not in _SCENE_IDS:
        raise ValueError(f"unknown scene {scene_id!r}; known: {', '.join(sorted(_SCENE_IDS))}")
    w = max(16, int(width))
    h = max(9, int(height if height is not None else round(w * 9 / 16)))
    calm_mix = min(1.0, max(0.0, calm_mix))
    if scene_id == "calm" or calm_mix >= 1.0:
        img = _background("calm", w, h).copy()
        caption = _calm(img, t)
    else:
        img = _background(scene_id, w, h).copy()
        caption = _spiders(img, params, t) if scene_id == "spiders" else _heights(img, params, t)
        if calm_mix > 0.0:
            calm = _background("calm", w, h).copy()
            _calm(calm, t)
            img = Image.blend(img, calm, calm_mix)
            caption = f"fading to calm {calm_mix:.0%} · {caption}"
    _overlay(img, caption, paused, label)
    return img


def _overlay(img: Image.Image, caption: str, paused: bool, label: str) -> None:
    w, h = img.size
    size = max(10, w // 48)
    font = _font(size)
    d = ImageDraw.Draw(img)
    band = size + size // 2
    d.rectangle([0, h - band, w, h], fill=(24, 26, 30))
    d.text((size // 2, h - band + size // 4), caption, fill=(235, 235, 235), font=font)
    if label:
        d.text((size // 2, size // 3), label, fill=(255, 255, 255), font=font, stroke_width=1, stroke_fill=(0, 0, 0))
    if paused:
        text = "PAUSED"
        box = d.textbbox((0, 0), text, font=font)
        pad = size // 2
        x1 = w - pad
        x0 = x1 - (box[2] - box[0]) - 2 * pad
        d.rounded_rectangle([x0, pad, x1, pad + band], radius=pad, fill=(230, 170, 40))
        d.text((x0 + pad, pad + size // 4), text, fill=(20, 20, 20), font=font)


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    """Baseline JPEG bytes (what mirror_frame carries)."""
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=int(quality), optimize=False)
    return buf.getvalue()
