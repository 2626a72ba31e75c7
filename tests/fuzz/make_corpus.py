"""Write the fuzz harnesses' seed corpus into tests/fuzz/corpus/<harness>/ from real material:
the protocol's golden vectors, and event logs and a session folder written by the recorder's
own code. Run it again after the protocol or the file formats change, then commit the files:

    .venv/bin/python -m tests.fuzz.make_corpus

``make fuzz`` adds the inputs it finds to a scratch copy, never to these folders; inputs worth
keeping (a crash's reproducer, once fixed) are copied in by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
REPO = HERE.parents[1]


def _write(harness: str, data: bytes, made: dict[str, int]) -> None:
    folder = CORPUS / harness
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{hashlib.sha1(data).hexdigest()[:16]}").write_bytes(data)
    made[harness] = made.get(harness, 0) + 1


def codec_seeds(made: dict[str, int]) -> list[tuple[str, bytes]]:
    """Every golden vector, as the receiver it is meant for (and the other one), with the peer's
    version unknown and known; returns (type, frame) of the valid ones for the handshake."""
    from protocol import codec

    golden = json.loads((REPO / "protocol" / "vectors" / "golden.json").read_text(encoding="utf-8"))
    valid = []
    for vector in golden["valid"]:
        frame = bytes.fromhex(vector["hex"])
        for receiver, bit in (("console", 1), ("engine", 0)):
            try:
                codec.decode(frame, receiver=receiver)
            except codec.ProtocolError:
                if vector["type"] != "error":
                    continue  # the other direction's message: one seed of it is enough
            valid.append((vector["type"], receiver, frame))
            _write("codec", bytes([bit]) + frame, made)
            _write("codec", bytes([bit | 2]) + frame, made)  # the peer's version known
    for vector in golden["invalid"]:
        bit = 1 if vector["receiver"] == "console" else 0
        _write("codec", bytes([bit]) + bytes.fromhex(vector["hex"]), made)
        _write("codec", bytes([bit | 4]) + bytes.fromhex(vector["hex"]), made)  # from a newer peer
    return [(kind, frame) for kind, receiver, frame in valid if receiver == "console"], [
        (kind, frame) for kind, receiver, frame in valid if receiver == "engine"
    ]


def handshake_seeds(to_console: list[tuple[str, bytes]], to_engine: list[tuple[str, bytes]], made) -> None:
    from protocol import security
    from tests.fuzz.harnesses import SEPARATOR

    def first(kinds, wanted):
        return [frame for kind, frame in kinds if kind == wanted]

    hello, welcome = first(to_console, "hello"), first(to_engine, "welcome")
    rest_console = [frame for kind, frame in to_console if kind != "hello" and SEPARATOR not in frame]
    rest_engine = [frame for kind, frame in to_engine if kind != "welcome" and SEPARATOR not in frame]
    for h in hello:
        _write("handshake", b"\x01" + SEPARATOR.join([h, *rest_console[:6]]), made)
        _write("handshake", b"\x01" + SEPARATOR.join([h, h, *rest_console[6:12]]), made)  # hello repeated
        _write("handshake", b"\x01" + SEPARATOR.join([*rest_console[:3], h, *rest_console[3:5]]), made)  # before hello
    for w in welcome:
        _write("handshake", b"\x00" + SEPARATOR.join([w, *rest_engine[:8]]), made)
        _write("handshake", b"\x00" + SEPARATOR.join([w, *rest_engine[8:]]), made)
    keys = security.KeyPair.generate()
    raw = b"\x00" * 32
    for _ in range(100):  # a key whose bytes hold no separator
        raw = os.urandom(32)
        if SEPARATOR not in raw:
            break
    zap = [b"1.0", b"1", b"global", b"127.0.0.1", b"", b"CURVE", raw]
    _write("handshake", b"\x01" + SEPARATOR.join(zap), made)
    _write("handshake", b"\x01" + SEPARATOR.join([*zap[:5], b"NULL"]), made)
    _write("handshake", b"\x01" + SEPARATOR.join([keys.public.encode(), keys.secret.encode()]), made)


def _journal(path: Path, model, key):
    from console.recording.journal import EventJournal

    journal = EventJournal(path, model.started_at, key=lambda: key)
    for entry in model.log:
        journal.write(entry)
    model.logged.connect(journal.write)
    return journal


def event_log_seeds(made: dict[str, int], scratch: Path) -> bytes:
    """Logs the recorder's journal writes, keyed with the fuzzing key; returns a session's log."""
    from console.records import recorded
    from console.session.model import SessionModel
    from protocol import messages
    from protocol.link import MessageReceived
    from tests.console.session.test_model import connected_model
    from tests.fuzz.harnesses import FUZZ_KEY

    model, _link = connected_model()
    log = scratch / "session.jsonl"
    journal = _journal(log, model, FUZZ_KEY)
    for n, value in enumerate((45, 30)):
        prompt_id = model.ask("suds")
        answer = messages.PromptAnswer(
            prompt_id=prompt_id, kind="suds", answered=True, value=value, shown_at=1.0 + n, answered_at=2.5 + n
        )
        model.apply(MessageReceived("h1", 10 + n, answer, model.clock()))
    model.note("decision", "", "suggestion #1 accepted", {"suggestion": 1, "response": "accepted", "values": [1, 2.5]})
    model.note("marker", "", "ünïcödé ✓ and \\ud800-free text")
    journal.close(timeout=10)
    session = log.read_bytes()
    _write("event_log", session, made)
    lines = session.split(b"\n")
    _write("event_log", b"\n".join(lines[:-3]) + b"\n" + lines[-3][:30], made)  # cut by a crash
    edited = session.replace(b"SUDS 45", b"SUDS 15", 1)
    _write("event_log", edited, made)

    old = scratch / "old.jsonl"  # from before the keyed chain, then appended to by this console
    rows, chain = [], ""
    for n in range(3):
        row = {"at": 10.0 + n, "session_s": float(n), "kind": "marker", "headset": "", "text": f"mark {n}"}
        row["chain"] = chain = recorded.chain_hash(chain, row)
        rows.append(json.dumps(row))
    old.write_text("\n".join(rows) + "\n", encoding="utf-8")
    _write("event_log", old.read_bytes(), made)
    plain = SessionModel(link=None)
    journal = _journal(old, plain, FUZZ_KEY)
    plain.note("marker", "", "appended")
    journal.close(timeout=10)
    _write("event_log", old.read_bytes(), made)
    prechain = b'{"at": 1.5, "session_s": 0.5, "kind": "link", "headset": "h1", "text": "connected"}\n'
    _write("event_log", prechain * 3, made)
    return session


def session_seeds(made: dict[str, int], scratch: Path, events: bytes) -> None:
    """A session folder recorded by :class:`SessionRecording` (no streams: the manifest and the
    event log are what the import reads), then variants of its manifest."""
    from console.recording.recorder import SessionRecording
    from console.session.model import SessionModel
    from tests.fuzz.harnesses import SEPARATOR

    model = SessionModel(link=None)
    folder = scratch / "recorded"
    rec = SessionRecording(model, folder, None, list, patient="P-014", mirror_fps=0, settle_s=0.1)
    rec.begin()
    model.note("marker", "", "recorded")
    deadline = time.monotonic() + 30
    while not rec.folder_ready and time.monotonic() < deadline:
        time.sleep(0.05)
    rec.end()
    rec.finished.wait(30)
    manifest = (folder / "session.json").read_bytes()
    _write("session_import", manifest + SEPARATOR + (folder / "events.jsonl").read_bytes(), made)
    _write("session_import", manifest + SEPARATOR + events, made)
    doc = json.loads(manifest)
    for change in ({"state": "recording"}, {"patient": 14}, {"duration_s": "long"}, {"summary": {"a": 1}}):
        _write("session_import", json.dumps({**doc, **change}).encode() + SEPARATOR + events, made)
    _write("session_import", SEPARATOR + events, made)  # an older recording: no session.json
    _write("session_import", manifest, made)  # no event log


def main() -> int:
    os.environ.setdefault("VRCLINIC_SECRETS", "files")
    scratch = Path(tempfile.mkdtemp(prefix="vrclinic-corpus-"))
    os.environ["VRCLINIC_HOME"] = str(scratch / "home")
    sys.path.insert(0, str(REPO))
    from tests.fuzz.harnesses import use_fuzz_key

    use_fuzz_key()  # the recorded folder's log is keyed as the other keyed seeds are
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    made: dict[str, int] = {}
    try:
        to_console, to_engine = codec_seeds(made)
        handshake_seeds(to_console, to_engine, made)
        events = event_log_seeds(made, scratch)
        session_seeds(made, scratch, events)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for harness in sorted(made):
        files = list((CORPUS / harness).iterdir())
        print(f"{harness}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
