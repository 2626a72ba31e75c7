"""What the link thread keeps per connection, and the plain rules it applies to messages:
which messages it handles itself, which times it checks, what a protocol 1.0 peer gets
instead of the 1.1 enum values, and the words for a port that cannot be bound. No sockets,
no threads of its own: everything here belongs to the link thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import zmq

from protocol import codec, messages, schema
from protocol.link.budgets import Budget
from protocol.link.types import DEFAULT_PORT, HeadsetState
from protocol.timing import PeerClock, now

# Messages the link handles itself (some are also passed on); the rest go straight to the events.
LINK_LEVEL = frozenset({messages.Hello, messages.Heartbeat, messages.MirrorFrame, messages.Bye, messages.Error})


def time_fields() -> dict[type, tuple[str, ...]]:
    """Per engine message type, its times in the engine's clock (declared in seconds and
    named ``at`` or ``*_at``): the ones the link checks for plausibility."""
    fields: dict[type, tuple[str, ...]] = {}
    for spec in schema.load().messages:
        if spec.direction == "console_to_engine" or spec.type in ("hello", "heartbeat"):
            continue
        names = tuple(f.name for f in spec.fields if f.unit == "s" and (f.name == "at" or f.name.endswith("_at")))
        if names:
            fields[messages.MESSAGE_TYPES[spec.type]] = names
    return fields


TIME_FIELDS = time_fields()

# What a peer of minor 0 gets instead of the enum values 1.1 added (SPEC §3).
_BYE_1_0 = {"not_paired": "refused", "revoked": "refused", "flooding": "refused"}
_ERROR_1_0 = {"rate_limited": "busy", "unexpected": "invalid_field", "bad_time": "invalid_field"}


def for_minor(message: messages.Message, minor: int | None) -> messages.Message:
    """``message`` as a peer of protocol minor ``minor`` can read it (None: not known yet)."""
    if minor is None or minor >= 1:
        return message
    if isinstance(message, messages.Bye) and str(message.reason) in _BYE_1_0:
        return messages.Bye(reason=_BYE_1_0[str(message.reason)], text=message.text)
    if isinstance(message, messages.Error) and str(message.code) in _ERROR_1_0:
        return messages.Error(
            code=_ERROR_1_0[str(message.code)], text=message.text, ref_type=message.ref_type, ref_id=message.ref_id
        )
    return message


# How far an engine's time may lie from now once its clock offset is known: a prompt may
# have been shown minutes ago, nothing is sent from the future (beyond clock jitter).
PLAUSIBLE_PAST_S = 3600.0  # SPEC §9.1, bad_time
PLAUSIBLE_FUTURE_S = 10.0


class Peer:
    def __init__(self, name: str, late_after_s: float, key: str | None, budget: Budget):
        self.name = name
        self.key = key  # its CURVE public key; None on the unencrypted lab-bench port
        self.routing_id: bytes | None = None
        self.instance_id = ""
        self.hello: messages.Hello | None = None
        self.decoder = codec.Decoder("console")
        self.clock = PeerClock(late_after_s)
        self.beat_seq = 0  # our heartbeats to it, from 0 on every connection
        self.state = HeadsetState.CONNECTING
        self.joined_at = now()
        self.frames_received = 0
        self.frames_replaced = 0
        self.errors_from_peer = 0
        self.left = False  # said bye, was revoked or dropped for flooding
        self.banned_until = 0.0
        self.budget = budget
        self.rate_warned_at = -1e9
        self.dropped_published = 0


@dataclass(slots=True)
class Candidate:
    """An unpaired headset that connected while pairing was open, waiting for the technician."""

    routing_id: bytes
    hello: messages.Hello
    last_seen: float
    announced: bool = False


def bind_advice(endpoint: str, exc: zmq.ZMQError) -> str:
    if exc.errno == zmq.EADDRINUSE:
        return (
            f"Cannot listen on {endpoint}: the port is in use. Is another vrclinic console running? "
            "Close it, or start this one on another port (and point the headsets at it)."
        )
    return f"Cannot listen on {endpoint}: {exc}. Check the address (e.g. tcp://*:{DEFAULT_PORT})."
