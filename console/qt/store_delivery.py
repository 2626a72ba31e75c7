"""Where the session store's thread meets Qt: what a store job returned is handed to the GUI
thread as soon as it is ready.

Threads: :class:`console.records.store_worker.StoreWorker` emits ``ready`` in its store
thread; :meth:`StoreDelivery._from_store_thread` only emits a Qt signal, which Qt queues
into the GUI thread (the receiver is a slot of this QObject, living there), where
:meth:`StoreDelivery._deliver` runs the waiting callbacks. A view that uses the store makes
one, parented to itself; several for one worker are harmless (whichever runs first
delivers everything).

A store job may answer after the widget that asked was closed and deleted (the window is
closing, a dialog was dismissed): :func:`while_alive` wraps such a callback so that it then
does nothing. A failure must still reach the therapist: those callbacks note it in the
event log first, and only then show it in the widget, if it is still there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal, Slot

from console.records.store_worker import StoreWorker


class StoreDelivery(QObject):
    """Runs a :class:`StoreWorker`'s callbacks in the GUI thread when they are ready. Made in
    the GUI thread (a QObject lives where it was made, and so its slot runs there)."""

    _wake = Signal()

    def __init__(self, worker: StoreWorker, parent: QObject | None = None):
        super().__init__(parent)
        self._worker = worker
        self._wake.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        worker.ready.connect(self._from_store_thread)
        self.destroyed.connect(lambda: worker.ready.disconnect(self._from_store_thread, missing_ok=True))
        self._wake.emit()  # anything that finished before we listened

    def _from_store_thread(self) -> None:
        """The store thread: a nudge, nothing else."""
        with contextlib.suppress(RuntimeError):  # deleted a moment ago: the owner's poll delivers
            self._wake.emit()

    @Slot()
    def _deliver(self) -> None:
        """GUI thread."""
        self._worker.deliver()


def while_alive(receiver: QObject, callback: Callable[..., Any]) -> Callable[..., None]:
    """``callback``, run only while ``receiver`` still exists (GUI thread)."""

    def call(*args: Any) -> None:
        if shiboken6.isValid(receiver):
            callback(*args)

    return call
