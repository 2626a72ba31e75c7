"""The live-session panels: headsets, stimulus controls, self-report with the timeline,
and the event log. Each is a thin view: it reads the SessionModel, listens to its signals
and calls its commands. GUI thread only.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
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
        self.applied = QLabel("–")
        self.applied.setMinimumWidth(130)
        self.applied.setToolTip("What the headset shows now")
        grid.addWidget(self.label, row, 0)
        grid.addWidget(self.slider, row, 1)
        grid.addWidget(self.spin, row, 2)
        grid.addWidget(self.applied, row, 3)
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


# -- self-report and timeline ------------------------------------------------------------


class SelfReportPanel(QWidget):
    """Latest ratings in large type, and the session timeline: stimulus intensity as a
    step line, SUDS as points, marks as vertical lines, on the console's clock."""

    def __init__(self, model: SessionModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.suds_button = QPushButton("Ask SUDS  (S)")
        self.expect_button = QPushButton("Ask expectancy  (E)")
        self.suds_button.clicked.connect(lambda: model.ask("suds"))
        self.expect_button.clicked.connect(lambda: model.ask("expectancy"))
        self.latest = QLabel("SUDS –")
        self.latest.setObjectName("bigNumber")
        self.latest_detail = QLabel("No rating yet.")
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumHeight(140)
        self.plot.setYRange(0, 100)
        self.plot.setLabel("left", "%  /  SUDS")
        self.plot.setLabel("bottom", "session time", units="s")
        self.plot.showGrid(x=False, y=True, alpha=0.2)
        self.plot.addLegend(offset=(-8, -8))  # bottom right, clear of the mark labels
        self.intensity_curve = self.plot.plot(
            [], [], pen=pg.mkPen("#7f8c8d", width=2), stepMode=None, name="stimulus intensity %"
        )
        self.suds_curve = self.plot.plot(
            [], [], pen=pg.mkPen("#1f5f9f", width=1), symbol="o", symbolSize=8, symbolBrush="#1f5f9f", name="SUDS"
        )
        self._intensity: list[tuple[float, float]] = []
        self._mark_lines: list[pg.InfiniteLine] = []
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
        layout.addWidget(self.plot, 1)
        model.rated.connect(self._rated)
        model.marked.connect(self._marked)
        self._redraw = QTimer(self, interval=250, singleShot=True)
        self._redraw.timeout.connect(self._draw_intensity)
        model.parameter_changed.connect(self._intensity_changed)
        model.headset_changed.connect(self._intensity_changed)

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
        if self._intensity:
            xs, ys = zip(*self._intensity, strict=True)
            self.intensity_curve.setData(list(xs), list(ys))

    def _marked(self, mark: Mark) -> None:
        if mark.kind in ("stimulus", "rating"):
            return  # the intensity line and the SUDS points already show these
        line = pg.InfiniteLine(
            pos=self._t(mark.at),
            angle=90,
            pen=pg.mkPen(MARK_COLOURS.get(mark.kind, "#888"), width=1),
            label=mark.label,
            labelOpts={"position": 0.92, "color": MARK_COLOURS.get(mark.kind, "#888"), "rotateAxis": (1, 0)},
        )
        self.plot.addItem(line)
        self._mark_lines.append(line)


# -- event log ---------------------------------------------------------------------------


class EventLog(QWidget):
    MAX_ROWS = 2000

    def __init__(self, model: SessionModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(("Time", "Headset", "What happened"))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title("Event log"))
        layout.addWidget(self.table)
        for entry in model.log:
            self.add(entry)
        model.logged.connect(self.add)

    def add(self, entry: LogEntry) -> None:
        if self.table.rowCount() >= self.MAX_ROWS:
            self.table.removeRow(0)
        row = self.table.rowCount()
        self.table.insertRow(row)
        colour = QColor(LOG_COLOURS.get(entry.kind, "#222222"))
        for col, text in enumerate((clock_text(entry.at - self.model.started_at), entry.headset, entry.text)):
            item = QTableWidgetItem(text)
            item.setForeground(QBrush(colour))
            if entry.kind == "safety":
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.table.setItem(row, col, item)
        if len(entry.text) > 40:  # only long lines wrap; measuring every row costs ~2 ms each
            self.table.resizeRowToContents(row)
        self.table.scrollToBottom()
