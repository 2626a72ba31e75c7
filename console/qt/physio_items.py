"""The plot items of the live physiology view (:mod:`console.qt.physio_panel`): the "seconds
before now" axis, the stacked lanes blitted from their raster, and the paint counter that
says which frame rate the user actually gets. GUI thread."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRect, QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from console.physio.captions import time_ticks
from console.physio.lanes import LaneRaster


class TimeAgoAxis(pg.AxisItem):
    """Bottom axis in seconds before now: '-8 s' … 'now'. The view never scrolls (the data
    moves), so the axis is drawn once per window size and then kept as a pixmap."""

    def __init__(self) -> None:
        super().__init__(orientation="bottom")
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_window(self, window_s: float) -> None:
        self.setTicks(time_ticks(window_s))


class LanesItem(pg.GraphicsObject):
    """Shows a :class:`~console.physio.lanes.LaneRaster` 1:1 on the screen: the ring image blitted in two pieces
    at the place the newest slice belongs now. No scaling, no per-pixel work when painting.
    GUI thread."""

    def __init__(self, raster: LaneRaster):
        super().__init__()
        self.raster = raster
        self.now = 0.0
        self._rect = QRectF(-1, 0, 1, 1)

    def show_at(self, now: float, rect: QRectF) -> None:
        """Draw the raster for console time ``now`` over ``rect`` (data coordinates)."""
        self.now = now
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = QRectF(rect)
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect)

    def paint(self, painter: QPainter, option: object, widget: object = None) -> None:
        raster = self.raster
        if raster.newest < 0 or raster.width == 0:
            return
        transform = painter.transform()
        width = raster.width
        first = raster.newest - width + 1  # the oldest slice kept
        left = transform.map(QPointF(first * raster.bin_s - self.now, self._rect.bottom()))
        top = round(transform.map(QPointF(0, self._rect.bottom())).y())
        top = min(top, round(transform.map(QPointF(0, self._rect.top())).y()))
        image = QImage(raster.image.data, width, raster.height, width * 4, QImage.Format.Format_ARGB32_Premultiplied)
        split = (raster.newest + 1) % width  # the column holding the oldest slice
        x = round(left.x())
        painter.save()
        painter.resetTransform()
        painter.drawImage(QPoint(x, top), image, QRect(split, 0, width - split, raster.height))
        if split:
            painter.drawImage(QPoint(x + width - split, top), image, QRect(0, 0, split, raster.height))
        painter.restore()


class PaintCounter(QObject):
    """Counts the paints of the plot canvas that show a new frame (``frame()`` changed
    since the last one): the frame rate the user actually gets."""

    def __init__(self, parent: QObject, frame: Callable[[], int] | None = None):
        super().__init__(parent)
        self.count = 0
        self._frame = frame
        self._last = -1

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            current = self._frame() if self._frame is not None else self.count
            if current != self._last:
                self._last = current
                self.count += 1
        return False
