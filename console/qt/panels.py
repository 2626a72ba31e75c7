"""The live-session panels: headsets, stimulus controls, self-report with the timeline,
and the event log. Each is a thin view: it reads the SessionModel, listens to its signals
and calls its commands. GUI thread only.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.core.clock import clock_text
from console.core.colours import MARK_COLOURS
from console.session.model import Headset, LogEntry, Mark, ParameterState, Rating, SessionModel
from protocol.link import HeadsetState
from protocol.stimulus import intensity

STATE_COLOURS = {
    HeadsetState.CONNECTED: "#2e8b57",
    HeadsetState.CONNECTING: "#7a8591",
    HeadsetState.STALE: "#d08a00",
    HeadsetState.LOST: "#c0392b",
}
LOG_COLOURS = {
    "safety": "#c0392b",
    "error": "#b35c00",
    "answer": "#1f5f9f",
    "marker": "#6a3d9a",
    "step": "#1e6b4a",
    "decision": "#1e6b4a",
}


def title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("panelTitle")
    return label


def intensity_pct(h: Headset) -> float | None:
    """How strong the stimulus is, 0..100 % (protocol.stimulus.intensity of the applied
    values); 0 while the scene is calm after make safe, None without parameters."""
    if h.scene_state == "safe":
        return 0.0
    strength = intensity(
        (s.spec.min, s.spec.max, s.spec.intensity_increases, s.applied)
        for s in h.parameters.values()
        if s.applied is not None
    )
    return None if strength is None else 100 * strength


# -- headsets ----------------------------------------------------------------------------


class HeadsetsPanel(QWidget):
    COLUMNS = ("Headset", "Link", "Health")

    def __init__(self, model: SessionModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selected)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title("Headsets"))
        self.empty = QLabel("No headset yet. Start the headset app and point it at this console's address.")
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)
        layout.addWidget(self.table)
        model.headset_changed.connect(self.refresh)
        model.current_changed.connect(self.refresh)

    @staticmethod
    def health(h: Headset) -> str:
        snap, tel = h.link, h.telemetry
        parts = []
        if snap and snap.rtt_ms is not None:
            parts.append(f"round trip {snap.rtt_ms:.1f} ms")
        if snap and snap.clock_offset_ms is not None:
            offset = 0.0 if abs(snap.clock_offset_ms) < 0.05 else snap.clock_offset_ms
            parts.append(f"clock {offset:+.1f} ms")
        if tel:
            parts.append(f"{tel.fps:.0f} fps")
            parts.append(f"battery {tel.battery_pct:.0f} %" + (" charging" if tel.charging else ""))
            if tel.temperature_c:
                parts.append(f"{tel.temperature_c:.1f} °C")
        if snap and not snap.encrypted:
            parts.append("UNENCRYPTED (lab bench)")
        if snap and snap.dropped:
            parts.append(f"{snap.dropped} messages dropped (over its budget)")
        return " · ".join(parts) or "–"

    def refresh(self, _name: str = "") -> None:
        names = list(self.model.headsets)
        self.empty.setVisible(not names)
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            h = self.model.headsets[name]
            silent = h.link.silent_for_s if h.link else None
            state = h.state.upper()
            if h.state in (HeadsetState.STALE, HeadsetState.LOST) and silent is not None:
                state += f" ({silent:.1f} s)"
            for col, text in enumerate((name, state, self.health(h))):
                item = self.table.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(row, col, item)
                item.setText(text)
                if col == 1:
                    item.setForeground(QBrush(QColor(STATE_COLOURS.get(h.state, "#333"))))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if col == 2:
                    low = h.telemetry is not None and h.telemetry.battery_pct < 20
                    item.setForeground(QBrush(QColor("#c0392b" if low else "#1e2328")))
            if name == self.model.current:
                self.table.blockSignals(True)
                self.table.selectRow(row)
                self.table.blockSignals(False)
        self.table.resizeRowsToContents()

    def _selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.model.select(self.table.item(rows[0].row(), 0).text())


# -- stimulus ----------------------------------------------------------------------------


class SteadyLabel(QLabel):
    """A label that keeps one size, wide enough for the longest of ``widest``. GUI thread.

    Qt lays the whole window out again whenever a label that may change size gets new text
    (~0.1–5 ms of the GUI thread here); the applied value changes with every slider move and
    ramp step, and nothing around it needs to move.
    """

    def __init__(self, text: str, widest: list[str], min_width: int = 0, parent: QWidget | None = None):
        super().__init__(text, parent)
        self._widest = [text, *widest]
        self._min_width = min_width
        self._fit()

    def _fit(self) -> None:
        metrics, margins = self.fontMetrics(), self.contentsMargins()
        width = max(metrics.horizontalAdvance(t) for t in self._widest) + margins.left() + margins.right() + 4
        height = metrics.height() + margins.top() + margins.bottom() + 2
        self.setFixedSize(max(self._min_width, width), height)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit()  # a style sheet's font arrives when the window polishes the label


class ParameterRow:
    """Slider, number and unit for one parameter, with the applied value beside them."""

    THROTTLE_MS = 120  # while dragging, at most ~8 requests a second

    def __init__(self, panel: StimulusPanel, grid: QGridLayout, row: int, state: ParameterState):
        self.panel, self.name = panel, state.spec.name
        spec = state.spec
        self.step = spec.step if spec.step > 0 else (spec.max - spec.min) / 1000
        self.steps = max(1, round((spec.max - spec.min) / self.step))
        decimals = 0 if spec.step >= 1 else max(1, min(3, -math.floor(math.log10(self.step))))
        self.label = QLabel(spec.label)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, self.steps)
        self.slider.setAccessibleName(spec.label)
        self.slider.setMinimumWidth(140)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(spec.min, spec.max)
        self.spin.setDecimals(decimals)
        self.spin.setSingleStep(self.step)
        self.spin.setSuffix(f" {spec.unit}" if spec.unit else "")
        self.spin.setKeyboardTracking(False)
        widest = [f"now {v:.{decimals}f} {spec.unit} → {v:.{decimals}f}" for v in (spec.min, spec.max)]
        self.applied = SteadyLabel("–", widest, min_width=130)
        self.applied.setToolTip("What the headset shows now")
        grid.addWidget(self.label, row, 0)
        grid.addWidget(self.slider, row, 1)
        grid.addWidget(self.spin, row, 2)
        grid.addWidget(self.applied, row, 3, Qt.AlignmentFlag.AlignVCenter)
        self._pending = False
        self._shown_ramping = False
        self._timer = QTimer(panel, interval=self.THROTTLE_MS)
        self._timer.timeout.connect(self._flush)
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderReleased.connect(self._flush)
        self.spin.valueChanged.connect(self._spin_changed)
        self.show(state)

    def value_of(self, position: int) -> float:
        spec = self.panel.state(self.name).spec
        return min(spec.max, spec.min + position * self.step)

    def position_of(self, value: float) -> int:
        spec = self.panel.state(self.name).spec
        return round((value - spec.min) / self.step)

    def _slider_moved(self, position: int) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(self.value_of(position))
        self.spin.blockSignals(False)
        if self.slider.isSliderDown():
            self._pending = True
            if not self._timer.isActive():
                self._timer.start()
        else:
            self.panel.request(self.name, self.value_of(position))

    def _flush(self) -> None:
        if self._pending:
            self._pending = False
            self.panel.request(self.name, self.value_of(self.slider.value()))
        if not self.slider.isSliderDown():
            self._timer.stop()

    def _spin_changed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self.position_of(value))
        self.slider.blockSignals(False)
        self.panel.request(self.name, value)

    def show(self, state: ParameterState) -> None:
        spec = state.spec
        if state.requested is not None and not self.slider.isSliderDown() and not self.spin.hasFocus():
            for widget, value in ((self.slider, self.position_of(state.requested)), (self.spin, state.requested)):
                widget.blockSignals(True)
                widget.setValue(value)
                widget.blockSignals(False)
        if state.applied is None:
            self.applied.setText("–")
            return
        text = f"now {state.applied:.{self.spin.decimals()}f} {spec.unit}".rstrip()
        if state.ramping and state.target is not None:
            text += f" → {state.target:.{self.spin.decimals()}f}"
        self.applied.setText(text)
        if state.ramping != self._shown_ramping:  # restyling re-polishes the widget: only on change
            self._shown_ramping = state.ramping
            self.applied.setStyleSheet("color: #1f5f9f;" if state.ramping else "")


class StimulusPanel(QWidget):
    def __init__(self, model: SessionModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.rows: dict[str, ParameterRow] = {}
        self._shown_scene: tuple[str, str, tuple[str, ...]] = ("", "", ())
        self.scene_box = QComboBox()
        self.load_button = QPushButton("Load scene")
        self.load_button.clicked.connect(self._load)
        self.ramp = QDoubleSpinBox()
        self.ramp.setRange(0, 600)
        self.ramp.setDecimals(1)
        self.ramp.setSuffix(" s")
        self.ramp.setToolTip("Changes reach their new value over this many seconds (0 = at once)")
        self.preset_box = QComboBox()
        self.preset_box.setPlaceholderText("presets")
        self.recall_button = QPushButton("Recall")
        self.recall_button.clicked.connect(self._recall)
        self.save_button = QPushButton("Save as…")
        self.save_button.clicked.connect(self._save)
        self.status = QLabel("")
        self.status.setObjectName("sceneStatus")
        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 1)
        top = QHBoxLayout()
        top.addWidget(self.scene_box, 1)
        top.addWidget(self.load_button)
        ramp_row = QHBoxLayout()
        ramp_row.addWidget(QLabel("Ramp"))
        ramp_row.addWidget(self.ramp)
        ramp_row.addStretch(1)
        ramp_row.addWidget(self.preset_box)
        ramp_row.addWidget(self.recall_button)
        ramp_row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title("Stimulus"))
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addLayout(ramp_row)
        layout.addLayout(self.grid)
        layout.addStretch(1)
        model.headset_changed.connect(self._headset_changed)
        model.current_changed.connect(self._headset_changed)
        model.parameter_changed.connect(self._parameter_changed)
        model.presets_changed.connect(self._fill_presets)
        self._headset_changed()

    def state(self, name: str) -> ParameterState:
        h = self.model.headset()
        assert h is not None
        return h.parameters[name]

    def request(self, name: str, value: float) -> None:
        self.model.set_parameter(name, value, self.ramp.value())

    def _load(self) -> None:
        scene_id = self.scene_box.currentData()
        if scene_id:
            self.model.load_scene(scene_id)

    def _recall(self) -> None:
        if self.preset_box.currentText():
            self.model.recall_preset(self.preset_box.currentText(), self.ramp.value())

    def _save(self) -> None:
        label, ok = QInputDialog.getText(self, "Save preset", "Name of this set of values:")
        if ok and label.strip():
            self.model.save_preset(label.strip())

    def _fill_presets(self) -> None:
        h = self.model.headset()
        self.preset_box.clear()
        if h is not None:
            self.preset_box.addItems(sorted(self.model.presets.get(h.scene_id, {})))

    def _headset_changed(self, _name: str = "") -> None:
        h = self.model.headset()
        enabled = h is not None and h.state != HeadsetState.LOST
        for w in (self.scene_box, self.load_button, self.recall_button, self.save_button):
            w.setEnabled(enabled)
        if h is None:
            self.status.setText("No headset connected.")
            return
        state = h.scene_state.upper() or "…"
        scene = h.scene()
        self.status.setText(f"{h.name}: {scene.label if scene else h.scene_id or 'no scene'} — {state}")
        key = (h.name, h.scene_id, tuple(h.parameters))
        if [self.scene_box.itemData(i) for i in range(self.scene_box.count())] != [s.id for s in h.scenes]:
            self.scene_box.clear()
            for s in h.scenes:
                self.scene_box.addItem(s.label + (" (calm)" if s.calm else ""), s.id)
        if key != self._shown_scene:
            self._shown_scene = key
            self._rebuild(h)
            self._fill_presets()
        for row in self.rows.values():
            for w in (row.slider, row.spin):
                w.setEnabled(enabled and h.scene_state in ("running", "paused"))

    def _rebuild(self, h: Headset) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.rows = {}
        for i, state in enumerate(h.parameters.values()):
            self.rows[state.spec.name] = ParameterRow(self, self.grid, i, state)

    def _parameter_changed(self, headset: str, name: str) -> None:
        h = self.model.headset()
        if h is not None and headset == h.name and name in self.rows and name in h.parameters:
            self.rows[name].show(h.parameters[name])


# -- panels built after the first paint ---------------------------------------------------


class LaterPanel(QWidget):
    """Stands in for a panel that is slow to build and builds it after its own first paint,
    so that the window is on screen without waiting for it. GUI thread only.

    Panels drawn with pyqtgraph are the case: importing pyqtgraph takes ~0.2 s, a third of the
    console's start. Its ``modules`` are imported one a turn of the event loop and the panel is
    built in the next, so that the heartbeat timer and the link's events get their turns in
    between. (Not in another thread: pyqtgraph's import touches every Qt class, and PySide
    sets classes up on first use in a way that crashed when the GUI thread did so at the same
    time.) Until the panel is built, ``waiting_text`` is shown.
    """

    built = Signal(QWidget)  # the panel, once built
    FALLBACK_MS = 1000  # started by then even if never painted (a window opened hidden)

    def __init__(
        self,
        build: Callable[[], QWidget],
        waiting_text: str,
        modules: tuple[str, ...] = (),
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._build = build
        self._modules = modules
        self.panel: QWidget | None = None
        self._started = False
        self._waiting = QLabel(waiting_text)
        self._waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._waiting.setStyleSheet("color: #7a8591;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._waiting)

    def build_now(self) -> QWidget:
        """Build the panel if not yet done, and return it."""
        if self.panel is None:
            self.panel = self._build()
            self.layout().replaceWidget(self._waiting, self.panel)
            self._waiting.deleteLater()
            self.built.emit(self.panel)
        return self.panel

    def _start(self) -> None:
        if not self._started and self.panel is None:
            self._started = True
            # Zero timers run once this frame is drawn and on screen; timers tied to this
            # widget never run after it was closed.
            QTimer.singleShot(0, self, self._import)

    def _import(self, next_module: int = 0) -> None:
        """One module a turn (pyqtgraph alone takes ~0.2 s), then the build in a turn of its own."""
        if next_module < len(self._modules):
            importlib.import_module(self._modules[next_module])
            QTimer.singleShot(0, self, lambda: self._import(next_module + 1))
        else:
            QTimer.singleShot(0, self, self.build_now)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(self.FALLBACK_MS, self, self._start)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        self._start()


class PhysioSlot(LaterPanel):
    """The physiology panel's place in the window until it is built (see LaterPanel): marks
    that arrive meanwhile are kept and drawn once it is there."""

    def __init__(self, build: Callable[[], QWidget], parent: QWidget | None = None):
        super().__init__(build, "Physiology: starting…", ("pyqtgraph", "console.qt.physio_panel"), parent)
        self._marks: list[tuple[float, str, str]] = []
        self.built.connect(self._draw_kept_marks)

    def add_mark(self, t: float, label: str, color: str = "#d35400") -> None:
        if self.panel is None:
            self._marks.append((t, label, color))
        else:
            self.panel.add_mark(t, label, color)

    def _draw_kept_marks(self, panel: QWidget) -> None:
        marks, self._marks = self._marks, []
        for t, label, color in marks:
            panel.add_mark(t, label, color)


# -- self-report and timeline ------------------------------------------------------------


TIMELINE_MAX_MARKS = 2000  # markers and safety events kept on the timeline; the oldest go first


class SelfReportPanel(QWidget):
    """Latest ratings in large type, and the session timeline: stimulus intensity as a
    step line, SUDS as points, marks as vertical lines, on the console's clock.

    In the console's own start (``timeline_after_first_paint``, asked for by the console app) the
    timeline plot is built after the window's first paint (:class:`LaterPanel`), and what
    happened before is drawn from the model then; otherwise it is built with the panel.
    """

    def __init__(self, model: SessionModel, parent: QWidget | None = None, *, timeline_after_first_paint: bool = False):
        super().__init__(parent)
        self.model = model
        self.suds_button = QPushButton("Ask SUDS  (S)")
        self.expect_button = QPushButton("Ask expectancy  (E)")
        self.suds_button.clicked.connect(lambda: model.ask("suds"))
        self.expect_button.clicked.connect(lambda: model.ask("expectancy"))
        self.latest = QLabel("SUDS –")
        self.latest.setObjectName("bigNumber")
        self.latest_detail = QLabel("No rating yet.")
        self.timeline = LaterPanel(self._build_plot, "Timeline: starting…", ("pyqtgraph",))
        self.timeline.setMinimumHeight(140)
        self.plot = None  # the pyqtgraph PlotWidget, once built
        self._intensity: list[tuple[float, float]] = []
        self._marks = None  # the timeline's MarkLayer, once the plot is built
        self._marked_plot = None
        buttons = QHBoxLayout()
        buttons.addWidget(self.suds_button)
        buttons.addWidget(self.expect_button)
        numbers = QHBoxLayout()
        numbers.addWidget(self.latest)
        numbers.addWidget(self.latest_detail, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title("Self-report and timeline"))
        layout.addLayout(buttons)
        layout.addLayout(numbers)
        layout.addWidget(self.timeline, 1)
        model.rated.connect(self._rated)
        model.marked.connect(self._marked)
        self._redraw = QTimer(self, interval=250, singleShot=True)
        self._redraw.timeout.connect(self._draw_intensity)
        model.parameter_changed.connect(self._intensity_changed)
        model.headset_changed.connect(self._intensity_changed)
        if not timeline_after_first_paint:
            self.timeline.build_now()

    def _build_plot(self) -> QWidget:
        import pyqtgraph as pg  # ~0.2 s: after the first paint, never before

        plot = pg.PlotWidget(background="w")
        plot.setYRange(0, 100)
        plot.setLabel("left", "%  /  SUDS")
        plot.setLabel("bottom", "session time", units="s")
        plot.showGrid(x=False, y=True, alpha=0.2)
        plot.addLegend(offset=(-8, -8))  # bottom right, clear of the mark labels
        self.intensity_curve = plot.plot(
            [], [], pen=pg.mkPen("#7f8c8d", width=2), stepMode=None, name="stimulus intensity %"
        )
        self.suds_curve = plot.plot(
            [], [], pen=pg.mkPen("#1f5f9f", width=1), symbol="o", symbolSize=8, symbolBrush="#1f5f9f", name="SUDS"
        )
        from console.qt.marks import MarkedPlot, MarkLayer

        # Every marker and safety event of the session on one item (a long session has hundreds).
        self._marks = MarkLayer(self.font().family(), origin=self.model.started_at, max_marks=TIMELINE_MAX_MARKS)
        self._marked_plot = MarkedPlot(plot.getPlotItem())
        self._marks.redraw([self._marked_plot])
        self.plot = plot
        self._draw_intensity()
        self._draw_suds()
        for mark in self.model.marks:
            self._marked(mark)
        return plot

    def timeline_marks(self) -> list[str]:
        """The labels of the marks on the timeline, oldest first (GUI thread; for checks)."""
        return [label for _, label, _ in self._marks.marks] if self._marks is not None else []

    def _t(self, at: float) -> float:
        return at - self.model.started_at

    def _rated(self, rating: Rating) -> None:
        if rating.value is None:
            self.latest_detail.setText(f"{rating.kind.upper()} prompt expired without an answer")
            return
        label = "SUDS" if rating.kind == "suds" else rating.kind.capitalize()
        unit = " %" if rating.kind != "suds" else ""
        self.latest.setText(f"{label} {rating.value}{unit}")
        self.latest_detail.setText(
            f"at {clock_text(self._t(rating.at))}, answered in {rating.response_s:.1f} s" if rating.response_s else ""
        )
        self._draw_suds()

    def _draw_suds(self) -> None:
        if self.plot is None:
            return  # drawn from the model's ratings when the plot is built
        suds = [(self._t(r.at), r.value) for r in self.model.ratings if r.kind == "suds" and r.value is not None]
        if suds:
            xs, ys = zip(*suds, strict=True)
            self.suds_curve.setData(list(xs), list(ys))

    def _intensity_changed(self, headset: str, _param: str = "") -> None:
        h = self.model.headset()
        if h is None or headset != h.name:
            return
        pct = intensity_pct(h)
        if pct is None:
            return
        t = self._t(self.model.clock())
        if self._intensity and abs(self._intensity[-1][1] - pct) < 0.05:
            return
        if self._intensity:
            self._intensity.append((t, self._intensity[-1][1]))  # hold until now: a step, not a slope
        self._intensity.append((t, pct))
        if not self._redraw.isActive():
            self._redraw.start()  # a ramp changes this ten times a second: redraw at most 4

    def _draw_intensity(self) -> None:
        if self._intensity and self.plot is not None:
            xs, ys = zip(*self._intensity, strict=True)
            self.intensity_curve.setData(list(xs), list(ys))

    def _marked(self, mark: Mark) -> None:
        if mark.kind in ("stimulus", "rating") or self._marks is None:
            return  # the intensity line and the SUDS points already show these; the rest when built
        self._marks.origin = self.model.started_at
        self._marks.add(mark.at, mark.label, MARK_COLOURS.get(mark.kind, "#888"), [self._marked_plot])


# -- event log ---------------------------------------------------------------------------


class EventLog(QWidget):
    """The session's log lines, newest at the bottom. GUI thread only.

    A line is added to the table shortly after the model logs it, together with any others
    logged meanwhile: logging happens on the paths that must be quick (a slider move logs
    while its request is on the way to the headset), and a burst of lines costs one layout
    and one scroll instead of one each.
    """

    MAX_ROWS = 2000
    SHOW_WITHIN_MS = 50  # too short to notice; long enough to keep off a control round trip

    def __init__(self, model: SessionModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(("Time", "Headset", "What happened"))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        # Fit the columns to the rows on screen: by default Qt measures up to 1000 rows on
        # every change, and adding a line cost ~10 ms once the log was 1000 lines long.
        header.setResizeContentsPrecision(0)
        self.table.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title("Event log"))
        layout.addWidget(self.table)
        self._waiting: list[LogEntry] = list(model.log)
        self._show_timer = QTimer(self, interval=self.SHOW_WITHIN_MS, singleShot=True)
        self._show_timer.timeout.connect(self.show_waiting)
        self.show_waiting()
        model.logged.connect(self.add)

    def add(self, entry: LogEntry) -> None:
        """A new log line (GUI thread): on screen within SHOW_WITHIN_MS."""
        self._waiting.append(entry)
        if not self._show_timer.isActive():
            self._show_timer.start()

    def show_waiting(self) -> None:
        """Put the lines logged since the last time into the table, then scroll to the newest."""
        waiting, self._waiting = self._waiting[-self.MAX_ROWS :], []
        if not waiting:
            return
        table = self.table
        overflow = table.rowCount() + len(waiting) - self.MAX_ROWS
        if overflow > 0:
            table.model().removeRows(0, overflow)
        first = table.rowCount()
        table.setRowCount(first + len(waiting))
        for row, entry in enumerate(waiting, first):
            colour = QColor(LOG_COLOURS.get(entry.kind, "#222222"))
            for col, text in enumerate((clock_text(entry.at - self.model.started_at), entry.headset, entry.text)):
                item = QTableWidgetItem(text)
                item.setForeground(QBrush(colour))
                if entry.kind == "safety":
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(row, col, item)
            if len(entry.text) > 40:  # only long lines wrap; measuring every row costs ~2 ms each
                table.resizeRowToContents(row)
        table.scrollToBottom()
