"""The session store's own thread: every read and write of the clinic's store runs there, one
job at a time in the order asked, so that nothing the console does with its store ever
waits in the GUI thread. No Qt.

Why a thread: the console's window sends the heartbeats to the headsets from the GUI
thread (a frozen window must calm the scene). A write to the store may wait seconds for
SQLite's write lock, held by another console or a backup tool, and importing a session
reads its whole event log. Any of that in the GUI thread stops the heartbeats, and the
headset makes its scene safe in the middle of an exposure.

Threads
-------
- The **store thread** (``vrclinic-store``) opens the :class:`SessionStore`, runs each job
  (a function given the store) to its end, one after the other in the order they were
  submitted, and closes the store. It is the only thread that touches the store's
  connection (sqlite3's ``check_same_thread`` refuses any other). File work that must stay
  in order with the writes (the scan for interrupted sessions) runs here too.
- The **owner thread** (the console's GUI thread) calls :meth:`StoreWorker.submit`,
  :meth:`StoreWorker.deliver` and :meth:`StoreWorker.close`. ``submit`` only puts the job
  on a queue and returns. What a job returned, or why it failed in words, waits in an
  outbox; the store thread then emits :attr:`StoreWorker.ready`, and the owner runs the
  job's callbacks in :meth:`StoreWorker.deliver`. The Qt side
  (:class:`console.qt.store_delivery.StoreDelivery`) turns ``ready`` into a queued Qt
  signal, so callbacks run in the GUI thread within milliseconds; the recording
  controller's poll calls ``deliver`` as well. Callbacks thus always run in the owner
  thread and may touch its model and widgets.

The owner never waits for the store thread, except in :meth:`StoreWorker.close` at exit,
and then for a bounded time: writes still pending are finished first. A failure is never
lost: it goes to the job's ``failed`` callback, or else to ``report``, in words.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from console.core.signals import Signal, report_view_failure
from console.records.store import SessionStore, StoreError

T = TypeVar("T")
log = logging.getLogger("vrclinic.store")

# Off the GUI thread a wait for another process's write lock delays only the write itself,
# so wait long enough to ride out another console's import or a backup tool's copy; after
# that SQLite gives up and the store says, in words, that it is busy.
LOCK_WAIT_S = 30.0
CLOSE_WAIT_S = 10.0  # at exit: how long pending writes may take before the console goes anyway
OPENING = "opening the session store"


@dataclass(frozen=True)
class StoreFailure:
    """A job that did not happen: what it was (``"saving the plan 'spiders'"``) and why, in
    words that say what to do."""

    what: str
    text: str


@dataclass
class _Job:
    what: str
    run: Callable[[SessionStore | None], Any]
    needs_store: bool
    done: Callable[[Any], None] | None
    failed: Callable[[StoreFailure], None] | None


_STOP = object()  # the queue's last item: close the store and end the thread


class StoreWorker:
    """One :class:`SessionStore` in its own thread; see the module docstring.

    ``report`` receives, in the owner thread, every failure whose job has no ``failed``
    callback, and the store's own failure to open (``what`` is :data:`OPENING`)."""

    ready = Signal()  # store thread: results wait in the outbox, call deliver() in the owner thread

    def __init__(
        self,
        path: Path,
        *,
        report: Callable[[StoreFailure], None] | None = None,
        lock_wait_s: float = LOCK_WAIT_S,
    ):
        self.path = Path(path)
        self.report = report or (lambda failure: log.error("%s: %s", failure.what, failure.text))
        self.problem: str | None = None  # set by the store thread when the store cannot be opened
        self._lock_wait_s = lock_wait_s
        self._jobs: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._outbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._submitted = 0  # written by the owner thread only
        self._finished = 0  # written by the store thread only
        self._running: str | None = None  # the job the store thread is in, for the words at exit
        self._closed = False
        # psygnal makes a signal's instance on first access: make it here, before the store
        # thread can emit, so that a view connecting meanwhile cannot get a second one.
        _ = self.ready
        self._thread = threading.Thread(target=self._run, name="vrclinic-store", daemon=True)
        self._thread.start()

    # -- the owner thread --------------------------------------------------------------
    def submit(
        self,
        what: str,
        job: Callable[[SessionStore], T],
        done: Callable[[T], None] | None = None,
        failed: Callable[[StoreFailure], None] | None = None,
    ) -> None:
        """Owner thread; returns at once. ``job(store)`` runs in the store thread after every
        job submitted before it; then ``done(result)`` or ``failed(failure)`` runs in the
        owner thread. ``what`` names the job in words (``"importing the session X"``)."""
        self._put(_Job(what, job, True, done, failed))

    def submit_files(
        self,
        what: str,
        job: Callable[[SessionStore | None], T],
        done: Callable[[T], None] | None = None,
        failed: Callable[[StoreFailure], None] | None = None,
    ) -> None:
        """Like :meth:`submit`, for file work that uses the store if there is one: ``job``
        gets ``None`` when the store could not be opened, and runs anyway."""
        self._put(_Job(what, job, False, done, failed))

    def _put(self, job: _Job) -> None:
        if self._closed:
            self._fail(job, "the console is closing; the session store takes no more work.")
            return
        self._submitted += 1
        self._jobs.put(job)

    @property
    def pending(self) -> int:
        """Owner thread: jobs submitted and not yet run to their end."""
        return self._submitted - self._finished

    def deliver(self) -> int:
        """Owner thread: run the callbacks of the jobs that finished; returns how many. A
        callback that raises is logged and reported as a view failure; the others still run."""
        ran = 0
        while True:
            try:
                callback = self._outbox.get_nowait()
            except queue.Empty:
                return ran
            ran += 1
            try:
                callback()
            except Exception as exc:
                report_view_failure("StoreWorker.deliver", callback, exc)

    def close(self, timeout: float = CLOSE_WAIT_S) -> bool:
        """Owner thread, at exit: finish the pending jobs (waiting up to ``timeout``), close
        the store, run the last callbacks. Returns whether everything was finished; what
        was not is reported in words (the session folders still hold it)."""
        if not self._closed:
            self._closed = True
            self._jobs.put(_STOP)
        self._thread.join(timeout)
        finished = not self._thread.is_alive()
        if not finished:
            left = [self._running] if self._running else []
            while True:  # what the store thread has not taken yet will not run: say which
                try:
                    item = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Job):
                    left.append(item.what)
            self._jobs.put(_STOP)  # should the stuck job end after all, the thread closes the store
            self._outbox.put(
                lambda: self.report(
                    StoreFailure(
                        "closing the session store",
                        f"not finished within {timeout:g} s, left undone: {'; '.join(left) or 'nothing'}. "
                        "The recorded session folders keep everything; import them again later.",
                    )
                )
            )
        self.deliver()
        return finished

    # -- the store thread --------------------------------------------------------------
    def _run(self) -> None:
        """The ``vrclinic-store`` thread."""
        store: SessionStore | None = None
        try:
            store = SessionStore(self.path, timeout=self._lock_wait_s)
        except StoreError as exc:
            self.problem = str(exc)
        except Exception as exc:  # a bug must not leave the console believing it has a store
            log.exception("opening the session store failed")
            self.problem = f"{type(exc).__name__}: {exc}"
        if self.problem is not None:
            failure = StoreFailure(OPENING, self.problem)
            self._send(lambda: self.report(failure))
        try:
            while True:
                item = self._jobs.get()
                if item is _STOP:
                    return
                assert isinstance(item, _Job)
                self._running = item.what
                self._do(item, store)
                self._running = None
                self._finished += 1
        finally:
            if store is not None:
                store.close()

    def _do(self, job: _Job, store: SessionStore | None) -> None:
        """The store thread: one job, its outcome into the outbox."""
        if store is None and job.needs_store:
            self._fail(job, f"the session store is not available ({self.problem})")
            return
        try:
            result = job.run(store)
        except StoreError as exc:
            self._fail(job, str(exc))
        except Exception as exc:  # a bug or a file error: still words, never lost
            log.exception("session store job failed: %s", job.what)
            self._fail(job, f"{type(exc).__name__}: {exc}")
        else:
            if job.done is not None:
                done = job.done
                self._send(lambda: done(result))

    def _fail(self, job: _Job, text: str) -> None:
        """Either thread: the failure goes to the job's own callback, or else to report."""
        failure = StoreFailure(job.what, text)
        failed = job.failed or self.report
        self._send(lambda: failed(failure))

    def _send(self, callback: Callable[[], None]) -> None:
        self._outbox.put(callback)
        self.ready.emit()
