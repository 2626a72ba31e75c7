"""The console's end of the link: one ROUTER socket, many headsets, no Qt.

Threads (see SPEC.md for the protocol itself):

- **The link thread** (``vrclinic-link``) owns the ROUTER socket and everything about each
  headset's connection: handshake, heartbeat bookkeeping, link states, mirror acks,
  refusals and error replies. Nothing else touches the socket.
- **Callers** (the console's GUI thread, a test, the text monitor) call :meth:`send`,
  :meth:`beat`, :meth:`take_mirror_frame`, :meth:`headsets` and :meth:`close`; these are
  thread-safe. Messages are encoded and validated in the caller's thread, so an invalid
  message raises right there, then handed to the link thread through a queue and a waker.
- **Events** (:class:`HeadsetJoined`, :class:`MessageReceived`, ...) are produced in the link
  thread and passed to ``on_event``, which therefore runs in the link thread and must be
  quick (a Qt adapter re-emits them as a signal). Without ``on_event`` they go to the
  :attr:`events` queue.

Heartbeats to the headsets are sent only when the caller's control loop calls :meth:`beat`,
so that a console whose control loop is stuck (or stopped) trips every headset's watchdog.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import zmq

from protocol import codec, messages
from protocol.codec import ProtocolError
from protocol.timing import PeerClock, now
from protocol.waker import Waker

DEFAULT_PORT = 5555


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
    stale_after_s: float = 0.3
    lost_after_s: float = 2.0
    errors_per_second: float = 10.0


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
    """The console refused a connection (version, duplicate name); ``text`` says why."""

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


LinkEvent = (
    HeadsetJoined
    | HeadsetStateChanged
    | MessageReceived
    | MirrorFrameReady
    | PeerRefused
    | PeerProtocolError
    | SendFailed
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


# Messages the link handles itself (some are also passed on); the rest go straight to the events.
_LINK_LEVEL = frozenset({messages.Hello, messages.Heartbeat, messages.MirrorFrame, messages.Bye, messages.Error})


# -- link-thread state per headset -----------------------------------------------------


class _Peer:
    def __init__(self, name: str, late_after_s: float):
        self.name = name
        self.routing_id: bytes | None = None
        self.instance_id = ""
        self.hello: messages.Hello | None = None
        self.decoder = codec.Decoder("console")
        self.clock = PeerClock(late_after_s)
        self.state = HeadsetState.CONNECTING
        self.joined_at = now()
        self.frames_received = 0
        self.frames_replaced = 0
        self.errors_from_peer = 0
        self.left = False  # said bye


class _RateLimit:
    """Token bucket: at most ``rate`` per second, bursts of ``rate``."""

    def __init__(self, rate: float):
        self.rate = rate
        self.tokens = rate
        self.at = now()

    def allow(self) -> bool:
        t = now()
        self.tokens = min(self.rate, self.tokens + (t - self.at) * self.rate)
        self.at = t
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class ConsoleLink:
    """Binds the console's ROUTER socket and runs the link thread. See the module docstring."""

    def __init__(
        self,
        config: LinkConfig | None = None,
        on_event: Callable[[LinkEvent], None] | None = None,
        *,
        accepting: bool = True,
    ):
        """Binds at once (a port in use is reported here). Made with ``accepting=False``, the
        link answers no headset until :meth:`accept`: their messages wait in the socket."""
        self.config = config or LinkConfig()
        self._accepting = accepting  # read and changed by the link thread once it runs
        self.events: queue.SimpleQueue[LinkEvent] = queue.SimpleQueue()
        self._on_event = on_event or self.events.put
        self._commands: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._waker = Waker()
        self._ids = itertools.count(1)
        self._beat_seq = itertools.count(0)
        self._lock = threading.Lock()
        self._snapshots: dict[str, HeadsetSnapshot] = {}
        self._mirror: dict[str, MirrorFrame] = {}
        self._pending: list[LinkEvent] = []  # events of this round, emitted before waiting again
        self._started = threading.Event()
        self._start_error: str | None = None
        self.endpoint = ""
        self._thread = threading.Thread(target=self._run, name="vrclinic-link", daemon=True)
        self._thread.start()
        self._started.wait(10)
        if self._start_error:
            self._thread.join(2)
            self._waker.close()
            raise LinkError(self._start_error)

    # -- API for any thread --------------------------------------------------------------
    def send(self, name: str, message: messages.Message) -> int:
        """Queue ``message`` for headset ``name``; returns its envelope id. Any thread.

        Raises ProtocolError if the message is invalid (a bug in the caller). Link
        problems (headset unknown or gone) are reported as a SendFailed event instead.
        """
        msg_id = next(self._ids)
        frame = codec.encode(message, msg_id)
        self._commands.put(("send", name, frame, message.TYPE))
        self._waker.wake()
        return msg_id

    def broadcast(self, message: messages.Message) -> int:
        """Send to every headset that is not lost (e.g. make_safe). Any thread."""
        msg_id = next(self._ids)
        frame = codec.encode(message, msg_id)
        self._commands.put(("broadcast", "", frame, message.TYPE))
        self._waker.wake()
        return msg_id

    def beat(self) -> None:
        """Send one heartbeat to every headset. Call it every heartbeat interval from the
        console's control loop (the GUI thread), never from a free-running timer thread:
        when the control loop stops, the heartbeats must stop with it. Any thread."""
        self._commands.put(("beat", next(self._beat_seq), now()))
        self._waker.wake()

    def accept(self) -> None:
        """Start answering headsets (a link made with ``accepting=False``; else nothing
        changes). For a console still starting: its GUI thread may be busy for a moment, and
        a headset answered now would wait for heartbeats meanwhile. Any thread."""
        self._commands.put(("accept",))
        self._waker.wake()

    def take_mirror_frame(self, name: str) -> MirrorFrame | None:
        """The newest mirror frame of ``name`` not yet taken, or None. Any thread."""
        with self._lock:
            return self._mirror.pop(name, None)

    def headsets(self) -> dict[str, HeadsetSnapshot]:
        """Snapshot of every headset the console has seen this session. Any thread."""
        with self._lock:
            return dict(self._snapshots)

    def close(self) -> None:
        """Say bye to every headset, stop the link thread, close the socket. Any thread."""
        if self._thread.is_alive():
            self._commands.put(("stop",))
            self._waker.wake()
            self._thread.join(5)
        self._waker.close()

    def __enter__(self) -> ConsoleLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the link thread -----------------------------------------------------------------
    def _run(self) -> None:
        ctx = zmq.Context()
        router = ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        router.setsockopt(zmq.HEARTBEAT_IVL, 1000)
        router.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3000)
        router.setsockopt(zmq.SNDHWM, 2000)
        router.setsockopt(zmq.RCVHWM, 2000)
        router.setsockopt(zmq.MAXMSGSIZE, codec.LIMITS.max_frame_bytes + 1024)
        try:
            router.bind(self.config.bind)
            self.endpoint = router.getsockopt(zmq.LAST_ENDPOINT).decode()
        except zmq.ZMQError as exc:
            self._start_error = _bind_advice(self.config.bind, exc)
            router.close(0)
            ctx.term()
            self._started.set()
            return
        self._started.set()
        self._router = router
        self._peers: dict[str, _Peer] = {}
        self._by_route: dict[bytes, _Peer] = {}
        self._limits: dict[bytes, _RateLimit] = {}
        self._unknown_limit = _RateLimit(self.config.errors_per_second)
        waker_fd = self._waker.fileno()
        # zmq_poll itself rather than zmq.Poller: the same call with less Python around it.
        watched = [(router, zmq.POLLIN), (waker_fd, zmq.POLLIN)]
        commands_only = [(waker_fd, zmq.POLLIN)]  # until accept(): headsets' messages wait
        try:
            running = True
            next_states = now()
            commands = self._commands
            while running:
                for item, _ in zmq.zmq_poll(watched if self._accepting else commands_only, 50):
                    if item is router:
                        self._read_one()
                    else:
                        self._waker.drain()
                if not commands.empty():
                    running = self._drain_commands()
                t = now()
                if t >= next_states:  # state checks need ~20 ms resolution, not every message
                    next_states = t + 0.02
                    self._update_states()
                if self._pending:
                    self._flush_events()
        finally:
            router.close(0)
            ctx.term()

    def _emit(self, event: LinkEvent) -> None:
        self._pending.append(event)

    def _flush_events(self) -> None:
        """Hand the round's events to the subscriber, last thing before the link thread
        waits again, so that a subscriber in another thread is not kept waiting for the GIL."""
        pending, self._pending = self._pending, []
        for event in pending:
            try:
                self._on_event(event)
            except Exception as exc:  # a broken subscriber must not take the link down
                self.events.put(PeerProtocolError("", "subscriber_failed", f"event handler raised {exc!r}"))

    def _drain_commands(self) -> bool:
        commands = self._commands
        while not commands.empty():  # only this thread takes from the queue
            cmd = commands.get_nowait()
            kind = cmd[0]
            if kind == "send":
                _, name, frame, msg_type = cmd
                peer = self._peers.get(name)
                if peer is None or peer.routing_id is None or peer.left:
                    self._emit(SendFailed(name, msg_type, f"no headset named {name!r} is connected"))
                else:
                    self._send_frame(peer, frame, msg_type)
            elif kind == "broadcast":
                _, _, frame, msg_type = cmd
                for peer in self._peers.values():
                    if peer.routing_id is not None and not peer.left and peer.state != HeadsetState.LOST:
                        self._send_frame(peer, frame, msg_type)
            elif kind == "beat":
                _, seq, _queued_at = cmd
                self._send_beats(seq)
            elif kind == "accept":
                self._accepting = True
            elif kind == "stop":
                self._say_bye_to_all()
                return False
        return True

    def _send_frame(self, peer: _Peer, frame: bytes, msg_type: str) -> bool:
        assert peer.routing_id is not None
        try:
            # Two sends rather than send_multipart: same message, less Python on the hot path.
            # Under ROUTER_MANDATORY an unroutable or full peer fails on the first part.
            self._router.send(peer.routing_id, zmq.SNDMORE | zmq.NOBLOCK)
            self._router.send(frame, zmq.NOBLOCK)
            return True
        except zmq.Again:
            self._emit(SendFailed(peer.name, msg_type, f"{peer.name}'s send queue is full (network too slow?)"))
        except zmq.ZMQError as exc:
            if exc.errno == zmq.EHOSTUNREACH:
                if msg_type != "heartbeat":
                    self._emit(SendFailed(peer.name, msg_type, f"{peer.name} is not connected"))
            else:
                self._emit(SendFailed(peer.name, msg_type, f"sending to {peer.name} failed: {exc}"))
        return False

    def _send_message(self, peer: _Peer, message: messages.Message) -> None:
        self._send_frame(peer, codec.encode(message, next(self._ids)), message.TYPE)

    def _send_to_route(self, routing_id: bytes, message: messages.Message) -> None:
        with contextlib.suppress(zmq.ZMQError):
            self._router.send_multipart([routing_id, codec.encode(message, next(self._ids))], zmq.NOBLOCK)

    def _send_beats(self, seq: int) -> None:
        t = now()
        for peer in self._peers.values():
            if peer.routing_id is not None and not peer.left and peer.hello is not None:
                self._send_message(peer, peer.clock.heartbeat(seq, t))

    def _say_bye_to_all(self) -> None:
        bye = messages.Bye(reason=messages.ByeReason.SHUTDOWN, text="The console was closed.")
        for peer in self._peers.values():
            if peer.routing_id is not None and not peer.left:
                self._send_to_route(peer.routing_id, bye)

    def _read_one(self) -> None:
        """Take one message off the ROUTER (the poller said it is readable). zmq_poll is
        level-triggered for ZeroMQ sockets, so anything further waiting wakes the next
        poll at once; one message per round keeps the common single reply short."""
        router = self._router
        routing_id = router.recv(zmq.NOBLOCK)
        frame = router.recv(zmq.NOBLOCK)
        t = now()
        if router.getsockopt(zmq.RCVMORE):
            extra = 1
            while router.getsockopt(zmq.RCVMORE):
                router.recv(zmq.NOBLOCK)
                extra += 1
            problem = f"a message must be 1 frame, got {extra + 1}"
            self._reply_error(routing_id, self._by_route.get(routing_id), ProtocolError("malformed", problem))
            return
        self._on_frame(routing_id, frame, t)

    def _reply_error(self, routing_id: bytes, peer: _Peer | None, error: ProtocolError) -> None:
        name = peer.name if peer else f"unknown peer {routing_id.hex()[:8]}"
        self._emit(PeerProtocolError(name, error.code, str(error)))
        limiter = (
            self._limits.setdefault(routing_id, _RateLimit(self.config.errors_per_second))
            if peer
            else self._unknown_limit
        )
        if limiter.allow():
            self._send_to_route(routing_id, error.as_error())

    def _on_frame(self, routing_id: bytes, frame: bytes, t: float) -> None:
        peer = self._by_route.get(routing_id)
        decoder = peer.decoder if peer else codec.Decoder("console")
        try:
            received = decoder.decode(frame)
        except ProtocolError as exc:
            self._reply_error(routing_id, peer, exc)
            return
        if received is None:
            return  # unknown type from a newer peer: ignored and counted by the decoder
        msg = received.message
        if msg.__class__ not in _LINK_LEVEL and peer is not None and not peer.left:
            self._emit(MessageReceived(peer.name, received.id, msg, t))  # the common case
            return
        if isinstance(msg, messages.Hello):
            self._on_hello(routing_id, received.id, msg, t)
            return
        if peer is None or peer.left:
            if not isinstance(msg, messages.Bye):
                self._reply_error(
                    routing_id,
                    None,
                    ProtocolError(
                        "not_connected",
                        "this console does not know you (it may have restarted): send hello",
                        msg_type=msg.TYPE,
                        ref_id=received.id,
                    ),
                )
            return
        if isinstance(msg, messages.Heartbeat):
            if peer.clock.on_heartbeat(msg, t) and peer.state != HeadsetState.CONNECTED:
                self._set_state(peer, HeadsetState.CONNECTED, t)
            self._publish(peer, t)
        elif isinstance(msg, messages.MirrorFrame):
            self._on_mirror_frame(peer, msg, t)
        elif isinstance(msg, messages.Bye):
            peer.left = True
            self._set_state(peer, HeadsetState.LOST, t, reason=f"said bye ({msg.reason}): {msg.text}")
            self._emit(MessageReceived(peer.name, received.id, msg, t))
        else:
            if isinstance(msg, messages.Error):
                peer.errors_from_peer += 1
            self._emit(MessageReceived(peer.name, received.id, msg, t))

    def _on_hello(self, routing_id: bytes, msg_id: int, hello: messages.Hello, t: float) -> None:
        proto = codec.PROTO
        if hello.protocol_major != proto.major:
            newer = "console" if hello.protocol_major < proto.major else "headset app"
            older = "headset app" if newer == "console" else "console"
            text = (
                f"Headset {hello.name!r} speaks protocol {hello.protocol_major}.{hello.protocol_minor}, "
                f"this console speaks {proto.version}. Different major versions cannot work together: "
                f"update the {older} to one built for protocol {max(hello.protocol_major, proto.major)}.x "
                f"(the {newer} is the newer one)."
            )
            self._send_to_route(routing_id, messages.Bye(reason=messages.ByeReason.VERSION_MISMATCH, text=text))
            self._emit(PeerRefused(hello.name, "version_mismatch", text))
            return
        peer = self._peers.get(hello.name)
        repeated = peer is not None and peer.routing_id == routing_id and peer.instance_id == hello.instance_id
        if repeated and not peer.left and peer.hello is not None:
            self._welcome(peer, hello, t)  # a repeated hello (our welcome crossed it): answer again
            return
        resumed = peer is not None
        if peer is not None and peer.instance_id != hello.instance_id and peer.routing_id != routing_id:
            alive = not peer.left and peer.state in (HeadsetState.CONNECTED, HeadsetState.CONNECTING)
            if alive:
                text = (
                    f"A headset named {hello.name!r} is already connected to this console. "
                    "Give each headset a unique name in its settings, then reconnect."
                )
                self._send_to_route(routing_id, messages.Bye(reason=messages.ByeReason.DUPLICATE_NAME, text=text))
                self._emit(PeerRefused(hello.name, "duplicate_name", text))
                return
        if peer is None:
            peer = _Peer(hello.name, self.config.watchdog_timeout_s)
            self._peers[hello.name] = peer
        if peer.routing_id is not None and peer.routing_id != routing_id:
            self._by_route.pop(peer.routing_id, None)
        if peer.instance_id and peer.instance_id != hello.instance_id:
            peer.clock = PeerClock(self.config.watchdog_timeout_s)  # a restarted app: new clock
        peer.routing_id = routing_id
        peer.instance_id = hello.instance_id
        peer.hello = hello
        peer.left = False
        peer.decoder.peer_minor = hello.protocol_minor
        self._by_route[routing_id] = peer
        self._welcome(peer, hello, t)
        peer.clock.last_counted_at = t  # the hello itself proves the engine is alive now
        self._set_state(peer, HeadsetState.CONNECTED, t, reason="handshake completed")
        self._emit(HeadsetJoined(peer.name, hello, resumed))

    def _welcome(self, peer: _Peer, hello: messages.Hello, t: float) -> None:
        proto = codec.PROTO
        self._send_message(
            peer,
            messages.Welcome(
                protocol_major=proto.major,
                protocol_minor=proto.minor,
                console_name=self.config.console_name[:64],
                session_id=self.config.session_id[:64],
                heartbeat_interval_ms=round(self.config.heartbeat_interval_s * 1000),
                watchdog_timeout_ms=round(self.config.watchdog_timeout_s * 1000),
                sent_at=now(),
                echo_sent_at=hello.sent_at,
                echo_received_at=t,
            ),
        )

    def _on_mirror_frame(self, peer: _Peer, frame: messages.MirrorFrame, t: float) -> None:
        # Ack first: the engine may render and encode the next frame while we hand this one on.
        self._send_message(peer, messages.MirrorAck(seq=frame.seq, received_at=t))
        peer.frames_received += 1
        item = MirrorFrame(peer.name, frame, t, peer.clock.to_local(frame.captured_at))
        with self._lock:
            replaced = self._mirror.get(peer.name)
            self._mirror[peer.name] = item
        if replaced is not None:
            peer.frames_replaced += 1  # the viewer had not taken the previous one: latest wins
        else:
            self._emit(MirrorFrameReady(peer.name))

    def _set_state(self, peer: _Peer, state: HeadsetState, t: float, reason: str = "") -> None:
        if state != peer.state:
            previous, peer.state = peer.state, state
            self._emit(HeadsetStateChanged(peer.name, state, previous, peer.clock.silent_for(t), reason))
        self._publish(peer, t)

    def _update_states(self) -> None:
        t = now()
        for peer in self._peers.values():
            if peer.left or peer.hello is None:
                continue
            silent = peer.clock.silent_for(t)
            if silent is None:
                continue
            if silent > self.config.lost_after_s:
                target = HeadsetState.LOST
            elif silent > self.config.stale_after_s:
                target = HeadsetState.STALE
            else:
                continue
            if peer.state != target and not (peer.state == HeadsetState.LOST and target == HeadsetState.STALE):
                self._set_state(peer, target, t, reason=f"no heartbeat for {silent * 1000:.0f} ms")

    def _publish(self, peer: _Peer, t: float) -> None:
        hello = peer.hello
        rtt, offset = peer.clock.rtt_s, peer.clock.offset_s
        snap = HeadsetSnapshot(
            name=peer.name,
            state=peer.state,
            engine=hello.engine if hello else "",
            app_version=hello.app_version if hello else "",
            device=hello.device if hello else "",
            protocol=f"{hello.protocol_major}.{hello.protocol_minor}" if hello else "",
            rtt_ms=None if rtt is None else rtt * 1000,
            clock_offset_ms=None if offset is None else offset * 1000,
            silent_for_s=peer.clock.silent_for(t),
            joined_at=peer.joined_at,
            frames_received=peer.frames_received,
            frames_replaced=peer.frames_replaced,
            ignored_fields=peer.decoder.ignored_fields,
            ignored_types=peer.decoder.ignored_types,
            errors_from_peer=peer.errors_from_peer,
        )
        with self._lock:
            self._snapshots[peer.name] = snap


def _bind_advice(endpoint: str, exc: zmq.ZMQError) -> str:
    if exc.errno == zmq.EADDRINUSE:
        return (
            f"Cannot listen on {endpoint}: the port is in use. Is another vrclinic console running? "
            "Close it, or start this one on another port (and point the headsets at it)."
        )
    return f"Cannot listen on {endpoint}: {exc}. Check the address (e.g. tcp://*:{DEFAULT_PORT})."
