"""The event log's audit trail: keyed with a per-installation key kept in the secret store,
so that an entry edited afterwards, with the chain recomputed by every public function we
have, is reported ALTERED; logs from another console, and older logs, say what they prove."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from console.core import secrets
from console.recording.journal import EventJournal
from console.records import recorded
from console.records.export import readme_text
from console.records.report import render_html
from console.session.model import SessionModel
from protocol import messages
from protocol.link import MessageReceived
from tests.console.session.test_model import connected_model


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """This console's installation: its data folder (and so its audit key) of its own."""
    monkeypatch.setenv("VRCLINIC_HOME", str(tmp_path / "console-a"))
    monkeypatch.setenv("VRCLINIC_SECRETS", "files")
    return tmp_path / "console-a"


def recorded_log(folder: Path) -> Path:
    """A session's events.jsonl as the recorder writes it: the model's real entries (a SUDS
    prompt asked, answered 45 then 30) through the recorder's journal."""
    folder.mkdir(parents=True, exist_ok=True)
    model, _link = connected_model()
    log = folder / recorded.EVENTS
    journal = EventJournal(log, model.started_at)
    for entry in model.log:
        journal.write(entry)
    model.logged.connect(journal.write)
    for n, value in enumerate((45, 30)):
        prompt_id = model.ask("suds")
        answer = messages.PromptAnswer(
            prompt_id=prompt_id, kind="suds", answered=True, value=value, shown_at=10.0 + n, answered_at=11.5 + n
        )
        model.apply(MessageReceived("h1", 10 + n, answer, model.clock()))
    model.note("marker", "", "end of exposure")
    journal.close(timeout=10)
    return log


def rows_of(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def write_rows(log: Path, rows: list[dict]) -> None:
    log.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def edit_suds_45_to_15(rows: list[dict]) -> int:
    """The seen attack's edit; returns the 0-based index of the row changed."""
    (i,) = [i for i, r in enumerate(rows) if r["kind"] == "answer" and r["text"].startswith("SUDS 45")]
    rows[i]["text"] = rows[i]["text"].replace("SUDS 45", "SUDS 15")
    return i


def test_a_suds_rating_edited_and_rechained_with_every_public_function_is_reported_altered(home, tmp_path):
    """Seen: SUDS 45 edited to 15 in events.jsonl, the chain recomputed with chain_hash,
    reported "hash chain intact". Now each way of recomputing the chains that the project's
    public functions allow, short of this console's key, is reported ALTERED at that row."""
    log = recorded_log(tmp_path / "session")
    key = recorded.audit_key()
    original = rows_of(log)
    assert recorded.verify_chain(log).text() == f"{len(original)} entries, intact (keyed, key {key.id})"
    assert original[0]["audit_key"] == key.id and all("mac" in r for r in original)

    # 1. The seen attack: the unkeyed chain recomputed with chain_hash from the edited row on.
    rows = [dict(r) for r in original]
    i = edit_suds_45_to_15(rows)
    for j in range(i, len(rows)):
        rows[j]["chain"] = recorded.chain_hash(rows[j - 1]["chain"] if j else "", rows[j])
    write_rows(log, rows)
    check = recorded.verify_chain(log)
    assert check.text().startswith(f"ALTERED at row {i + 1} of events.jsonl: its keyed link (key {key.id})")
    assert not check.intact and recorded.load(log.parent).log_check.altered_at == i + 1

    # 2. Both chains recomputed, the keyed one under an audit key of the attacker's own (their
    #    console's audit_key(), mac_hash and link_row): the log still names our key.
    theirs = recorded.audit_key(secrets.SecretStore(folder=tmp_path / "their-console", use_keyring=False))
    assert theirs.id != key.id
    for use_link_row in (False, True):
        rows = [dict(r) for r in original]
        i = edit_suds_45_to_15(rows)
        chain, mac = (rows[i - 1]["chain"], rows[i - 1]["mac"]) if i else ("", None)
        for j in range(i, len(rows)):
            if use_link_row:
                chain, mac = recorded.link_row(rows[j], chain, mac, theirs)
            else:
                rows[j]["chain"] = chain = recorded.chain_hash(chain, rows[j])
                rows[j]["mac"] = mac = recorded.mac_hash(theirs.key, mac, rows[j])
        write_rows(log, rows)
        assert recorded.verify_chain(log).text().startswith(f"ALTERED at row {i + 1} of events.jsonl")

    # 3. The whole log rewritten under their key, naming it: nothing here can verify it, and
    #    the words say so rather than "intact".
    rows = [dict(r) for r in original]
    edit_suds_45_to_15(rows)
    chain, mac = "", None
    for j, row in enumerate(rows):
        row.pop("audit_key", None)
        if j == 0:
            row["audit_key"] = theirs.id
        chain, mac = recorded.link_row(row, chain, mac, theirs)
    write_rows(log, rows)
    check = recorded.verify_chain(log)
    assert not check.intact
    assert check.text() == (
        f"cannot verify: the audit key {theirs.id} is not on this PC (it was recorded on another console, or "
        "rewritten with another key); the unkeyed hash chain is intact, which detects accidental damage only"
    )

    # 4. Every keyed link stripped, the unkeyed chain recomputed: it reads as a log from before
    #    the keyed chain, whose words say it proves nothing against editing.
    rows = [{k: v for k, v in r.items() if k not in ("mac", "audit_key")} for r in original]
    edit_suds_45_to_15(rows)
    chain = ""
    for row in rows:
        row["chain"] = chain = recorded.chain_hash(chain, row)
    write_rows(log, rows)
    check = recorded.verify_chain(log)
    assert not check.intact
    assert check.text() == (
        f"{len(rows)} entries, unkeyed chain (recorded before vrclinic 1.1): detects accidental damage, not editing"
    )


def test_the_review_report_and_export_say_altered(home, tmp_path):
    log = recorded_log(tmp_path / "session")
    rows = rows_of(log)
    i = edit_suds_45_to_15(rows)
    write_rows(log, rows)
    s = recorded.load(log.parent)
    words = f"ALTERED at row {i + 1} of events.jsonl"
    assert any(p.startswith(f"the event log: {words}") for p in s.problems)
    html = render_html(s, b"")
    assert words in html.split("<td>Event log</td>")[1].split("</tr>")[0]
    readme = readme_text(s, [])
    assert f"Event log:       {words}" in readme and f"- the event log: {words}" in readme


def test_a_log_from_another_console_cannot_be_verified_here_and_says_why(home, tmp_path, monkeypatch):
    log = recorded_log(tmp_path / "session")
    recorded_with = recorded.audit_key().id
    monkeypatch.setenv("VRCLINIC_HOME", str(tmp_path / "console-b"))  # the session copied to another PC
    here = recorded.audit_key()
    assert here.id != recorded_with
    check = recorded.verify_chain(log)
    assert not check.intact and check.missing_key
    assert check.text().startswith(f"cannot verify: the audit key {recorded_with} is not on this PC")
    assert check.text().endswith("the unkeyed hash chain is intact, which detects accidental damage only")
    rows = rows_of(log)
    rows[3]["text"] += " (edited)"
    write_rows(log, rows)
    assert (
        recorded.verify_chain(log)
        .text()
        .endswith(
            "the unkeyed hash chain breaks at row 4 (its unkeyed link does not follow from the row before): "
            "damaged or altered"
        )
    )
    assert "the event log: cannot verify" in recorded.load(log.parent).problems[0]  # damaged too


def test_a_log_that_is_only_not_verifiable_here_is_not_a_damaged_recording(home, tmp_path, monkeypatch):
    """Read on another PC (a researcher's), an intact log cannot be verified: the report and
    the export say so, but the recording is not called incomplete or damaged for it."""
    log = recorded_log(tmp_path / "session")
    monkeypatch.setenv("VRCLINIC_HOME", str(tmp_path / "console-b"))
    s = recorded.load(log.parent)
    assert s.log_check.text().startswith("cannot verify: the audit key")
    assert not [p for p in s.problems if p.startswith("the event log:")]
    assert "Event log:       cannot verify: the audit key" in readme_text(s, [])
    assert "cannot verify: the audit key" in render_html(s, b"").split("<td>Event log</td>")[1].split("</tr>")[0]


def test_an_old_unkeyed_log_is_read_and_said_to_prove_only_accidental_damage(home, tmp_path):
    log = tmp_path / recorded.EVENTS
    rows, chain = [], ""
    for n in range(4):
        row = {"at": 100.0 + n, "session_s": float(n), "kind": "marker", "headset": "", "text": f"mark {n}"}
        row["chain"] = chain = recorded.chain_hash(chain, row)
        rows.append(row)
    write_rows(log, rows)
    read, damaged, check = recorded.read_event_log(log)
    assert len(read) == 4 and damaged == 0 and check.problem() is None
    assert (
        check.text()
        == "4 entries, unkeyed chain (recorded before vrclinic 1.1): detects accidental damage, not editing"
    )
    # Appended to by this console: keyed from then on, and the first keyed line covers the old
    # lines, so editing one of them and recomputing the unkeyed chain shows.
    model = SessionModel(link=None)
    journal = EventJournal(log, model.started_at)
    model.logged.connect(journal.write)
    model.note("marker", "", "appended")
    journal.close(timeout=10)
    assert recorded.verify_chain(log).text() == f"5 entries, intact (keyed, key {recorded.audit_key().id})"
    rows = rows_of(log)
    rows[1]["text"] = "mark one, edited"
    chain = ""
    for row in rows:
        row["chain"] = chain = recorded.chain_hash(chain, row)
    write_rows(log, rows)
    assert recorded.verify_chain(log).text().startswith("ALTERED at row 5 of events.jsonl: its keyed link")


def test_a_line_added_or_removed_or_left_unkeyed_is_altered_and_a_crash_cut_is_not(home, tmp_path):
    log = recorded_log(tmp_path / "session")
    original = log.read_text(encoding="utf-8").splitlines(keepends=True)
    log.write_text("".join(original) + original[2][:25], encoding="utf-8")  # a crash mid-line
    assert recorded.verify_chain(log).intact
    log.write_text("".join(original[:2] + original[3:]), encoding="utf-8")
    assert recorded.verify_chain(log).text().startswith("ALTERED at row 3 of events.jsonl")
    row = {"at": 1.0, "session_s": 0.0, "kind": "marker", "headset": "", "text": "inserted"}
    previous = json.loads(original[1])
    row["chain"] = recorded.chain_hash(previous["chain"], row)  # no key: no keyed link
    log.write_text("".join([*original[:2], json.dumps(row) + "\n"]), encoding="utf-8")
    assert recorded.verify_chain(log).text() == (
        "ALTERED at row 3 of events.jsonl: it has no keyed link, though the log is keyed from row 1"
    )


def test_the_key_is_kept_apart_from_the_data_and_never_written_into_the_session(home, tmp_path):
    folder = tmp_path / "session"
    recorded_log(folder)
    key = recorded.audit_key()
    path = home / "secrets" / recorded.AUDIT_KEY
    assert path.read_bytes() == key.key and len(key.key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert key.key.hex() not in repr(key) and repr(key) == "AuditKey()"
    spellings = [
        key.key,
        key.key.hex().encode(),
        base64.b64encode(key.key),
        base64.b64encode(key.key).decode().encode(),
    ]
    for file in folder.rglob("*"):
        data = file.read_bytes()
        assert not any(s in data for s in spellings), f"the audit key is in {file}"


def test_a_key_that_cannot_be_had_is_said_once_and_the_log_is_still_written(home, tmp_path):
    secrets_folder = home / "secrets"
    secrets_folder.mkdir(parents=True)
    secrets_folder.chmod(0o755)  # others could read it: the store refuses it
    said: list[str] = []
    model = SessionModel(link=None)
    log = tmp_path / recorded.EVENTS
    journal = EventJournal(log, model.started_at, on_warning=said.append)
    model.logged.connect(journal.write)
    model.note("marker", "", "one")
    model.note("marker", "", "two")
    journal.close(timeout=10)
    assert len(said) == 1 and f"chmod 700 '{secrets_folder}'" in said[0]
    assert said[0].startswith("the event log is not keyed (") and "hash-chained only" in said[0]
    check = recorded.verify_chain(log)
    assert check.keyed == 0 and check.text().startswith("2 entries, unkeyed chain")


def test_a_slow_keyring_does_not_hold_the_log_and_the_late_key_covers_what_came_before(home, tmp_path):
    import threading

    release = threading.Event()

    def slow_key() -> recorded.AuditKey:
        release.wait(10)  # a keyring waiting to be unlocked
        return recorded.audit_key()

    model = SessionModel(link=None)
    log = tmp_path / recorded.EVENTS
    journal = EventJournal(log, model.started_at, key=slow_key)
    journal.KEY_WAIT_S = 0.2
    model.logged.connect(journal.write)
    model.note("marker", "", "before the key")
    journal.opened.wait(5)
    deadline = 5.0
    while deadline > 0 and not (log.exists() and log.read_bytes().count(b"\n") >= 1):
        threading.Event().wait(0.05)
        deadline -= 0.05
    assert rows_of(log)[0]["text"] == "before the key" and "mac" not in rows_of(log)[0]
    release.set()
    journal._key_ready.wait(5)
    model.note("marker", "", "after the key")
    journal.close(timeout=10)
    rows = rows_of(log)
    assert "mac" in rows[-1] and rows[-1]["audit_key"] == recorded.audit_key().id
    assert recorded.verify_chain(log).intact
    rows[0]["text"] = "edited"
    rows[0]["chain"] = recorded.chain_hash("", rows[0])
    rows[1]["chain"] = recorded.chain_hash(rows[0]["chain"], rows[1])
    write_rows(log, rows)
    assert recorded.verify_chain(log).text().startswith("ALTERED at row 2")


def test_text_no_utf8_can_hold_is_logged_and_chained_rather_than_stopping_the_journal(home, tmp_path):
    """A lone surrogate (legal in a Python str and in JSON text, not in UTF-8) stopped the
    journal's thread: every later entry of the session was lost."""
    model = SessionModel(link=None)
    log = tmp_path / recorded.EVENTS
    journal = EventJournal(log, model.started_at)
    model.logged.connect(journal.write)
    model.note("marker", "", "half a pair \ud800 of surrogates")
    model.note("marker", "", "the next entry")
    journal.close(timeout=10)
    rows, damaged, check = recorded.read_event_log(log)
    assert [r["text"] for r in rows] == ["half a pair \ud800 of surrogates", "the next entry"]
    assert damaged == 0 and check.intact


@pytest.mark.parametrize(
    "line",
    [
        b'"a chain of words"',  # was TypeError: a JSON string holding "chain" passed `"chain" in row`
        b"5",  # was TypeError: `"chain" in 5`
        b'{"chain": 5, "at": 1, "kind": "marker"}',
        b'{"at": 1e400, "kind": "marker"}',
        b'{"at": ' + b"9" * 400 + b', "kind": "marker"}',  # was OverflowError: an int too large for a float
        b'{"at": 1, "session_s": ' + b"9" * 400 + b', "kind": "marker"}',  # was OverflowError
        b"[" * 100_000 + b"]" * 100_000,  # was RecursionError: nesting deeper than the recursion limit
        b'{"at": 1, "kind": "marker", "text": "\\ud800", "chain": "0"}',  # was UnicodeEncodeError in chain_hash
        b'{"at": 1, "kind": "marker", "audit_key": ["x"], "mac": "\xc3\xa9"}',  # non-hex text where a link belongs
    ],
)
def test_hostile_lines_are_counted_never_raised(home, tmp_path, line):
    log = tmp_path / recorded.EVENTS
    good = {"at": 2.0, "session_s": 0.0, "kind": "marker", "headset": "", "text": "good"}
    good["chain"] = recorded.chain_hash("", good)
    log.write_bytes(json.dumps(good).encode() + b"\n" + line + b"\n" + json.dumps(good).encode() + b"\n")
    rows, damaged, check = recorded.read_event_log(log)
    assert check.first_bad is not None and check.text().startswith(("ALTERED", "cannot verify"))
    assert len(rows) + damaged >= 2
    assert os.path.exists(log)
