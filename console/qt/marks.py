"""The session's marks (stimulus changes, SUDS answers, markers, safety events) on plots: a
dashed vertical line per mark, labelled on the first plot of a stack only. The physiology
plots (x = seconds before "now", scrolling) and the session timeline (x = session time) use it.

Each plot carries **one** item that paints all of its marks (:class:`MarksItem`) inside the
plot's x range: every frame only tells it the new origin and repaints it, whatever the
number of marks (a session has hundreds; the timeline keeps all of them). Before, each
mark was a pyqtgraph InfiniteLine per plot: every frame moved each of them (and each moved
its label), and every new mark created one per plot and moved all the others; in the soak
under a CPU hog that was a third of the GUI thread's time, and the GUI thread sends the
heartbeats. Worse, each watchdog trip that this caused added a safety mark: the slower the
console, the more marks, the slower the console.

Threads: the GUI thread only.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject

MAX_MARKS = 300  # kept by default (for plots added later, a wider window); the oldest go first
NEXT_FRAME_S = 1.0  # marks this far right of the x range count as shown (see MarkLayer.shown)
LABEL_ROWS = 3  # labels of marks close together are stacked, at most this many deep
LABEL_BRUSH = QBrush(QColor(252, 252, 250, 220))


@dataclass(frozen=True)
class ShownMark:
    """A mark as one plot shows it: at ``x`` (its time minus the layer's origin), its label
    (None where the plot carries no labels) and colour."""

    x: float
    label: str | None
    colour: str


class _Row(Protocol):
    plot: pg.PlotItem
    marks: MarksItem | None


@dataclass
class MarkedPlot:
    """A plot on its own that shows marks (a row of one)."""

    plot: pg.PlotItem
    marks: MarksItem | None = None


class MarkLayer:
    """The session's marks as (console time, label, colour), sorted by time, and the item on
    each row (plot) that paints them at x = time - ``origin``. Rows have a ``plot`` and a
    ``marks`` slot for the item."""

    def __init__(self, font_family: str, origin: float = 0.0, max_marks: int = MAX_MARKS):
        self.max_marks = max_marks
        self.times: list[float] = []
        self.marks: list[tuple[float, str, str]] = []
        self.origin = origin
        self.font = QFont(font_family, 8)
        self.metrics = QFontMetricsF(self.font)
        self._pens: dict[str, QPen] = {}

    def add(self, t: float, label: str, colour: str, rows: list[_Row]) -> None:
        """A new mark; shown at once on every row."""
        at = bisect.bisect_right(self.times, t)
        self.times.insert(at, t)
        self.marks.insert(at, (t, label, colour))
        if len(self.marks) > self.max_marks:
            del self.times[0], self.marks[0]
        self.redraw(rows)

    def redraw(self, rows: list[_Row]) -> None:
        """After the rows were re-stacked (another row is on top and carries the labels), the
        x range changed or a mark was added."""
        for index, row in enumerate(rows):
            if row.marks is None:  # a row's plot is made once: its item too
                row.marks = MarksItem(self, row.plot.vb)
            row.marks.labelled = index == 0
            row.marks.update()

    def place(self, rows: Iterable[_Row], origin: float) -> None:
        """The marks move to x = time - ``origin`` (every frame of a scrolling plot)."""
        self.origin = origin
        for row in rows:
            if row.marks is not None:
                row.marks.update()

    def between(self, x_lo: float, x_hi: float) -> range:
        """Indexes of the marks from x_lo to x_hi."""
        lo = bisect.bisect_left(self.times, self.origin + x_lo)
        hi = bisect.bisect_right(self.times, self.origin + x_hi)
        return range(lo, hi)

    def shown(self, row: _Row) -> list[ShownMark]:
        """What ``row``'s plot shows, or will at its next frame: a mark made since the last
        frame is right of a scrolling plot's "now" until then (for checks and tests)."""
        labelled = row.marks is not None and row.marks.labelled
        x_lo, x_hi = row.plot.vb.viewRange()[0]
        return [
            ShownMark(t - self.origin, label if labelled else None, colour)
            for t, label, colour in (self.marks[i] for i in self.between(x_lo, x_hi + NEXT_FRAME_S))
        ]

    def pen(self, colour: str) -> QPen:
        pen = self._pens.get(colour)
        if pen is None:
            pen = QPen(QColor(colour), 1, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._pens[colour] = pen
        return pen


class MarksItem(QGraphicsObject):
    """All the marks on one plot, painted in the plot's ViewBox in pixels (the data's x
    mapped by the ViewBox's own transform), so that moving them is a repaint, not a change
    to any item. GUI thread only."""

    def __init__(self, layer: MarkLayer, view: pg.ViewBox):
        super().__init__()
        self.layer = layer
        self.view = view
        self.labelled = False
        self.setParentItem(view)
        self.setZValue(1000)  # above the curves
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresParentOpacity)
        view.sigResized.connect(self._resized)

    def _resized(self, *_: object) -> None:
        self.prepareGeometryChange()

    def boundingRect(self) -> QRectF:
        return self.view.boundingRect()

    def paint(self, painter: QPainter, *_: object) -> None:
        layer = self.layer
        x_lo, x_hi = self.view.viewRange()[0]
        indexes = layer.between(x_lo, x_hi)
        if not indexes:
            return
        rect = self.view.boundingRect()
        to_pixels = self.view.childTransform()
        scale, offset = to_pixels.m11(), to_pixels.dx()
        painter.setClipRect(rect)
        label_height = layer.metrics.height() + 2
        label_ends = [-1e9] * LABEL_ROWS  # right end of the last label on each text row
        painter.setFont(layer.font)
        for i in indexes:
            t, label, colour = layer.marks[i]
            px = scale * (t - layer.origin) + offset
            if not rect.left() - 1 <= px <= rect.right() + 1:
                continue
            painter.setPen(layer.pen(colour))
            painter.drawLine(QLineF(px, rect.top(), px, rect.bottom()))
            if not self.labelled:
                continue
            width = layer.metrics.horizontalAdvance(label) + 6
            level = next((k for k, end in enumerate(label_ends) if end < px), 0)
            label_ends[level] = px + width
            box = QRectF(px + 1, rect.top() + 2 + level * label_height, width, label_height)
            painter.fillRect(box, LABEL_BRUSH)
            painter.setPen(QColor(colour))
            painter.drawText(box.topLeft() + QPointF(3, layer.metrics.ascent() + 1), label)
