"""Time as the console writes it for people."""

from __future__ import annotations


def minutes_text(seconds: float) -> str:
    """A span as "m:ss" (minutes unbounded, seconds rounded down): "1:35"."""
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def clock_text(seconds: float) -> str:
    """Session time as the console shows it: ``h:mm:ss``."""
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
