"""The session's marks (stimulus changes, SUDS answers, markers) on the physiology plots.

Only the marks inside the plots' time window exist as pyqtgraph items, and only the top plot
carries labels. Before, every mark of the session stayed in every plot (hidden once it had
scrolled out, with a label on each plot): every frame's view update walked all of them, so
the GUI thread's work per frame grew with the session's length. Under a CPU hog a session
of a few minutes held the GUI thread (which sends the heartbeats) long enough for the
headsets' watchdogs to trip.

Threads: the GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

MAX_MARKS = 300  # kept for plots added later and for a wider window; the oldest go first


class _Row(Protocol):
    plot: pg.PlotItem
    marks: list[pg.InfiniteLine]


class MarkLayer:
    """Marks as (console time, label, colour); drawn on rows (plots) that have ``plot`` and
    a ``marks`` list of the lines drawn on them."""

    def __init__(self, font_family: str, clock: Callable[[], float]):
        self.font_family = font_family
        self.clock = clock
        self.marks: list[tuple[float, str, str]] = []

    def add(self, t: float, label: str, colour: str, rows: list[_Row], window_s: float) -> None:
        """A new mark; drawn at once on every row (labelled on the first)."""
        self.marks.append((t, label, colour))
        self.marks.sort(key=lambda m: m[0])
        if len(self.marks) > MAX_MARKS:
            del self.marks[0]
        now = self.clock()
        if t >= now - window_s - 1.0:
            for index, row in enumerate(rows):
                self._draw(row, t, label, colour, labelled=index == 0)
        self.place(rows, now, window_s)

    def redraw(self, rows: list[_Row], window_s: float) -> None:
        """Every row's lines anew for the marks in the window: after the rows were re-stacked
        (another row is on top and carries the labels) or the window changed."""
        now = self.clock()
        oldest = now - window_s - 1.0
        for index, row in enumerate(rows):
            for line in row.marks:
                row.plot.removeItem(line)
            row.marks.clear()
            for t, label, colour in self.marks:
                if t >= oldest:
                    self._draw(row, t, label, colour, labelled=index == 0)
        self.place(rows, now, window_s)

    def place(self, rows: Iterable[_Row], now: float, window_s: float) -> None:
        """Move the lines with the data; a line that has scrolled out of the window is
        removed (the mark itself is kept, for a wider window)."""
        oldest = now - window_s - 1.0
        for row in rows:
            while row.marks and row.marks[0].property("mark_time") < oldest:
                row.plot.removeItem(row.marks.pop(0))
            for line in row.marks:
                line.setValue(line.property("mark_time") - now)

    def _draw(self, row: _Row, t: float, label: str, colour: str, labelled: bool) -> None:
        pen = pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine)
        if labelled:
            options = {"position": 0.97, "color": colour, "fill": (252, 252, 250, 220), "anchors": [(0, 0), (0, 0)]}
            line = pg.InfiniteLine(
                pos=t - self.clock(), angle=90, movable=False, pen=pen, label=label, labelOpts=options
            )
            line.label.setFont(QFont(self.font_family, 8))
        else:  # no label item at all (pyqtgraph then has no .label attribute)
            line = pg.InfiniteLine(pos=t - self.clock(), angle=90, movable=False, pen=pen)
        line.setProperty("mark_time", t)
        row.plot.addItem(line, ignoreBounds=True)
        row.marks.append(line)
        row.marks.sort(key=lambda m: m.property("mark_time"))
