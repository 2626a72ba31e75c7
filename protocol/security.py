"""What makes the link admit only paired headsets: keys, the pairing code, the keys file and
the ZAP decisions. No sockets of its own and no threads; the link thread calls into it.

The scheme (SPEC.md, "Security"):

- The console is a ZeroMQ CURVE server; each engine is a CURVE client with its own long-term
  key pair and the console's public key pinned. A headset *is* its public key: the name it
  claims in hello is only a proposal.
- libzmq decides who may finish the CURVE handshake by asking a ZAP handler. With no handler
  it admits every client (fails open), so the console binds its handler before it binds the
  port, in the same context, and refuses to start when it cannot (:func:`bind_zap`).
- Before the first encrypted connection an engine learns the console's public key on the
  pairing port (unencrypted, public information only); both sides then show a six-digit
  code made from both public keys (:func:`pairing_code`), which a technician compares, as
  in Bluetooth's numeric comparison: a key swapped in between gives different codes.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import zmq
from zmq.utils import z85

ZAP_ENDPOINT = "inproc://zeromq.zap.01"  # fixed by RFC 27: libzmq asks exactly this address
ZAP_VERSION = b"1.0"
KEY_LEN = 40  # a 32-byte key in Z85
PAIRING_SALT = b"vrclinic pairing v1"


class KeyProblem(ValueError):
    """A key or keys file is unusable; the text says which and what to do."""


@dataclass(frozen=True, slots=True)
class KeyPair:
    public: str  # Z85, 40 characters
    secret: str

    @classmethod
    def generate(cls) -> KeyPair:
        public, secret = zmq.curve_keypair()
        return cls(public.decode("ascii"), secret.decode("ascii"))

    @classmethod
    def from_secret(cls, secret: str) -> KeyPair:
        check_key(secret, "secret key")
        return cls(zmq.curve_public(secret.encode("ascii")).decode("ascii"), secret)

    def __repr__(self) -> str:  # never print a secret key, not even in a traceback's locals
        return f"KeyPair(public={self.public!r}, secret=<hidden>)"


def check_key(key: object, what: str = "key") -> str:
    """The key itself when it is a Z85-encoded 32-byte CURVE key, else KeyProblem in words."""
    if not isinstance(key, str) or len(key) != KEY_LEN:
        raise KeyProblem(f"the {what} must be 40 characters of Z85 (a CURVE key), got {_describe(key)}")
    try:
        raw = z85.decode(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError, KeyError, struct.error):  # struct.error: a group over 2^32
        raise KeyProblem(f"the {what} is not valid Z85 text") from None
    if len(raw) != 32:
        raise KeyProblem(f"the {what} does not decode to 32 bytes")
    return key


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f"{len(value)} characters"
    return type(value).__name__


def raw_key(key: str) -> bytes:
    return z85.decode(check_key(key).encode("ascii"))


def pairing_code(console_public: str, engine_public: str) -> str:
    """Six digits both sides show while pairing, e.g. ``"042 917"``: equal only when both
    sides hold the same two public keys."""
    digest = hashlib.sha256(PAIRING_SALT + raw_key(console_public) + raw_key(engine_public)).digest()
    number = int.from_bytes(digest[:4], "big") % 1_000_000
    return f"{number // 1000:03d} {number % 1000:03d}"


def fingerprint(public: str) -> str:
    """A short, stable label for a key in lists and logs (never the secret)."""
    return hashlib.sha256(raw_key(public)).hexdigest()[:12]


# -- the engine's keys file -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EngineKeys:
    """What an engine needs to connect: its own key pair and, once paired, the console's key."""

    own: KeyPair
    console_public: str | None = None

    def with_console(self, console_public: str) -> EngineKeys:
        return EngineKeys(self.own, check_key(console_public, "console's public key"))

    def to_json(self) -> str:
        data = {"public": self.own.public, "secret": self.own.secret}
        if self.console_public:
            data["console_public"] = self.console_public
        return json.dumps(data, indent=2) + "\n"


def read_keys_file(path: Path) -> EngineKeys:
    """An engine's keys file (JSON, readable by its owner only):
    ``{"public": Z85, "secret": Z85, "console_public": Z85}``, console_public absent until
    paired. Raises KeyProblem naming the file and what to do."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise KeyProblem(f"cannot read the keys file {path}: {exc.strerror}") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyProblem(
            f"the keys file {path} can be read by other users of this computer; "
            f"it holds a secret key: run  chmod 600 {path}  and try again"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeyProblem(f"the keys file {path} is not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise KeyProblem(f"the keys file {path} must hold a JSON object with public, secret and console_public")
    try:
        own = KeyPair.from_secret(data.get("secret"))  # type: ignore[arg-type]
        if data.get("public") not in (None, own.public):
            raise KeyProblem("its public key does not belong to its secret key")
        console = data.get("console_public")
        return EngineKeys(own, None if console is None else check_key(console, "console_public"))
    except KeyProblem as exc:
        raise KeyProblem(f"the keys file {path}: {exc}") from None


def write_keys_file(path: Path, keys: EngineKeys) -> None:
    """Write (or replace) a keys file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(keys.to_json())
    os.replace(tmp, path)


# -- sockets ----------------------------------------------------------------------------


def make_curve_server(sock: zmq.Socket, keys: KeyPair) -> None:
    """Before bind: ``sock`` accepts only CURVE clients, and asks ZAP about each."""
    sock.setsockopt(zmq.CURVE_SERVER, 1)
    sock.setsockopt(zmq.CURVE_SECRETKEY, keys.secret.encode("ascii"))
    sock.setsockopt(zmq.CURVE_PUBLICKEY, keys.public.encode("ascii"))
    sock.setsockopt(zmq.ZAP_DOMAIN, b"vrclinic")


def make_curve_client(sock: zmq.Socket, keys: EngineKeys) -> None:
    """Before connect: ``sock`` talks CURVE to the pinned console key."""
    if not keys.console_public:
        raise KeyProblem(
            "this headset is not paired with a console yet (its keys have no console_public): pair it first"
        )
    sock.setsockopt(zmq.CURVE_SERVERKEY, keys.console_public.encode("ascii"))
    sock.setsockopt(zmq.CURVE_PUBLICKEY, keys.own.public.encode("ascii"))
    sock.setsockopt(zmq.CURVE_SECRETKEY, keys.own.secret.encode("ascii"))


def handshake_event(monitor: zmq.Socket, flags: int = 0) -> dict:
    """The next event from a socket's monitor (``get_monitor_socket``): a handshake that
    failed or succeeded, as pyzmq parses it. The socket's thread."""
    # Imported here: zmq.utils.monitor imports asyncio (~25 ms of every program's start),
    # for an event that is rare.
    from zmq.utils.monitor import parse_monitor_message

    return parse_monitor_message(monitor.recv_multipart(flags))


def bind_zap(ctx: zmq.Context) -> zmq.Socket:
    """The ZAP handler's socket, bound in ``ctx`` (call before binding the CURVE port: a
    CURVE server with no ZAP handler admits everyone). Raises zmq.ZMQError when another
    handler already holds the address, which the caller must treat as "cannot start"."""
    sock = ctx.socket(zmq.REP)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.bind(ZAP_ENDPOINT)
    except zmq.ZMQError:
        sock.close(0)
        raise
    return sock


@dataclass(frozen=True, slots=True)
class ZapRequest:
    request_id: bytes
    domain: str
    address: str
    mechanism: str
    client_key: str | None  # Z85, CURVE only


def read_zap_request(frames: list[bytes]) -> ZapRequest | None:
    """Parse one ZAP request (RFC 27); None when it is not one we can answer."""
    if len(frames) < 6 or frames[0] != ZAP_VERSION:
        return None
    request_id, domain, address, _identity, mechanism = frames[1:6]
    key = None
    if mechanism == b"CURVE" and len(frames) >= 7 and len(frames[6]) == 32:
        key = z85.encode(frames[6]).decode("ascii")
    return ZapRequest(
        request_id,
        domain.decode(errors="replace"),
        address.decode(errors="replace"),
        mechanism.decode(errors="replace"),
        key,
    )


def zap_reply(request: ZapRequest | None, admitted: bool, text: str, user_id: str = "") -> list[bytes]:
    """The ZAP answer frames: 200 with ``user_id`` (the key, which each later message then
    carries as its User-Id property) or 400."""
    request_id = request.request_id if request else b""
    status = (b"200", b"OK") if admitted else (b"400", text.encode()[:255])
    return [ZAP_VERSION, request_id, status[0], status[1], user_id.encode() if admitted else b"", b""]
