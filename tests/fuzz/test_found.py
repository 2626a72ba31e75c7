"""What the fuzzers found, each kept fixed by a test that failed before its fix (the inputs
themselves are in the corpus too, named found-*). The event log reader's finds are in
tests/console/records/test_audit_chain.py (test_hostile_lines_are_counted_never_raised)."""

from __future__ import annotations

import json

import msgpack
import pytest

from console.records.store import SessionStore, StoreError
from protocol import codec, security


def test_a_frame_with_a_negative_id_and_no_type_gets_an_error_reply_that_can_be_sent():
    """Was: the refusal carried ref_id -12, below the field's minimum of -1, so encoding the
    error reply raised in the link thread (the thread that serves every headset)."""
    frame = msgpack.packb({"id": -12, "name": "x"})
    with pytest.raises(codec.ProtocolError) as err:
        codec.Decoder("console").decode(frame)
    assert err.value.ref_id == -1
    reply = codec.decode(codec.encode(err.value.as_error(), 1), receiver="engine").message
    assert reply.ref_id == -1 and "no text 'type'" in reply.text
    assert codec.ProtocolError("malformed", "x", ref_id=-5).as_error().ref_id == -1


def test_a_key_of_z85_characters_that_overflows_is_a_key_problem_in_words():
    """Was: struct.error from pyzmq's z85 decoder ("'I' format requires 0 <= number <=
    4294967295") for 40 Z85 characters whose 5-character groups exceed 2^32."""
    with pytest.raises(security.KeyProblem, match="not valid Z85"):
        security.check_key("#" * 40, "public key")


def folder_with(tmp_path, manifest: dict | None, rows: list[dict]):
    folder = tmp_path / "session"
    folder.mkdir()
    if manifest is not None:
        (folder / "session.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


ROW = {"at": 10.0, "session_s": 1.0, "kind": "marker", "headset": "", "text": "mark"}


@pytest.mark.parametrize(
    ("manifest", "rows"),
    [
        ({"duration_s": "long"}, [ROW]),  # was TypeError (float - str) estimating the start time
        ({"session_id": "s1", "duration_s": "long"}, [ROW]),  # was stored as the session's length
        ({"session_id": "s1", "duration_s": [1]}, [ROW]),  # was SQLite's "type 'list' is not supported"
        ({"session_id": "s1", "duration_s": 1e300}, [ROW]),  # was stored as the session's length
        (None, [{**ROW, "session_s": 1e300}]),  # no manifest, the length from the log: was OverflowError
    ],
)
def test_a_session_length_that_is_not_a_number_of_seconds_is_refused_in_words(tmp_path, manifest, rows):
    store = SessionStore(tmp_path / "store.sqlite3")
    with pytest.raises(StoreError, match=r"must be a number of seconds from 0 to 1,000,000"):
        store.import_session_folder(folder_with(tmp_path, manifest, rows))


def test_text_that_utf8_cannot_hold_is_imported_as_a_replacement_character(tmp_path):
    """Was: UnicodeEncodeError from SQLite for an event whose text was "\\ud800" (a JSON escape
    of half a surrogate pair), with the import's transaction rolled back."""
    store = SessionStore(tmp_path / "store.sqlite3")
    row = {**ROW, "text": "SUDS 40 \ud800 (answered in 1.0 s)", "kind": "answer"}
    store.import_session_folder(folder_with(tmp_path, {"session_id": "s1", "summary": {"n": "\udc00"}}, [row]))
    (event,) = store.events("s1")
    assert event.text == "SUDS 40 \ufffd (answered in 1.0 s)"
    assert [r.value for r in store.ratings("s1")] == [40]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "session.json").write_text('{"session_id": "s\\ud800"}', encoding="utf-8")
    with pytest.raises(StoreError, match="not valid Unicode text"):
        store.import_session_folder(bad)
