"""The session store on real SQLite files: migrations (fresh, from v1, newer, failing),
patient codes, session folder import, history and plans."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from console.records import store
from console.records.store import SessionStore, StoreError

TABLES = {"patients", "sessions", "plans", "ratings", "notes", "events"}
V2_INDEXES = {
    "events_by_session",
    "ratings_by_session",
    "sessions_by_patient",
    "notes_by_session",
    "notes_by_patient",
    "plans_by_patient",
}


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def names(path: Path, kind: str) -> set[str]:
    with closing(raw(path)) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%'", (kind,))
        return {r[0] for r in rows}


def user_version(path: Path) -> int:
    with closing(raw(path)) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def build_v1(path: Path) -> None:
    """A store as the first release left it: only migration 1, with a patient and a session."""
    version, _, script = store.MIGRATIONS[0]
    assert version == 1
    with closing(raw(path)) as conn:
        conn.executescript(script)
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO patients (code, created_at) VALUES ('P-014', '2024-01-02T09:00:00+00:00')")
        conn.execute(
            "INSERT INTO sessions (patient_id, session_uid, folder, started_at, state, duration_s) "
            "VALUES (1, 'old-1', '/data/old-1', '2024-01-02T09:10:00+00:00', 'complete', 1200.0)"
        )
        conn.execute("INSERT INTO ratings (session_id, at, session_s, kind, value) VALUES (1, 10.0, 5.0, 'suds', 70)")


def write_folder(folder: Path, uid: str, patient: str | None, started: str, events: list[dict], tail: str = "") -> Path:
    folder.mkdir(parents=True)
    manifest = {
        "session_id": uid,
        "patient": patient,
        "started_wall": started,
        "ended_wall": None,
        "state": "complete",
    }
    (folder / "session.json").write_text(json.dumps(manifest), encoding="utf-8")
    lines = "".join(json.dumps(e) + "\n" for e in events)
    (folder / "events.jsonl").write_text(lines + tail, encoding="utf-8")
    return folder


def ev(session_s: float, kind: str, text: str, headset: str = "quest-1") -> dict:
    return {"at": 1000.0 + session_s, "session_s": session_s, "kind": kind, "headset": headset, "text": text}


# -- migrations ------------------------------------------------------------------------


def test_fresh_store_is_created_at_the_latest_version_with_every_table(tmp_path):
    path = store.default_path(tmp_path / "data" / "clinic")
    assert path == tmp_path / "data" / "clinic" / "vrclinic.sqlite3"
    with SessionStore(path) as s:
        assert s.version == store.latest_version() == 2
        assert s.backup_path is None  # nothing to lose in an empty file
        assert s.journal_mode == "wal"
        assert s.migrate() == 2  # again: nothing to do
    assert path.exists()
    assert names(path, "table") == TABLES
    assert V2_INDEXES <= names(path, "index")
    assert user_version(path) == 2
    assert list(tmp_path.glob("**/*.bak")) == []


def test_migration_numbers_are_consecutive():
    assert [m[0] for m in store.MIGRATIONS] == list(range(1, len(store.MIGRATIONS) + 1))


def test_a_v1_store_is_upgraded_with_its_data_and_a_backup(tmp_path):
    path = tmp_path / "vrclinic.sqlite3"
    build_v1(path)
    with closing(raw(path)) as conn:
        assert "archived" not in {r[1] for r in conn.execute("PRAGMA table_info(patients)")}

    with SessionStore(path) as s:
        assert s.version == 2
        assert s.backup_path == tmp_path / "vrclinic.sqlite3.before-v2.bak"
        [p] = s.patients()
        assert (p.code, p.created_at, p.archived) == ("P-014", "2024-01-02T09:00:00+00:00", False)
        [row] = s.sessions("P-014")
        assert (row.session_uid, row.state, row.duration_s) == ("old-1", "complete", 1200.0)
        assert [r.value for r in s.ratings("old-1")] == [70]
        s.archive_patient("P-014")  # the v2 column works
        assert s.patients() == []
        assert [q.code for q in s.patients(include_archived=True)] == ["P-014"]

    bak = tmp_path / "vrclinic.sqlite3.before-v2.bak"
    assert bak.exists()
    assert user_version(bak) == 1
    assert names(bak, "index") & V2_INDEXES == set()
    with closing(raw(bak)) as conn:
        assert conn.execute("SELECT code FROM patients").fetchall() == [("P-014",)]


def test_a_newer_store_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "vrclinic.sqlite3"
    with closing(raw(path)) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute("PRAGMA user_version = 99")
    before = path.read_bytes()

    with pytest.raises(StoreError, match=r"newer vrclinic.*version 99.*Upgrade vrclinic") as err:
        SessionStore(path)
    assert "has not been changed" in str(err.value)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]  # no backup, no WAL left behind


def test_a_failing_migration_rolls_back_and_keeps_the_data(tmp_path, monkeypatch):
    path = tmp_path / "vrclinic.sqlite3"
    with SessionStore(path) as s:
        s.begin_session("s-1", tmp_path / "s-1", "2025-03-14T10:00:00+01:00", patient_code="P-001")

    broken = "ALTER TABLE patients ADD COLUMN half_done INTEGER;\nCREATE TABLE oops (;"
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, (3, "broken on purpose", broken)])
    with pytest.raises(StoreError, match=r"schema version 3 \(broken on purpose\).*rolled back.*still at version 2"):
        SessionStore(path)

    assert user_version(path) == 2
    with closing(raw(path)) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(patients)")}
    assert "half_done" not in columns  # the statement that succeeded was undone too
    assert (tmp_path / "vrclinic.sqlite3.before-v3.bak").exists()

    monkeypatch.undo()
    with SessionStore(path) as s:
        assert [r.session_uid for r in s.sessions("P-001")] == ["s-1"]


def test_a_file_that_is_not_a_database_says_so(tmp_path):
    path = tmp_path / "vrclinic.sqlite3"
    path.write_bytes(b"this is a spreadsheet, honestly" * 100)
    with pytest.raises(StoreError, match="not a vrclinic session store"):
        SessionStore(path)


def test_a_store_busy_in_another_console_is_reported(tmp_path):
    path = tmp_path / "vrclinic.sqlite3"
    with SessionStore(path, timeout=0.05) as s, closing(raw(path)) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match="another vrclinic console"):
            s.patient("P-002")
        other.execute("ROLLBACK")
        assert s.patient("P-002").code == "P-002"


# -- patients --------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["Jane Doe", "", "P/014", "x" * 33, "Zoë"])
def test_patient_codes_that_look_like_names_or_are_invalid_are_refused(tmp_path, code):
    with SessionStore(tmp_path / "s.sqlite3") as s:
        with pytest.raises(StoreError, match="use a pseudonymous code such as P-014, not a name"):
            s.patient(code)
        assert s.patients() == []


def test_patients_are_created_once_and_found_by_code(tmp_path):
    with SessionStore(tmp_path / "s.sqlite3") as s:
        a = s.patient("P-014")
        assert s.patient("p-014") == a  # same patient, whatever the case typed
        assert s.patient("x" * 32).code == "x" * 32
        with pytest.raises(StoreError, match="no patient 'P-999'"):
            s.patient("P-999", create=False)
        assert [p.code for p in s.patients()] == ["P-014", "x" * 32]


# -- live sessions ---------------------------------------------------------------------


def test_a_live_session_is_recorded_then_finished(tmp_path):
    with SessionStore(tmp_path / "s.sqlite3") as s:
        s.begin_session("live-1", tmp_path / "live-1", "2025-03-14T10:00:00+01:00", patient_code="P-003")
        assert s.sessions()[0].state == "recording"
        s.add_event("live-1", 5.0, 1.0, "control", "quest-1", "scene: spider far")
        s.add_rating("live-1", 9.0, 5.0, "suds", 55, "quest-1", prompt_id=1, response_s=2.5)
        s.add_rating("live-1", 19.0, 15.0, "suds", None, "quest-1", prompt_id=2)
        s.add_note("Calmer after the second exposure.", session_uid="live-1", session_s=15.0)
        s.finish_session("live-1", "complete", "2025-03-14T10:30:00+01:00", 1800.0, {"peak_suds": 55})
        with pytest.raises(StoreError, match="already in the store"):
            s.begin_session("live-1", None, "2025-03-14T11:00:00+01:00")
        with pytest.raises(StoreError, match="not one of"):
            s.set_session_state("live-1", "done")
        with pytest.raises(StoreError, match="no session 'nope'"):
            s.add_event("nope", 1.0, 1.0, "marker", "", "x")

        [row] = s.sessions("P-003")
        assert (row.state, row.ended_at, row.duration_s, row.summary) == (
            "complete",
            "2025-03-14T10:30:00+01:00",
            1800.0,
            {"peak_suds": 55},
        )
        assert [(r.value, r.response_s) for r in s.ratings("live-1")] == [(55, 2.5), (None, None)]
        [note] = s.notes(patient_code="P-003")  # a session note belongs to its patient too
        assert (note.session_uid, note.session_s) == ("live-1", 15.0)
        assert s.rating_history("P-003") == [("live-1", "2025-03-14T10:00:00+01:00", 55, 55, 1)]


# -- import and history ----------------------------------------------------------------


def test_import_parses_ratings_is_idempotent_and_feeds_the_history(tmp_path):
    first = write_folder(
        tmp_path / "2025-03-07_P-014",
        "2025-03-07-a",
        "P-014",
        "2025-03-07T10:00:00+01:00",
        [
            ev(0.0, "link", "quest-1 connected"),
            ev(60.0, "answer", "SUDS 40 (answered in 1.5 s)"),
            ev(61.0, "answer", "EXPECTANCY 60 (answered in 2.0 s)"),
            ev(300.0, "answer", "SUDS 85 (answered in 1.0 s)"),
            ev(400.0, "answer", "SUDS prompt expired without an answer"),
            ev(600.0, "answer", "suds 50 (after 3.0 s)"),
            ev(601.0, "marker", "SUDS 99 said aloud"),  # not an answer: not a rating
        ],
        tail='{"at": 1700.0, "session_s": 700.0, "ki',  # the console crashed mid-line
    )
    second = write_folder(
        tmp_path / "2025-03-14_P-014",
        "2025-03-14-a",
        "P-014",
        "2025-03-14T10:00:00+01:00",
        [ev(30.0, "answer", "SUDS 70 (answered in 1.2 s)"), ev(500.0, "answer", "SUDS 30 (answered in 1.1 s)")],
    )
    with SessionStore(tmp_path / "s.sqlite3") as s:
        sid = s.import_session_folder(first)
        assert s.import_session_folder(first) == sid  # again: same row, nothing doubled
        s.import_session_folder(second)

        assert len(s.events("2025-03-07-a")) == 7
        ratings = s.ratings("2025-03-07-a")
        assert [(r.kind, r.value, r.session_s, r.response_s) for r in ratings] == [
            ("suds", 40, 60.0, 1.5),
            ("expectancy", 60, 61.0, 2.0),
            ("suds", 85, 300.0, 1.0),
            ("suds", 50, 600.0, 3.0),
        ]
        [latest, earlier] = s.sessions("P-014")  # newest first
        assert (latest.session_uid, earlier.session_uid) == ("2025-03-14-a", "2025-03-07-a")
        assert earlier.summary["import"] == {"events": 7, "ratings": 4, "skipped_lines": 1}
        assert earlier.duration_s == 601.0  # no duration in the manifest: the last event
        assert earlier.folder == str(first)

        assert s.rating_history("P-014") == [
            ("2025-03-07-a", "2025-03-07T10:00:00+01:00", 85, 50, 3),
            ("2025-03-14-a", "2025-03-14T10:00:00+01:00", 70, 30, 2),
        ]
        assert s.rating_history("P-014", kind="expectancy") == [
            ("2025-03-07-a", "2025-03-07T10:00:00+01:00", 60, 60, 1)
        ]
        with closing(raw(tmp_path / "s.sqlite3")) as conn:
            assert conn.execute("SELECT count(*) FROM ratings").fetchone()[0] == 6
            assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 2


def test_import_of_an_old_folder_without_a_manifest(tmp_path):
    folder = tmp_path / "rec-2023-11-02"
    folder.mkdir()
    (folder / "events.jsonl").write_text(
        json.dumps(ev(12.0, "answer", "SUDS 35 (answered in 1.0 s)")) + "\n", encoding="utf-8"
    )
    with SessionStore(tmp_path / "s.sqlite3") as s:
        s.import_session_folder(folder, patient_code="P-020")
        [row] = s.sessions("P-020")
        assert (row.session_uid, row.state, row.duration_s) == ("rec-2023-11-02", "complete", 12.0)
        assert row.started_at is not None and row.ended_at is not None and row.started_at < row.ended_at
        assert [r.value for r in s.ratings("rec-2023-11-02")] == [35]


def test_import_refuses_a_different_patient_than_the_manifest(tmp_path):
    folder = write_folder(tmp_path / "f", "u-1", "P-001", "2025-03-14T10:00:00+01:00", [])
    with SessionStore(tmp_path / "s.sqlite3") as s:
        with pytest.raises(StoreError, match="says the patient is 'P-001', not 'P-002'"):
            s.import_session_folder(folder, patient_code="P-002")
        assert s.sessions() == []


# -- plans -----------------------------------------------------------------------------


def test_plans_are_saved_updated_and_listed(tmp_path):
    with SessionStore(tmp_path / "s.sqlite3") as s:
        hierarchy = {"steps": [{"scene": "spider-far", "suds": 30}, {"scene": "spider-near", "suds": 60}]}
        first = s.save_plan("P-014", "hierarchy", hierarchy)
        s.save_plan("P-014", "week 1", {"sessions": 2})
        s.save_plan("P-015", "hierarchy", {"steps": []})

        hierarchy["steps"].append({"scene": "spider-hand", "suds": 90})
        updated = s.save_plan("P-014", "hierarchy", hierarchy)
        assert updated.id == first.id
        assert updated.created_at == first.created_at
        assert updated.updated_at >= first.updated_at

        plans = s.plans("P-014")
        assert [p.name for p in plans] == ["hierarchy", "week 1"]
        assert [step["scene"] for step in plans[0].body["steps"]] == ["spider-far", "spider-near", "spider-hand"]
        assert s.plans("P-015")[0].body == {"steps": []}
        with pytest.raises(StoreError, match="cannot be stored as JSON"):
            s.save_plan("P-014", "bad", {"x": float("nan")})
        with pytest.raises(StoreError, match="no patient"):
            s.plans("P-404")
