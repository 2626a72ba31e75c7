"""What "stimulus intensity" means, in one place for the headset (the simulated patient) and
the console (the timeline and report): each parameter placed in its declared min..max,
turned round where a lower value is stronger (``intensity_increases`` false, e.g. distance),
then averaged. Pure function, any thread."""

from __future__ import annotations

from collections.abc import Iterable


def intensity(parts: Iterable[tuple[float, float, bool, float]]) -> float | None:
    """Mean strength 0..1 of (min, max, intensity_increases, value) parameters; None when no
    parameter has a usable range."""
    total, n = 0.0, 0
    for lo, hi, increases, value in parts:
        if not hi > lo:
            continue
        norm = min(1.0, max(0.0, (value - lo) / (hi - lo)))
        total += norm if increases else 1.0 - norm
        n += 1
    return total / n if n else None
