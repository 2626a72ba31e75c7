"""The session store: one SQLite file holding patients (by pseudonymous code), sessions,
plans, ratings, notes and events, so a patient's history across sessions can be queried
(how SUDS peaked and ended, session after session). No Qt; stdlib ``sqlite3`` only.

Recorded session folders stay the record of what happened; the store is an index over
them plus what only the clinic knows (plans, notes). :meth:`SessionStore.import_session_folder`
can always rebuild a session's rows from its folder.

The schema is versioned from its first release: :data:`MIGRATIONS` lists every change in
order, ``PRAGMA user_version`` says which ones a file has, and opening a store applies the
missing ones, each in its own transaction, after copying the file aside.

Threads: a :class:`SessionStore` belongs to the thread that opened it and every method runs
on that thread; ``sqlite3``'s ``check_same_thread`` makes a call from any other thread fail
loudly. In the console that is the store's own thread
(:class:`console.records.store_worker.StoreWorker`), never the GUI thread: a write may wait
up to the busy timeout for another process's lock, and the GUI thread sends the heartbeats.
Another thread or process that needs the store opens its own :class:`SessionStore` on the
same file; in WAL mode readers never block the writer.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from console.records.recorded import parse_rating, read_events

FILENAME = "vrclinic.sqlite3"
STATES = ("recording", "complete", "interrupted", "recovered")
BUSY_TIMEOUT_S = 5.0  # how long a write waits for another connection's lock (the console's store thread waits longer)

# (version, description, SQL). Append only: never edit a migration that has shipped, add
# the next one. Scripts run inside BEGIN IMMEDIATE ... COMMIT, so they must not contain
# transaction statements; foreign keys stay ON (a table rebuild would need its own step).
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "first schema: patients, sessions, plans, ratings, notes, events",
        """
        CREATE TABLE patients (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE COLLATE NOCASE,
            created_at TEXT NOT NULL,
            notes TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            patient_id INTEGER NULL REFERENCES patients(id),
            session_uid TEXT NOT NULL UNIQUE,
            folder TEXT,
            started_at TEXT,
            ended_at TEXT,
            state TEXT NOT NULL DEFAULT 'recording'
                CHECK (state IN ('recording', 'complete', 'interrupted', 'recovered')),
            duration_s REAL,
            summary TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE plans (
            id INTEGER PRIMARY KEY,
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            name TEXT NOT NULL,
            body TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (patient_id, name)
        );
        CREATE TABLE ratings (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            at REAL NOT NULL,
            session_s REAL,
            kind TEXT NOT NULL,
            value INTEGER,
            headset TEXT NOT NULL DEFAULT '',
            prompt_id INTEGER NULL,
            response_s REAL NULL
        );
        CREATE TABLE notes (
            id INTEGER PRIMARY KEY,
            patient_id INTEGER NULL REFERENCES patients(id),
            session_id INTEGER NULL REFERENCES sessions(id) ON DELETE CASCADE,
            written_at TEXT NOT NULL,
            session_s REAL NULL,
            text TEXT NOT NULL
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            at REAL NOT NULL,
            session_s REAL,
            kind TEXT NOT NULL,
            headset TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT ''
        );
        """,
    ),
    (
        2,
        "indexes for history queries and re-imports; patients can be archived",
        # Without these every history query and every re-import (DELETE ... WHERE
        # session_id = ?) scans whole tables, which grows with every session recorded.
        # Archiving keeps a discharged patient's history while hiding them from the list.
        """
        CREATE INDEX events_by_session ON events (session_id, at);
        CREATE INDEX ratings_by_session ON ratings (session_id, kind, at);
        CREATE INDEX sessions_by_patient ON sessions (patient_id, started_at);
        CREATE INDEX notes_by_session ON notes (session_id);
        CREATE INDEX notes_by_patient ON notes (patient_id);
        CREATE INDEX plans_by_patient ON plans (patient_id);
        ALTER TABLE patients ADD COLUMN archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1));
        """,
    ),
]

_CODE = re.compile(r"[A-Za-z0-9._-]{1,32}", re.ASCII)


class StoreError(RuntimeError):
    """The store cannot do what was asked; the text says why and what to do."""


@dataclass(frozen=True)
class Patient:
    id: int
    code: str
    created_at: str
    notes: str
    archived: bool


@dataclass(frozen=True)
class SessionRow:
    id: int
    session_uid: str
    patient_code: str | None
    folder: str | None
    started_at: str | None  # ISO wall time, as the console wrote it
    ended_at: str | None
    state: str
    duration_s: float | None
    summary: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    id: int
    patient_code: str
    name: str
    body: dict[str, Any]
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class EventRow:
    at: float  # console clock
    session_s: float | None
    kind: str
    headset: str
    text: str


@dataclass(frozen=True)
class RatingRow:
    at: float  # console clock, when answered
    session_s: float | None
    kind: str  # suds, expectancy, ...
    value: int | None  # None when the prompt expired
    headset: str
    prompt_id: int | None
    response_s: float | None


@dataclass(frozen=True)
class Note:
    id: int
    patient_code: str | None
    session_uid: str | None
    written_at: str
    session_s: float | None
    text: str


class RatingSummary(NamedTuple):
    """One session's ratings of one kind: the line a history chart draws from."""

    session_uid: str
    started_at: str | None
    peak: int
    last: int
    count: int


def default_path(home: Path) -> Path:
    """Where the console keeps its store: ``home`` is the console's data directory."""
    return Path(home) / FILENAME


def latest_version() -> int:
    """The schema version this code writes (read at call time, so tests can extend MIGRATIONS)."""
    return MIGRATIONS[-1][0] if MIGRATIONS else 0


def validate_code(code: str) -> str:
    """A patient code, or StoreError: codes are pseudonyms, so the store never holds a name."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise StoreError(
            f"{code!r} is not a patient code: use a pseudonymous code such as P-014, not a name "
            "(1 to 32 letters, digits, '-', '_' or '.', no spaces)."
        )
    return code


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _iso(value: str | None, what: str) -> str | None:
    """Accept an ISO 8601 wall time (kept as written) or None; refuse anything else early."""
    if value is None:
        return None
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} must be an ISO 8601 time such as 2025-03-14T10:05:00+01:00, not {value!r}.") from exc
    return value


MAX_SESSION_S = 1_000_000.0  # 11 days: a longer "session" is a damaged or hostile file


def _seconds(value: object, what: str) -> float | None:
    """A session's length in seconds (a finite number from 0 to MAX_SESSION_S) or None;
    StoreError in words for anything else (text, a list, NaN, 1e308)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an integer too large for a float
            seconds = math.inf
        if 0.0 <= seconds <= MAX_SESSION_S:
            return seconds
    shown = json.dumps(value) if isinstance(value, (int, float, str)) else type(value).__name__
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    raise StoreError(f"{what} must be a number of seconds from 0 to {MAX_SESSION_S:,.0f}, not {shown}.")


def _state(state: str) -> str:
    if state not in STATES:
        raise StoreError(f"Session state {state!r} is not one of {', '.join(STATES)}.")
    return state


def _json(value: dict[str, Any], what: str) -> str:
    if not isinstance(value, dict):
        raise StoreError(f"{what} must be a dict, not {type(value).__name__}.")
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False)
        # A lone surrogate cannot be stored as UTF-8: escaped, it reads back the same.
        return text if _storable(text) else json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} cannot be stored as JSON: {exc}.") from exc


def _storable(text: str) -> bool:
    """SQLite keeps text as UTF-8: a lone surrogate (which JSON's \\u escapes can spell) cannot be kept."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _clean(text: str) -> str:
    """Text SQLite can keep: a lone surrogate becomes U+FFFD, the character a reader shows for it."""
    return text if _storable(text) else text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into statements (sqlite3 runs one per execute; executescript
    would COMMIT on its own, breaking the one-transaction-per-migration rule)."""
    buf = ""
    for piece in script.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \t\r\n;"):
                yield buf.strip()
            buf = ""
    if buf.strip(" \t\r\n;"):
        raise StoreError(f"Migration script ends with an incomplete statement: {buf.strip()[:80]!r}.")


class SessionStore:
    """The clinic's history in one SQLite file.

    Opened and used by one thread only (in the console, the store's own thread); see the
    module docstring. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: Path, *, timeout: float = BUSY_TIMEOUT_S):
        """Open (creating it if needed) and bring the schema up to date. ``timeout``: how long
        to wait for another console's write to finish before saying the store is busy."""
        self.path = Path(path)
        self.backup_path: Path | None = None  # the copy made before the last upgrade, if any
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot create the folder for the session store {self.path}: {exc}.") from exc
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=True)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            self._refuse_newer(self._version())  # before any pragma that would write the file
            self._conn.execute("PRAGMA foreign_keys=ON")
            # WAL: a crash (or power cut) mid-write cannot corrupt the store, and readers in
            # other threads or processes never block the console's writes. NORMAL is durable
            # across application crashes; a power cut may lose the last transaction only.
            self.journal_mode: str = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self.migrate()
        except sqlite3.Error as exc:
            self._conn.close()
            raise self._error(exc) from exc
        except BaseException:
            self._conn.close()
            raise

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent); SQLite checkpoints the WAL into the file."""
        self._conn.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def version(self) -> int:
        """The schema version of the open file."""
        with self._reading():
            return self._version()

    def _version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _refuse_newer(self, version: int) -> None:
        if version > latest_version():
            raise StoreError(
                f"The session store {self.path} was written by a newer vrclinic (schema version {version}; "
                f"this vrclinic knows up to {latest_version()}). Upgrade vrclinic on this computer to open it; "
                "the file has not been changed."
            )

    # -- migrations --------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply every migration above the file's version, each in its own transaction;
        returns the version reached. Runs at open; calling it again does nothing.

        A non-empty file is first copied to ``NAME.before-vN.bak`` (N: the first version
        applied), so an upgrade that goes wrong in a way SQLite cannot roll back still
        leaves the clinic's data intact."""
        versions = [v for v, _, _ in MIGRATIONS]
        if versions != list(range(1, len(versions) + 1)):
            raise StoreError(f"MIGRATIONS must be numbered 1, 2, 3, ... in order; got {versions}.")
        current = self._version()
        self._refuse_newer(current)
        pending = [m for m in MIGRATIONS if m[0] > current]
        if not pending:
            return current
        if self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            self.backup_path = self._backup(pending[0][0])
        for version, description, script in pending:
            self._apply(version, description, script)
        return self._version()

    def _backup(self, next_version: int) -> Path:
        """Copy the whole database (WAL included) with SQLite's online backup."""
        bak = self.path.with_name(f"{self.path.name}.before-v{next_version}.bak")
        n = 2
        while bak.exists():  # an earlier attempt's copy: keep it too
            bak = self.path.with_name(f"{self.path.name}.before-v{next_version}-{n}.bak")
            n += 1
        try:
            with closing(sqlite3.connect(bak)) as dst:
                self._conn.backup(dst)
        except sqlite3.Error as exc:
            bak.unlink(missing_ok=True)
            raise StoreError(
                f"Could not copy the session store to {bak} before upgrading it ({exc}); nothing was changed. "
                "Check there is free disk space and that the folder is writable, then open it again."
            ) from exc
        return bak

    def _apply(self, version: int, description: str, script: str) -> None:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            # Another console may have upgraded the file while we waited for the lock.
            if self._version() >= version:
                conn.execute("ROLLBACK")
                return
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(version)}")
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if not isinstance(exc, sqlite3.Error | StoreError):
                raise
            if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
                raise self._error(exc) from exc  # another console holds the store: not a broken migration
            where = f" A copy from before the upgrade is at {self.backup_path}." if self.backup_path else ""
            raise StoreError(
                f"Could not upgrade the session store {self.path} to schema version {version} ({description}): "
                f"{exc}. This step was rolled back; the store is still at version {self._version()}.{where} "
                "Report this to vrclinic support."
            ) from exc

    # -- plumbing ----------------------------------------------------------------------

    def _error(self, exc: sqlite3.Error) -> StoreError:
        """Turn SQLite's error into a sentence that says what to do."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc)
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
            return StoreError(
                f"The session store {self.path} is busy: another vrclinic console (or a backup or sync tool) "
                "is writing to it. Close the other console or wait a moment, then try again."
            )
        if name == "SQLITE_FULL" or "disk is full" in text:
            return StoreError(
                f"The disk holding the session store {self.path} is full; nothing was saved. "
                "Free some space, then try again."
            )
        if name == "SQLITE_NOTADB" or name.startswith("SQLITE_CORRUPT") or "not a database" in text:
            return StoreError(
                f"{self.path} is not a vrclinic session store, or it is damaged ({text}). Move the file aside "
                "(keep it for support) and open the console again to start a new store."
            )
        if name.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM")):
            return StoreError(
                f"Cannot open the session store {self.path} for writing ({text}). "
                "Check that the folder exists and that this user may write to it."
            )
        if name.startswith("SQLITE_IOERR"):
            return StoreError(
                f"The disk reported an error while using the session store {self.path} ({text}). "
                "Check the disk (or network share), then try again."
            )
        return StoreError(f"Session store {self.path}: {text}.")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it or none of it. IMMEDIATE takes the write lock at
        once, so a busy store is reported before anything is half-done."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from exc
            raise

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._conn
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _patient_id(self, code: str, create: bool) -> int:
        validate_code(code)
        row = self._conn.execute("SELECT id FROM patients WHERE code = ?", (code,)).fetchone()
        if row:
            return int(row[0])
        if not create:
            raise StoreError(f"There is no patient {code!r} in the store; check the code.")
        cur = self._conn.execute("INSERT INTO patients (code, created_at) VALUES (?, ?)", (code, _now()))
        return int(cur.lastrowid)  # type: ignore[arg-type]

    def _session_id(self, session_uid: str) -> int:
        row = self._conn.execute("SELECT id FROM sessions WHERE session_uid = ?", (session_uid,)).fetchone()
        if not row:
            raise StoreError(f"There is no session {session_uid!r} in the store; call begin_session first.")
        return int(row[0])

    # -- patients ----------------------------------------------------------------------

    def patient(self, code: str, create: bool = True) -> Patient:
        """The patient with this pseudonymous code, created on first use unless ``create`` is
        False (then StoreError if unknown). Codes match case-insensitively: P-014 is p-014."""
        if create:
            with self._transaction():
                pid = self._patient_id(code, create=True)
        else:
            with self._reading():
                pid = self._patient_id(code, create=False)
        return self._patients("WHERE id = ?", (pid,))[0]

    def patients(self, include_archived: bool = False) -> list[Patient]:
        """Every patient, by code; archived ones only when asked."""
        return self._patients("" if include_archived else "WHERE archived = 0", ())

    def archive_patient(self, code: str, archived: bool = True) -> None:
        """Hide a discharged patient from the list, keeping their history (``archived=False`` undoes)."""
        with self._transaction() as conn:
            pid = self._patient_id(code, create=False)
            conn.execute("UPDATE patients SET archived = ? WHERE id = ?", (int(archived), pid))

    def _patients(self, where: str, args: tuple[Any, ...]) -> list[Patient]:
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT id, code, created_at, notes, archived FROM patients {where} ORDER BY code", args
            ).fetchall()
        return [Patient(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    # -- sessions, live ------------------------------------------------------------------

    def begin_session(
        self, session_uid: str, folder: str | Path | None, started_at: str, patient_code: str | None = None
    ) -> int:
        """Record that a session started (state 'recording', so a crash leaves it visible as
        unfinished); returns its row id."""
        if not session_uid:
            raise StoreError("A session needs a non-empty session id.")
        _iso(started_at, "started_at")
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE session_uid = ?", (session_uid,)).fetchone():
                raise StoreError(f"Session {session_uid!r} is already in the store; each session needs its own id.")
            pid = self._patient_id(patient_code, create=True) if patient_code is not None else None
            cur = conn.execute(
                "INSERT INTO sessions (patient_id, session_uid, folder, started_at, state) "
                "VALUES (?, ?, ?, ?, 'recording')",
                (pid, session_uid, None if folder is None else str(folder), started_at),
            )
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def finish_session(
        self, session_uid: str, state: str, ended_at: str | None, duration_s: float | None, summary: dict[str, Any]
    ) -> None:
        """Close a session: its final state, end time, length and summary (any JSON-able dict)."""
        _state(state)
        _iso(ended_at, "ended_at")
        body = _json(summary, "The session summary")
        with self._transaction() as conn:
            sid = self._session_id(session_uid)
            conn.execute(
                "UPDATE sessions SET state = ?, ended_at = ?, duration_s = ?, summary = ? WHERE id = ?",
                (state, ended_at, duration_s, body, sid),
            )

    def set_session_state(self, session_uid: str, state: str) -> None:
        """Change only the state (e.g. 'interrupted' found at start-up, later 'recovered')."""
        _state(state)
        with self._transaction() as conn:
            sid = self._session_id(session_uid)
            conn.execute("UPDATE sessions SET state = ? WHERE id = ?", (state, sid))

    def add_event(
        self, session_uid: str, at: float, session_s: float | None, kind: str, headset: str, text: str
    ) -> None:
        """One event-log entry (console clock ``at``, seconds into the session ``session_s``)."""
        with self._transaction() as conn:
            sid = self._session_id(session_uid)
            conn.execute(
                "INSERT INTO events (session_id, at, session_s, kind, headset, text) VALUES (?, ?, ?, ?, ?, ?)",
                (sid, at, session_s, kind, headset, text),
            )

    def add_rating(
        self,
        session_uid: str,
        at: float,
        session_s: float | None,
        kind: str,
        value: int | None,
        headset: str,
        prompt_id: int | None = None,
        response_s: float | None = None,
    ) -> None:
        """One rating (SUDS, expectancy, ...); ``value`` None records a prompt that expired."""
        with self._transaction() as conn:
            sid = self._session_id(session_uid)
            conn.execute(
                "INSERT INTO ratings (session_id, at, session_s, kind, value, headset, prompt_id, response_s) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, at, session_s, kind, value, headset, prompt_id, response_s),
            )

    def add_note(
        self,
        text: str,
        *,
        patient_code: str | None = None,
        session_uid: str | None = None,
        session_s: float | None = None,
    ) -> int:
        """A therapist's note, about a patient, a session (then also its patient), or both;
        returns its id."""
        if not text or not text.strip():
            raise StoreError("A note needs some text.")
        with self._transaction() as conn:
            sid = self._session_id(session_uid) if session_uid is not None else None
            pid = self._patient_id(patient_code, create=True) if patient_code is not None else None
            if pid is None and sid is not None:
                pid = conn.execute("SELECT patient_id FROM sessions WHERE id = ?", (sid,)).fetchone()[0]
            cur = conn.execute(
                "INSERT INTO notes (patient_id, session_id, written_at, session_s, text) VALUES (?, ?, ?, ?, ?)",
                (pid, sid, _now(), session_s, text),
            )
            return int(cur.lastrowid)  # type: ignore[arg-type]

    # -- sessions, recorded --------------------------------------------------------------

    def import_session_folder(self, folder: Path, patient_code: str | None = None) -> int:
        """Bring a recorded session folder into the store; returns the session's row id.

        Idempotent: importing again replaces the session's events and ratings (in one
        transaction) rather than adding to them. Notes written in the console are kept.
        A truncated last line in ``events.jsonl`` (a crash mid-write) is skipped and counted
        in the session summary under ``"import"``. A folder without ``session.json`` (older
        recordings) is taken as a complete session named after the folder, with its times
        estimated from the file's modification time.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise StoreError(f"{folder} is not a session folder (it does not exist or is not a folder).")
        manifest = self._manifest(folder)
        events, skipped = self._events(folder / "events.jsonl")

        uid = manifest.get("session_id") or folder.name
        if not isinstance(uid, str):
            raise StoreError(f"session.json in {folder} has a session_id that is not text: {uid!r}.")
        if not _storable(uid):
            raise StoreError(f"session.json in {folder} has a session_id that is not valid Unicode text: {uid!r}.")
        code = manifest.get("patient") or None
        if patient_code is not None and code is not None and patient_code.casefold() != str(code).casefold():
            raise StoreError(
                f"session.json in {folder} says the patient is {code!r}, not {patient_code!r}; "
                "check which patient this session belongs to."
            )
        code = patient_code if patient_code is not None else code
        if code is not None:
            validate_code(code)

        state = manifest.get("state", "complete")
        # "recording": the console never closed it; "incomplete": closed, but the recorder had
        # to stop meanwhile (a full disk). Either way the recording was interrupted.
        if state in ("recording", "incomplete"):
            state = "interrupted"
        _state(state)

        last_s = max((e.session_s for e in events if e.session_s is not None), default=None)
        # What the XDF holds when the recorder had to stop (recorded_s), never more.
        held = "recorded_s" if "recorded_s" in manifest else "duration_s"
        duration = _seconds(manifest.get(held, last_s), f"The session length ({held}) in {folder}")
        if "session_id" in manifest or "started_wall" in manifest:
            started, ended = manifest.get("started_wall"), manifest.get("ended_wall")
        else:
            source = folder / "events.jsonl" if (folder / "events.jsonl").exists() else folder
            mtime = source.stat().st_mtime
            ended = datetime.fromtimestamp(mtime, UTC).isoformat(timespec="seconds")
            started = datetime.fromtimestamp(mtime - (duration or 0.0), UTC).isoformat(timespec="seconds")
        _iso(started, f"started_wall in {folder / 'session.json'}")
        _iso(ended, f"ended_wall in {folder / 'session.json'}")

        ratings = []
        for e in events:
            parsed = parse_rating(e.text) if e.kind == "answer" else None
            if parsed:
                kind, value, response = parsed
                ratings.append(RatingRow(e.at, e.session_s, kind, value, e.headset, None, response))

        summary = manifest.get("summary") if isinstance(manifest.get("summary"), dict) else {}
        summary = {**summary, "import": {"events": len(events), "ratings": len(ratings), "skipped_lines": skipped}}
        if manifest.get("state") == "incomplete":  # how much was recorded, and where the gaps are
            summary["incomplete"] = {k: manifest[k] for k in ("recorded_s", "duration_s", "gaps") if k in manifest}
        body = _json(summary, "The session summary")

        with self._transaction() as conn:
            pid = self._patient_id(code, create=True) if code is not None else None
            sid = conn.execute(
                "INSERT INTO sessions (patient_id, session_uid, folder, started_at, ended_at, state, duration_s, "
                "summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (session_uid) DO UPDATE SET patient_id = excluded.patient_id, folder = excluded.folder, "
                "started_at = excluded.started_at, ended_at = excluded.ended_at, state = excluded.state, "
                "duration_s = excluded.duration_s, summary = excluded.summary "
                "RETURNING id",
                (pid, uid, str(folder), started, ended, state, duration, body),
            ).fetchone()[0]
            conn.execute("DELETE FROM events WHERE session_id = ?", (sid,))
            conn.execute("DELETE FROM ratings WHERE session_id = ?", (sid,))
            conn.executemany(
                "INSERT INTO events (session_id, at, session_s, kind, headset, text) VALUES (?, ?, ?, ?, ?, ?)",
                [(sid, e.at, e.session_s, e.kind, e.headset, e.text) for e in events],
            )
            conn.executemany(
                "INSERT INTO ratings (session_id, at, session_s, kind, value, headset, prompt_id, response_s) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(sid, r.at, r.session_s, r.kind, r.value, r.headset, r.prompt_id, r.response_s) for r in ratings],
            )
        return int(sid)

    @staticmethod
    def _manifest(folder: Path) -> dict[str, Any]:
        path = folder / "session.json"
        if not path.exists():
            return {}
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise StoreError(f"{path} cannot be read ({exc}); the session folder may be damaged.") from exc
        if not isinstance(manifest, dict):
            raise StoreError(f"{path} is not a session manifest (expected a JSON object).")
        return manifest

    @staticmethod
    def _events(path: Path) -> tuple[list[EventRow], int]:
        """The folder's event log (read as everything else reads it) and how many lines could
        not be read (normally only a last line cut short by a crash)."""
        try:
            rows, skipped = read_events(path)
        except OSError as exc:
            raise StoreError(f"{path} cannot be read ({exc}).") from exc
        return [
            EventRow(r["at"], r["session_s"], _clean(r["kind"]), _clean(r["headset"]), _clean(r["text"])) for r in rows
        ], skipped

    # -- plans -------------------------------------------------------------------------

    def save_plan(self, patient_code: str, name: str, body: dict[str, Any]) -> Plan:
        """Create or replace the patient's plan of this name (a hierarchy, a session plan...)."""
        if not isinstance(name, str) or not name.strip() or len(name) > 120:
            raise StoreError("A plan needs a name of 1 to 120 characters.")
        text = _json(body, "The plan")
        now = _now()
        with self._transaction() as conn:
            pid = self._patient_id(patient_code, create=True)
            conn.execute(
                "INSERT INTO plans (patient_id, name, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (patient_id, name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
                (pid, name, text, now, now),
            )
        return next(p for p in self.plans(patient_code) if p.name == name)

    def plans(self, patient_code: str) -> list[Plan]:
        """The patient's plans, by name."""
        with self._reading() as conn:
            pid = self._patient_id(patient_code, create=False)
            rows = conn.execute(
                "SELECT pl.id, p.code, pl.name, pl.body, pl.created_at, pl.updated_at "
                "FROM plans pl JOIN patients p ON p.id = pl.patient_id WHERE pl.patient_id = ? ORDER BY pl.name",
                (pid,),
            ).fetchall()
        return [Plan(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in rows]

    # -- history -----------------------------------------------------------------------

    def sessions(self, patient_code: str | None = None) -> list[SessionRow]:
        """Sessions, newest first: all of them, or one patient's."""
        sql = (
            "SELECT s.id, s.session_uid, p.code, s.folder, s.started_at, s.ended_at, s.state, s.duration_s, s.summary "
            "FROM sessions s LEFT JOIN patients p ON p.id = s.patient_id"
        )
        args: tuple[Any, ...] = ()
        with self._reading() as conn:
            if patient_code is not None:
                sql += " WHERE s.patient_id = ?"
                args = (self._patient_id(patient_code, create=False),)
            rows = conn.execute(sql + " ORDER BY s.started_at DESC, s.id DESC", args).fetchall()
        return [SessionRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8] or "{}")) for r in rows]

    def events(self, session_uid: str) -> list[EventRow]:
        """A session's event log, in console-clock order."""
        with self._reading() as conn:
            sid = self._session_id(session_uid)
            rows = conn.execute(
                "SELECT at, session_s, kind, headset, text FROM events WHERE session_id = ? ORDER BY at, id", (sid,)
            ).fetchall()
        return [EventRow(*r) for r in rows]

    def ratings(self, session_uid: str, kind: str | None = None) -> list[RatingRow]:
        """A session's ratings (of one kind, or all), in the order they were given."""
        with self._reading() as conn:
            sid = self._session_id(session_uid)
            sql = "SELECT at, session_s, kind, value, headset, prompt_id, response_s FROM ratings WHERE session_id = ?"
            args: tuple[Any, ...] = (sid,)
            if kind is not None:
                sql += " AND kind = ?"
                args += (kind,)
            rows = conn.execute(sql + " ORDER BY at, id", args).fetchall()
        return [RatingRow(*r) for r in rows]

    def notes(self, *, patient_code: str | None = None, session_uid: str | None = None) -> list[Note]:
        """Notes about a patient (including those on their sessions) or one session, oldest first."""
        sql = (
            "SELECT n.id, p.code, s.session_uid, n.written_at, n.session_s, n.text FROM notes n "
            "LEFT JOIN patients p ON p.id = n.patient_id LEFT JOIN sessions s ON s.id = n.session_id"
        )
        where: list[str] = []
        args: list[Any] = []
        with self._reading() as conn:
            if patient_code is not None:
                where.append("n.patient_id = ?")
                args.append(self._patient_id(patient_code, create=False))
            if session_uid is not None:
                where.append("n.session_id = ?")
                args.append(self._session_id(session_uid))
            if where:
                sql += " WHERE " + " AND ".join(where)
            rows = conn.execute(sql + " ORDER BY n.written_at, n.id", args).fetchall()
        return [Note(*r) for r in rows]

    def rating_history(self, patient_code: str, kind: str = "suds") -> list[RatingSummary]:
        """Per session, oldest first: the peak and the last answered rating of ``kind`` and how
        many there were; what shows habituation (or its absence) across a course of therapy.
        Sessions without such a rating are left out."""
        with self._reading() as conn:
            pid = self._patient_id(patient_code, create=False)
            rows = conn.execute(
                """
                SELECT s.session_uid, s.started_at, MAX(r.value),
                       (SELECT r2.value FROM ratings r2
                         WHERE r2.session_id = s.id AND r2.kind = ?1 AND r2.value IS NOT NULL
                         ORDER BY r2.at DESC, r2.id DESC LIMIT 1),
                       COUNT(r.value)
                  FROM sessions s JOIN ratings r ON r.session_id = s.id
                 WHERE s.patient_id = ?2 AND r.kind = ?1 AND r.value IS NOT NULL
                 GROUP BY s.id
                 ORDER BY s.started_at, s.id
                """,
                (kind, pid),
            ).fetchall()
        return [RatingSummary(*r) for r in rows]
