"""The fuzz harnesses: one function per target, taking arbitrary bytes, each with the error
types it is allowed to let escape (errors in words, for the user or the peer). Anything else
escaping is a bug. ``make fuzz`` runs them under atheris (``tests/fuzz/run.py``);
``tests/fuzz/test_corpus.py`` replays the committed corpus through them without atheris.

- ``codec``: one frame through a peer's :class:`protocol.codec.Decoder`, as the console and
  as an engine, before and after the peer's version is known. What is accepted must encode
  again and read back the same; what is refused must give an ``error`` reply that encodes.
- ``handshake``: a connection's frames in order, as the link reads them (SPEC.md
  "Handshake"): a fresh decoder until a hello (or welcome) of our major fixes the peer's
  minor version, then that peer's decoder; every refusal answered with an encodable
  ``error``; the peer's heartbeats through a :class:`protocol.timing.PeerClock`, whose next
  beat (echoing them) must encode. The same frames as a ZAP request
  (:func:`protocol.security.read_zap_request`) and as CURVE keys
  (:func:`protocol.security.check_key`). Not driven: the link's own state machine
  (``protocol/link``: hello handling, duplicates, budgets, pairing, ZAP decisions), which
  needs its sockets and was being rewritten when these harnesses were written.
- ``event_log``: the bytes as ``events.jsonl`` through :func:`read_event_log`, keyed with a
  key this installation holds.
- ``session_import``: the bytes as a session folder's ``session.json`` and ``events.jsonl``
  (split at the first 0xC1 byte, which UTF-8 JSON never holds), imported into the session
  store and loaded as the review, report and export load it.

Input layout is plain so that a corpus file can be made or read by hand.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from console.core.secrets import SecretStore
from console.records import recorded
from console.records.recorded import SessionFileError
from console.records.store import SessionStore, StoreError
from protocol import codec, messages, security
from protocol.codec import PROTO, ProtocolError
from protocol.security import KeyProblem
from protocol.timing import PeerClock

SEPARATOR = b"\xc1"  # never used by msgpack, never in UTF-8: splits frames, and manifest from log
MAX_FRAMES = 16
# The audit key of the fuzzing "installation": the corpus's keyed logs are keyed with it.
FUZZ_KEY = recorded.AuditKey(bytes(range(32)))


def fuzz_keys(wanted: str) -> bytes | None:
    return FUZZ_KEY.key if wanted == FUZZ_KEY.id else None


def use_fuzz_key() -> None:
    """Make the fuzzing key this installation's audit key (in ``VRCLINIC_HOME``, as files), so
    that the keyed seeds verify where the harness reads as the console does."""
    SecretStore(use_keyring=False).put(recorded.AUDIT_KEY, FUZZ_KEY.key)


@dataclass(frozen=True)
class Harness:
    name: str
    run: Callable[[bytes], None]
    allowed: tuple[type[BaseException], ...]  # may escape: errors in words, by design

    def one(self, data: bytes) -> None:
        """Run one input; allowed errors are swallowed, anything else is raised (a bug)."""
        with contextlib.suppress(self.allowed):
            self.run(data)


# -- codec -------------------------------------------------------------------------------


def _reply_encodes(exc: ProtocolError) -> None:
    """A refusal is answered with an ``error`` message: it must always be sendable."""
    try:
        codec.encode(exc.as_error(), 1)
    except Exception as inner:
        raise AssertionError(f"the error reply to {exc!r} cannot be encoded: {inner!r}") from inner


def _decode(decoder: codec.Decoder, frame: bytes) -> codec.Received | None:
    try:
        return decoder.decode(frame)
    except ProtocolError as exc:
        _reply_encodes(exc)
        raise


def _round_trip(received: codec.Received, receiver: str, lenient: bool) -> None:
    """What was accepted encodes again and reads back as the same message."""
    try:
        frame = codec.encode(received.message, received.id)
    except ProtocolError as exc:
        if exc.code == "too_large":  # float32 and long int forms are accepted, sent as float64
            return
        raise AssertionError(f"accepted {received.message!r} but cannot encode it again: {exc}") from exc
    back = codec.decode(frame, receiver=receiver, lenient=lenient)
    if back is None or back.message != received.message or back.id != received.id:
        raise AssertionError(f"{received.message!r} reads back as {back!r}")


def fuzz_codec(data: bytes) -> None:
    """First byte: bit 0 the receiver (1 console, 0 engine); bits 1-2 what it knows of the
    peer's version (not yet, the same minor, a newer minor, minor 0). The rest: one frame."""
    if not data:
        return
    mode, frame = data[0], data[1:]
    receiver = "console" if mode & 1 else "engine"
    decoder = codec.Decoder(receiver)
    known = (None, PROTO.minor, PROTO.minor + 1, 0)[(mode >> 1) & 3]
    if known is not None:
        decoder.peer_minor = known
    received = _decode(decoder, frame)
    if received is not None:
        _round_trip(received, receiver, decoder.lenient)


# -- handshake ---------------------------------------------------------------------------


def fuzz_handshake(data: bytes) -> None:
    """First byte: bit 0 the side (1 the console reading an engine, 0 an engine reading the
    console). The rest: up to 16 frames separated by 0xC1, read in order on one connection."""
    if not data:
        return
    console_side = bool(data[0] & 1)
    frames = data[1:].split(SEPARATOR)[:MAX_FRAMES]
    decoder = codec.Decoder("console" if console_side else "engine")
    first = messages.Hello if console_side else messages.Welcome
    clock = PeerClock(late_after_s=2.0)
    for n, frame in enumerate(frames):
        try:
            received = _decode(decoder, frame)
        except ProtocolError:
            continue  # answered with an error; the connection goes on
        if received is None:
            continue
        _round_trip(received, decoder.receiver, decoder.lenient)
        msg = received.message
        if isinstance(msg, first) and decoder.peer_minor is None and msg.protocol_major == PROTO.major:
            decoder.peer_minor = msg.protocol_minor  # what the link does on a hello of our major
        elif isinstance(msg, messages.Heartbeat):
            # Both sides count the peer's beats and echo the last in their own (SPEC "Heartbeats"):
            # whatever the peer sent, our next beat must be sendable.
            clock.on_heartbeat(msg, 1000.0 + n * 0.25)
            codec.encode(clock.heartbeat(n, 1000.0 + n * 0.25), n + 1)
            clock.offset_s, clock.rtt_s  # noqa: B018 (computed: they must not raise)
    # The same frames as libzmq's ZAP request, and as keys a peer or a keys file offers.
    request = security.read_zap_request(frames)
    for admitted in (False, True):
        reply = security.zap_reply(request, admitted, "not paired", request.client_key or "" if request else "")
        if len(reply) != 6 or not all(isinstance(part, bytes) for part in reply):
            raise AssertionError(f"ZAP reply {reply!r} is not six frames of bytes")
    if request is not None and request.client_key is not None:
        security.check_key(request.client_key)  # a key libzmq hands over is always well formed
    keys = []
    for frame in frames:
        with contextlib.suppress(KeyProblem):
            keys.append(security.check_key(frame.decode("latin-1"), "public key"))
    if keys:
        security.pairing_code(keys[0], keys[-1])
        security.fingerprint(keys[0])


# -- the event log -----------------------------------------------------------------------

_scratch = Path(tempfile.mkdtemp(prefix="vrclinic-fuzz-"))


def _check_rows(rows: list[dict], check: recorded.ChainCheck) -> None:
    for row in rows:
        if not (isinstance(row["at"], float) and math.isfinite(row["at"]) and isinstance(row["kind"], str)):
            raise AssertionError(f"read_event_log returned a row that is not an event: {row!r}")
        if not (isinstance(row["headset"], str) and isinstance(row["text"], str)):
            raise AssertionError(f"a row's headset or text is not text: {row!r}")
        if row["session_s"] is not None and not isinstance(row["session_s"], float):
            raise AssertionError(f"a row's session_s is not a number: {row!r}")
    check.text()
    check.problem()


def fuzz_event_log(data: bytes) -> None:
    path = _scratch / recorded.EVENTS
    path.write_bytes(data)
    rows, damaged, check = recorded.read_event_log(path, fuzz_keys)
    if damaged < 0 or check.entries < 0:
        raise AssertionError("negative counts")
    _check_rows(rows, check)


# -- session import ----------------------------------------------------------------------

_folder = _scratch / "session"
_store: SessionStore | None = None


def fuzz_session_import(data: bytes) -> None:
    """The bytes before the first 0xC1: ``session.json`` (none when empty); after it:
    ``events.jsonl`` (none when there is no 0xC1)."""
    global _store
    if _store is None:
        _store = SessionStore(Path(":memory:"))  # the same schema and SQL, without waiting for a disk
    manifest, sep, events = data.partition(SEPARATOR)
    _folder.mkdir(exist_ok=True)
    for name, content, present in ((recorded.MANIFEST, manifest, bool(manifest)), (recorded.EVENTS, events, bool(sep))):
        path = _folder / name
        if present:
            path.write_bytes(content)
        elif path.exists():
            os.unlink(path)
    refused: StoreError | None = None
    try:
        _store.import_session_folder(_folder)
    except StoreError as exc:
        refused = exc  # said in words; the review still opens the folder
    s = recorded.load(_folder)
    if s.log_check is not None:
        _check_rows(s.events, s.log_check)
    for problem in s.problems:
        if not isinstance(problem, str):
            raise AssertionError(f"a problem that is not a sentence: {problem!r}")
    if refused is not None:
        raise refused


HARNESSES: dict[str, Harness] = {
    h.name: h
    for h in (
        Harness("codec", fuzz_codec, (ProtocolError,)),
        Harness("handshake", fuzz_handshake, ()),
        Harness("event_log", fuzz_event_log, ()),
        Harness("session_import", fuzz_session_import, (StoreError, SessionFileError)),
    )
}
