"""The session store's own thread: jobs run in the order given, their answers and failures
come back in words to the thread that owns the worker when it delivers, a busy store never
holds up that thread, and closing finishes the pending writes (for a bounded time)."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing

import pytest

from console.records.store import SessionStore
from console.records.store_worker import OPENING, StoreFailure, StoreWorker
from tests.conftest import wait_until


@pytest.fixture
def reports() -> list[StoreFailure]:
    return []


@pytest.fixture
def worker(tmp_path, reports):
    w = StoreWorker(tmp_path / "store.sqlite3", report=reports.append, lock_wait_s=0.3)
    yield w
    w.close()


def opened(worker: StoreWorker) -> None:
    """Once the store is open (its first job runs after the opening)."""
    worker.submit("nothing", lambda store: None)
    settle(worker)


def settle(worker: StoreWorker) -> None:
    """The owner thread (the test) waits for the jobs, then takes their answers."""
    wait_until(lambda: worker.pending == 0, what="the store's jobs")
    worker.deliver()


def hold_write_lock(path) -> sqlite3.Connection:
    """Another process's write lock, as a backup tool or a second console would hold it."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    return conn


def test_jobs_run_in_order_in_the_store_thread_and_answer_in_the_owner_thread(worker):
    answers: list[tuple[str, str]] = []
    for name in ("first", "second", "third"):
        worker.submit(
            f"saving {name}",
            lambda store, name=name: (store.save_plan("P-001", name, {"n": name}), threading.current_thread().name)[1],
            done=lambda thread, name=name: answers.append((name, thread, threading.current_thread().name)),
        )
    worker.submit("reading the plans", lambda store: [p.name for p in store.plans("P-001")], done=answers.append)
    wait_until(lambda: worker.pending == 0)
    assert answers == []  # nothing runs in the owner thread until it delivers
    assert worker.deliver() == 4
    main = threading.current_thread().name
    assert answers[:3] == [(n, "vrclinic-store", main) for n in ("first", "second", "third")]
    assert answers[3] == ["first", "second", "third"]


def test_a_busy_store_is_a_failure_in_words(worker, tmp_path, reports):
    opened(worker)
    other = hold_write_lock(tmp_path / "store.sqlite3")
    failures: list[StoreFailure] = []
    try:
        worker.submit(
            "saving the plan 'spiders'", lambda s: s.save_plan("P-001", "spiders", {}), failed=failures.append
        )
        worker.submit("importing nothing", lambda s: s.save_plan("P-001", "other", {}))  # no handler: reported
        settle(worker)
    finally:
        other.close()
    (failure,) = failures
    assert failure.what == "saving the plan 'spiders'"
    assert "is busy: another vrclinic console" in failure.text and "try again" in failure.text
    assert [r.what for r in reports] == ["importing nothing"]


def test_a_job_that_breaks_is_said_in_words_not_lost(worker, reports, caplog):
    def broken(store: SessionStore) -> None:
        raise ValueError("a bug in a job")

    worker.submit("doing something broken", broken)
    settle(worker)
    assert reports == [StoreFailure("doing something broken", "ValueError: a bug in a job")]
    assert "doing something broken" in caplog.text  # and logged with its traceback


def test_a_store_that_cannot_open_is_reported_once_and_file_jobs_still_run(tmp_path, reports):
    not_a_store = tmp_path / "store.sqlite3"
    not_a_store.write_bytes(b"this is not a database, it is a text file of forty bytes " * 8)
    worker = StoreWorker(not_a_store, report=reports.append)
    try:
        got: list[object] = []
        failures: list[StoreFailure] = []
        worker.submit("reading the plans", lambda store: store.plans("P-001"), done=got.append, failed=failures.append)
        worker.submit_files("looking at the folders", lambda store: store, done=got.append)
        settle(worker)
    finally:
        worker.close()
    (opening,) = reports
    assert opening.what == OPENING and "not a vrclinic session store" in opening.text
    assert worker.problem == opening.text
    assert [f.text for f in failures] == [f"the session store is not available ({opening.text})"]
    assert got == [None]  # the file job ran, without a store


def test_closing_finishes_the_pending_writes(tmp_path, reports):
    path = tmp_path / "store.sqlite3"
    worker = StoreWorker(path, report=reports.append, lock_wait_s=10.0)
    opened(worker)
    other = hold_write_lock(path)
    saved: list[object] = []
    worker.submit(
        "saving the plan", lambda s: s.save_plan("P-001", "spiders", {"kind": "hierarchy"}), done=saved.append
    )
    threading.Timer(0.5, other.close).start()  # the other process lets go a moment later
    assert worker.close(timeout=10.0)
    assert len(saved) == 1 and reports == []
    with closing(SessionStore(path)) as store:
        assert [p.name for p in store.plans("P-001")] == ["spiders"]


def test_closing_waits_a_bounded_time_and_says_what_was_left_undone(tmp_path, reports):
    path = tmp_path / "store.sqlite3"
    worker = StoreWorker(path, report=reports.append, lock_wait_s=5.0)
    opened(worker)
    other = hold_write_lock(path)
    try:
        worker.submit("saving the plan 'spiders'", lambda s: s.save_plan("P-001", "spiders", {}))
        worker.submit("importing the session S-1", lambda s: None)
        assert not worker.close(timeout=0.5)
    finally:
        other.close()
    (left,) = reports
    assert left.what == "closing the session store"
    assert "saving the plan 'spiders'; importing the session S-1" in left.text
    assert "session folders keep everything" in left.text
    worker.submit("too late", lambda s: None)
    worker.deliver()
    assert reports[-1] == StoreFailure("too late", "the console is closing; the session store takes no more work.")
