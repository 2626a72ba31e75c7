"""What the console's Record button drives: the clinic's recording settings, the patient
code, the current recording, the session store, and sessions left interrupted by a crash.
No Qt; the window's recording bar is a thin view over this.

Threads: every method runs in the control (GUI) thread, except :meth:`frame_tap`, which the
mirror decoder thread calls. The store lives in its own thread (:attr:`RecordingController.store`,
a :class:`~console.records.store_worker.StoreWorker`): the control thread only hands it jobs
and hears back later, so a store locked by another process never holds up the heartbeats.
The scan for interrupted sessions runs there too; settings are written there, in order.
A recording's files are checked, written and closed in the recording's own threads (see
:class:`~console.recording.recorder.SessionRecording`): nothing here waits for a disk.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import pylsl

from console.core.signals import Signal
from console.recording import recovery
from console.recording.journal import RecordingError
from console.recording.recorder import RecordingSettings, SessionOutlets, SessionRecording
from console.records.store import SessionStore, StoreError, default_path, validate_code
from console.records.store_worker import CLOSE_WAIT_S, OPENING, StoreFailure, StoreWorker
from console.session.model import SessionModel


class RecordingController:
    """Starts and stops the session's recording, auto-records, adds finished sessions to the
    store and offers interrupted ones for recovery. GUI thread."""

    changed = Signal()  # the recording started, stopped or finished

    def __init__(
        self,
        model: SessionModel,
        home: Path,
        outlets: SessionOutlets,
        streams: Callable[[], list[pylsl.StreamInfo]],
        *,
        expect: tuple[str, ...] = (),
        settle_s: float = 2.5,
    ):
        self.model = model
        self.home = Path(home)
        self.outlets = outlets
        self._streams = streams
        self.expect = expect
        self.settle_s = settle_s
        self.settings_path = self.home / "settings.json"
        self.settings = RecordingSettings.load(self.settings_path)
        self.patient = ""
        self.current: SessionRecording | None = None
        self._finishing: list[SessionRecording] = []
        self._unannounced: SessionRecording | None = None  # into the store once its folder is ready
        self._folders_made: set[Path] = set()  # this run's folder names, each used once
        self._said_interrupted: set[Path] = set()  # interrupted sessions already noted in the event log
        # Opened, read and written in its own thread; failures come back to _store_failed.
        self.store = StoreWorker(default_path(self.home), report=self._store_failed)

    def _store_failed(self, failure: StoreFailure) -> None:
        """Control thread: a store job without its own failure handling did not happen."""
        if failure.what == OPENING:
            # The folders stay the record; the store is the index. Say so and go on.
            self.model.note(
                "error", "", f"session store not available: {failure.text} Recordings are still saved as folders."
            )
        else:
            self.model.note("error", "", f"session store: {failure.what} failed: {failure.text}")

    # -- settings ---------------------------------------------------------------------
    @property
    def sessions_root(self) -> Path:
        return Path(self.settings.sessions_dir) if self.settings.sessions_dir else self.home / "sessions"

    def set_auto_record(self, on: bool) -> None:
        self.settings.auto_record = on
        self._save_settings()

    def _save_settings(self) -> None:
        """Written in the store thread (a file write, after any earlier one); a failure is said."""
        settings, path = dataclasses.replace(self.settings), self.settings_path  # as they are now

        def failed(failure: StoreFailure) -> None:
            self.model.note("error", "", f"settings not saved ({failure.text}); they hold until you close.")

        def save(_store: SessionStore | None) -> None:
            try:
                settings.save(path)
            except OSError as exc:
                raise StoreError(str(exc.strerror or exc)) from exc

        self.store.submit_files("saving the recording settings", save, failed=failed)

    def set_patient(self, code: str) -> None:
        """Raises :class:`StoreError` with what a valid code looks like."""
        code = code.strip()
        if code:
            validate_code(code)
        if self.current is not None and code != self.patient:
            raise RecordingError("Stop the recording before changing the patient code.")
        self.patient = code

    # -- recording --------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self.current is not None

    def new_folder(self) -> Path:
        """Control thread: a new session folder's name, made without looking at the disk (a
        sessions folder on a network drive may take seconds to answer). The time to the
        second names it; a second recording within the same second gets ``~2``."""
        stamp = time.strftime("%Y-%m-%d_%H%M%S")
        folder = self.sessions_root / (f"{stamp}_{self.patient}" if self.patient else stamp)
        n = 2
        while folder in self._folders_made:
            folder = folder.with_name(f"{folder.name.split('~')[0]}~{n}")
            n += 1
        self._folders_made.add(folder)
        return folder

    def start(self, folder: Path | None = None) -> SessionRecording:
        """Control thread; returns at once. Raises :class:`RecordingError` when already
        recording. A folder that cannot be used is said in the event log by :meth:`poll`,
        which then ends the recording."""
        if self.current is not None:
            raise RecordingError(f"Already recording to {self.current.folder}.")
        rec = SessionRecording(
            self.model,
            Path(folder) if folder is not None else self.new_folder(),
            self.outlets,
            self._streams,
            patient=self.patient,
            mirror_fps=self.settings.mirror_fps,
            expect=self.expect,
            settle_s=self.settle_s,
        )
        rec.begin()
        self.current = rec
        self.model.note("control", "", f"recording started: {rec.folder}")
        self._unannounced = rec
        self.changed.emit()
        return rec

    def _announce(self, rec: SessionRecording) -> None:
        """Control thread: the recording's folder is ready; the store learns of the session."""
        self._unannounced = None
        uid, folder, started, patient = rec.session_id, str(rec.folder), rec.manifest["started_wall"], rec.patient
        self.store.submit(
            f"starting the session {uid}",
            lambda store: store.begin_session(uid, folder, started, patient or None),
            failed=lambda f: self.model.note("error", "", f"session store: {f.text} The recording goes on."),
        )

    def stop(self) -> None:
        rec, self.current = self.current, None
        if rec is None:
            return
        self.model.note("control", "", "recording stopping: closing the file")  # the log's last line
        if self._unannounced is rec:  # not ready yet: the import at the end brings it in
            self._unannounced = None
            if rec.folder_ready:
                self._announce(rec)
        rec.end()
        self._finishing.append(rec)
        self.changed.emit()

    @property
    def finishing(self) -> bool:
        """A stopped recording is still closing its file."""
        return bool(self._finishing)

    def toggle(self) -> None:
        if self.current is None:
            self.start()
        else:
            self.stop()

    def frame_tap(self, headset: str, jpeg: bytes, at: float, width: int, height: int) -> None:
        """The mirror decoder thread: a frame the console received, for the recording."""
        rec = self.current
        if rec is not None and rec.mirror is not None:
            rec.mirror.offer(headset, jpeg, at, width, height)

    def poll(self) -> None:
        """Control thread, a few times a second: reports into the event log; finished
        recordings into the store (handed to its thread), and what the store's jobs returned."""
        self.store.deliver()
        for rec in [r for r in (self.current, *self._finishing) if r is not None]:
            finished = rec.finished.is_set()  # before draining: its last messages come before it
            for kind, text in rec.poll():
                self.model.note(kind, "", f"recording: {text}")
            if rec is self._unannounced and rec.folder_ready:
                self._announce(rec)
            if rec.failed is not None and rec is self.current:  # the folder is unusable: said above
                self.current = self._unannounced = None
                self.changed.emit()
            if finished and rec in self._finishing:
                self._finishing.remove(rec)
                if rec.failed is None:
                    self._import(rec.folder)
                self.changed.emit()

    def _import(self, folder: Path) -> None:
        """Control thread: the folder into the store, in the store thread (it reads the whole
        event log, and may wait for another process's write lock)."""
        self.store.submit(f"importing the session {folder.name}", lambda store: store.import_session_folder(folder))

    # -- interrupted sessions ---------------------------------------------------------
    def interrupted(self, found: Callable[[list[recovery.Interrupted]], None]) -> None:
        """Control thread; returns at once. Looks, in the store thread, for sessions a crashed
        console left open: in the sessions folder, and any folder the store knows as still
        recording (``--record DIR`` may be anywhere). ``found(sessions)`` is called back in
        the control thread (also with none); each session found is also noted in the event log
        (which the console echoes to its terminal), once a run, before any dialog shows it."""
        root = self.sessions_root

        def scan(store: SessionStore | None) -> tuple[list[recovery.Interrupted], str]:
            """The store thread."""
            places, problem = [root], ""
            if store is not None:
                try:
                    places += [Path(s.folder) for s in store.sessions() if s.state == "recording" and s.folder]
                except StoreError as exc:  # the sessions folder is still worth a look
                    problem = str(exc)
            return recovery.find_interrupted(places), problem

        def scanned(result: tuple[list[recovery.Interrupted], str]) -> None:
            sessions, problem = result
            if problem:
                self.model.note("error", "", f"session store: {problem}")
            for session in sessions:  # into the event log (and so the terminal), once a run
                if session.folder not in self._said_interrupted:
                    self._said_interrupted.add(session.folder)
                    self.model.note(
                        "error",
                        "",
                        f"interrupted session found: {session.describe()} in {session.folder}; the console "
                        "stopped without closing its recording. Recover it with Session > Recover interrupted "
                        "sessions.",
                    )
            found(sessions)

        self.store.submit_files("looking for interrupted sessions", scan, done=scanned)

    def recovered(self, result: recovery.Recovered) -> None:
        """Control thread, after :func:`recovery.recover` ran in a worker: into the store."""
        self.model.note("control" if result.ok else "error", "", f"recovered interrupted session {result.text}")
        self._import(result.folder)

    def close(self, timeout: float = 25.0, store_timeout: float = CLOSE_WAIT_S) -> None:
        """Control thread, at exit (the heartbeats have stopped): finish the recording (this
        waits for the file), then the store's pending writes (up to ``store_timeout``)."""
        self.stop()
        deadline = time.monotonic() + timeout
        while self._finishing and time.monotonic() < deadline:
            self.poll()
            time.sleep(0.05)
        for rec in self._finishing:
            self.model.note("error", "", f"recording: {rec.folder} was not finished within {timeout:g} s")
        self.store.close(store_timeout)
