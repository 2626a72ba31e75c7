"""The session folder's small files and ``events.jsonl``: writing the manifest atomically,
checking a folder can be written, and the event journal (its own thread, a keyed chain).

Threads: :class:`EventJournal` writes in a thread of its own (``vrclinic-journal``); the
functions here are called by the recording's threads, never by the GUI thread.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from console.records.recorded import (
    MANIFEST,
    AuditKey,
    audit_key,
    link_row,
    no_keys,
    read_event_log,
)
from console.session.model import LogEntry


class RecordingError(RuntimeError):
    """Recording could not start or finish; the text says what to do."""


# -- the session folder ------------------------------------------------------------------


def write_json_atomically(path: Path, doc: dict) -> None:
    """A crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_manifest(folder: Path, manifest: dict) -> None:
    write_json_atomically(folder / MANIFEST, manifest)


def wall_now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RecordingError(
            f"Cannot write the session folder {folder}: {exc.strerror or exc}. "
            "Choose a folder you may write to (and that has free space)."
        ) from exc


class EventJournal:
    """``events.jsonl``: the event log as it happens, chained line by line: an unkeyed hash
    chain, and a keyed one under this installation's audit key (see
    :mod:`console.records.recorded`), so that an entry edited afterwards shows.

    Threads: the owner (the control thread, the GUI thread in the console) calls
    :meth:`write` and :meth:`stop`, which only queue and return at once. The journal's own
    ``vrclinic-journal`` thread owns the file: it runs ``prepare`` (the session folder's own
    checks), opens the file (reading an existing log to go on with its chain), chains each
    line, writes and flushes it as soon as it is queued (into the OS: killing the console
    loses only what is queued, milliseconds), and fsyncs at most once a second while lines
    come (onto the disk: a power cut loses under a second). A failure to prepare, open or
    write is handed to ``on_error`` in that thread, once; the owner words it (see
    :class:`SessionRecording`). After a failure the rest of the session's lines are dropped:
    the session goes on. :meth:`close` waits for the thread: call it off the GUI thread, or
    at exit.

    The audit key comes from the secret store in a ``vrclinic-audit-key`` thread of its own (the
    keyring may wait for D-Bus, or for the user to unlock it): the first lines wait for it up
    to :attr:`KEY_WAIT_S`, and a key that comes later keys the log from then on (the first
    keyed line covers those before it). A key that cannot be had is said once to
    ``on_warning``, in that thread; the log is then hash-chained only.
    """

    SYNC_EVERY_S = 1.0
    KEY_WAIT_S = 5.0

    def __init__(
        self,
        path: Path,
        started_at: float,
        on_error: Callable[[Exception], None] | None = None,
        prepare: Callable[[], None] | None = None,
        key: Callable[[], AuditKey] = audit_key,
        on_warning: Callable[[str], None] | None = None,
    ):
        """Owner thread; returns at once (the file is opened in the journal's thread).
        ``key`` gives the audit key (called in the ``vrclinic-audit-key`` thread)."""
        self.path = Path(path)
        self.started_at = started_at
        self.error: Exception | None = None  # the first failure, set in the journal's thread
        self.is_open = False  # the file was opened and its chain read (the journal's thread)
        self.opened = threading.Event()  # set once opening was tried: see is_open and error
        self._on_error = on_error
        self._prepare = prepare
        self._key_source = key
        self._on_warning = on_warning
        self._key: AuditKey | None = None  # set once by the vrclinic-audit-key thread
        self._key_ready = threading.Event()
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="vrclinic-journal", daemon=True)
        self._thread.start()

    # -- the owner thread ----------------------------------------------------------------
    def write(self, entry: LogEntry) -> None:
        """Owner thread; returns at once: the entry is serialized here (the model may change
        its data afterwards) and queued; the journal's thread chains and writes it."""
        if self._stopping or self.error is not None:
            return
        row = {
            "at": entry.at,
            "session_s": round(entry.at - self.started_at, 3),
            "kind": entry.kind,
            "headset": entry.headset,
            "text": entry.text,
        }
        if entry.data is not None:
            row["data"] = entry.data
        self._lines.put(json.dumps(row, ensure_ascii=False))

    def stop(self) -> None:
        """Owner thread; returns at once. Takes no more entries; the journal's thread writes
        those queued, syncs the file to the disk and closes it."""
        if not self._stopping:
            self._stopping = True
            self._lines.put(None)

    def close(self, timeout: float | None = None) -> None:
        """Any thread but a live GUI thread (it waits for the file): :meth:`stop`, then wait
        up to ``timeout`` for the last lines to reach the disk. Raises OSError if the log
        could not be written (the first failure) or was not finished in time."""
        self.stop()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise OSError(errno.ETIMEDOUT, f"{self.path.name} still being written after {timeout:g} s")
        if isinstance(self.error, OSError):
            raise self.error
        if self.error is not None:
            raise OSError(str(self.error))

    @property
    def done(self) -> bool:
        """Any thread: the journal's thread has ended (the file is closed)."""
        return not self._thread.is_alive()

    # -- the journal's thread ------------------------------------------------------------
    def _run(self) -> None:
        """The ``vrclinic-journal`` thread."""
        threading.Thread(target=self._fetch_key, name="vrclinic-audit-key", daemon=True).start()
        try:
            if self._prepare is not None:
                self._prepare()
            # Appending to a log goes on with its chains (a new log, or not a regular file: none).
            check = read_event_log(self.path, no_keys)[2] if self.path.is_file() else None
            chain = check.last_hash if check else ""
            mac = check.last_mac if check and check.keyed else None  # None: no keyed line yet
            named = check.key_id if check else ""  # the key the log names last
            fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (open for the session's length)
        except Exception as exc:  # a bug too: said, rather than a journal that silently never opens
            self._failed(exc)
            self.opened.set()
            while self._lines.get() is not None:  # the session goes on: its lines are dropped
                pass
            return
        self.is_open = True
        self.opened.set()
        self._key_ready.wait(self.KEY_WAIT_S)
        last_sync = time.monotonic()
        unsynced = False
        try:
            while True:
                wait = max(0.0, last_sync + self.SYNC_EVERY_S - time.monotonic()) if unsynced else None
                try:
                    line = self._lines.get(timeout=wait)
                except queue.Empty:
                    line = ""  # time to sync
                if line is None:
                    break
                if self.error is not None:
                    continue  # the session goes on: its lines are dropped
                try:
                    if line:
                        row = json.loads(line)  # the row as a reader will see it: the links are what it checks
                        key = self._key
                        if key is not None and named != key.id:  # the first line under this key names it
                            row["audit_key"] = named = key.id
                        chain, mac = link_row(row, chain, mac, key)
                        text = json.dumps(row, ensure_ascii=False)
                        if not text.isascii():
                            try:
                                text.encode("utf-8")
                            except UnicodeEncodeError:  # a lone surrogate: the same JSON, escaped
                                text = json.dumps(row)
                        fh.write(text + "\n")
                        fh.flush()  # into the OS: survives the console being killed
                        unsynced = True
                    if unsynced and time.monotonic() - last_sync >= self.SYNC_EVERY_S:
                        _sync(fh)  # onto the disk: survives power loss, once a second
                        last_sync, unsynced = time.monotonic(), False
                except OSError as exc:
                    self._failed(exc)
                    unsynced = False
            if self.error is None:
                try:
                    fh.flush()
                    _sync(fh)
                except OSError as exc:
                    self._failed(exc)
        finally:
            with contextlib.suppress(OSError):  # closing flushes again; the first failure was said
                fh.close()

    def _fetch_key(self) -> None:
        """The ``vrclinic-audit-key`` thread: the audit key, or why not said once."""
        try:
            self._key = self._key_source()
        except Exception as exc:  # SecretError says what to do; anything else is said too
            if self._on_warning is not None:
                self._on_warning(
                    f"the event log is not keyed ({exc}); it is hash-chained only, which detects "
                    "accidental damage, not editing."
                )
        finally:
            self._key_ready.set()

    def _failed(self, exc: Exception) -> None:
        """The journal's thread: the first failure, said once."""
        if self.error is None:
            self.error = exc
            if self._on_error is not None:
                self._on_error(exc)


def _sync(fh: TextIO) -> None:
    """fsync; a pipe or a device that cannot be synced (EINVAL) has nothing to sync."""
    try:
        os.fsync(fh.fileno())
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
