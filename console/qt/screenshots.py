"""A window that closes itself after a while, saving a picture of itself first: what
``--duration S --screenshot PNG`` does for every window command (the demo on a machine with
no screen, the review, the acceptance checks). GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget


def close_after(
    window: QWidget, seconds: float, screenshot: str | None = None, then: Callable[[], None] | None = None
) -> None:
    """GUI thread: in ``seconds``, save ``window`` as the PNG ``screenshot`` (if given), close
    it, then call ``then``."""

    def finish() -> None:
        if screenshot:
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(screenshot)
        window.close()
        if then is not None:
            then()

    QTimer.singleShot(round(seconds * 1000), finish)
