"""The therapist's live-session window.

Layout, for reading at arm's length: a toolbar with the session clock and the always
visible MAKE SAFE control; a red banner whenever a headset is stale or lost; the patient's
view in the middle; headsets and stimulus controls on the left; self-report, timeline and
the event log on the right; physiology below.

The window's own timer produces the heartbeats to the headsets, in the GUI thread: if this
thread ever stalls, the heartbeats stop with it and the headsets make their scenes calm.

GUI thread only.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from console.core.clock import clock_text
from console.core.colours import MARK_COLOURS
from console.core.signals import ViewFailure, view_failures
from console.core.stall_watch import Stall, StallWatch
from console.physio.live_metrics import LiveMetrics, LiveReading
from console.qt.bridge import LinkBridge
from console.qt.clinic_panel import ClinicPanel
from console.qt.mirror_view import MirrorView
from console.qt.panels import EventLog, HeadsetsPanel, SelfReportPanel, StimulusPanel
from console.qt.recording_bar import RecordingBar
from console.qt.style import STYLE
from console.session.devices import DeviceList
from console.session.model import Mark, SessionModel
from protocol.link import HeadsetState, PairingEnded, PairingRequested, PairingWindow

if TYPE_CHECKING:
    from console.qt.devices_dialog import DevicesDialog

PAIRING_EVENTS = (PairingRequested, PairingEnded, PairingWindow)

MAKE_SAFE_KEYS = ("Esc", "F12")


log = logging.getLogger("vrclinic.window")


def _log_stall(stall: Stall) -> None:
    """The stall watch's thread: the whole stack, for whoever reads the console's log."""
    log.warning("GUI thread stalled %s; stack, innermost last:\n  %s", stall, "\n  ".join(stall.stack))


class MainWindow(QMainWindow):
    # A new live-metrics reading, emitted in the metrics worker, shown in the GUI thread.
    reading_ready = Signal(object)
    # A view's callback failed (console.core.signals): reported in the emitting thread, shown
    # in the GUI thread (queued when it came from another thread).
    view_failed = Signal(object)

    def __init__(
        self,
        model: SessionModel,
        bridge: LinkBridge,
        physio: QWidget | None = None,
        recording: RecordingBar | None = None,
        live: LiveMetrics | None = None,
        clinic: ClinicPanel | None = None,
        parent: QWidget | None = None,
        *,
        devices: DeviceList | None = None,
        plots_after_first_paint: bool = False,
    ):
        """GUI thread. ``plots_after_first_paint``: the timeline's plot is built once the
        window is on screen (the console's own start; pyqtgraph is slow to import)."""
        super().__init__(parent)
        self.model, self.bridge, self.physio, self.recording = model, bridge, physio, recording
        self.live, self.clinic = live, clinic
        self.devices = devices  # the paired headsets (Devices…); None: no device management here
        self.devices_dialog: DevicesDialog | None = None
        self._reading: LiveReading | None = None  # the newest, as show_reading got it
        self.setWindowTitle("vrclinic — live session")
        self.setStyleSheet(STYLE)

        # Toolbar row: clock, make safe, pause/resume, marker.
        self.clock = QLabel("0:00:00")
        self.clock.setObjectName("sessionClock")
        self.clock.setToolTip("Time since the session started")
        self.make_safe_button = QPushButton("MAKE SAFE")
        self.make_safe_button.setObjectName("makeSafe")
        self.make_safe_button.setToolTip(f"Fade every headset to its calm scene now ({' or '.join(MAKE_SAFE_KEYS)})")
        self.make_safe_button.clicked.connect(self.make_safe)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(lambda: self.model.pause())
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(lambda: self.model.resume())
        self.marker_note = QLineEdit()
        self.marker_note.setPlaceholderText("marker note (optional)")
        self.marker_note.returnPressed.connect(self.add_marker)
        self.marker_button = QPushButton("Marker  (M)")
        self.marker_button.clicked.connect(self.add_marker)
        bar = QHBoxLayout()
        bar.addWidget(self.clock)
        bar.addWidget(self.make_safe_button)
        bar.addSpacing(16)
        bar.addWidget(self.pause_button)
        bar.addWidget(self.resume_button)
        bar.addStretch(1)
        bar.addWidget(self.marker_note, 1)
        bar.addWidget(self.marker_button)
        if recording is not None:
            bar.addSpacing(16)
            bar.addWidget(recording)
            self._session_menu(recording)
        if devices is not None:
            tools = self.menuBar().addMenu("&Devices")
            tools.addAction("Paired headsets and pairing…", self.show_devices).setShortcut(QKeySequence("Ctrl+Shift+D"))

        self.banner = QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.hide()

        self.headsets = HeadsetsPanel(model)
        self.stimulus = StimulusPanel(model)
        self.mirror = MirrorView(model.mirror)
        self.mirror.settings_changed.connect(self.model.set_mirror)
        self.report = SelfReportPanel(model, timeline_after_first_paint=plots_after_first_paint)
        self.log = EventLog(model)

        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.headsets)
        left.addWidget(self.stimulus)
        if clinic is not None:  # the plan under the sliders it drives
            left.addWidget(clinic)
        left.setSizes([70, 220, 170] if clinic is not None else [110, 450])
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.report)
        right.addWidget(self.log)
        right.setSizes([300, 300])
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(left)
        top.addWidget(self.mirror)
        top.addWidget(right)
        top.setSizes([470, 600, 430])
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(top)
        if physio is not None:
            body.addWidget(physio)
            body.setSizes([500, 440])

        # The body in one line: heart rate, skin conductance, the arousal index and its reasons.
        self.arousal = QLabel("")
        self.arousal.setObjectName("arousal")
        self.arousal.setToolTip(
            "Live metrics from the physiology streams (last 30 s). Arousal: excess over this patient's resting "
            "baseline, measured over the first minute; 0 % = at baseline."
        )
        self.baseline_button = QPushButton("Re-measure baseline")
        self.baseline_button.setToolTip("The patient is at rest now: measure the resting baseline again (1 min)")
        self.baseline_button.clicked.connect(lambda: self.live.start_baseline() if self.live else None)
        body_row = QHBoxLayout()
        body_row.addWidget(self.arousal, 1)
        body_row.addWidget(self.baseline_button)
        for w in (self.arousal, self.baseline_button):
            w.setVisible(live is not None)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addLayout(bar)
        layout.addWidget(self.banner)
        if clinic is not None:
            layout.addWidget(clinic.bar)
        layout.addLayout(body_row)
        layout.addWidget(body, 1)
        self.setCentralWidget(central)

        # Keys: make safe works from anywhere in the application, whatever has focus.
        for keys in MAKE_SAFE_KEYS:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(self.make_safe)
        for keys, action in (
            ("S", lambda: self.model.ask("suds")),
            ("E", lambda: self.model.ask("expectancy")),
            ("M", self.add_marker),
            ("Ctrl+P", lambda: self.model.pause()),
            ("Ctrl+R", lambda: self.model.resume()),
        ):
            QShortcut(QKeySequence(keys), self).activated.connect(action)

        if live is not None:
            self.reading_ready.connect(self.show_reading)  # queued: emitted in the metrics worker
            live.on_reading = self.reading_ready.emit
        bridge.event.connect(self.on_link_event)
        bridge.frame.connect(self.on_frame)
        self.mirror.canvas.resized.connect(bridge.set_mirror_size)
        # Only the selected headset's view is decoded (the others' frames are still recorded).
        bridge.show_mirror_of(model.current or None)
        model.current_changed.connect(bridge.show_mirror_of)
        model.headset_changed.connect(self._headsets_changed)
        model.marked.connect(self._marked)

        interval_ms = round(bridge.link.config.heartbeat_interval_s * 1000)
        self.heartbeat = QTimer(self, interval=interval_ms)
        self.heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
        self.heartbeat.timeout.connect(self._beat)
        # A late beat is said in the event log with where this thread was meanwhile.
        self.stall_watch = StallWatch(bridge.link.config.watchdog_timeout_s / 2, on_stall=_log_stall).start()
        self._stalls_said = 0
        self.heartbeat.start()
        self.stats_timer = QTimer(self, interval=500)
        self.stats_timer.timeout.connect(self._tick)
        self.stats_timer.start()
        paired = len(devices.paired()) if devices is not None else 0
        self.statusBar().showMessage(
            f"Listening for headsets on {bridge.link.endpoint} · encrypted · {paired} paired (Devices…)"
        )
        # A part of the window that failed stays named here (the status message above is
        # rewritten every tick): the session goes on, and the therapist knows what to distrust.
        self.view_problem = QLabel("")
        self.view_problem.setObjectName("viewProblem")
        self.view_problem.hide()
        self.statusBar().addPermanentWidget(self.view_problem)
        self.view_failed.connect(self._show_view_failure)
        self._stop_hearing_failures = view_failures.listen(self.view_failed.emit)
        self.resize(1500, 940)
        self._painted = False
        bridge.open()  # everything is connected: events that arrived while building flow now

    def _session_menu(self, recording: RecordingBar) -> None:
        menu = self.menuBar().addMenu("&Session")
        record = menu.addAction("Record / stop recording", recording.toggle)
        record.setShortcut(QKeySequence(recording.RECORD_KEYS))
        auto = menu.addAction("Record every session automatically")
        auto.setCheckable(True)
        auto.setChecked(recording.controller.settings.auto_record)
        auto.toggled.connect(recording.controller.set_auto_record)
        menu.addSeparator()
        menu.addAction("Open a recorded session for review…", self.open_recorded).setShortcut(QKeySequence("Ctrl+O"))
        menu.addAction("Recover interrupted sessions…", self.offer_recovery)
        self.auto_record_action = auto

    def open_recorded(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        from console.qt.review_window import open_review

        root = self.recording.controller.sessions_root if self.recording else Path.home()
        folder = QFileDialog.getExistingDirectory(self, "Open a recorded session", str(root))
        if folder:
            self._review = open_review(Path(folder), parent=self)

    def offer_recovery(self, quiet: bool = False) -> None:
        """Look for the sessions a crash left open, off this thread, and offer them when found
        (at start, ``quiet``: say nothing if none); see :meth:`RecordingBar.offer_recovery`."""
        if self.recording is not None:
            self.recording.offer_recovery(self, quiet, lambda text: self.statusBar().showMessage(text, 6000))

    def _beat(self) -> None:
        """The heartbeat, from the GUI thread. A late tick means the window was stuck: the
        stall watch says so (in :meth:`_tick`), because the headsets may have made their
        scenes calm meanwhile."""
        self.bridge.link.beat()
        self.stall_watch.tick()

    # -- actions ----------------------------------------------------------------------
    @Slot()
    def make_safe(self) -> None:
        self.model.make_safe()
        self.statusBar().showMessage("MAKE SAFE sent: every headset is fading to its calm scene.", 8000)

    @Slot()
    def add_marker(self) -> None:
        note = self.marker_note.text().strip()
        self.model.add_marker("marker", note)
        self.marker_note.clear()

    # -- from the link ----------------------------------------------------------------
    def _say_stalls(self) -> None:
        stalls, self._stalls_said = self.stall_watch.since(self._stalls_said)
        for stall in stalls:
            self.model.note("error", "", f"the console window was unresponsive for {stall}")

    @Slot(object)
    def on_link_event(self, event: object) -> None:
        if isinstance(event, PAIRING_EVENTS):
            if self.devices is not None:
                if isinstance(event, PairingRequested):
                    self.show_devices()  # a technician asked for it: put it in front
                if self.devices_dialog is not None:
                    self.devices_dialog.on_link_event(event)
            return
        self.model.apply(event)

    def show_unencrypted_port(self, endpoint: str) -> None:
        """The lab bench's "allow unpaired engines": said in the log and kept in red on screen."""
        text = (
            f"UNENCRYPTED port open on {endpoint}: any engine on the network can connect there unpaired "
            "(lab bench only)"
        )
        self.model.note("safety", "", text)
        label = QLabel(f"⚠ unencrypted lab-bench port {endpoint}")
        label.setObjectName("unencryptedPort")
        label.setToolTip(text)
        label.setStyleSheet("color: white; background: #b00020; padding: 2px 6px; font-weight: bold;")
        self.statusBar().addPermanentWidget(label)

    @Slot()
    def show_devices(self) -> None:
        """Devices…: the paired headsets, pairing, renaming and revoking (technicians)."""
        if self.devices is None:
            return
        if self.devices_dialog is None:
            from console.qt.devices_dialog import DevicesDialog  # a technician's dialog: not on the start's path

            self.devices_dialog = DevicesDialog(self.bridge.link, self.devices, self)
        self.devices_dialog.refresh()
        self.devices_dialog.show()
        self.devices_dialog.raise_()

    @Slot(str, QImage, object, float, int)
    def on_frame(self, name: str, image: QImage, captured_at: float | None, received_at: float, _seq: int) -> None:
        if name == self.model.current:
            self.mirror.canvas.show_frame(name, image, captured_at, received_at)

    # -- upkeep -----------------------------------------------------------------------
    def _tick(self) -> None:
        self.model.refresh_link_stats()
        self._say_stalls()
        self.clock.setText(clock_text(self.model.elapsed()))
        if self.live is not None and self.live.problem:
            self.arousal.setText(f"Live metrics paused: {self.live.problem}")
        elif self.live is not None and self._reading is None:
            self.arousal.setText("Live metrics: starting…")
        if self.clinic is not None:
            self.clinic.clinic.tick(self._reading.values() if self._reading else {})
        self._headsets_changed()

    @Slot(object)
    def show_reading(self, reading: LiveReading) -> None:
        """A new live-metrics reading: on screen and into the record at once."""
        self.arousal.setText(reading.text())
        if self._reading is None or reading.at != self._reading.at:  # not when no new sample came
            self.model.measure(reading.at, reading.values())
        self._reading = reading

    def _headsets_changed(self, _name: str = "") -> None:
        troubled = [h for h in self.model.headsets.values() if h.state in (HeadsetState.STALE, HeadsetState.LOST)]
        if troubled:
            lines = []
            for h in troubled:
                silent = h.link.silent_for_s if h.link else None
                since = f" — no heartbeat for {silent:.1f} s" if silent is not None else ""
                calm = " The headset has made its scene calm by itself." if h.state == HeadsetState.LOST else ""
                lines.append(f"Headset {h.name} {h.state.upper()}{since}.{calm}")
            self.banner.setText("  ".join(lines))
            self.banner.show()
        else:
            self.banner.hide()
        current = self.model.headset()
        self.mirror.canvas.lost_text = (
            f"{current.name} is {current.state}" if current and current.state == HeadsetState.LOST else ""
        )
        connected = sum(h.state == HeadsetState.CONNECTED for h in self.model.headsets.values())
        parts = [f"{connected} headset{'s' if connected != 1 else ''} connected"]
        if current is not None:
            scene = current.scene()
            parts.append(
                f"{current.name}: {scene.label if scene else current.scene_id or 'no scene'}"
                f" {current.scene_state or ''}".rstrip()
            )
            if self.mirror.canvas.has_signal:
                parts.append(f"mirror {self.mirror.canvas.fps:.0f} fps")
        parts.append(f"listening on {self.bridge.link.endpoint}")
        self.statusBar().showMessage(" · ".join(parts))

    def _show_view_failure(self, failure: ViewFailure) -> None:
        """GUI thread. Names the failing part and how often parts failed; the log has the traceback."""
        count = view_failures.count
        self.view_problem.setText(
            f"⚠ {count} display problem{'s' if count != 1 else ''}: {failure.callback} — the session goes on"
        )
        self.view_problem.setToolTip(f"{failure.text()}\nThe traceback is in the console's log (vrclinic.views).")
        self.view_problem.show()

    def _marked(self, mark: Mark) -> None:
        add_mark = getattr(self.physio, "add_mark", None)
        if add_mark is not None:
            add_mark(mark.at, mark.label, MARK_COLOURS.get(mark.kind, MARK_COLOURS["stimulus"]))

    def paintEvent(self, event: object) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            # For `make bench` (console_start_s): when the first frame of the window is drawn.
            if os.environ.get("VRCLINIC_REPORT_FIRST_PAINT"):
                print(f"first-paint {time.time():.6f}", flush=True)

    def closeEvent(self, event: QCloseEvent) -> None:
        # The recording ends with the session, then the headsets hear bye. A beat before and
        # after each step: on a busy machine a step may take a while, and the headsets must
        # hear "closed", not a silence their watchdogs judge.
        self.heartbeat.stop()
        self.bridge.link.beat()
        self.stall_watch.close()
        self._stop_hearing_failures()
        if self.live is not None:
            self.live.on_reading = None
        if self.recording is not None:
            self.recording.controller.stop()  # returns at once: the files end in the recording's threads
            self.bridge.link.beat()
        self.stats_timer.stop()
        self.bridge.close()
        super().closeEvent(event)
