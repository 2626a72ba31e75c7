"""The review window: a recorded session opened in the console and scrubbed through, with
the stimulus timeline, the physiology, the values at the cursor, the event list and the
patient's view (mirror frames, when they were recorded) all showing the same moment.

A thin view over :class:`console.records.review.ReviewModel`: every control moves the model's
cursor, and everything shown is redrawn from ``model.snapshot()`` when the model says it
changed. Layout: plots on the left (timeline on top, one plot per physiology stream below,
all on one time axis, each with a draggable cursor line); on the right the patient's view,
the values at the cursor and the event list; a transport bar at the bottom.

Threads: the window and :func:`open_review` run in the GUI thread; the session is read in a
worker thread (:class:`_Loader`), whose progress and result come back as queued signals, so
the GUI (and, inside the live console, the heartbeats to the headsets) never stalls.
"""

from __future__ import annotations

import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEventLoop, QLineF, QObject, QRectF, Qt, QThread, QTimer, Slot
from PySide6.QtCore import Signal as QtSignal
from PySide6.QtGui import (
    QBrush,
    QCloseEvent,
    QColor,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSplitter,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.core.colours import MARK_COLOURS
from console.qt.panels import LOG_COLOURS, title
from console.qt.physio_panel import AXIS_COLOUR, BACKGROUND, FALLBACK_COLOURS, OVERLAY_MAX_CHANNELS, TYPE_COLOURS
from console.qt.screenshots import close_after
from console.qt.style import REVIEW_STYLE
from console.records.recorded import EXIT_INCOMPLETE, RecordedSession, SessionFileError, load, plan_entry
from console.records.recorded import Signal as Stream
from console.records.review import SPEEDS, ReviewModel, Snapshot, ago_text, mmss

PLAY_HZ = 20
SLIDER_STEPS_PER_S = 10  # the scrubber moves in tenths of a second
LEFT_AXIS_WIDTH = 86  # the same for every plot, so that their time axes line up
MIN_TIMELINE_PX = 190
MIN_PLOT_PX = 105
STIMULUS_COLOURS = ("#7f8c8d", "#16a085", "#8e44ad", "#d35400", "#2c3e50")  # as in the report
SUDS_COLOUR = "#1f5f9f"
EXPECTANCY_COLOUR = "#b9770e"
CURSOR_COLOUR = "#1e2328"
# The kinds of line drawn over the plots (a subset of the session's mark colours).
MARK_KINDS = {kind: MARK_COLOURS[kind] for kind in ("safety", "marker", "plan step", "habituation")}


def mark_kind(event: dict) -> str:
    """Which kind of line an event draws: its own kind, or for the plan's entries, a step
    that started or habituation seen at a step."""
    entry = plan_entry(event)
    if entry in ("started", "habituation"):
        return "plan step" if entry == "started" else "habituation"
    return event["kind"]


def mark_words(event: dict) -> str:
    kind = mark_kind(event)
    if kind == "plan step":
        return f"{event['data'].get('position', '')}. {event['data']['label']}"
    return {"marker": event["text"]}.get(kind, kind)


STALE_FRAME_S = 2.0  # an older mirror frame is labelled with its age (the mirror had paused)


def session_id(s: RecordedSession) -> str:
    """The manifest's session id; a folder recorded before manifests existed goes by its name."""
    return str(s.manifest.get("session_id") or s.manifest.get("id") or s.folder.name)


def split_label(label: str) -> tuple[str, str]:
    """ "distance (m)" -> ("distance", "m"): the recorded stimulus labels carry their unit."""
    found = re.fullmatch(r"(.*) \((.*)\)", label)
    return (found.group(1), found.group(2)) if found else (label, "")


def number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


class TimeAxis(pg.AxisItem):
    """Session time as m:ss (a 45-minute session reads better as 38:20 than as 2300 s)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        out = []
        for v in values:
            sign, v = ("-" if v < 0 else ""), abs(v)
            if spacing < 1:
                out.append(f"{sign}{int(v // 60)}:{v % 60:04.1f}")
            else:
                out.append(f"{sign}{int(v // 60)}:{round(v % 60) % 60:02d}")
        return out


class VerticalMarks(pg.GraphicsObject):
    """Vertical lines at many times across the whole view, painted in one call."""

    def __init__(self, times: list[float], pen: QPen):
        super().__init__()
        self.times = np.sort(np.asarray(times, dtype=float))
        self.pen = pen
        self.setZValue(-10)  # beneath the data

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()  # the lines span the view: their bounds move with it

    def boundingRect(self) -> QRectF:
        rect = self.viewRect()
        return QRectF(rect) if rect is not None else QRectF()

    def paint(self, painter: QPainter, *_args: object) -> None:
        rect = self.viewRect()
        if rect is None:
            return
        if painter.hasClipping():  # a moving cursor repaints a narrow strip: draw only there
            rect = rect.intersected(painter.clipBoundingRect())
        lo, hi = np.searchsorted(self.times, [rect.left(), rect.right()])
        shown = self.times[lo:hi]
        pixel = self.pixelWidth()
        if pixel > 0 and len(shown) > 1:  # at most one line per pixel column
            columns = np.floor(shown / pixel)
            shown = shown[np.r_[True, columns[1:] != columns[:-1]]]
        painter.setPen(self.pen)
        top, bottom = rect.top(), rect.bottom()
        painter.drawLines([QLineF(t, top, t, bottom) for t in shown.tolist()])


class FrameView(QLabel):
    """The mirror frame, scaled to the label with its aspect kept; the words instead when
    there is no frame. The JPEG is read only when the frame changes."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mirror")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setMinimumSize(240, 150)
        # Ignored: the pixmap must not push the layout wider; the label is sized by the splitter.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.path: Path | None = None
        self._source = QPixmap()

    def show_path(self, path: Path | None, words: str = "") -> None:
        if path is None:
            self.path, self._source = None, QPixmap()
            self.clear()
            self.setText(words)
            return
        if path != self.path:
            self.path = path
            self._source = QPixmap(str(path))
            if self._source.isNull():
                self.clear()
                self.setText(f"Mirror frame {path.name} could not be read")
                return
            self._rescale()

    def _rescale(self) -> None:
        if not self._source.isNull() and self.width() > 0 and self.height() > 0:
            self.setPixmap(
                self._source.scaled(
                    self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()


class ReviewWindow(QMainWindow):
    """See the module docstring. GUI thread only."""

    def __init__(self, model: ReviewModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        s = model.session
        self.setWindowTitle(f"Review – {session_id(s)} – {s.patient or 'no patient code'}")
        self.setStyleSheet(REVIEW_STYLE)
        self._placing = False  # True while the view moves its own controls: not a user's seek
        self._shown_event = -2
        self._last_tick = time.monotonic()

        self.banner = QLabel(self._banner_text(s))
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(bool(s.problems))
        self.banner.setToolTip("\n".join(f"• {p}" for p in s.problems))  # every detail, as the report lists them

        self._build_plots()
        right = self._build_side()
        self._build_transport()

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.plot_area)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setSizes([1040, 440])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addWidget(self.banner)
        layout.addWidget(split, 1)
        layout.addLayout(self.transport)
        self.setCentralWidget(central)

        self._shortcuts()
        self.timer = QTimer(self, interval=round(1000 / PLAY_HZ))
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        model.changed.connect(self.refresh)
        signals = len(model.signals)
        self.statusBar().showMessage(
            f"{s.folder} · {signals} physiology stream{'s' if signals != 1 else ''} · "
            f"{len(model.events)} events · {len(s.ratings)} ratings · "
            + (f"{len(s.mirror)} mirror frames" if s.mirror else "no mirror frames")
        )
        self.resize(1500, 940)
        self.refresh()

    @staticmethod
    def _banner_text(s: RecordedSession) -> str:
        """The loader's problems in a sentence or two, the interruption first; what the XDF
        files miss in short (the tooltip and the report have every detail)."""
        problems = s.problems
        if not problems:
            return ""
        files = s.completeness.problems if s.completeness is not None else []
        others = [p for p in problems if "interrupted" not in p and p not in files]
        interrupted = any("interrupted" in p for p in problems)
        if interrupted:
            head = "This recording was interrupted: the console stopped without closing it."
        else:
            head = "This recording is incomplete."
        listed = "; ".join(([s.completeness.summary()] if files else []) + others)
        details = f" {'Also: ' if interrupted else ''}{listed}." if listed else ""
        return f"{head}{details} Everything saved is shown (details: hover here, or the report)."

    # -- construction ------------------------------------------------------------------
    def _style_plot(self, plot: pg.PlotItem) -> None:
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=True, y=False)  # the wheel zooms time; y follows the data shown
        plot.showGrid(x=True, y=True, alpha=0.12)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(AXIS_COLOUR, width=1))
            axis.setTextPen(pg.mkPen(AXIS_COLOUR))
        plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)

    def _cursor(self, plot: pg.PlotItem, labelled: bool = False) -> pg.InfiniteLine:
        line = pg.InfiniteLine(
            pos=0.0,
            angle=90,
            movable=True,
            pen=pg.mkPen(CURSOR_COLOUR, width=2),
            hoverPen=pg.mkPen("#1f5f9f", width=4),
            label="0:00" if labelled else None,
            labelOpts={"position": 0.97, "color": CURSOR_COLOUR, "fill": (255, 255, 255, 230)} if labelled else None,
        )
        line.setZValue(50)
        line.sigPositionChanged.connect(self._cursor_dragged)
        plot.addItem(line, ignoreBounds=True)
        self.cursors.append(line)
        return line

    def _build_plots(self) -> None:
        m, s = self.model, self.model.session
        end = max(1.0, m.duration)
        self.cursors: list[pg.InfiniteLine] = []

        # The timeline: each stimulus parameter scaled to its own range (the legend gives
        # the range), ratings on 0–100, safety events and markers as vertical lines. It
        # stays in view while the physiology below scrolls.
        self.timeline_view = pg.GraphicsLayoutWidget()
        self.timeline_view.setBackground(BACKGROUND)
        self.timeline_view.setMinimumHeight(MIN_TIMELINE_PX)
        tl = self.timeline_view.addPlot(row=0, col=0, axisItems={"bottom": TimeAxis(orientation="bottom")})
        self.timeline = tl
        self._style_plot(tl)
        tl.setLabel("left", "SUDS / stimulus %")
        # Headroom above 100 for the legend and the cursor's time, clear of the data.
        tl.setYRange(-8, 135, padding=0)
        tl.getAxis("left").setTicks([[(v, str(v)) for v in (0, 25, 50, 75, 100)]])
        tl.setLimits(xMin=-0.02 * end, xMax=end * 1.02)
        legend = tl.addLegend(offset=(6, 1), labelTextSize="8pt", labelTextColor=AXIS_COLOUR, colCount=5)
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        for i, (label, points) in enumerate(sorted(s.stimulus.items())):
            t, v = np.array([*points, (m.duration, points[-1][1])], dtype=float).T  # held to the end
            lo, hi = float(v.min()), float(v.max())
            scaled = np.full_like(v, 50.0) if hi == lo else (v - lo) / (hi - lo) * 100
            name, unit = split_label(label)
            tl.plot(
                t,
                scaled,
                pen=pg.mkPen(STIMULUS_COLOURS[i % len(STIMULUS_COLOURS)], width=2),
                name=f"{name} {number(lo)}–{number(hi)} {unit}".rstrip(),
            )
        for kind, colour, symbol in (("suds", SUDS_COLOUR, "o"), ("expectancy", EXPECTANCY_COLOUR, "t")):
            points = [(r["t"], r["value"]) for r in s.ratings if r["kind"] == kind]
            if points:
                t, v = np.array(points, dtype=float).T
                tl.plot(
                    t,
                    v,
                    pen=pg.mkPen(colour, width=1.5),
                    symbol=symbol,
                    symbolSize=9,
                    symbolBrush=colour,
                    symbolPen=pg.mkPen("w"),
                    name="SUDS" if kind == "suds" else "expectancy %",
                )
        self._add_marks(tl, labelled=True)
        self._cursor(tl, labelled=True)

        # One plot per physiology stream, x-linked to the timeline.
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        names = [sig.name for sig in m.signals]
        self.plots: list[pg.PlotItem] = []
        self.curves: list[pg.PlotDataItem] = []
        for i, sig in enumerate(m.signals):
            last = i == len(m.signals) - 1
            plot = self.graphics.addPlot(
                row=i, col=0, axisItems={"bottom": TimeAxis(orientation="bottom")} if last else None
            )
            self._style_plot(plot)
            plot.setXLink(tl)
            same = names[:i].count(sig.name)
            rate = f"{sig.rate:g} Hz" if sig.rate > 0 else "irregular"
            heading = f"{sig.name}{f' ({same + 1})' if same or names.count(sig.name) > 1 else ''} · {rate}"
            if sig.data.shape[1] > OVERLAY_MAX_CHANNELS:
                heading += " · each channel scaled to its own range"
            plot.setTitle(heading, size="8pt", color=AXIS_COLOUR)
            colour = TYPE_COLOURS.get(sig.kind.upper(), FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)])
            self._draw_signal(plot, sig, colour)
            if not last:
                plot.getAxis("bottom").setStyle(showValues=False)
            self._add_marks(plot, labelled=False)
            self._cursor(plot)
            self.plots.append(plot)
        if self.plots:
            self.plots[-1].setLabel("bottom", "session time (m:ss)")
        tl.setXRange(0, end, padding=0.01)
        for view in (self.timeline_view, self.graphics):
            view.scene().sigMouseClicked.connect(self._plot_clicked)
        lanes = [3 if sig.data.shape[1] > OVERLAY_MAX_CHANNELS else 1 for sig in m.signals]
        for row, weight in enumerate(lanes):
            self.graphics.ci.layout.setRowStretchFactor(row, weight)
        self.graphics.setMinimumHeight(MIN_PLOT_PX * sum(lanes))

        # Many streams scroll rather than shrink into unreadable strips.
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        if m.signals:
            self.scroll.setWidget(self.graphics)
        else:
            empty = QLabel("No physiology was recorded in this session.")
            empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.scroll.setWidget(empty)
        # The timeline keeps the same right edge as the plots when their scroll bar shows,
        # so that one moment is at the same x in all of them.
        timeline_box = QWidget()
        self._timeline_margin = QHBoxLayout(timeline_box)
        self._timeline_margin.setContentsMargins(0, 0, 0, 0)
        self._timeline_margin.addWidget(self.timeline_view)
        self.scroll.verticalScrollBar().rangeChanged.connect(self._align_timeline)
        self.plot_area = QSplitter(Qt.Orientation.Vertical)
        self.plot_area.addWidget(timeline_box)
        self.plot_area.addWidget(self.scroll)
        self.plot_area.setStretchFactor(1, 1)
        self.plot_area.setSizes([240, 600])

    def _align_timeline(self, _lo: int = 0, hi: int = 0) -> None:
        bar = self.scroll.verticalScrollBar()
        self._timeline_margin.setContentsMargins(0, 0, bar.sizeHint().width() if hi > 0 else 0, 0)

    def _draw_signal(self, plot: pg.PlotItem, sig: Stream, colour: str) -> None:
        """Up to four channels overlaid on an axis in their unit; wider streams (EEG) one
        lane per channel, each scaled to its own range, as on the live plots."""
        units = sorted({u for u in sig.units if u})
        unit = f" ({', '.join(units)})" if units else ""
        count = sig.data.shape[1]
        stacked = count > OVERLAY_MAX_CHANNELS
        if stacked:
            plot.setLabel("left", f"{sig.kind}{unit}")
            plot.getAxis("left").setTicks([[(-c, name) for c, name in enumerate(sig.channels)]])
            plot.setAutoVisible(y=False)
            plot.setYRange(-count + 0.4, 0.6, padding=0)
        else:
            generic = len(sig.channels) != 1 or re.fullmatch(r"ch\d+", sig.channels[0])
            plot.setLabel("left", (sig.kind if generic else sig.channels[0]) + unit)
            plot.setAutoVisible(y=True)  # y fits the part of the session on screen
        step = max(1, len(sig.t) // 20_000)  # robust lane ranges from a sample of the data
        for c in range(count):
            y = sig.data[:, c]
            if stacked:
                with warnings.catch_warnings():  # a channel of NaNs keeps a unit lane
                    warnings.simplefilter("ignore", RuntimeWarning)
                    lo, mid, hi = np.nanpercentile(y[::step], [1, 50, 99])
                span = hi - lo if np.isfinite(hi - lo) and hi > lo else 1.0
                y = (y - (mid if np.isfinite(mid) else 0.0)) / (span * 1.25) - c
            curve = pg.PlotDataItem(
                sig.t,
                y,
                pen=pg.mkPen(colour if c == 0 or stacked else FALLBACK_COLOURS[c % len(FALLBACK_COLOURS)], width=1),
                skipFiniteCheck=True,
                autoDownsampleFactor=1.0,
            )
            plot.addItem(curve)  # first: clipping asks the plot's view box (pyqtgraph 0.14)
            # A 500 Hz ECG over an hour is almost two million points: draw about one
            # min/max pair per pixel column, only of what is on screen.
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            self.curves.append(curve)

    def _add_marks(self, plot: pg.PlotItem, labelled: bool) -> None:
        """Safety events (red), markers (purple), plan steps and habituation (greens) as
        vertical lines, one item per colour
        (a session may hold hundreds: one line item each would cost a frame's time to
        paint); on the timeline labelled, except where a label would overlap the previous."""
        for kind, colour in MARK_KINDS.items():
            times = [e["t"] for e in self.model.events if mark_kind(e) == kind]
            if times:
                # Full strength on the timeline; faint over the physiology, which they must not hide.
                pen = pg.mkPen(QColor(colour) if labelled else QColor(colour).lighter(150), width=1)
                pen.setStyle(Qt.PenStyle.DashLine)
                plot.addItem(VerticalMarks(times, pen), ignoreBounds=True)
        if not labelled:
            return
        last_label = -np.inf
        min_gap = 0.06 * max(1.0, self.model.duration)
        for e in self.model.events:
            colour = MARK_KINDS.get(mark_kind(e))
            if colour is None or e["t"] - last_label < min_gap:
                continue
            last_label = e["t"]
            words = mark_words(e)
            text = pg.TextItem(
                words if len(words) <= 28 else words[:27] + "…", color=colour, anchor=(0, 1), fill=(255, 255, 255, 200)
            )
            text.setPos(e["t"], 2)
            plot.addItem(text, ignoreBounds=True)

    def _build_side(self) -> QWidget:
        s = self.model.session
        self.mirror = FrameView()
        self.mirror_caption = QLabel("")
        self.mirror_caption.setObjectName("caption")
        if not s.mirror:
            self.mirror.show_path(None, "No mirror frames recorded")
            self.mirror.setMinimumSize(240, 60)

        # Values at the cursor: one row per stimulus parameter, rating kind and stream,
        # made once; only their texts change as the cursor moves.
        values = QWidget()
        grid = QGridLayout(values)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(1, 1)
        self.value_labels: dict[str, QLabel] = {}
        row = 0

        def add(key: str, name: str, big: bool = False) -> None:
            nonlocal row
            left = QLabel(name)
            left.setObjectName("valueName")
            right = QLabel("–")
            right.setObjectName("suds" if big else "value")
            right.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(left, row, 0)
            grid.addWidget(right, row, 1)
            self.value_labels[key] = right
            row += 1

        add("suds", "SUDS", big=True)
        if any(r["kind"] == "expectancy" for r in s.ratings):
            add("expectancy", "Expectancy")
        for label in sorted(s.stimulus):
            add(f"stimulus:{label}", split_label(label)[0].capitalize())
        names = [sig.name for sig in self.model.signals]
        for i, sig in enumerate(self.model.signals):
            same = names[:i].count(sig.name)
            add(f"signal:{i}", sig.kind + (f" ({same + 1})" if names.count(sig.name) > 1 else ""))

        self.events = QTableWidget(len(self.model.events), 3)
        self.events.setHorizontalHeaderLabels(("Time", "Headset", "What happened"))
        self.events.verticalHeader().setVisible(False)
        self.events.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.events.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.events.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.events.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the window's keys stay the transport's
        header = self.events.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.events.setToolTip("Click an event to go to it")
        for r, e in enumerate(self.model.events):
            colour = QBrush(QColor(LOG_COLOURS.get(e["kind"], "#222222")))
            for c, text in enumerate((mmss(e["t"]), e.get("headset", ""), e.get("text", ""))):
                item = QTableWidgetItem(text)
                item.setToolTip(e.get("text", ""))  # the column may cut long lines short
                item.setForeground(colour)
                if e["kind"] == "safety":
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.events.setItem(r, c, item)
        self.events.cellClicked.connect(self._event_clicked)

        mirror_box = QWidget()
        box = QVBoxLayout(mirror_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(title("Patient's view"))
        box.addWidget(self.mirror, 1)
        box.addWidget(self.mirror_caption)
        values_box = QWidget()
        box = QVBoxLayout(values_box)
        box.setContentsMargins(0, 0, 0, 0)
        self.values_title = title("At the cursor")
        box.addWidget(self.values_title)
        box.addWidget(values)
        box.addStretch(1)
        events_box = QWidget()
        box = QVBoxLayout(events_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(title("Events"))
        box.addWidget(self.events, 1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(mirror_box)
        right.addWidget(values_box)
        right.addWidget(events_box)
        right.setSizes([300, 230, 330] if s.mirror else [90, 230, 510])
        return right

    def _build_transport(self) -> None:
        style = self.style()
        self.play_button = QPushButton("Play  (Space)")
        self.play_button.clicked.connect(self.model.toggle)
        self.previous_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaSkipBackward), "Previous event  (P)"
        )
        self.previous_button.clicked.connect(lambda: self.model.previous_event())
        self.next_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaSkipForward), "Next event  (N)")
        self.next_button.clicked.connect(lambda: self.model.next_event())
        self.speed = QComboBox()
        for speed in SPEEDS:
            self.speed.addItem(f"{speed:g}×", speed)
        self.speed.setToolTip("Playback speed")
        self.speed.currentIndexChanged.connect(lambda i: self.model.set_speed(self.speed.itemData(i)))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, max(1, round(self.model.duration * SLIDER_STEPS_PER_S)))
        self.slider.setPageStep(10 * SLIDER_STEPS_PER_S)
        self.slider.setAccessibleName("Session time")
        self.slider.valueChanged.connect(self._slider_moved)
        self.time_text = QLabel("")
        self.time_text.setObjectName("sessionClock")
        self.time_text.setToolTip("Cursor / length of the session")
        for w in (self.play_button, self.previous_button, self.next_button, self.speed, self.slider):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space and the arrows stay the window's keys
        self.transport = QHBoxLayout()
        self.transport.addWidget(self.play_button)
        self.transport.addWidget(self.speed)
        self.transport.addWidget(self.previous_button)
        self.transport.addWidget(self.next_button)
        self.transport.addWidget(self.slider, 1)
        self.transport.addWidget(self.time_text)

    def _shortcuts(self) -> None:
        # Window shortcuts: inside the live console, these keys belong to this window only.
        m = self.model
        for keys, action in (
            ("Space", m.toggle),
            ("Left", lambda: m.step(-1)),
            ("Right", lambda: m.step(1)),
            ("Shift+Left", lambda: m.step(-10)),
            ("Shift+Right", lambda: m.step(10)),
            ("Home", lambda: m.seek(0)),
            ("End", lambda: m.seek(m.duration)),
            ("N", lambda: m.next_event()),
            ("P", lambda: m.previous_event()),
            ("Ctrl+W", self.close),
        ):
            QShortcut(QKeySequence(keys), self).activated.connect(action)

    # -- from the user -----------------------------------------------------------------
    def _slider_moved(self, value: int) -> None:
        if not self._placing:
            self.model.seek(value / SLIDER_STEPS_PER_S)

    def _cursor_dragged(self, line: pg.InfiniteLine) -> None:
        if not self._placing:
            self.model.seek(line.value())

    def _event_clicked(self, row: int, _column: int) -> None:
        self.model.seek(self.model.events[row]["t"])

    def _plot_clicked(self, event: object) -> None:
        """A click on a plot puts the cursor there."""
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.scenePos()
        for plot in (self.timeline, *self.plots):
            if plot.vb.sceneBoundingRect().contains(pos):
                self.model.seek(plot.vb.mapSceneToView(pos).x())
                return

    def _tick(self) -> None:
        """The playback timer: the wall time since the last tick, not the nominal interval,
        so a busy GUI plays slower in frames but not in session time."""
        t = time.monotonic()
        elapsed, self._last_tick = t - self._last_tick, t
        self.model.advance(elapsed)

    # -- to the screen -----------------------------------------------------------------
    def refresh(self) -> None:
        """Show the model's snapshot (after every change of the cursor, playing or speed)."""
        snap = self.model.snapshot()
        self._placing = True
        try:
            for line in self.cursors:
                line.setValue(snap.t)
            self.cursors[0].label.setFormat(mmss(snap.t))
            self.slider.setValue(round(snap.t * SLIDER_STEPS_PER_S))
            self.speed.setCurrentIndex(max(0, self.speed.findData(snap.speed)))
        finally:
            self._placing = False
        self.time_text.setText(snap.time_text)
        self.play_button.setText("Pause  (Space)" if snap.playing else "Play  (Space)")
        self.play_button.setIcon(
            self.style().standardIcon(
                QStyle.StandardPixmap.SP_MediaPause if snap.playing else QStyle.StandardPixmap.SP_MediaPlay
            )
        )
        if snap.playing and not self.timer.isActive():
            self._last_tick = time.monotonic()
            self.timer.start()
        elif not snap.playing:
            self.timer.stop()
        self._show_values(snap)
        self._show_event(snap.event_index)
        self._show_frame(snap)
        self._follow(snap.t)

    def _show_values(self, snap: Snapshot) -> None:
        self.values_title.setText(f"At the cursor  ·  {mmss(snap.t)}")
        for kind in ("suds", "expectancy"):
            label = self.value_labels.get(kind)
            if label is None:
                continue
            rating = snap.ratings.get(kind)
            unit = "" if kind == "suds" else " %"
            label.setText(
                f"{rating.value:g}{unit}  <span style='font-size:10pt; font-weight:400; color:#5d6d7e'>"
                f"at {mmss(rating.t)}, {ago_text(rating.ago_s)}</span>"
                if rating
                else "– <span style='font-size:10pt; font-weight:400; color:#5d6d7e'>not asked yet</span>"
            )
        for key, label in self.value_labels.items():
            if key.startswith("stimulus:"):
                name = key.removeprefix("stimulus:")
                value = snap.stimulus.get(name)
                label.setText("–" if value is None else f"{number(value)} {split_label(name)[1]}".rstrip())
            elif key.startswith("signal:"):
                v = snap.signals[int(key.removeprefix("signal:"))]
                if v.values is None:
                    label.setText("– (no data here)")
                elif len(v.values) > 4:
                    label.setText(f"{len(v.values)} channels (see the plot)")
                else:
                    units = v.units if len(v.units) == len(v.values) else [""] * len(v.values)
                    parts = [f"{number(x)} {u}".rstrip() for x, u in zip(v.values, units, strict=True)]
                    label.setText("  ·  ".join(parts))

    def _show_event(self, index: int) -> None:
        if index == self._shown_event:
            return
        self._shown_event = index
        if index < 0:
            self.events.clearSelection()
            return
        self.events.selectRow(index)
        self.events.scrollToItem(self.events.item(index, 0), QAbstractItemView.ScrollHint.EnsureVisible)

    def _show_frame(self, snap: Snapshot) -> None:
        if not self.model.session.mirror:
            return
        if snap.frame is None:
            self.mirror.show_path(None, "No mirror frame yet at this time")
            self.mirror_caption.setText("")
            return
        self.mirror.show_path(snap.frame.path)
        age = snap.frame_age_s or 0.0
        caption = f"Frame at {mmss(snap.frame.t)}  ·  {snap.frame.width}×{snap.frame.height}"
        if age > STALE_FRAME_S:
            caption += f"  ·  no newer frame for {age:.0f} s"
        self.mirror_caption.setText(caption)

    def _follow(self, t: float) -> None:
        """Keep the cursor on screen when the time axis is zoomed in."""
        lo, hi = self.timeline.vb.viewRange()[0]
        if lo <= t <= hi:
            return
        width = hi - lo
        start = t - 0.1 * width if t > hi else t - 0.9 * width
        self.timeline.setXRange(start, start + width, padding=0)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.timer.stop()
        self.model.pause()
        super().closeEvent(event)


# -- opening a session -------------------------------------------------------------------


class _Loader(QThread):
    """Reads a session folder in its own thread; results come back as queued signals."""

    progress = QtSignal(str)
    loaded = QtSignal(object)
    failed = QtSignal(str)

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder

    def run(self) -> None:
        try:
            session = load(self.folder, self.progress.emit)
        except SessionFileError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a damaged file may fail anywhere in the reader
            self.failed.emit(f"{self.folder} could not be read ({type(exc).__name__}: {exc}).")
        else:
            self.loaded.emit(session)


class _Waiter(QObject):
    """Lives in the GUI thread and receives the loader's signals there (queued)."""

    def __init__(self, loop: QEventLoop, dialog: QProgressDialog):
        super().__init__()
        self.loop, self.dialog = loop, dialog
        self.session: RecordedSession | None = None
        self.error = ""
        self.done = False

    @Slot(str)
    def on_progress(self, text: str) -> None:
        if not self.done:
            self.dialog.setLabelText(f"Opening the recording: {text}…")

    @Slot(object)
    def on_loaded(self, session: RecordedSession) -> None:
        self.session, self.done = session, True
        self.loop.quit()

    @Slot(str)
    def on_failed(self, error: str) -> None:
        self.error, self.done = error, True
        self.loop.quit()

    @Slot()
    def on_cancelled(self) -> None:
        self.done = True
        self.loop.quit()


_RUNNING: set[_Loader] = set()  # loaders still reading after their dialog was cancelled
_OPEN: list[ReviewWindow] = []  # open review windows, kept from the garbage collector


def load_session(folder: Path, parent: QWidget | None = None) -> RecordedSession | None:
    """Read a session in a worker thread while the GUI goes on (a progress dialog appears if
    it takes more than a moment). None if the user cancelled; :class:`SessionFileError` if
    the folder cannot be read. GUI thread."""
    folder = Path(folder)
    loop = QEventLoop()
    dialog = QProgressDialog(f"Opening the recording {folder.name}…", "Cancel", 0, 0, parent)
    dialog.setWindowTitle("Opening recording")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(400)  # a quick load shows no dialog at all
    waiter = _Waiter(loop, dialog)
    loader = _Loader(folder)
    loader.waiter = waiter  # kept alive as long as the loader can still signal it
    loader.progress.connect(waiter.on_progress)
    loader.loaded.connect(waiter.on_loaded)
    loader.failed.connect(waiter.on_failed)
    dialog.canceled.connect(waiter.on_cancelled)
    # Loaders are kept until their thread has really ended (a QThread deleted while running
    # aborts the process); finished ones are dropped here, in the GUI thread.
    _RUNNING.difference_update({old for old in _RUNNING if old.isFinished()})
    _RUNNING.add(loader)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(loader.wait)  # a cancelled load still running at exit
    loader.start()
    if not waiter.done:
        loop.exec()
    dialog.canceled.disconnect(waiter.on_cancelled)
    dialog.reset()
    dialog.deleteLater()
    if waiter.error:
        raise SessionFileError(waiter.error)
    return waiter.session


def open_review(folder: Path, parent: QWidget | None = None) -> ReviewWindow | None:
    """Open a recorded session in a review window (the console's File menu). A folder that
    cannot be read is explained in a message box; None then, or if the user cancelled.
    GUI thread."""
    try:
        session = load_session(Path(folder), parent)
    except SessionFileError as exc:
        QMessageBox.warning(parent, "Cannot open the recording", str(exc))
        return None
    if session is None:
        return None
    window = ReviewWindow(ReviewModel(session))
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    _OPEN.append(window)
    window.destroyed.connect(lambda *_: _OPEN.remove(window) if window in _OPEN else None)
    window.show()
    return window


def run_review(
    folder: str, *, duration_s: float | None = None, screenshot: str | None = None, at_s: float | None = None
) -> int:
    """``vrclinic review SESSION [--duration S --screenshot PNG]``: the review window on its
    own. With ``duration_s`` it closes after that many seconds, saving a screenshot first
    if asked; ``at_s`` puts the cursor there first. Returns the exit status (2: the folder
    cannot be read, with the reason on stderr; 1: cancelled; 3: shown, but the recording is
    incomplete or damaged, with what is missing on stderr and in the window's banner)."""
    # Our own QApplication (the `vrclinic review` command) runs with exec()/quit(). Inside a
    # process that already has one (the console, tests), quitting it would leave that process's
    # timers dead afterwards (seen: no QTimer fired again in the test process), so the window
    # runs in a local event loop that ends with it.
    owned = QApplication.instance() is None
    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = QEventLoop()
    try:
        session = load_session(Path(folder))
    except SessionFileError as exc:
        print(f"vrclinic review: {exc}", file=sys.stderr)
        return 2
    if session is None:
        return 1
    window = ReviewWindow(ReviewModel(session))
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.destroyed.connect(loop.quit)
    if at_s is not None:
        window.model.seek(at_s)
    window.show()

    if duration_s is not None:
        close_after(window, duration_s, screenshot, then=app.quit if owned else None)
    if owned:
        app.exec()
    else:
        loop.exec()
    if session.problems:  # for a script: the window showed it in its banner
        print(f"vrclinic review: {session.problems_text()}", file=sys.stderr, end="")
        return EXIT_INCOMPLETE
    return 0
