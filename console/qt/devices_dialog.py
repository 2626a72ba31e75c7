"""Devices…: the headsets paired with this console, pairing a new one by comparing a code,
renaming and revoking. For technicians; a therapist never needs it during a session.

Threads: everything here runs in the GUI thread, except :func:`_save_in_background`, which
writes ``devices.json`` in a short-lived thread of its own (the GUI thread never waits for
the disk) and reports a failure back through a queued signal.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.session.devices import Device, DeviceList, DeviceListError
from protocol.link import (
    PAIRING_OPEN_S,
    ConsoleLink,
    HeadsetSnapshot,
    PairingEnded,
    PairingRequested,
    PairingWindow,
)


class PairingRequestBox(QFrame):
    """One waiting request: the code to compare, the name to give, accept or reject."""

    def __init__(self, request: PairingRequested, parent: QWidget | None = None):
        super().__init__(parent)
        self.request = request
        self.setObjectName("pairingRequest")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"A headset asks to pair: <b>{_escape(request.proposed_name)}</b>"))
        self.code = QLabel(request.code)
        self.code.setObjectName("pairingCode")
        self.code.setStyleSheet("font-size: 28px; font-weight: bold; letter-spacing: 4px;")
        layout.addWidget(self.code)
        layout.addWidget(
            QLabel("Accept only if the headset shows exactly this code. A different code means another device.")
        )
        row = QHBoxLayout()
        row.addWidget(QLabel("Name:"))
        self.name = QLineEdit(request.proposed_name)
        self.name.setToolTip("The name therapists will see for this headset, e.g. its room")
        row.addWidget(self.name, 1)
        self.accept_button = QPushButton("Same code: pair it")
        self.reject_button = QPushButton("Different code: refuse")
        row.addWidget(self.accept_button)
        row.addWidget(self.reject_button)
        layout.addLayout(row)


class DevicesDialog(QDialog):
    """The device list and pairing. GUI thread."""

    save_failed = Signal(str)  # emitted by the saving thread, shown in the GUI thread

    COLUMNS = ("Name", "Key", "Paired", "Now")

    def __init__(self, link: ConsoleLink, devices: DeviceList, parent: QWidget | None = None):
        super().__init__(parent)
        self.link, self.devices = link, devices
        self.setWindowTitle("Devices — headsets paired with this console")
        self.resize(860, 460)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Only paired headsets can connect, and everything between them and this console is encrypted. "
            f"A new headset is paired by comparing a six-digit code. This console listens on {link.endpoint}; "
            f"headsets ask for its key on {link.pairing_endpoint}."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(self.COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table, 1)
        self.requests_area = QVBoxLayout()
        layout.addLayout(self.requests_area)
        self.pairing_state = QLabel("")
        self.pairing_state.setObjectName("pairingState")
        self.pairing_state.setWordWrap(True)
        layout.addWidget(self.pairing_state)
        buttons = QHBoxLayout()
        self.pair_button = QPushButton("&Pair a headset…")
        self.pair_button.setToolTip("Let new headsets ask to pair for 2 minutes")
        self.rename_button = QPushButton("&Rename…")
        self.revoke_button = QPushButton("Re&voke…")
        self.revoke_button.setToolTip("Disconnect this headset now; it cannot connect again unless paired again")
        close = QPushButton("Close")
        for button in (self.pair_button, self.rename_button, self.revoke_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.pair_button.clicked.connect(self.open_pairing)
        self.rename_button.clicked.connect(self.rename_selected)
        self.revoke_button.clicked.connect(self.revoke_selected)
        close.clicked.connect(self.close)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.save_failed.connect(self._show_save_failure)
        self._requests: dict[str, PairingRequestBox] = {}
        self._pairing_until: float | None = None
        self._countdown = QTimer(self, interval=1000)
        self._countdown.timeout.connect(self._show_pairing_state)
        self.refresh()
        self._selection_changed()

    # -- the list ---------------------------------------------------------------------------
    def refresh(self, headsets: dict[str, HeadsetSnapshot] | None = None) -> None:
        """Redraw the list; ``headsets``: the link's snapshot, for the "Now" column."""
        states = {s.public_key: s.state for s in (headsets or self.link.headsets()).values() if s.public_key}
        rows = self.devices.all()
        self.table.setRowCount(len(rows))
        for row, device in enumerate(rows):
            now = "revoked " + device.revoked_at if device.revoked else str(states.get(device.public_key, "not seen"))
            for column, text in enumerate((device.name, device.fingerprint, device.paired_at, now)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, device.public_key)
                if device.revoked:
                    item.setForeground(Qt.GlobalColor.gray)
                self.table.setItem(row, column, item)
        self._selection_changed()

    def _selected(self) -> Device | None:
        """The paired headset whose row is selected, if any."""
        items = self.table.selectedItems()
        key = items[0].data(Qt.ItemDataRole.UserRole) if items else None
        return self.devices.get(key) if key else None

    def _selection_changed(self) -> None:
        device = self._selected()
        self.rename_button.setEnabled(device is not None and not device.revoked)
        self.revoke_button.setEnabled(device is not None and not device.revoked)

    @Slot()
    def rename_selected(self) -> None:
        device = self._selected()
        if device is None:
            return
        name, ok = QInputDialog.getText(self, "Rename headset", "New name (shown to therapists):", text=device.name)
        if ok and name.strip():
            renamed = self.devices.rename(device.public_key, name)
            self.link.pair(renamed.public_key, renamed.name)  # takes effect at its next connection
            self._save()
            self.refresh()

    @Slot()
    def revoke_selected(self) -> None:
        device = self._selected()
        if device is None:
            return
        answer = QMessageBox.question(
            self,
            "Revoke headset",
            f"Revoke {device.name}? It is disconnected now (its scene goes calm) and cannot connect again "
            "unless it is paired again.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.revoke(device.public_key)

    def revoke(self, public_key: str) -> None:
        """Revoke at once (the link drops it within a second), then save."""
        self.link.revoke(public_key)
        self.devices.revoke(public_key)
        self._save()
        self.refresh()

    # -- pairing ------------------------------------------------------------------------------
    @Slot()
    def open_pairing(self) -> None:
        from protocol.timing import now

        self.link.open_pairing(PAIRING_OPEN_S)
        self._pairing_until = now() + PAIRING_OPEN_S
        self._countdown.start()
        self._show_pairing_state()

    def _show_pairing_state(self) -> None:
        from protocol.timing import now

        if self._pairing_until is None:
            self.pairing_state.setText("")
            self.pair_button.setEnabled(True)
            return
        left = max(0, round(self._pairing_until - now()))
        self.pair_button.setEnabled(False)
        waiting = "" if self._requests else " No request yet."
        self.pairing_state.setText(
            f"Pairing is open for {left // 60}:{left % 60:02d}: start pairing on the headset "
            f"(it needs this console's address).{waiting}"
        )

    def on_link_event(self, event: object) -> None:
        """Pairing events from the link (GUI thread, via the window)."""
        if isinstance(event, PairingRequested):
            box = PairingRequestBox(event, self)
            box.accept_button.clicked.connect(lambda: self.accept_request(event.public_key, box.name.text()))
            box.reject_button.clicked.connect(lambda: self.link.reject(event.public_key))
            self._requests[event.public_key] = box
            self.requests_area.addWidget(box)
            box.name.setFocus()
        elif isinstance(event, PairingEnded):
            box = self._requests.pop(event.public_key, None)
            if box is not None:
                box.deleteLater()
            if event.outcome == "gone":
                self.pairing_state.setText("The headset that asked to pair went away before an answer.")
        elif isinstance(event, PairingWindow) and not event.open:
            self._pairing_until = None
            self._countdown.stop()
            self._show_pairing_state()
        self._show_pairing_state()

    def accept_request(self, public_key: str, name: str) -> None:
        device = self.devices.add(public_key, name)
        self.link.pair(device.public_key, device.name)
        self._save()
        self.refresh()

    # -- saving ---------------------------------------------------------------------------------
    def _save(self) -> None:
        _save_in_background(self.devices, self.save_failed.emit)

    @Slot(str)
    def _show_save_failure(self, text: str) -> None:
        QMessageBox.warning(self, "Devices not saved", f"{text}\n\nThe change holds until the console is closed.")

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Delete) and self.revoke_button.isEnabled():
            self.revoke_selected()
            return
        super().keyPressEvent(event)


def _save_in_background(devices: DeviceList, failed) -> None:
    """Write the list in a thread of its own; ``failed(text)`` on error (from that thread)."""

    def save() -> None:
        try:
            devices.save()
        except DeviceListError as exc:
            failed(str(exc))

    threading.Thread(target=save, name="vrclinic-devices-save", daemon=True).start()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
