"""Live physiology: the LSL stream table and scrolling plots, a thin view over
:class:`console.physio.StreamDirectory` and :class:`console.physio.Acquisition`.

What the user sees:

- a **stream table**: one row per stream found (and per plotted stream that was lost, so
  a lost sensor stays in view): whether it is plotted, name, type, channels (a menu to
  choose which to plot), announced rate, **measured** rate, scaling, and the quality
  warnings in words, the row tinted amber for a warning and red for a lost stream;
- an **"Add known host"** field for clinic networks where multicast discovery fails;
- **plots**, one row per plotted stream, over a selectable window (5–60 s) that ends at
  "now" on the right: the data scrolls, the time axis reads "seconds before now" (and the
  session time of "now" when a session start is given). Streams with up to four channels
  are overlaid on an axis in their unit; wider streams (EEG) are stacked, one labelled lane
  per channel. Scaling per stream is automatic (a calm range that grows at once and shrinks
  slowly, never zoomed into noise) or fixed (the user zoomed the axis with the wheel, or
  :meth:`PhysioPanel.set_scale`); in stacked plots automatic scaling is per channel;
- **marks**: vertical lines with a label at console times (stimulus changes, SUDS answers,
  markers) on every plot, scrolling with the data;
- warnings on the plots too: a plot's title turns amber or red with the first words of
  its stream's warning.

Performance (``tests/bench/bench_plot.py``: ECG 500 Hz + PPG 100 + EDA 32 + respiration
50 + 32 channels at 1 kHz, all on screen, hold 60 Hz at about 55–60 % of one core, the
acquisition included):

- overlaid curves are pyqtgraph PlotDataItems created once and fed with ``setData`` from
  the ring buffers on a 60 Hz timer: 1-px pens, no antialiasing, clip-to-view and "peak"
  auto-downsampling to about one min/max pair per pixel column;
- stacked streams are drawn by :class:`~console.physio.lanes.LaneRaster` straight into an
  image at screen resolution, only the newest columns per frame; their lanes are scaled by
  :class:`~console.physio.autoscale.LaneAutoscale` a few lanes per frame, and a new scale is
  redrawn over a few frames behind the image on screen: with 256 channels at 1 kHz no frame
  costs the GUI thread more than about 15 ms (it was 55–125 ms with all lanes at once);
- the view never scrolls (the data moves), so axes and titles are painted once and kept
  as pixmaps; overlaid plots' y ranges (:func:`~console.physio.autoscale.overlay_range`)
  are recomputed twice a second, one plot per frame; the table is refreshed twice a
  second, only the rows whose text changed.

Threads: every method here runs in the GUI thread. The panel never waits on the network:
the directory and the acquisition do their LSL work in their own threads, and the panel
polls their thread-safe getters on its timers.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGraphicsItem,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from console.physio.acquisition import Acquisition, StreamStatus
from console.physio.autoscale import MIN_SPAN, LaneAutoscale, overlay_range
from console.physio.captions import channels_caption, plot_warning, quality_caption, time_label
from console.physio.lanes import LaneRaster
from console.physio.pacing import FramePacer
from console.physio.quality import Severity, format_rate
from console.physio.streams import StreamDescription, StreamDirectory
from console.qt.marks import MarkLayer, MarksItem, ShownMark
from console.qt.physio_items import LanesItem, PaintCounter, TimeAgoAxis

WINDOWS_S = (5.0, 10.0, 30.0, 60.0)
OVERLAY_MAX_CHANNELS = 4  # wider streams are drawn one lane per channel
TABLE_REFRESH_MS = 500
TABLE_MAX_ROWS = 8
SCALE_REFRESH_S = 0.5
BACKGROUND = "#fcfcfa"
AXIS_COLOUR = "#4d5656"
GRID_ALPHA = 0.12
# Calm, distinguishable pens by stream type; other types take the fallback cycle.
TYPE_COLOURS = {
    "ECG": "#b03a2e",
    "PPG": "#7d3c98",
    "EDA": "#117a65",
    "GSR": "#117a65",
    "RESP": "#1f618d",
    "EEG": "#2c3e50",
}
FALLBACK_COLOURS = ("#1f618d", "#b9770e", "#117a65", "#7d3c98", "#b03a2e", "#2c3e50")
SEVERITY_STYLE = {  # (row background, text colour)
    Severity.OK: (None, "#1e8449"),
    Severity.NOTICE: ("#eef2f7", "#34495e"),
    Severity.WARNING: ("#fff1c6", "#7a4d00"),
    Severity.LOST: ("#f9d6d5", "#922b21"),
}
COLUMNS = ("Plot", "Stream", "Type", "Channels", "Announced", "Measured", "Scale", "Quality")
COL_PLOT, COL_NAME, COL_TYPE, COL_CHANNELS, COL_ANNOUNCED, COL_MEASURED, COL_SCALE, COL_QUALITY = range(8)


def default_auto_plot(stream: StreamDescription) -> bool:
    """Which newly found streams are plotted without asking: numeric streams with a regular
    rate, except the simulated headset's own patient-state stream."""
    return stream.numeric and stream.nominal_rate > 0 and stream.type.lower() != "simpatient"


@dataclass
class _Row:
    """A plotted stream: its plot, its curves (created once) and its scaling state."""

    stream: StreamDescription
    plot: pg.PlotItem
    colour: str
    channels: list[int]
    curves: dict[int, pg.PlotDataItem] = field(default_factory=dict)
    auto: bool = True
    lane_scale: LaneAutoscale | None = None  # stacked: each lane's centre and span
    y_range: tuple[float, float] | None = None
    scaled_at: float = -math.inf
    marks: MarksItem | None = None  # paints the session's marks on this plot
    setting_range: bool = False
    lanes: LanesItem | None = None  # stacked streams: every lane drawn into one image
    next_index: int = 0  # stacked streams: running number of the next sample to draw
    label_every: int = 0  # stacked streams: every how many lanes a channel label fits
    title: tuple[str | None, str] = ("", "")

    @property
    def stacked(self) -> bool:
        return self.stream.channel_count > OVERLAY_MAX_CHANNELS


class PhysioPanel(QWidget):
    """Stream table, known-host field and live plots (see the module docstring).

    The panel selects and deselects streams in ``acquisition`` as the user ticks them; it
    neither starts nor stops ``directory`` or ``acquisition`` (their owner does). GUI
    thread only.
    """

    known_host_added = Signal(str)  # the sentence shown to the user, for a status bar

    def __init__(
        self,
        directory: StreamDirectory,
        acquisition: Acquisition,
        parent: QWidget | None = None,
        *,
        window_s: float = 10.0,
        refresh_hz: float = 60.0,
        session_start: float | None = None,
        auto_plot: Callable[[StreamDescription], bool] = default_auto_plot,
        clock: Callable[[], float] | None = None,
        table_rows: int = TABLE_MAX_ROWS,
        compact: bool = False,
    ):
        super().__init__(parent)
        self.table_rows = table_rows  # rows shown before the table scrolls
        # In the session window the traces need every pixel: no plot titles unless a stream
        # has a problem to show, and the known-host field in the header row.
        self.compact = compact
        self.directory = directory
        self.acquisition = acquisition
        self.clock = clock or acquisition.clock
        self.session_start = session_start
        self.window_s = window_s
        self.auto_plot = auto_plot
        self._streams: dict[str, StreamDescription] = {}  # uid -> what the table shows
        self._seen: set[str] = set()  # uids offered to auto_plot already
        self._plotted: set[str] = set()
        self._chosen_channels: dict[str, list[int]] = {}
        self._rows: dict[str, _Row] = {}
        self._mark_layer = MarkLayer(self.font().family())
        self._statuses: dict[str, StreamStatus] = {}
        self._table_uids: list[str] = []
        self._row_shown: dict[int, tuple] = {}  # what each table row shows, to skip unchanged rows
        self._updating_table = False
        self.frames = 0  # plot updates done by the timer
        self.pacer = FramePacer(refresh_hz)
        self.drawn_at = 0.0  # console time of the latest plot update: x = 0 on the plots
        self._time_label = ""
        self._rescaled_in_frame = -1

        self._build()
        self._plot_timer = QTimer(self)
        self._plot_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._plot_timer.timeout.connect(self._refresh_plots)
        self.set_refresh_rate(refresh_hz)
        self._table_timer = QTimer(self)
        self._table_timer.timeout.connect(self.refresh_table)
        self._table_timer.start(TABLE_REFRESH_MS)
        self.refresh_table()

    # -- construction ------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)

        header = QHBoxLayout()
        title = QLabel("Physiology")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        title.setFont(font)
        header.addWidget(title)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)  # a long advice must not widen the window past the screen
        self.status_label.setStyleSheet("color: #4d5656;")
        header.addWidget(self.status_label, 1)
        header.addWidget(QLabel("Window"))
        self.window_combo = QComboBox()
        for w in WINDOWS_S:
            self.window_combo.addItem(f"{w:g} s", w)
        self.window_combo.setCurrentIndex(self._window_index(self.window_s))
        self.window_combo.currentIndexChanged.connect(lambda i: self.set_window(self.window_combo.itemData(i)))
        header.addWidget(self.window_combo)
        layout.addLayout(header)

        splitter = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        hh = self.table.horizontalHeader()
        for col in range(len(COLUMNS)):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(COL_QUALITY, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._on_item_changed)
        top_layout.addWidget(self.table)

        hosts = header if self.compact else QHBoxLayout()
        if not self.compact:
            hosts.addWidget(QLabel("Sensors on another computer not found?"))
        self.host_edit = QLineEdit()
        self.host_edit.setPlaceholderText(
            "sensors on another computer? its IP address"
            if self.compact
            else "its IP address or name, e.g. 192.168.1.20"
        )
        self.host_edit.returnPressed.connect(self._on_add_host)
        hosts.addWidget(self.host_edit, 1)
        self.host_button = QPushButton("Add known host…")
        self.host_button.setToolTip(
            "Search this computer directly (unicast) when multicast discovery is blocked on the network."
        )
        self.host_button.clicked.connect(self._on_add_host)
        hosts.addWidget(self.host_button)
        if not self.compact:
            top_layout.addLayout(hosts)
        self.host_label = QLabel("")
        self.host_label.setWordWrap(True)
        self.host_label.setStyleSheet("color: #4d5656;")
        self.host_label.setVisible(False)
        top_layout.addWidget(self.host_label)
        splitter.addWidget(top)
        if self.compact:
            # The stream table is the technician's; the traces are the therapist's. Shown on demand.
            self.streams_button = QPushButton("Streams ▾")
            self.streams_button.setCheckable(True)
            self.streams_button.setToolTip("Show the stream table: which streams, rates, scaling and signal quality")
            self.streams_button.toggled.connect(top.setVisible)
            header.insertWidget(2, self.streams_button)
            top.setVisible(False)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.graphics.ci.setSpacing(2)
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._paints = PaintCounter(self, lambda: self.frames)
        self.graphics.viewport().installEventFilter(self._paints)
        self.empty_label = QLabel("No stream plotted. Tick a stream in the table above to plot it.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #7f8c8d;")
        plots = QWidget()
        plots_layout = QVBoxLayout(plots)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        plots_layout.addWidget(self.empty_label)
        plots_layout.addWidget(self.graphics, 1)
        splitter.addWidget(plots)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([120, 360])  # a few table rows; the plots are what people look at
        self.splitter = splitter
        layout.addWidget(splitter, 1)

    @staticmethod
    def _window_index(window_s: float) -> int:
        return min(range(len(WINDOWS_S)), key=lambda i: abs(WINDOWS_S[i] - window_s))

    # -- public API (GUI thread) -------------------------------------------------------

    @property
    def frames_painted(self) -> int:
        """How many times the plot canvas has been painted (GUI thread)."""
        return self._paints.count

    @property
    def refresh_hz(self) -> float:
        """Frames a second the plots draw when the GUI thread keeps up (GUI thread)."""
        return self.pacer.rate_hz

    def set_refresh_rate(self, hz: float) -> None:
        """Plot refresh rate in Hz (30–60 is plenty; GUI thread)."""
        self.pacer.set_rate(hz)
        # Qt timers count whole milliseconds (16 ms is 62.5 Hz, 17 ms 58.8 Hz): tick at
        # twice the rate and draw when a frame is due, which holds the rate asked for.
        self._plot_timer.start(max(1, int(500.0 / hz)))

    def set_session_start(self, t: float | None) -> None:
        """Console time (``pylsl.local_clock()``) the session started; the time axis then also
        says the session time of 'now' (GUI thread)."""
        self.session_start = t
        self._time_label = ""
        self._update_time_label()

    def set_window(self, seconds: float) -> None:
        """How many seconds the plots show (GUI thread)."""
        self.window_s = float(seconds)
        index = self._window_index(self.window_s)
        if self.window_combo.currentIndex() != index and WINDOWS_S[index] == self.window_s:
            self.window_combo.setCurrentIndex(index)
        for row in self._rows.values():
            row.scaled_at = -math.inf
            self._apply_window(row)
        self._mark_layer.redraw(list(self._rows.values()))

    def set_plotted(self, uid: str, plotted: bool) -> None:
        """Plot (and acquire) the stream ``uid``, or stop (GUI thread). ValueError for a
        stream the panel does not know or that cannot be plotted."""
        stream = self._streams.get(uid) or self.directory.find(uid)
        if stream is None:
            raise ValueError(f"no stream with uid {uid} is known")
        self._streams[uid] = stream
        self._seen.add(uid)
        if plotted:
            self.acquisition.select(stream)  # raises ValueError for marker streams
            self._plotted.add(uid)
            self._add_row(stream)
        else:
            self._plotted.discard(uid)
            self.acquisition.deselect(uid)
            self._remove_row(uid)
        self._sync_table_checks()

    def plotted_uids(self) -> list[str]:
        """Uids of the plotted streams, top to bottom (GUI thread)."""
        return list(self._rows)

    def set_channels(self, uid: str, channels: Iterable[int]) -> None:
        """Which channels of stream ``uid`` to plot (0-based; GUI thread)."""
        stream = self._streams[uid]
        chosen = sorted({c for c in channels if 0 <= c < stream.channel_count})
        self._chosen_channels[uid] = chosen
        row = self._rows.get(uid)
        if row is not None:
            row.channels = chosen
            self._build_curves(row)
        self._update_channel_button(uid)

    def set_scale(
        self,
        uid: str,
        *,
        auto: bool = True,
        span: float | tuple[float, float] | None = None,
        channel: int | None = None,
    ) -> None:
        """Scaling of stream ``uid`` (GUI thread).

        ``auto=True``: automatic (per channel in stacked plots). Otherwise fixed: for an
        overlaid stream ``span`` is the (low, high) range in the stream's unit (None keeps
        the range on screen); for a stacked stream ``span`` is the units per lane, for every
        channel or only ``channel``.
        """
        row = self._rows[uid]
        row.auto = auto
        if auto:
            if row.lane_scale is not None:
                row.lane_scale.follow()
            row.scaled_at = -math.inf
        elif row.lane_scale is not None:
            value = None if span is None else float(span if not isinstance(span, tuple) else span[1] - span[0])
            lane = row.channels.index(channel) if channel in row.channels else None
            if channel is None or lane is not None:
                row.lane_scale.fix(value, lane)
        elif span is not None:
            lo, hi = span if isinstance(span, tuple) else (-abs(float(span)) / 2, abs(float(span)) / 2)
            self._set_y_range(row, float(lo), float(hi))
        self._update_scale_combo(uid)

    def add_mark(self, t: float, label: str, color: str = "#d35400") -> None:
        """Draw a vertical line with ``label`` at console time ``t`` (``pylsl.local_clock()``,
        the clock of the samples) on every plot, now and on plots added later; it scrolls
        with the data (GUI thread)."""
        self._mark_layer.add(t, label, color, list(self._rows.values()))

    def marks(self, uid: str) -> list[ShownMark]:
        """The marks the plot of stream ``uid`` shows now (GUI thread; for checks)."""
        return self._mark_layer.shown(self._rows[uid])

    def curve(self, uid: str, channel: int) -> pg.PlotDataItem:
        """The curve of one channel of a plotted stream (GUI thread; for checks and tools)."""
        return self._rows[uid].curves[channel]

    def status(self, uid: str) -> StreamStatus | None:
        """The status the table shows for ``uid`` (GUI thread)."""
        return self._statuses.get(uid)

    def table_row_text(self, uid: str) -> dict[str, str]:
        """The texts of the table row of ``uid``, by column title (GUI thread)."""
        if uid not in self._table_uids:
            return {}
        r = self._table_uids.index(uid)
        out = {}
        for col, title in enumerate(COLUMNS):
            item = self.table.item(r, col)
            widget = self.table.cellWidget(r, col)
            if item is not None:
                out[title] = item.text()
            elif isinstance(widget, QToolButton):
                out[title] = widget.text()
            elif isinstance(widget, QComboBox):
                out[title] = widget.currentText()
        return out

    def add_known_host(self, host: str) -> str:
        """Add a known host through the directory; returns (and shows) the sentence for the
        user (GUI thread; the search itself runs in the directory's thread)."""
        try:
            text = self.directory.add_known_host(host).message
        except ValueError as exc:
            text = str(exc)
        self.host_label.setText(text)
        self.host_label.setVisible(True)
        self.known_host_added.emit(text)
        return text

    def shutdown(self) -> None:
        """Stop the panel's timers (GUI thread). The owner closes acquisition and directory."""
        self._plot_timer.stop()
        self._table_timer.stop()

    # -- the table ---------------------------------------------------------------------

    def refresh_table(self) -> None:
        """Re-read the directory and the acquisition and update the table (GUI thread; runs
        twice a second on its own)."""
        found = {s.uid: s for s in self.directory.snapshot()}
        for uid, stream in found.items():
            if uid not in self._streams:
                self._streams[uid] = stream
        for uid in list(self._streams):
            if uid not in found and uid not in self._plotted:
                del self._streams[uid]
        for uid, stream in found.items():
            if uid in self._seen:
                continue
            self._seen.add(uid)
            replaced = self._replaced_stream(stream)
            if replaced is not None:
                self._replace(replaced, stream)
            elif self.auto_plot(stream):
                with contextlib.suppress(ValueError):  # a marker stream: nothing to plot
                    self.set_plotted(uid, True)
        self._statuses = self.acquisition.statuses()
        self._update_table(found)
        hosts = self.directory.known_hosts()
        status = self.directory.status
        if self.pacer.busy(self.clock()):
            status += (
                f" Plots slowed to {self.pacer.busy_hz:g} frames a second: this computer is busy, "
                "and the headsets' link comes first."
            )
        self.status_label.setText(status)
        if hosts:
            self.host_label.setText("Known hosts: " + "; ".join(f"{h}: {s}" for h, s in hosts.items()))
            self.host_label.setVisible(True)
        for uid, row in self._rows.items():
            self._update_plot_title(row, self._statuses.get(uid))
        self._update_time_label()

    def _update_time_label(self) -> None:
        """'seconds before now — session 12:34' under the lowest plot (twice a second)."""
        text = time_label(None if self.session_start is None else self.clock() - self.session_start)
        if text != self._time_label and self._rows:
            self._time_label = text
            last = list(self._rows.values())[-1]
            last.plot.setLabel("bottom", text)

    def _replaced_stream(self, stream: StreamDescription) -> str | None:
        """The uid of a plotted stream that ``stream`` restarts, if any: same name, source and
        computer under a new uid means the sending program (or the sensor) restarted, and
        the plot should simply carry on with it."""
        for uid in self._plotted:
            old = self._streams.get(uid)
            if old is None or old.uid == stream.uid:
                continue
            if (old.name, old.source_id, old.hostname) == (stream.name, stream.source_id, stream.hostname):
                return uid
        return None

    def _replace(self, old_uid: str, stream: StreamDescription) -> None:
        channels = self._chosen_channels.pop(old_uid, None)
        row = self._rows.get(old_uid)
        self.acquisition.deselect(old_uid)
        self._plotted.discard(old_uid)
        self._streams.pop(old_uid, None)
        self._streams[stream.uid] = stream
        if channels is not None:
            self._chosen_channels[stream.uid] = channels
        self.acquisition.select(stream)
        self._plotted.add(stream.uid)
        if row is not None:  # keep the plot, its curves and scaling; it now shows the new stream
            self._rows = {(stream.uid if k == old_uid else k): v for k, v in self._rows.items()}
            row.stream = stream
        else:
            self._add_row(stream)

    def _update_table(self, found: dict[str, StreamDescription]) -> None:
        uids = sorted(self._streams, key=lambda u: (self._streams[u].type.lower(), self._streams[u].name.lower(), u))
        self._updating_table = True
        try:
            if uids != self._table_uids:
                self._table_uids = uids
                self._row_shown.clear()
                self.table.setRowCount(len(uids))
                for r, uid in enumerate(uids):
                    self._fill_static(r, self._streams[uid])
            for r, uid in enumerate(uids):
                self._fill_dynamic(r, self._streams[uid], uid in found)
        finally:
            self._updating_table = False
        self.table.resizeRowsToContents()
        # Show every row without scrolling, up to table_rows; the plots get the rest.
        shown = min(len(uids), self.table_rows)
        rows_height = sum(self.table.rowHeight(r) for r in range(shown)) if shown else self.table.fontMetrics().height()
        frame = 2 * self.table.frameWidth()
        self.table.setFixedHeight(self.table.horizontalHeader().height() + rows_height + frame + 2)

    def _fill_static(self, r: int, stream: StreamDescription) -> None:
        plot_item = QTableWidgetItem()
        if stream.numeric:
            plot_item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            plot_item.setCheckState(Qt.CheckState.Checked if stream.uid in self._plotted else Qt.CheckState.Unchecked)
            plot_item.setToolTip("Plot this stream")
        else:
            plot_item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            plot_item.setToolTip("Text (marker) stream: nothing to plot")
        plot_item.setData(Qt.ItemDataRole.UserRole, stream.uid)
        self.table.setItem(r, COL_PLOT, plot_item)
        name = QTableWidgetItem(stream.name)
        name.setToolTip(
            f"source id: {stream.source_id or '(none)'}\ncomputer: {stream.hostname}\nfound via {stream.found_via}\n"
            f"uid: {stream.uid}"
        )
        self.table.setItem(r, COL_NAME, name)
        self.table.setItem(r, COL_TYPE, QTableWidgetItem(stream.type))
        button = QToolButton()
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        button.setAutoRaise(True)
        self.table.setCellWidget(r, COL_CHANNELS, button)
        self._build_channel_menu(button, stream)
        announced = QTableWidgetItem("irregular" if stream.nominal_rate <= 0 else format_rate(stream.nominal_rate))
        announced.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.table.setItem(r, COL_ANNOUNCED, announced)
        measured = QTableWidgetItem("")
        measured.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.table.setItem(r, COL_MEASURED, measured)
        combo = QComboBox()
        combo.addItems(["Auto", "Fixed"])
        combo.setToolTip("Auto: the range follows the signal. Fixed: the range stays (zoom the axis with the wheel).")
        combo.currentIndexChanged.connect(lambda i, uid=stream.uid: self._on_scale_combo(uid, i))
        self.table.setCellWidget(r, COL_SCALE, combo)
        self.table.setItem(r, COL_QUALITY, QTableWidgetItem(""))
        self._update_channel_button(stream.uid)
        self._update_scale_combo(stream.uid)

    def _fill_dynamic(self, r: int, stream: StreamDescription, visible: bool) -> None:
        status = self._statuses.get(stream.uid)
        shown = (status.rate_text, status.summary, status.severity, visible) if status else (None, visible)
        if self._row_shown.get(r) == (stream.uid, shown):
            return  # nothing new: leave the row (and its repaint) alone
        self._row_shown[r] = (stream.uid, shown)
        measured = self.table.item(r, COL_MEASURED)
        quality = self.table.item(r, COL_QUALITY)
        measured.setText(status.rate_text if status else "—")
        text, severity = quality_caption(stream, status, visible)
        colour = SEVERITY_STYLE[severity][1] if status else "#7f8c8d"
        quality.setText(text)
        quality.setToolTip(text)
        background, _ = SEVERITY_STYLE[severity]
        brush = QBrush(QColor(background)) if background else QBrush()
        for col in range(len(COLUMNS)):
            item = self.table.item(r, col)
            if item is not None:
                item.setBackground(brush)
        quality.setForeground(QBrush(QColor(colour)))
        font = quality.font()
        font.setBold(severity >= Severity.WARNING)
        quality.setFont(font)
        measured.setForeground(QBrush(QColor(SEVERITY_STYLE[severity][1] if status else "#7f8c8d")))

    def _sync_table_checks(self) -> None:
        self._updating_table = True
        try:
            for r, uid in enumerate(self._table_uids):
                item = self.table.item(r, COL_PLOT)
                if item is not None and item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                    want = Qt.CheckState.Checked if uid in self._plotted else Qt.CheckState.Unchecked
                    if item.checkState() != want:
                        item.setCheckState(want)
        finally:
            self._updating_table = False

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._updating_table or item.column() != COL_PLOT:
            return
        uid = item.data(Qt.ItemDataRole.UserRole)
        plotted = item.checkState() == Qt.CheckState.Checked
        if (uid in self._plotted) != plotted:
            try:
                self.set_plotted(uid, plotted)
            except ValueError as exc:
                self.status_label.setText(str(exc))

    def _build_channel_menu(self, button: QToolButton, stream: StreamDescription) -> None:
        menu = QMenu(button)
        # Filled when first opened: 256 channels are 256 actions, too many to make again on
        # every rebuild of the table (another stream appeared) in the middle of the plots' frames.
        menu.aboutToShow.connect(lambda: self._fill_channel_menu(menu, stream) if menu.isEmpty() else None)
        button.setMenu(menu)

    def _fill_channel_menu(self, menu: QMenu, stream: StreamDescription) -> None:
        all_action = menu.addAction("All channels")
        all_action.triggered.connect(lambda: self.set_channels(stream.uid, range(stream.channel_count)))
        none_action = menu.addAction("No channel")
        none_action.triggered.connect(lambda: self.set_channels(stream.uid, []))
        menu.addSeparator()
        for c in range(stream.channel_count):
            unit = stream.unit(c)
            action = QAction(f"{stream.label(c)}" + (f" ({unit})" if unit else ""), menu)
            action.setCheckable(True)
            action.setData(c)
            action.toggled.connect(lambda on, c=c, uid=stream.uid: self._on_channel_toggled(uid, c, on))
            menu.addAction(action)
        self._update_channel_button(stream.uid)  # ticks the channels shown

    def _on_channel_toggled(self, uid: str, channel: int, on: bool) -> None:
        if self._updating_table:
            return
        chosen = set(self._channels_of(uid))
        chosen = chosen | {channel} if on else chosen - {channel}
        self.set_channels(uid, chosen)

    def _channels_of(self, uid: str) -> list[int]:
        stream = self._streams[uid]
        return self._chosen_channels.get(uid, list(range(stream.channel_count)))

    def _update_channel_button(self, uid: str) -> None:
        if uid not in self._table_uids:
            return
        button = self.table.cellWidget(self._table_uids.index(uid), COL_CHANNELS)
        if not isinstance(button, QToolButton):
            return
        stream = self._streams[uid]
        chosen = self._channels_of(uid)
        button.setText(channels_caption(stream, chosen))
        menu = button.menu()
        if menu is not None:
            self._updating_table = True
            try:
                for action in menu.actions():
                    if action.isCheckable():
                        action.setChecked(action.data() in chosen)
            finally:
                self._updating_table = False

    def _on_scale_combo(self, uid: str, index: int) -> None:
        if self._updating_table or uid not in self._rows:
            return
        self.set_scale(uid, auto=index == 0)

    def _update_scale_combo(self, uid: str) -> None:
        if uid not in self._table_uids:
            return
        combo = self.table.cellWidget(self._table_uids.index(uid), COL_SCALE)
        if not isinstance(combo, QComboBox):
            return
        row = self._rows.get(uid)
        combo.setEnabled(row is not None)
        want = 0 if row is None or row.auto else 1
        if combo.currentIndex() != want:
            self._updating_table = True
            try:
                combo.setCurrentIndex(want)
            finally:
                self._updating_table = False

    # -- known hosts -------------------------------------------------------------------

    def _on_add_host(self) -> None:
        host = self.host_edit.text().strip()
        if not host:
            self.host_label.setText("Type the IP address or name of the computer the sensors stream from.")
            self.host_label.setVisible(True)
            return
        self.add_known_host(host)
        self.host_edit.clear()

    # -- plots -------------------------------------------------------------------------

    def _colour(self, stream: StreamDescription) -> str:
        colour = TYPE_COLOURS.get(stream.type.upper())
        if colour:
            return colour
        return FALLBACK_COLOURS[len(self._rows) % len(FALLBACK_COLOURS)]

    def _add_row(self, stream: StreamDescription) -> None:
        if stream.uid in self._rows:
            return
        axis = TimeAgoAxis()
        plot = pg.PlotItem(axisItems={"bottom": axis})
        plot.setMenuEnabled(False)
        plot.hideButtons()
        # Titles change twice a second at most: keep them as pixmaps rather than laying out
        # their text on every frame.
        plot.titleLabel.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.showGrid(x=False, y=True, alpha=GRID_ALPHA)
        plot.setMouseEnabled(x=False, y=True)  # time scrolls by itself; the y axis zooms with the wheel
        for name in ("left", "bottom"):
            ax = plot.getAxis(name)
            ax.setPen(pg.mkPen(AXIS_COLOUR, width=1))
            ax.setTextPen(pg.mkPen(AXIS_COLOUR))
            ax.enableAutoSIPrefix(False)
        plot.getAxis("left").setWidth(78)
        # The left axis only changes with the y range: keep it as a pixmap instead of
        # replaying its drawing every frame.
        plot.getAxis("left").setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.vb.disableAutoRange()
        row = _Row(stream, plot, self._colour(stream), self._channels_of(stream.uid))
        self._apply_window(row)
        plot.vb.sigRangeChangedManually.connect(lambda *_: self._on_user_zoom(row))
        self._rows[stream.uid] = row
        self._build_curves(row)
        self._layout_plots()
        self._update_plot_title(row, self._statuses.get(stream.uid))
        self._update_scale_combo(stream.uid)

    def _remove_row(self, uid: str) -> None:
        row = self._rows.pop(uid, None)
        if row is None:
            return
        self.graphics.ci.removeItem(row.plot)
        row.plot.vb.sigRangeChangedManually.disconnect()
        self._layout_plots()
        self._update_scale_combo(uid)

    def _layout_plots(self) -> None:
        """Re-stack the plots top to bottom in a calm order (by type), time axis linked,
        tick labels only under the last one."""
        self.graphics.ci.clear()
        rows = sorted(self._rows.values(), key=lambda r: (r.stacked, r.stream.type.lower(), r.stream.name.lower()))
        self._rows = {r.stream.uid: r for r in rows}
        for i, row in enumerate(rows):
            self.graphics.ci.addItem(row.plot, row=i, col=0)
            # A stacked (many-channel) plot gets room for its lanes.
            self.graphics.ci.layout.setRowStretchFactor(i, 4 if row.stacked else 1)
            # Only the lowest plot carries the time axis: one axis to lay out per frame.
            last = i == len(rows) - 1
            if last:
                row.plot.setLabel("bottom", self._time_label or "seconds before now")  # also shows the axis
            row.plot.showAxis("bottom", last)
        self.empty_label.setVisible(not rows)
        self.graphics.setVisible(bool(rows))
        self._mark_layer.origin = self.clock()  # "now" until the next frame moves it on
        self._mark_layer.redraw(rows)  # the top plot carries the labels

    def _build_curves(self, row: _Row) -> None:
        for curve in row.curves.values():
            row.plot.removeItem(curve)
        if row.lanes is not None:
            row.plot.removeItem(row.lanes)
            row.lanes = None
        row.curves.clear()
        stream = row.stream
        n = len(row.channels)
        left = row.plot.getAxis("left")
        units = sorted({stream.unit(c) for c in row.channels if stream.unit(c)})
        if row.stacked:
            # All lanes drawn into one image, one pixel per screen pixel (see _draw_lanes).
            row.lanes = LanesItem(LaneRaster(n, QColor(row.colour).rgba(), QColor(BACKGROUND).rgba()))
            old = row.lane_scale  # new channels: the scaling mode stays, the lanes are measured afresh
            row.lane_scale = LaneAutoscale(n, auto=row.auto, fixed_span=old.fixed_span if old else None)
            row.plot.showGrid(x=False, y=False)  # a line per lane would only add noise
            row.plot.addItem(row.lanes)
            row.label_every = 0  # set by _label_lanes once the plot has a height
            left.setLabel(f"{stream.type} ({', '.join(units)})" if units else stream.type)
            self._set_y_range(row, -max(n - 1, 0) - 0.6, 0.6)
        else:
            for i, c in enumerate(row.channels):
                colour = row.colour if i == 0 else FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)]
                # autoDownsampleFactor 1: about one min/max pair per pixel column, as much
                # as a 1-px line can show (pyqtgraph's default keeps five times more).
                curve = pg.PlotDataItem(
                    pen=pg.mkPen(colour, width=1), antialias=False, skipFiniteCheck=True, autoDownsampleFactor=1.0
                )
                curve.setDownsampling(auto=True, method="peak")
                curve.setClipToView(True)
                row.plot.addItem(curve)
                row.curves[c] = curve
            left.setTicks(None)
            label = stream.label(row.channels[0]) if n == 1 else stream.type
            if self.compact:
                # Short plots: the type alone fits beside one; units are in the stream table, and
                # the live metrics line gives heart rate and skin conductance with theirs.
                left.setLabel(stream.type)
            else:
                left.setLabel(label + (f" ({', '.join(units)})" if units else ""))
            row.y_range = None
        row.scaled_at = -math.inf

    def _update_plot_title(self, row: _Row, status: StreamStatus | None) -> None:
        stream = row.stream
        base = f"{stream.name} · {format_rate(stream.nominal_rate)}"
        warning = plot_warning(status)
        if warning is None:
            self._set_title(row, None if self.compact else base, AXIS_COLOUR)
        else:
            self._set_title(row, f"{base} — <b>{warning[0]}</b>", SEVERITY_STYLE[warning[1]][1])

    @staticmethod
    def _set_title(row: _Row, text: str | None, colour: str) -> None:
        if row.title != (text, colour):  # a new title re-renders its cached pixmap
            row.title = (text, colour)
            row.plot.setTitle(text, color=colour, size="9pt")

    def _on_user_zoom(self, row: _Row) -> None:
        if row.setting_range:
            return
        row.auto = False
        if row.lane_scale is not None and row.lane_scale.auto:
            row.lane_scale.fix()
        self._update_scale_combo(row.stream.uid)

    def _set_y_range(self, row: _Row, lo: float, hi: float) -> None:
        row.setting_range = True
        try:
            row.plot.setYRange(lo, hi, padding=0)
        finally:
            row.setting_range = False
        row.y_range = (lo, hi)

    def _apply_window(self, row: _Row) -> None:
        row.plot.setXRange(-self.window_s, 0, padding=0)
        axis = row.plot.getAxis("bottom")
        if isinstance(axis, TimeAgoAxis):
            axis.set_window(self.window_s)

    def _refresh_plots(self) -> None:
        """The plot timer: new data into every curve, marks moved with it (GUI thread)."""
        now = self.clock()
        if not self.pacer.due(now) or not self._rows:
            return
        for row in self._rows.values():
            if not row.channels:
                continue
            if row.stacked:
                self._draw_lanes(row, now)
                continue
            ts, data = self.acquisition.latest(row.stream.uid, self.window_s + 1.0)
            if len(ts) == 0:
                continue
            if self._rescale_due(row, now):
                self._rescale(row, data)
            x = ts - now
            for c in row.channels:
                row.curves[c].setData(x, data[:, c])
        self._mark_layer.place(self._rows.values(), now)
        self.drawn_at = now
        self.frames += 1

    def _draw_lanes(self, row: _Row, now: float) -> None:
        """Feed a stacked stream's new samples to its raster, measure a few lanes' scale, and
        place the raster (see :mod:`console.physio.lanes`)."""
        assert row.lanes is not None and row.lane_scale is not None
        raster, scale, vb = row.lanes.raster, row.lane_scale, row.plot.vb
        ratio = self.graphics.devicePixelRatioF()
        width, height = max(16, round(vb.width() * ratio)), max(16, round(vb.height() * ratio))
        y_lo, y_hi = vb.viewRange()[1]
        if raster.configure(width, height, self.window_s, (y_lo, y_hi)):
            row.next_index = 0  # a new canvas: draw the whole window again
        channels = row.channels
        first, ts, data = self.acquisition.read_from(row.stream.uid, row.next_index, self.window_s + 1.0)
        if len(ts):
            row.next_index = first + len(ts)
            raster.add(ts, data if channels == list(range(data.shape[1])) else data[:, channels])
            self._scale_lanes(row, now)
        raster.set_scale(scale.centers, scale.spans)  # a new scale is drawn over the next frames
        raster.advance()
        row.lanes.show_at(now, QRectF(-self.window_s, y_lo, self.window_s, y_hi - y_lo))

    def _scale_lanes(self, row: _Row, now: float) -> None:
        """Measure the lanes' scale: all at once for the first samples or a new window and
        once more when that window is first full (see :meth:`LaneAutoscale.settle`), else
        every lane once per SCALE_REFRESH_S, a few per frame, so that no frame pays for all."""
        assert row.lanes is not None and row.lane_scale is not None
        raster, scale = row.lanes.raster, row.lane_scale
        shown = raster.shown()
        if shown.sum() < 2:
            return
        rounds = scale.rounds
        if row.scaled_at == -math.inf or (not scale.started and now - row.scaled_at >= SCALE_REFRESH_S):
            scale.rescale_all(raster.lo, raster.hi, shown)
            row.scaled_at = now
        elif not scale.settled and raster.full:
            scale.settle(raster.lo, raster.hi, shown)
        else:
            per_frame = math.ceil(len(row.channels) / max(1.0, SCALE_REFRESH_S * self.refresh_hz))
            scale.step(raster.lo, raster.hi, shown, per_frame)
        if scale.rounds != rounds:
            self._label_lanes(row)

    def _rescale_due(self, row: _Row, now: float) -> bool:
        """Whether ``row`` rescales in this frame: each row every SCALE_REFRESH_S, but at
        most one row per frame, because a new y range redraws that plot's axis (costly)."""
        if self._rescaled_in_frame == self.frames or now - row.scaled_at < SCALE_REFRESH_S:
            return False
        self._rescaled_in_frame = self.frames
        row.scaled_at = now
        return True

    def _label_lanes(self, row: _Row) -> None:
        """Channel labels on the lanes, every lane when they fit, else every 2nd, 3rd, …"""
        lane_px = row.plot.vb.height() / max(1.0, row.plot.vb.viewRange()[1][1] - row.plot.vb.viewRange()[1][0])
        every = max(1, math.ceil((self.fontMetrics().height() * 0.85) / max(lane_px, 1e-6)))
        if every != row.label_every:
            row.label_every = every
            ticks = [(-i, row.stream.label(c)) for i, c in enumerate(row.channels)]
            row.plot.getAxis("left").setTicks([ticks[::every], ticks])

    def _rescale(self, row: _Row, data: np.ndarray) -> None:
        """Twice a second: a calm automatic y range from the samples on screen."""
        if not row.auto:
            return
        rate = row.stream.nominal_rate
        visible = data[-int(self.window_s * rate) :] if rate > 0 else data
        want = overlay_range(visible[:, row.channels], row.y_range, MIN_SPAN.get(row.stream.type.upper(), 0.0))
        if want is not None:
            self._set_y_range(row, *want)
