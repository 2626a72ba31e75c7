"""What the console's Record button drives: the clinic's recording settings, the patient
code, the current recording, the session store, and sessions left interrupted by a crash.
No Qt; the window's recording bar is a thin view over this.

Threads: every method runs in the control (GUI) thread, except :meth:`frame_tap`, which the
mirror decoder thread calls. The store connection belongs to the control thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pylsl

from console.core.signals import Signal
from console.recording import recovery
from console.recording.recorder import RecordingError, RecordingSettings, SessionOutlets, SessionRecording
from console.records.store import SessionStore, StoreError, default_path, validate_code
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
        self.store: SessionStore | None = None
        try:
            self.store = SessionStore(default_path(self.home))
        except StoreError as exc:
            # The folders stay the record; the store is the index. Say so and go on.
            model.note("error", "", f"session store not available: {exc} Recordings are still saved as folders.")

    # -- settings ---------------------------------------------------------------------
    @property
    def sessions_root(self) -> Path:
        return Path(self.settings.sessions_dir) if self.settings.sessions_dir else self.home / "sessions"

    def set_auto_record(self, on: bool) -> None:
        self.settings.auto_record = on
        self._save_settings()

    def _save_settings(self) -> None:
        try:
            self.settings.save(self.settings_path)
        except OSError as exc:
            self.model.note("error", "", f"settings not saved ({exc.strerror or exc}); they hold until you close.")

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
        stamp = time.strftime("%Y-%m-%d_%H%M%S")
        folder = self.sessions_root / (f"{stamp}_{self.patient}" if self.patient else stamp)
        n = 2
        while folder.exists():
            folder = folder.with_name(f"{folder.name.split('~')[0]}~{n}")
            n += 1
        return folder

    def start(self, folder: Path | None = None) -> SessionRecording:
        """Raises :class:`RecordingError` in words when the folder cannot be used."""
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
        if self.store is not None:
            try:
                self.store.begin_session(
                    rec.session_id, str(rec.folder), rec.manifest["started_wall"], self.patient or None
                )
            except StoreError as exc:
                self.model.note("error", "", f"session store: {exc} The recording goes on.")
        self.changed.emit()
        return rec

    def stop(self) -> None:
        rec, self.current = self.current, None
        if rec is None:
            return
        self.model.note("control", "", "recording stopping: closing the file")  # the log's last line
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
        recordings into the store."""
        for rec in [r for r in (self.current, *self._finishing) if r is not None]:
            finished = rec.finished.is_set()  # before draining: its last messages come before it
            for kind, text in rec.poll():
                self.model.note(kind, "", f"recording: {text}")
            if finished and rec in self._finishing:
                self._finishing.remove(rec)
                self._import(rec.folder)
                self.changed.emit()

    def _import(self, folder: Path) -> None:
        if self.store is None:
            return
        try:
            self.store.import_session_folder(folder)
        except StoreError as exc:
            self.model.note("error", "", f"session store: {exc}")

    # -- interrupted sessions ---------------------------------------------------------
    def interrupted(self) -> list[recovery.Interrupted]:
        """Sessions a crashed console left open: in the sessions folder, and any folder the
        store knows as still recording (``--record DIR`` may be anywhere)."""
        places = [self.sessions_root]
        if self.store is not None:
            try:
                places += [Path(s.folder) for s in self.store.sessions() if s.state == "recording" and s.folder]
            except StoreError as exc:
                self.model.note("error", "", f"session store: {exc}")
        return recovery.find_interrupted(places)

    def recovered(self, result: recovery.Recovered) -> None:
        """Control thread, after :func:`recovery.recover` ran in a worker."""
        self.model.note("control" if result.ok else "error", "", f"recovered interrupted session {result.text}")
        self._import(result.folder)

    def close(self, timeout: float = 25.0) -> None:
        """Control thread, at exit: finish the recording (this waits for the file)."""
        self.stop()
        deadline = time.monotonic() + timeout
        while self._finishing and time.monotonic() < deadline:
            self.poll()
            time.sleep(0.05)
        for rec in self._finishing:
            self.model.note("error", "", f"recording: {rec.folder} was not finished within {timeout:g} s")
        if self.store is not None:
            self.store.close()
