"""The link's vocabulary: its settings, the events the link thread produces and the
snapshots any thread may read. No sockets, no threads."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from protocol import messages
from protocol.security import KeyPair

DEFAULT_PORT = 5555
PAIRING_OPEN_S = 120.0  # how long "Pair a headset" admits unknown keys
BAN_S = 10.0  # a flooding headset's messages are dropped unread this long
CANDIDATE_GONE_S = 3.0  # a headset waiting for pairing repeats hello every 250 ms; silence this long: gone


class LinkError(RuntimeError):
    """The link could not start or was used wrongly; the text says what to do."""


class HeadsetState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    STALE = "stale"
    LOST = "lost"


@dataclass(frozen=True)
class LinkConfig:
    bind: str = f"tcp://*:{DEFAULT_PORT}"
    console_name: str = field(default_factory=socket.gethostname)
    session_id: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H-%M-%S") + "-" + uuid.uuid4().hex[:6])
    heartbeat_interval_s: float = 0.1
    watchdog_timeout_s: float = 0.5
    # Link-state thresholds (SPEC §4.3); None: derived from the heartbeat interval I and the
    # watchdog W as the spec says (stale 3 I, lost 4 max(W, 3 I)), so that they agree for
    # every allowed interval. Tests may set them.
    stale_after_s: float | None = None
    lost_after_s: float | None = None
    errors_per_second: float = 10.0
    # The console's CURVE key pair (the console app keeps it in the OS keyring; a link made
    # without one gets a fresh pair, which no headset has pinned yet).
    keys: KeyPair = field(default_factory=KeyPair.generate, repr=False)
    # Paired headsets: public key (Z85) -> the name the technician gave it.
    devices: Mapping[str, str] = field(default_factory=dict)
    # Where engines ask for the console's key before pairing: "auto" = the main port + 1.
    pairing_bind: str | None = "auto"
    # Lab bench only: an extra UNENCRYPTED port for engines without CURVE (protocol 1.0).
    insecure_bind: str | None = None
    # Input budget per connection; beyond it messages are dropped and counted, and a
    # connection still over it after flood_grace_s is dropped (bye "flooding").
    max_messages_per_s: float = 500.0
    max_bytes_per_s: float = 32 * 1024 * 1024
    flood_grace_s: float = 2.0
    max_pairing_candidates: int = 3


def stale_after(config: LinkConfig) -> float:
    """Silence after which a headset shows as stale: 3 heartbeat intervals (SPEC §4.3)."""
    return config.stale_after_s if config.stale_after_s is not None else 3 * config.heartbeat_interval_s


def lost_after(config: LinkConfig) -> float:
    """Silence after which a headset is lost: 4 watchdog timeouts, the watchdog being at
    least 3 heartbeat intervals (SPEC §4.3)."""
    if config.lost_after_s is not None:
        return config.lost_after_s
    return 4 * max(config.watchdog_timeout_s, 3 * config.heartbeat_interval_s)


def pairing_endpoint_for(bind: str, offset: int = 1) -> str:
    """The pairing port that goes with a main port: its port + 1 (a random one for ``*``);
    ``offset=2``: the lab bench's unencrypted port."""
    head, _, port = bind.rpartition(":")
    if port == "*":
        return f"{head}:*"
    try:
        return f"{head}:{int(port) + offset}"
    except ValueError:
        raise LinkError(f"cannot work out the pairing port from {bind!r}: give it as tcp://ADDRESS:PORT") from None


# -- events (produced in the link thread) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class HeadsetJoined:
    """A headset completed the handshake; ``resumed`` when the console knew it already."""

    name: str
    hello: messages.Hello
    resumed: bool


@dataclass(frozen=True, slots=True)
class HeadsetStateChanged:
    name: str
    state: HeadsetState
    previous: HeadsetState
    silent_for_s: float | None
    reason: str = ""


@dataclass(slots=True)  # not frozen: made per message, and frozen __init__ costs more
class MessageReceived:
    """An application message from a headset (not heartbeats, acks or mirror frames)."""

    name: str
    msg_id: int
    message: messages.Message
    received_at: float


@dataclass(frozen=True, slots=True)
class MirrorFrameReady:
    """A new mirror frame waits in :meth:`ConsoleLink.take_mirror_frame` (never more than one)."""

    name: str


@dataclass(frozen=True, slots=True)
class PeerRefused:
    """The console refused a connection or dropped one; ``reason`` is one of version_mismatch,
    duplicate_name, not_paired, no_encryption, revoked, flooding; ``text`` says why and what
    to do, for a technician."""

    name: str
    reason: str
    text: str


@dataclass(frozen=True, slots=True)
class PeerProtocolError:
    """A headset (or an unknown peer) sent something invalid; it was told so, the link stays up."""

    name: str
    code: str
    text: str


@dataclass(frozen=True, slots=True)
class SendFailed:
    name: str
    msg_type: str
    text: str


@dataclass(frozen=True, slots=True)
class PairingRequested:
    """An unpaired headset connected while pairing was open and waits: show ``code`` and let
    the technician compare it with the code the headset shows, then :meth:`ConsoleLink.pair`
    or :meth:`ConsoleLink.reject`."""

    public_key: str
    proposed_name: str
    code: str
    hello: messages.Hello


@dataclass(frozen=True, slots=True)
class PairingEnded:
    """A pairing request is over: ``outcome`` is paired, rejected, gone (the headset left)
    or closed (pairing closed before anyone answered)."""

    public_key: str
    outcome: str


@dataclass(frozen=True, slots=True)
class PairingWindow:
    """Pairing opened (``open``, for ``seconds``) or closed."""

    open: bool
    seconds: float


LinkEvent = (
    HeadsetJoined
    | HeadsetStateChanged
    | MessageReceived
    | MirrorFrameReady
    | PeerRefused
    | PeerProtocolError
    | SendFailed
    | PairingRequested
    | PairingEnded
    | PairingWindow
)


@dataclass(frozen=True, slots=True)
class MirrorFrame:
    name: str
    frame: messages.MirrorFrame
    received_at: float  # console clock
    captured_at_local: float | None  # the capture time in the console's clock, when known


@dataclass(frozen=True, slots=True)
class HeadsetSnapshot:
    """What the console knows about one headset, copied out for any thread to read."""

    name: str
    state: HeadsetState
    engine: str
    app_version: str
    device: str
    protocol: str
    rtt_ms: float | None
    clock_offset_ms: float | None
    silent_for_s: float | None
    joined_at: float
    frames_received: int
    frames_replaced: int
    ignored_fields: int
    ignored_types: int
    errors_from_peer: int
    public_key: str = ""  # "" on the unencrypted lab-bench port
    encrypted: bool = True
    dropped: int = 0  # messages dropped over the input budget
