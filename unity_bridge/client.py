"""The Python engine client: what a Python-based engine (Panda3D, Vizard, pyopenxr) embeds
to be driven by the vrclinic console. The simulated headset is built on it.

Threading: the client belongs to the engine's own loop. Create it, call :meth:`poll`
every frame (or block in it with a timeout), and call :meth:`send` from that same thread:
the DEALER socket is used only there. The exceptions are :meth:`offer_frame` and
:meth:`wake`, which any thread may call (a render thread hands over JPEG frames that way).

The engine's obligations, which the client cannot fulfil for it:

- on :class:`ConsoleGone` (the watchdog tripped, or the console said bye), fade to the
  calm scene at once;
- on a ``make_safe`` message, the same;
- after :class:`Connected`, send a ``scene_status``; after any change of scene or state,
  send it again; answer ``set_parameter`` with ``parameter_applied``.

Everything else of the link (handshake, heartbeats, clock, reconnection, watchdog timing,
mirror flow control, error replies) is done here.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import threading
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import zmq

from protocol import codec, messages, security
from protocol.codec import ProtocolError
from protocol.link.budgets import RateLimit
from protocol.security import EngineKeys, KeyProblem
from protocol.timing import PeerClock, now
from protocol.waker import Waker


class EngineState(StrEnum):
    PAIRING = "pairing"  # no console key yet: asking the pairing port for it (SPEC §10.6)
    CONNECTING = "connecting"  # sending hello until a welcome arrives
    CONNECTED = "connected"
    REFUSED = "refused"  # the console refused us (version, name, pairing, revoked): a person must act
    CLOSED = "closed"


# -- events returned by poll() ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connected:
    welcome: messages.Welcome
    resumed: bool  # we had a session with this console before (reconnection)


@dataclass(frozen=True, slots=True)
class ConsoleGone:
    """Make the scene safe now: the console's heartbeats stopped, or it said bye."""

    reason: str
    silent_for_s: float | None


@dataclass(frozen=True, slots=True)
class ConsoleBack:
    """Heartbeats count again after ConsoleGone; the scene stays calm until the console says otherwise."""

    after_s: float


@dataclass(frozen=True, slots=True)
class Refused:
    """The console refused us; a person must act. ``reason``: version_mismatch,
    duplicate_name, not_paired or revoked ends the link (state REFUSED); not_admitted (the
    console refused our key during the encrypted handshake) keeps trying, so that the
    headset connects by itself once a technician pairs it."""

    reason: str
    text: str


@dataclass(frozen=True, slots=True)
class PairingCode:
    """Pairing (SPEC §10.6): show ``code`` to the person at the headset; the technician
    accepts on the console only if the console shows the same code."""

    code: str
    console_name: str


@dataclass(slots=True)  # not frozen: made per message, and frozen __init__ costs more
class Received:
    """An application message from the console (set_parameter, make_safe, prompt, ...)."""

    msg_id: int
    message: messages.Message


EngineEvent = Connected | ConsoleGone | ConsoleBack | Refused | Received | PairingCode

# Messages the client handles itself (some also reach the engine); everything else goes
# straight to the engine.
_LINK_LEVEL = frozenset(
    {messages.Welcome, messages.Heartbeat, messages.MirrorAck, messages.MirrorSettings, messages.Bye, messages.Error}
)


_REFUSALS = frozenset(
    {
        messages.ByeReason.VERSION_MISMATCH,
        messages.ByeReason.DUPLICATE_NAME,
        messages.ByeReason.NOT_PAIRED,
        messages.ByeReason.REVOKED,
        messages.ByeReason.REFUSED,
    }
)
FLOODING_WAIT_S = 10.0  # SPEC §4.2: after bye "flooding", the console drops everything this long
CATCH_UP_MAX = 1000  # messages read at most before the watchdog judges a silent console
KEY_REQUEST_EVERY_S = 1.0  # SPEC §10.6: while pairing is not open, ask again no sooner than this


def _clip_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, never inside a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def keys_path_from_environment() -> Path | None:
    """The keys file named by VRCLINIC_KEYS (how the conformance suite hands a client its
    keys), or None when the variable is not set."""
    path = os.environ.get("VRCLINIC_KEYS")
    return Path(path) if path else None


def keys_from_environment() -> EngineKeys | None:
    """The keys in the file named by VRCLINIC_KEYS, or None when the variable is not set.
    Raises KeyProblem for an unusable file."""
    path = keys_path_from_environment()
    return security.read_keys_file(path) if path else None


def request_console_key(
    pairing_endpoint: str, name: str, keys: EngineKeys, timeout_s: float = 5.0
) -> messages.ConsoleKey:
    """Ask a console's pairing port for its public key (the first step of pairing; the
    engine's thread, blocking up to ``timeout_s``). Show the technician
    ``security.pairing_code(answer.public_key, keys.own.public)`` next, then connect with
    ``keys.with_console(answer.public_key)``. Raises KeyProblem in words on no answer."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, 4096)
    try:
        sock.connect(pairing_endpoint)
        sock.send(codec.encode(messages.KeyRequest(name=name[:64], public_key=keys.own.public), 1))
        if not sock.poll(round(timeout_s * 1000)):
            raise KeyProblem(
                f"no answer from the console's pairing port {pairing_endpoint} within {timeout_s:g} s: "
                "check the console's address and that it is running"
            )
        try:
            received = codec.Decoder("engine").decode(sock.recv())
        except ProtocolError as exc:
            raise KeyProblem(f"the pairing port {pairing_endpoint} answered something unreadable: {exc}") from None
        if received is None or not isinstance(received.message, messages.ConsoleKey):
            raise KeyProblem(f"the pairing port {pairing_endpoint} did not answer with the console's key")
        security.check_key(received.message.public_key, "console's public key")
        return received.message
    finally:
        sock.close(0)


@dataclass(frozen=True, slots=True)
class _OfferedFrame:
    seq: int
    jpeg: bytes
    width: int
    height: int
    captured_at: float


class EngineClient:
    """One engine's connection to one console. See the module docstring for threads."""

    # hello is dropped while the TCP connection is not up yet (IMMEDIATE), so retry soon;
    # a console that sees a repeated hello on the same connection just welcomes again.
    HELLO_RETRY_S = 0.25
    MIRROR_ACK_TIMEOUT_S = 1.0

    def __init__(
        self,
        console: str,
        name: str,
        *,
        engine: str,
        app_version: str,
        scenes: list[messages.SceneSpec],
        device: str = "",
        watchdog_timeout_s: float = 0.5,
        heartbeat_interval_s: float = 0.1,
        lost_after_s: float = 2.0,
        context: zmq.Context | None = None,
        keys: EngineKeys | None = None,
        insecure: bool = False,
        keys_path: Path | None = None,
    ):
        """``keys``: this engine's key pair and the console's pinned public key; without
        them, the keys file ``keys_path`` or the one named by the environment variable
        VRCLINIC_KEYS. Keys without a console key start pairing (SPEC §10.6): the console's
        key is asked for on its pairing port, and kept in the keys file (when there is one)
        once the console welcomes us. ``insecure`` connects without encryption, which only a
        console's lab-bench port accepts."""
        self.console = console
        self.name = name
        self.engine = engine
        self.app_version = app_version
        self.device = device
        self.scenes = list(scenes)
        self.instance_id = uuid.uuid4().hex[:16]
        self.watchdog_timeout_s = watchdog_timeout_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self.lost_after_s = lost_after_s
        self.state = EngineState.CONNECTING
        self.welcome: messages.Welcome | None = None
        self.mirror_settings = messages.MirrorSettings(enabled=False)
        self.console_gone = False  # the watchdog tripped (or bye) and heartbeats have not come back
        self.frames_sent = 0
        self.frames_replaced = 0
        self.dropped_sends = 0
        self.errors_from_console: list[messages.Error] = []
        self._ids = itertools.count(1)
        self._beat_seq = itertools.count(0)
        self._decoder = codec.Decoder("engine")
        self._clock = PeerClock(watchdog_timeout_s)
        self._had_session = False
        self._next_hello = 0.0
        self._next_beat = 0.0
        self._gone_at: float | None = None
        self._pending_reports: list[messages.SafetyEvent] = []
        self._frame_lock = threading.Lock()
        self._offered: _OfferedFrame | None = None
        self._frame_seq = 0
        self._in_flight: tuple[int, float] | None = None  # (seq, sent_at) of the unacked frame
        self._waker = Waker()
        self._own_context = context is None
        self._ctx = context or zmq.Context()
        self._keys_path = None if keys is not None or insecure else (keys_path or keys_path_from_environment())
        if keys is None and self._keys_path is not None:
            keys = security.read_keys_file(self._keys_path)
        self.keys = None if insecure else keys
        if self.keys is None and not insecure:
            self._waker.close()
            if self._own_context:
                self._ctx.term()
            raise KeyProblem(
                "no keys for the encrypted link: pass keys=, or set VRCLINIC_KEYS to this headset's keys "
                "file (vrclinic headset-sim makes one and pairs it with --pair)"
            )
        self._not_admitted_said = False
        self._keys_saved = self.keys is not None and self.keys.console_public is not None
        self.keys_save_problem: str | None = None
        self._error_bucket = RateLimit(10.0)  # SPEC §9.2: 10 at once, 10 a second, the rest dropped
        self._pairing: zmq.Socket | None = None
        self._next_key_request = 0.0
        self._flood_wait_until = 0.0
        self._socket = self._ctx.socket(zmq.DEALER)
        for option, value in (
            (zmq.LINGER, 0),
            (zmq.IMMEDIATE, 1),
            (zmq.RECONNECT_IVL, 100),
            (zmq.RECONNECT_IVL_MAX, 1000),
            (zmq.HEARTBEAT_IVL, 1000),
            (zmq.HEARTBEAT_TIMEOUT, 3000),
            (zmq.SNDHWM, 1000),
            (zmq.RCVHWM, 1000),
            (zmq.MAXMSGSIZE, codec.LIMITS.max_control_frame_bytes + 1024),
        ):
            self._socket.setsockopt(option, value)
        self._monitor = self._socket.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self._watched = [
            (self._socket, zmq.POLLIN),
            (self._waker.fileno(), zmq.POLLIN),
            (self._monitor, zmq.POLLIN),
        ]
        if self.keys is not None and self.keys.console_public is None:
            self._start_pairing()
        else:
            self._connect()

    # -- estimates --------------------------------------------------------------------
    @property
    def rtt_s(self) -> float | None:
        return self._clock.rtt_s

    @property
    def clock_offset_s(self) -> float | None:
        """Console clock minus engine clock."""
        return self._clock.offset_s

    # -- any thread -------------------------------------------------------------------
    def offer_frame(self, jpeg: bytes, width: int, height: int, captured_at: float) -> None:
        """Hand over the newest mirror frame. Any thread. A frame not yet sent is replaced:
        only the newest is ever sent, and only when the previous one was acknowledged."""
        with self._frame_lock:
            if self._offered is not None:
                self.frames_replaced += 1
            self._frame_seq += 1
            self._offered = _OfferedFrame(self._frame_seq, jpeg, width, height, captured_at)
        self._waker.wake()

    def wake(self) -> None:
        """Make a blocked poll() return early. Any thread."""
        self._waker.wake()

    # -- the engine's thread ----------------------------------------------------------
    def send(self, message: messages.Message) -> int:
        """Send an engine -> console message now; returns its id. Raises ProtocolError if invalid.

        Dropped silently while the console is not connected (the engine resends its state
        after the next Connected event)."""
        msg_id = next(self._ids)
        frame = codec.encode(message, msg_id)
        if self.state is EngineState.CONNECTED or isinstance(message, (messages.Hello, messages.Bye)):
            try:
                self._socket.send(frame, zmq.NOBLOCK)
            except zmq.Again:
                self.dropped_sends += 1  # not connected (IMMEDIATE) or queue full: not worth queueing
        return msg_id

    def poll(self, timeout: float = 0.0) -> list[EngineEvent]:
        """Do the link's work and return what the engine must act on. Blocks up to
        ``timeout`` seconds, returning early as soon as there is something to act on."""
        if self.state == EngineState.CLOSED:
            return []
        events: list[EngineEvent] = []
        # Read first (SPEC §6): the engine's own loop may have been away (a long frame, a
        # scene load, a starved CPU) while the console's beats waited in the socket; the
        # watchdog judges the console only after them. Beats sent too long ago do not count
        # (SPEC §5), so a console that was silent still trips it.
        self._catch_up(events)
        deadline = now() + timeout
        while True:
            t = now()
            self._housekeeping(t, events)
            if events or t >= deadline:
                return events
            wait = max(0.0, min(deadline, self._next_due(t)) - t)
            # zmq_poll takes whole milliseconds: round up, or the last fraction becomes a busy spin.
            for item, _ in zmq.zmq_poll(self._watched, math.ceil(wait * 1000)):
                if item is self._socket:
                    self._read_one(events)
                elif item is self._monitor:
                    self._on_handshake_event(events)
                elif item is self._pairing:
                    self._on_console_key(events)
                else:
                    self._waker.drain()
            if events:
                return events  # the engine acts first; the next poll() does the housekeeping
            self._send_mirror_frame(now())  # an ack may have freed the way for the next frame

    def close(self, text: str = "The headset app is closing.") -> None:
        """Say bye and close the socket (the engine's thread)."""
        if self.state == EngineState.CLOSED:
            return
        if self.state == EngineState.CONNECTED:
            self.send(messages.Bye(reason=messages.ByeReason.SHUTDOWN, text=text))
        self.state = EngineState.CLOSED
        self._socket.disable_monitor()
        self._monitor.close(0)
        self._socket.close(0)
        if self._pairing is not None:
            self._pairing.close(0)
        self._waker.close()
        if self._own_context:
            self._ctx.term()

    # -- internals (the engine's thread) ----------------------------------------------
    def _connect(self) -> None:
        """Connect the main socket: encrypted to the pinned console key, or (lab bench) not."""
        if self.keys is not None:
            security.make_curve_client(self._socket, self.keys)
        self._socket.connect(self.console)
        self.state = EngineState.CONNECTING

    def _start_pairing(self) -> None:
        """Ask the console's pairing port for its key (SPEC §10.4), before any connection."""
        from protocol.link.types import pairing_endpoint_for

        self.state = EngineState.PAIRING
        self._pairing = self._ctx.socket(zmq.DEALER)
        self._pairing.setsockopt(zmq.LINGER, 0)
        self._pairing.setsockopt(zmq.MAXMSGSIZE, 4096)
        self._pairing.connect(pairing_endpoint_for(self.console))
        self._watched.append((self._pairing, zmq.POLLIN))
        self._next_key_request = 0.0

    def _ask_for_console_key(self, t: float) -> None:
        assert self._pairing is not None and self.keys is not None
        self._next_key_request = t + KEY_REQUEST_EVERY_S
        request = messages.KeyRequest(name=_clip_utf8(self.name, 64), public_key=self.keys.own.public)
        with contextlib.suppress(zmq.Again):
            self._pairing.send(codec.encode(request, next(self._ids)), zmq.NOBLOCK)

    def _on_console_key(self, events: list[EngineEvent]) -> None:
        assert self._pairing is not None and self.keys is not None
        try:
            received = codec.Decoder("engine").decode(self._pairing.recv(zmq.NOBLOCK))
            answer = received.message if received is not None else None
            if not isinstance(answer, messages.ConsoleKey):
                return
            security.check_key(answer.public_key, "console's public key")
        except (ProtocolError, KeyProblem, zmq.Again):
            return  # not an answer we can use: ask again at the next turn
        if not answer.pairing_open:
            return  # ask again in a second, until a technician opens pairing (SPEC §10.6)
        self.keys = self.keys.with_console(answer.public_key)
        self._watched.remove((self._pairing, zmq.POLLIN))
        self._pairing.close(0)
        self._pairing = None
        events.append(PairingCode(security.pairing_code(answer.public_key, self.keys.own.public), answer.console_name))
        self._connect()

    def _forget_console_key(self) -> None:
        """bye not_paired: the console key we were given is not kept (SPEC §10.6)."""
        if self.keys is not None and self.keys.console_public is not None and not self._keys_saved:
            self.keys = security.EngineKeys(self.keys.own)

    def _save_keys(self) -> None:
        """The first welcome after pairing: keep the console key in the keys file."""
        self._keys_saved = True
        if self._keys_path is not None and self.keys is not None:
            try:
                security.write_keys_file(self._keys_path, self.keys)
            except OSError as exc:  # the link works; the next start has to pair again
                self.keys_save_problem = f"could not keep the console's key in {self._keys_path}: {exc.strerror}"

    def _on_handshake_event(self, events: list[EngineEvent]) -> None:
        """The encrypted handshake failed (the console refused our key) or succeeded."""
        event = security.handshake_event(self._monitor)
        if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self._not_admitted_said = False
        elif not self._not_admitted_said:  # say it once, not at every reconnection attempt
            self._not_admitted_said = True
            text = (
                "The console refused this headset's key: it is not paired with that console (or was removed). "
                "Ask the technician to open Devices, Pair a headset, on the console."
            )
            events.append(Refused("not_admitted", text))

    def _next_due(self, t: float) -> float:
        due = [t + 0.05]
        if self.state == EngineState.PAIRING:
            due.append(self._next_key_request)
        elif self.state == EngineState.CONNECTING:
            due.append(max(self._next_hello, self._flood_wait_until))
        elif self.state == EngineState.CONNECTED:
            due.append(self._next_beat)
            last = self._clock.last_counted_at
            if last is not None and not self.console_gone:
                due.append(last + self.watchdog_timeout_s)
        return min(due)

    def _housekeeping(self, t: float, events: list[EngineEvent]) -> None:
        if self.state == EngineState.PAIRING and t >= self._next_key_request:
            self._ask_for_console_key(t)
        if self.state == EngineState.CONNECTING and t >= self._next_hello and t >= self._flood_wait_until:
            self._send_hello(t)
        if self.state != EngineState.CONNECTED:
            return
        silent = self._clock.silent_for(t)
        if silent is not None and silent > self.watchdog_timeout_s and not self.console_gone:
            self._trip(f"no heartbeat from the console for {silent * 1000:.0f} ms", silent, t, events)
        if silent is not None and silent > self.lost_after_s:
            # Start over: hello again until the console (or its successor) welcomes us.
            self.state = EngineState.CONNECTING
            self._next_hello = t
            self._in_flight = None
            self._send_hello(t)
            return
        if t >= self._next_beat:
            self._next_beat = max(self._next_beat + self.heartbeat_interval_s, t)
            self.send(self._clock.heartbeat(next(self._beat_seq), t))
        self._send_mirror_frame(t)

    def _trip(self, why: str, silent: float | None, t: float, events: list[EngineEvent]) -> None:
        self.console_gone = True
        self._gone_at = t
        events.append(ConsoleGone(why, silent))
        self._pending_reports.append(
            messages.SafetyEvent(
                kind=messages.SafetyKind.WATCHDOG, text=f"Watchdog: {why}; faded to the calm scene.", at=t
            )
        )

    def _send_hello(self, t: float) -> None:
        self._next_hello = t + self.HELLO_RETRY_S
        major, minor = codec.PROTO.major, codec.PROTO.minor
        self.send(
            messages.Hello(
                name=_clip_utf8(self.name, 64),
                instance_id=self.instance_id,
                protocol_major=major,
                protocol_minor=minor,
                engine=self.engine,
                app_version=self.app_version,
                device=self.device,
                sent_at=t,
                resumed=self._had_session,
            )
        )

    def _catch_up(self, events: list[EngineEvent]) -> None:
        """Read what waits on the main socket now, up to CATCH_UP_MAX messages (a console
        that floods us must not keep the engine loop here)."""
        for _ in range(CATCH_UP_MAX):
            try:
                frame = self._socket.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            self._on_frame(frame, now(), events)

    def _read_one(self, events: list[EngineEvent]) -> None:
        """Take one message (the poller said readable; zmq_poll is level-triggered for
        ZeroMQ sockets, so more waiting wakes the next poll at once)."""
        self._on_frame(self._socket.recv(zmq.NOBLOCK), now(), events)

    def _on_frame(self, frame: bytes, t: float, events: list[EngineEvent]) -> None:
        try:
            received = self._decoder.decode(frame)
        except ProtocolError as exc:
            # Never answer an error with an error, and at most 10 errors a second (SPEC §9).
            if self.state != EngineState.REFUSED and exc.msg_type != "error" and self._error_token(t):
                self.send(exc.as_error())
            return
        if received is None:
            return
        msg = received.message
        if msg.__class__ not in _LINK_LEVEL:  # the common case: something for the engine to act on
            if self.state is EngineState.CONNECTED:
                events.append(Received(received.id, msg))
            return
        if isinstance(msg, messages.Welcome):
            self._on_welcome(msg, t, events)
        elif isinstance(msg, messages.Heartbeat):
            if self.state == EngineState.CONNECTED and self._clock.on_heartbeat(msg, t) and self.console_gone:
                self._console_back(t, events)
        elif isinstance(msg, messages.MirrorAck):
            if self._in_flight is not None and msg.seq == self._in_flight[0]:
                self._in_flight = None
        elif isinstance(msg, messages.MirrorSettings):
            self.mirror_settings = msg
            events.append(Received(received.id, msg))
        elif isinstance(msg, messages.Bye):
            self._on_bye(msg, t, events)
        elif isinstance(msg, messages.Error) and msg.code == messages.ErrorCode.NOT_CONNECTED:
            # The console does not know us (it restarted): introduce ourselves again.
            if self.state == EngineState.CONNECTED:
                self.state = EngineState.CONNECTING
                self._send_hello(t)
        else:
            if isinstance(msg, messages.Error):
                self.errors_from_console.append(msg)
            if self.state == EngineState.CONNECTED:
                events.append(Received(received.id, msg))

    def _error_token(self, t: float) -> bool:
        """The error bucket (the link's own RateLimit); no token, no error."""
        return self._error_bucket.allow()

    def _on_welcome(self, welcome: messages.Welcome, t: float, events: list[EngineEvent]) -> None:
        if welcome.protocol_major != codec.PROTO.major:
            text = (
                f"Console {welcome.console_name!r} speaks protocol {welcome.protocol_major}.{welcome.protocol_minor}, "
                f"this headset app speaks {codec.PROTO.version}: update the older of the two."
            )
            self.send(messages.Bye(reason=messages.ByeReason.VERSION_MISMATCH, text=text))
            self.state = EngineState.REFUSED
            events.append(Refused("version_mismatch", text))
            return
        self._decoder.peer_minor = welcome.protocol_minor
        # Every welcome: the console's next beat counts whatever its number (a console that
        # started over numbers from 0), so no number from before, even 2**53 - 1, wedges us.
        self._clock.restart_sequence()
        if self.state != EngineState.CONNECTED:
            self._beat_seq = itertools.count(0)  # a new connection: we number from 0 again
        resumed = self._had_session
        self.welcome = welcome
        self.heartbeat_interval_s = welcome.heartbeat_interval_ms / 1000
        # SPEC §4.3: the watchdog is at least 3 heartbeat intervals; lost is 4 watchdogs.
        self.watchdog_timeout_s = max(welcome.watchdog_timeout_ms / 1000, 3 * self.heartbeat_interval_s)
        self.lost_after_s = 4 * self.watchdog_timeout_s
        if not self._keys_saved:
            self._save_keys()
        self._clock.late_after_s = self.watchdog_timeout_s
        self._clock.add_sample(welcome.echo_sent_at, welcome.echo_received_at, welcome.sent_at, t)
        self._clock.last_counted_at = t
        self.state = EngineState.CONNECTED
        self._had_session = True
        self._next_beat = t
        self._in_flight = None
        self.send(messages.SceneCatalogue(scenes=self.scenes))
        if self.console_gone:
            self._console_back(t, events)
        events.append(Connected(welcome, resumed))

    def _console_back(self, t: float, events: list[EngineEvent]) -> None:
        self.console_gone = False
        for report in self._pending_reports:
            self.send(report)
        self._pending_reports.clear()
        events.append(ConsoleBack(t - (self._gone_at or t)))

    def _on_bye(self, bye: messages.Bye, t: float, events: list[EngineEvent]) -> None:
        if bye.reason in _REFUSALS:
            if self.state == EngineState.CONNECTED and not self.console_gone:
                self._trip(f"the console refused us ({bye.reason}: {bye.text})", None, t, events)
            if bye.reason == messages.ByeReason.NOT_PAIRED:
                self._forget_console_key()
            self.state = EngineState.REFUSED
            events.append(Refused(str(bye.reason), bye.text))
            return
        if self.state == EngineState.CONNECTED and not self.console_gone:
            self._trip(f"the console said bye ({bye.reason}: {bye.text})", None, t, events)
        self.state = EngineState.CONNECTING
        self._next_hello = t + self.HELLO_RETRY_S
        if bye.reason == messages.ByeReason.FLOODING:
            self._flood_wait_until = t + FLOODING_WAIT_S  # the console drops everything meanwhile

    def _send_mirror_frame(self, t: float) -> None:
        if self.state != EngineState.CONNECTED or not self.mirror_settings.enabled:
            return
        if self._in_flight is not None and t - self._in_flight[1] < self.MIRROR_ACK_TIMEOUT_S:
            return
        with self._frame_lock:
            offered, self._offered = self._offered, None
        if offered is None:
            return
        self.send(
            messages.MirrorFrame(
                seq=offered.seq,
                captured_at=offered.captured_at,
                width=offered.width,
                height=offered.height,
                jpeg=offered.jpeg,
            )
        )
        self._in_flight = (offered.seq, t)
        self.frames_sent += 1
