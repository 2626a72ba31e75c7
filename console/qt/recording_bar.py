"""The recording controls in the session window's toolbar, and the offer to recover a
session a crash left open. Thin views over :class:`console.recording.control.RecordingController`.

GUI thread only. Nothing here waits for a file or the store: the controller hands store
work to the store's thread, whose results come back through :class:`StoreDelivery` (a
queued Qt signal); looking for interrupted sessions runs there too, and recovering them
reads files in a worker thread that reports back through a queued Qt signal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core.clock import clock_text
from console.qt.store_delivery import StoreDelivery, while_alive
from console.recording import recovery
from console.recording.control import RecordingController
from console.recording.journal import RecordingError
from console.records.store import StoreError

IDLE_STYLE = "QPushButton#record { font-weight: 700; color: #c0392b; }"
ACTIVE_STYLE = "QPushButton#record { font-weight: 700; color: white; background: #c0392b; border: 1px solid #8e2a20; }"


class RecordingBar(QWidget):
    """Patient code, the Record button (showing how long it has been recording) and the
    recording's state in words."""

    RECORD_KEYS = "Ctrl+Shift+R"

    def __init__(self, controller: RecordingController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.recovery_dialog: RecoveryDialog | None = None
        self._store_delivery = StoreDelivery(controller.store, self)  # store results, as soon as ready
        self.patient = QLineEdit()
        self.patient.setPlaceholderText("patient code")
        self.patient.setToolTip(
            "A pseudonymous code such as P-014, not a name: it labels the recording and the session store"
        )
        self.patient.setFixedWidth(120)
        self.patient.editingFinished.connect(self._patient_edited)
        self.button = QPushButton("● Record")
        self.button.setObjectName("record")
        self.button.setToolTip(f"Start or stop recording this session ({self.RECORD_KEYS})")
        self.button.clicked.connect(self.toggle)
        self.state = QLabel("not recording")
        self.state.setObjectName("sceneStatus")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.patient)
        layout.addWidget(self.button)
        layout.addWidget(self.state)
        self._timer = QTimer(self, interval=250)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        controller.changed.connect(self._show)
        self._show()

    def offer_recovery(self, parent: QWidget, quiet: bool = False, say: Callable[[str], None] = print) -> None:
        """Look for sessions a crash left open (in the store's thread) and, when some are
        found, offer to recover them in :attr:`recovery_dialog`. ``quiet`` (at start): say
        nothing if there are none; otherwise ``say`` so."""

        def found(sessions: list[recovery.Interrupted]) -> None:
            if not sessions:
                if not quiet:
                    say("No interrupted session to recover.")
                return
            self.recovery_dialog = RecoveryDialog(self.controller, sessions, parent)
            self.recovery_dialog.show()

        self.controller.interrupted(while_alive(parent, found))

    def _patient_edited(self) -> None:
        try:
            self.controller.set_patient(self.patient.text())
        except (StoreError, RecordingError) as exc:
            self.patient.setText(self.controller.patient)
            self.state.setText(str(exc))
            self.state.setStyleSheet("color: #c0392b;")

    def toggle(self) -> None:
        self._patient_edited()
        try:
            self.controller.toggle()
        except RecordingError as exc:
            self.controller.model.note("error", "", f"recording: {exc}")
        self._show()

    def _tick(self) -> None:
        self.controller.poll()
        rec = self.controller.current
        if rec is not None:
            since = self.controller.model.clock() - rec.manifest["recording_started_clock"]
            self.button.setText(f"■ Stop  REC {clock_text(since)}")
            # The button says it is recording; the label says only what is not yet true.
            self.state.setText("" if rec.state_text == "recording" else f"{rec.state_text}…")
            self.button.setToolTip(f"Recording to {rec.folder} ({self.RECORD_KEYS} stops)")

    def _show(self) -> None:
        recording = self.controller.recording
        self.patient.setEnabled(not recording)
        self.button.setStyleSheet(ACTIVE_STYLE if recording else IDLE_STYLE)
        self.state.setStyleSheet("")
        if not recording:
            self.button.setText("● Record")
            self.button.setToolTip(f"Start recording this session ({self.RECORD_KEYS})")
            self.state.setText("finishing…" if self.controller.finishing else "")
        self._tick()


class _Worker(QObject):
    done = Signal(object)  # recovery.Recovered, delivered in the GUI thread


class RecoveryDialog(QDialog):
    """Offers to recover sessions that were interrupted. Not modal: the live session (and
    its heartbeats) go on while it is open."""

    def __init__(self, controller: RecordingController, found: list[recovery.Interrupted], parent=None):
        super().__init__(parent)
        self.controller = controller
        self.found = found
        self.results: list[recovery.Recovered] = []
        self.setWindowTitle("Interrupted session")
        self.setModal(False)
        plural = "sessions were" if len(found) > 1 else "session was"
        self.message = QLabel(
            f"<b>{len(found)} {plural} interrupted</b>: the console stopped while recording "
            "(it was closed by force, crashed, or the computer lost power).<br>"
            "What was recorded up to then is kept. Recover it now to check it and add it to the session history."
        )
        self.message.setWordWrap(True)
        self.list = QListWidget()
        for item in found:
            self.list.addItem(item.describe())
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox()
        self.recover_button = self.buttons.addButton("Recover", QDialogButtonBox.ButtonRole.AcceptRole)
        self.later_button = self.buttons.addButton("Later", QDialogButtonBox.ButtonRole.RejectRole)
        self.recover_button.clicked.connect(self.recover)
        self.later_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.list)
        layout.addWidget(self.progress)
        layout.addWidget(self.outcome)
        layout.addWidget(self.buttons)
        self.resize(640, 300)
        self._worker = _Worker()
        self._worker.done.connect(self._recovered)

    def recover(self) -> None:
        self.recover_button.setEnabled(False)
        self.progress.show()
        self.outcome.setText("Reading the recordings back…")
        folders = [item.folder for item in self.found]

        def work() -> None:
            for folder in folders:
                try:
                    result = recovery.recover(folder)
                except OSError as exc:
                    result = recovery.Recovered(Path(folder), False, f"{folder}: could not be recovered ({exc}).")
                self._worker.done.emit(result)

        threading.Thread(target=work, name="vrclinic-recover", daemon=True).start()

    def _recovered(self, result: recovery.Recovered) -> None:
        self.results.append(result)
        self.controller.recovered(result)
        self.outcome.setText("<br>".join(r.text for r in self.results))
        if len(self.results) == len(self.found):
            self.progress.hide()
            self.later_button.setText("Close")
