"""The console's end of the link: one encrypted ROUTER socket, many paired headsets, no Qt.

Threads (see SPEC.md for the protocol itself):

- **The link thread** (``vrclinic-link``) owns every socket of the link and everything about
  each headset's connection: the CURVE port and its ZAP handler (who may finish the
  encrypted handshake), the pairing port, the optional unencrypted lab-bench port, the
  handshake, input budgets, heartbeat bookkeeping, link states, mirror acks, refusals and
  error replies. Nothing else touches those sockets.
- **Callers** (the console's GUI thread, a test, the text monitor) call :meth:`send`,
  :meth:`beat`, :meth:`pair`, :meth:`revoke`, :meth:`open_pairing`, :meth:`take_mirror_frame`,
  :meth:`headsets` and :meth:`close`; these are thread-safe. Messages are encoded and
  validated in the caller's thread, so an invalid message raises right there, then handed
  to the link thread through a queue and a waker.
- **Events** (:class:`HeadsetJoined`, :class:`MessageReceived`, ...) are produced in the link
  thread and passed to ``on_event``, which therefore runs in the link thread and must be
  quick (a Qt adapter re-emits them as a signal). Without ``on_event`` they go to the
  :attr:`events` queue.

Who gets in (protocol/security.py has the scheme): a headset *is* its CURVE public key.
The ZAP handler admits paired keys, and unknown keys only while a technician has pairing
open (then the console shows the pairing code and waits for the technician). Each message
carries the key libzmq authenticated (its User-Id), so a headset cannot speak as another
by claiming its name.

Heartbeats to the headsets are sent only when the caller's control loop calls :meth:`beat`,
so that a console whose control loop is stuck (or stopped) trips every headset's watchdog.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections.abc import Callable

import zmq

from protocol import codec, messages, security
from protocol.codec import ProtocolError
from protocol.link.budgets import Budget, Once, RateLimit
from protocol.link.peers import (
    LINK_LEVEL,
    PLAUSIBLE_FUTURE_S,
    PLAUSIBLE_PAST_S,
    TIME_FIELDS,
    Candidate,
    Peer,
    bind_advice,
    for_minor,
)
from protocol.link.types import (
    BAN_S,
    CANDIDATE_GONE_S,
    PAIRING_OPEN_S,
    HeadsetJoined,
    HeadsetSnapshot,
    HeadsetState,
    HeadsetStateChanged,
    LinkConfig,
    LinkError,
    LinkEvent,
    MessageReceived,
    MirrorFrame,
    MirrorFrameReady,
    PairingEnded,
    PairingRequested,
    PairingWindow,
    PeerProtocolError,
    PeerRefused,
    SendFailed,
    lost_after,
    pairing_endpoint_for,
    stale_after,
)
from protocol.timing import PeerClock, now
from protocol.waker import Waker


class ConsoleLink:
    """Binds the console's ports and runs the link thread. See the module docstring."""

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
        self._lock = threading.Lock()
        self._snapshots: dict[str, HeadsetSnapshot] = {}
        self._mirror: dict[str, MirrorFrame] = {}
        self._pending: list[LinkEvent] = []  # events of this round, emitted before waiting again
        self._started = threading.Event()
        self._start_error: str | None = None
        self.endpoint = ""
        self.pairing_endpoint = ""
        self.insecure_endpoint = ""
        self.public_key = self.config.keys.public
        self._stale_after, self._lost_after = stale_after(self.config), lost_after(self.config)
        # Who is paired: changed by pair()/revoke() in the caller's thread at once, under
        # _lock, so that a headset paired just before it connects is admitted by ZAP.
        self._devices: dict[str, str] = dict(self.config.devices)
        self._revoked: set[str] = set()
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
        if isinstance(message, (messages.Bye, messages.Error)):
            with self._lock:
                snapshot = self._snapshots.get(name)
            if snapshot is not None and snapshot.protocol.endswith(".0"):
                message = for_minor(message, 0)
        frame = codec.encode(message, msg_id)
        self._command("send", name, frame, message.TYPE)
        return msg_id

    def broadcast(self, message: messages.Message) -> int:
        """Send to every headset that is not lost (e.g. make_safe). Any thread."""
        msg_id = next(self._ids)
        frame = codec.encode(message, msg_id)
        self._command("broadcast", "", frame, message.TYPE)
        return msg_id

    def beat(self) -> None:
        """Send one heartbeat to every headset. Call it every heartbeat interval from the
        console's control loop (the GUI thread), never from a free-running timer thread:
        when the control loop stops, the heartbeats must stop with it. Any thread."""
        self._command("beat")

    def accept(self) -> None:
        """Start answering headsets (a link made with ``accepting=False``; else nothing
        changes). For a console still starting: its GUI thread may be busy for a moment, and
        a headset answered now would wait for heartbeats meanwhile. Any thread."""
        self._command("accept")

    def open_pairing(self, seconds: float = PAIRING_OPEN_S) -> None:
        """Admit unknown keys for ``seconds`` so that a headset can ask to pair. Any thread."""
        self._command("open_pairing", seconds)

    def close_pairing(self) -> None:
        """Stop admitting unknown keys; headsets still waiting are told no. Any thread."""
        self._command("close_pairing")

    def pair(self, public_key: str, name: str) -> None:
        """Admit ``public_key`` as headset ``name`` from now on (and welcome it if it waits).
        Also renames a paired headset (from its next connection). Any thread."""
        security.check_key(public_key, "headset's public key")
        name = name.strip()[:64] or "headset"
        with self._lock:
            self._devices[public_key] = name
            self._revoked.discard(public_key)
        self._command("pair", public_key, name)

    def reject(self, public_key: str) -> None:
        """Refuse a waiting pairing request. Any thread."""
        self._command("reject", public_key)

    def revoke(self, public_key: str) -> None:
        """Forget a paired headset: it is dropped at once and cannot come back. Any thread."""
        with self._lock:
            self._devices.pop(public_key, None)
            self._revoked.add(public_key)
        self._command("revoke", public_key)

    def take_mirror_frame(self, name: str) -> MirrorFrame | None:
        """The newest mirror frame of ``name`` not yet taken, or None. Any thread."""
        with self._lock:
            return self._mirror.pop(name, None)

    def headsets(self) -> dict[str, HeadsetSnapshot]:
        """Snapshot of every headset the console has seen this session. Any thread."""
        with self._lock:
            return dict(self._snapshots)

    def close(self) -> None:
        """Say bye to every headset, stop the link thread, close the sockets. Any thread."""
        if self._thread.is_alive():
            self._command("stop")
            self._thread.join(5)
        self._waker.close()

    def __enter__(self) -> ConsoleLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _command(self, *cmd: object) -> None:
        self._commands.put(cmd)
        self._waker.wake()

    # -- the link thread: sockets ---------------------------------------------------------
    def _run(self) -> None:
        ctx = zmq.Context()
        sockets: list[zmq.Socket] = []
        try:
            self._open_sockets(ctx, sockets)
        except (zmq.ZMQError, LinkError) as exc:
            self._start_error = str(exc) if isinstance(exc, LinkError) else f"cannot start the link: {exc}"
            for sock in sockets:
                sock.close(0)
            ctx.term()
            self._started.set()
            return
        self._started.set()
        self._peers: dict[str, Peer] = {}  # by name
        self._by_key: dict[str, Peer] = {}
        self._by_route_insecure: dict[bytes, Peer] = {}
        self._candidates: dict[str, Candidate] = {}
        self._pairing_until = 0.0
        self._strangers: dict[tuple[bool, bytes], Budget] = {}  # connections not yet a peer
        self._limits: dict[bytes, RateLimit] = {}
        self._unknown_limit = RateLimit(self.config.errors_per_second)
        self._pairing_limit = RateLimit(20.0)
        self._told = Once(10.0)
        waker_fd = self._waker.fileno()
        readers: dict[object, Callable[[], None]] = {
            self._router: lambda: self._read_one(self._router, True),
            self._zap: self._answer_zap,
            self._monitor: self._read_monitor,
        }
        if self._pairing_sock is not None:
            readers[self._pairing_sock] = self._answer_key_request
        if self._insecure is not None:
            readers[self._insecure] = lambda: self._read_one(self._insecure, False)
        # zmq_poll itself rather than zmq.Poller: the same call with less Python around it.
        # Until accept(): headsets' messages (and handshakes, which wait for ZAP) wait.
        commands_only = [(waker_fd, zmq.POLLIN)]
        watched = [(sock, zmq.POLLIN) for sock in readers] + commands_only
        try:
            running = True
            next_states = now()
            commands = self._commands
            while running:
                ready = zmq.zmq_poll(watched if self._accepting else commands_only, 50)
                # Commands first: what the console did before a message arrived applies to it
                # (pairing opened, then a headset asking for the key in the same round, was
                # answered "closed" under load). The waker is drained before them, so that a
                # command queued meanwhile wakes the next poll.
                if any(item == waker_fd for item, _ in ready):
                    self._waker.drain()
                if not commands.empty():
                    running = self._drain_commands()
                    if not running:
                        break
                for item, _ in ready:
                    if item != waker_fd:
                        readers[item]()
                t = now()
                if t >= next_states:  # state checks need ~20 ms resolution, not every message
                    next_states = t + 0.02
                    self._update_states(t)
                if self._pending:
                    self._flush_events()
        finally:
            for sock in sockets:
                sock.close(0)
            ctx.term()

    def _open_sockets(self, ctx: zmq.Context, sockets: list[zmq.Socket]) -> None:
        """The link thread, at start. The ZAP handler first: a CURVE port without one would
        admit every key (libzmq fails open), so no handler means no port."""
        try:
            self._zap = security.bind_zap(ctx)
        except zmq.ZMQError as exc:
            raise LinkError(
                f"cannot start the console's key check (ZAP handler: {exc}); refusing to listen "
                "without it, since every headset would be admitted. Restart the console."
            ) from None
        sockets.append(self._zap)
        self._router = self._make_router(ctx, sockets)
        security.make_curve_server(self._router, self.config.keys)
        self._monitor = self._router.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
        )
        sockets.append(self._monitor)
        self._pairing_sock: zmq.Socket | None = None
        if not self.config.pairing_bind:
            self.endpoint = self._bind(self._router, self.config.bind)
            return self._open_insecure(ctx, sockets)
        self._pairing_sock = self._make_router(ctx, sockets)
        self._pairing_sock.setsockopt(zmq.MAXMSGSIZE, 4096)  # a key_request is ~100 bytes
        if self.config.pairing_bind != "auto":
            self.endpoint = self._bind(self._router, self.config.bind)
            self.pairing_endpoint = self._bind(self._pairing_sock, self.config.pairing_bind)
        elif not self.config.bind.endswith(":*"):
            self.endpoint = self._bind(self._router, self.config.bind)
            self.pairing_endpoint = self._bind(self._pairing_sock, pairing_endpoint_for(self.config.bind))
        else:
            # A random port (tests, a second console on one PC): engines find the pairing
            # port at the main port + 1, so take a pair of neighbouring free ports.
            for _attempt in range(50):
                self.endpoint = self._bind(self._router, self.config.bind)
                try:
                    self._pairing_sock.bind(pairing_endpoint_for(self.endpoint))
                except zmq.ZMQError:
                    self._router.unbind(self.endpoint)
                    continue
                self.pairing_endpoint = self._pairing_sock.getsockopt(zmq.LAST_ENDPOINT).decode()
                break
            else:
                raise LinkError(f"found no two neighbouring free ports for {self.config.bind}")
        self._open_insecure(ctx, sockets)

    def _open_insecure(self, ctx: zmq.Context, sockets: list[zmq.Socket]) -> None:
        self._insecure: zmq.Socket | None = None
        if self.config.insecure_bind:
            self._insecure = self._make_router(ctx, sockets)
            self.insecure_endpoint = self._bind(self._insecure, self.config.insecure_bind)

    @staticmethod
    def _make_router(ctx: zmq.Context, sockets: list[zmq.Socket]) -> zmq.Socket:
        router = ctx.socket(zmq.ROUTER)
        sockets.append(router)
        router.setsockopt(zmq.LINGER, 0)
        router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        router.setsockopt(zmq.HEARTBEAT_IVL, 1000)
        router.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3000)
        router.setsockopt(zmq.SNDHWM, 2000)
        router.setsockopt(zmq.RCVHWM, 2000)
        router.setsockopt(zmq.MAXMSGSIZE, codec.LIMITS.max_frame_bytes + 1024)
        return router

    @staticmethod
    def _bind(sock: zmq.Socket, endpoint: str) -> str:
        try:
            sock.bind(endpoint)
        except zmq.ZMQError as exc:
            raise LinkError(bind_advice(endpoint, exc)) from None
        return sock.getsockopt(zmq.LAST_ENDPOINT).decode()

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

    # -- the link thread: who gets in -----------------------------------------------------
    def _answer_zap(self) -> None:
        """libzmq asks whether a client that completed CURVE's key exchange may stay."""
        frames = self._zap.recv_multipart()
        request = security.read_zap_request(frames)
        t = now()
        admitted, text = self._admit_key(request, t)
        key = request.client_key if request else None
        self._zap.send_multipart(security.zap_reply(request, admitted, text, key or ""))

    def _admit_key(self, request: security.ZapRequest | None, t: float) -> tuple[bool, str]:
        if request is None or request.client_key is None:
            return False, "only CURVE clients are admitted"
        key = request.client_key
        with self._lock:
            paired, revoked = key in self._devices, key in self._revoked
        if paired:
            return True, ""
        where = request.address or "an unknown address"
        if revoked:
            if self._told.due(("revoked", key), t):
                self._emit(
                    PeerRefused(
                        f"revoked headset at {where}",
                        "revoked",
                        f"A revoked headset (key {security.fingerprint(key)}) at {where} tried to "
                        "connect and was refused. Pair it again under Devices if it should come back.",
                    )
                )
            return False, "revoked"
        if self._pairing_open(t):
            if key in self._candidates or len(self._candidates) < self.config.max_pairing_candidates:
                return True, ""
            return False, "too many pairing requests at once"
        if self._told.due(("unpaired", key), t):
            self._emit(
                PeerRefused(
                    f"unpaired headset at {where}",
                    "not_paired",
                    f"A headset at {where} that is not paired with this console (key "
                    f"{security.fingerprint(key)}) tried to connect and was refused. To pair it, open "
                    "Devices, Pair a headset, and compare the code both sides show.",
                )
            )
        return False, "not paired"

    def _read_monitor(self) -> None:
        """Handshake failures on the encrypted port: a client without CURVE is a protocol 1.0
        engine (or not ours), one whose handshake breaks off may also be pinned to another
        console's key; tell the technician, once in a while."""
        event = security.handshake_event(self._monitor)
        update = (
            f"Update the headset app to one built for protocol {codec.PROTO.version} and pair it under Devices; "
            'for a lab bench only, the setting "allow unpaired engines" opens a separate unencrypted port.'
        )
        if event["value"] == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
            reason = "no_encryption"
            text = (
                "A headset tried to connect without encryption (an app built for protocol 1.0, or not a "
                f"vrclinic headset) and was refused. {update}"
            )
        else:  # the peer broke off (libzmq cannot say why) or its encrypted handshake was wrong
            reason = "handshake_failed"
            text = (
                "A connection broke off during the encrypted handshake: a headset app without encryption "
                f"(protocol 1.0), or one paired with another console. {update} If it was paired with another "
                "console, pair it with this one."
            )
        if self._told.due("handshake", now()):
            self._emit(PeerRefused("unencrypted headset", reason, text))

    def _paired_name(self, key: str) -> str | None:
        with self._lock:
            return self._devices.get(key)

    def _pairing_open(self, t: float) -> bool:
        return t < self._pairing_until

    def _answer_key_request(self) -> None:
        """The pairing port: anyone may learn the console's public key (it is public); the
        answer is small and the port answers at most 20 requests a second in all."""
        sock = self._pairing_sock
        assert sock is not None
        parts = sock.recv_multipart()
        if len(parts) != 2 or not self._pairing_limit.allow():
            return
        route, frame = parts
        try:
            received = codec.Decoder("console").decode(frame)
        except ProtocolError as exc:
            with contextlib.suppress(zmq.ZMQError):
                sock.send_multipart([route, codec.encode(exc.as_error(), next(self._ids))], zmq.NOBLOCK)
            return
        if received is None or not isinstance(received.message, messages.KeyRequest):
            return
        answer = messages.ConsoleKey(
            public_key=self.config.keys.public,
            console_name=self.config.console_name[:64],
            pairing_open=self._pairing_open(now()),
        )
        with contextlib.suppress(zmq.ZMQError):
            sock.send_multipart([route, codec.encode(answer, next(self._ids))], zmq.NOBLOCK)

    # -- the link thread: commands --------------------------------------------------------
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
                self._send_beats()
            elif kind == "accept":
                self._accepting = True
            elif kind == "open_pairing":
                self._pairing_until = now() + float(cmd[1])
                self._emit(PairingWindow(True, float(cmd[1])))
            elif kind == "close_pairing":
                self._close_pairing("closed")
            elif kind == "pair":
                self._on_pair(cmd[1], cmd[2])
            elif kind == "reject":
                self._end_candidate(cmd[1], "rejected", "The technician did not accept this headset's pairing request.")
            elif kind == "revoke":
                self._on_revoke(cmd[1])
            elif kind == "stop":
                self._say_bye_to_all()
                return False
        return True

    def _on_pair(self, key: str, name: str) -> None:
        peer = self._by_key.get(key)
        if peer is not None and peer.name != name and not peer.left:
            return  # renamed while connected: the new name applies from its next connection
        candidate = self._candidates.pop(key, None)
        if candidate is not None:
            self._emit(PairingEnded(key, "paired"))
            self._join(key, name, candidate.routing_id, candidate.hello, now())

    def _end_candidate(self, key: str, outcome: str, text: str) -> None:
        candidate = self._candidates.pop(key, None)
        if candidate is None:
            return
        bye = messages.Bye(reason=messages.ByeReason.NOT_PAIRED, text=text)
        self._send_to_route(self._router, candidate.routing_id, bye)
        self._emit(PairingEnded(key, outcome))

    def _close_pairing(self, outcome: str) -> None:
        was_open = self._pairing_until > 0.0
        self._pairing_until = 0.0
        for key in list(self._candidates):
            self._end_candidate(key, outcome, "Pairing was closed on the console before the technician accepted.")
        if was_open:
            self._emit(PairingWindow(False, 0.0))

    def _on_revoke(self, key: str) -> None:
        self._end_candidate(key, "rejected", "The technician refused this headset.")
        peer = self._by_key.pop(key, None)
        if peer is None:
            return
        if peer.routing_id is not None and not peer.left:
            bye = messages.Bye(
                reason=messages.ByeReason.REVOKED, text="This headset was removed from the console's devices."
            )
            self._send_to_route(self._router, peer.routing_id, bye)
        peer.left = True
        self._set_state(peer, HeadsetState.LOST, now(), reason="revoked by the technician")
        self._emit(
            PeerRefused(peer.name, "revoked", f"{peer.name} was revoked: it was disconnected and cannot rejoin.")
        )
        if self._peers.get(peer.name) is peer:
            del self._peers[peer.name]

    def _send_frame(self, peer: Peer, frame: bytes, msg_type: str) -> bool:
        assert peer.routing_id is not None
        sock = self._router if peer.key is not None else self._insecure
        assert sock is not None
        try:
            # Two sends rather than send_multipart: same message, less Python on the hot path.
            # Under ROUTER_MANDATORY an unroutable or full peer fails on the first part.
            sock.send(peer.routing_id, zmq.SNDMORE | zmq.NOBLOCK)
            sock.send(frame, zmq.NOBLOCK)
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

    def _send_message(self, peer: Peer, message: messages.Message) -> None:
        message = for_minor(message, peer.decoder.peer_minor)
        self._send_frame(peer, codec.encode(message, next(self._ids)), message.TYPE)

    def _send_to_route(self, sock: zmq.Socket | None, routing_id: bytes, message: messages.Message) -> None:
        if sock is None:
            return
        if sock is self._insecure:  # the lab bench: a protocol 1.0 engine may be there
            peer = self._by_route_insecure.get(routing_id)
            message = for_minor(message, peer.decoder.peer_minor if peer else 0)
        with contextlib.suppress(zmq.ZMQError):
            sock.send_multipart([routing_id, codec.encode(message, next(self._ids))], zmq.NOBLOCK)

    def _send_beats(self) -> None:
        t = now()
        for peer in self._peers.values():
            if peer.routing_id is not None and not peer.left and peer.hello is not None:
                self._send_message(peer, peer.clock.heartbeat(peer.beat_seq, t))
                peer.beat_seq += 1

    def _say_bye_to_all(self) -> None:
        bye = messages.Bye(reason=messages.ByeReason.SHUTDOWN, text="The console was closed.")
        for peer in self._peers.values():
            if peer.routing_id is not None and not peer.left:
                self._send_to_route(self._router if peer.key else self._insecure, peer.routing_id, bye)

    # -- the link thread: what arrives ----------------------------------------------------
    def _read_one(self, sock: zmq.Socket, encrypted: bool) -> None:
        """Take one message off a ROUTER (the poller said it is readable). zmq_poll is
        level-triggered for ZeroMQ sockets, so anything further waiting wakes the next
        poll at once; one message per round keeps the common single reply short."""
        routing_id = sock.recv(zmq.NOBLOCK)
        part = sock.recv(zmq.NOBLOCK, copy=False)
        t = now()
        key = part.get("User-Id") if encrypted else None
        peer = self._by_key.get(key) if encrypted else self._by_route_insecure.get(routing_id)
        if peer is not None and peer.routing_id != routing_id:
            peer = None  # an older connection of the same headset: not the one we serve
        budget = peer.budget if peer is not None else self._stranger_budget((encrypted, routing_id))
        extra = 0
        while part.more:
            part = sock.recv(zmq.NOBLOCK, copy=False)
            extra += 1
        size = len(part)
        if not budget.take(size, t):
            self._over_budget(sock, routing_id, peer, budget, t)
            return
        if peer is not None and t < peer.banned_until:
            return
        if extra:
            problem = f"a message must be 1 frame, got {extra + 1}"
            self._reply_error(sock, routing_id, peer, ProtocolError("malformed", problem))
            return
        self._on_frame(sock, routing_id, key, peer, part.bytes, t)

    def _stranger_budget(self, route: tuple[bool, bytes]) -> Budget:
        budget = self._strangers.get(route)
        if budget is None:
            if len(self._strangers) >= 256:  # connections that never said hello: forget the oldest
                del self._strangers[next(iter(self._strangers))]
            budget = self._strangers[route] = Budget(
                self.config.max_messages_per_s / 10, self.config.max_bytes_per_s / 10
            )
        return budget

    def _over_budget(self, sock: zmq.Socket, routing_id: bytes, peer: Peer | None, budget: Budget, t: float) -> None:
        """A message beyond the connection's input budget: dropped unread and counted; the
        peer is warned (once a second), and dropped when it keeps on for flood_grace_s."""
        name = peer.name if peer else f"unknown peer {routing_id.hex()[:8]}"
        if peer is not None and t - peer.rate_warned_at >= 1.0:
            peer.rate_warned_at = t
            text = (
                f"{name} sends more than its budget ({self.config.max_messages_per_s:.0f} messages, "
                f"{self.config.max_bytes_per_s / 1e6:.0f} MB a second): {budget.dropped} messages dropped so far"
            )
            self._emit(PeerProtocolError(name, "rate_limited", text))
            self._send_to_route(sock, routing_id, ProtocolError("rate_limited", text).as_error())
            self._publish(peer, t)
        # Dropped when over budget for flood_grace_s, or sooner when the excess is large (a
        # burst of thousands is over in well under the grace time, and is no accident).
        long_over = budget.over_since is not None and t - budget.over_since >= self.config.flood_grace_s
        if not long_over and budget.episode_dropped < 2 * self.config.max_messages_per_s:
            return
        budget.over_since = None
        budget.episode_dropped = 0
        if peer is None or peer.left:
            return
        text = (
            f"{name} kept sending more than the console accepts for {self.config.flood_grace_s:.0f} s and was "
            f"disconnected ({budget.dropped} messages dropped). If it is a real headset, restart its app; if it "
            "happens again, check the app's version with its vendor."
        )
        self._send_to_route(sock, routing_id, messages.Bye(reason=messages.ByeReason.FLOODING, text=text))
        peer.left = True
        peer.banned_until = t + BAN_S
        self._set_state(peer, HeadsetState.LOST, t, reason="dropped for flooding")
        self._emit(PeerRefused(name, "flooding", text))

    def _reply_error(self, sock: zmq.Socket, routing_id: bytes, peer: Peer | None, error: ProtocolError) -> None:
        name = peer.name if peer else f"unknown peer {routing_id.hex()[:8]}"
        limiter = (
            self._limits.setdefault(routing_id, RateLimit(self.config.errors_per_second))
            if peer
            else self._unknown_limit
        )
        if limiter.allow():  # the event too: a flood of garbage must not become a flood of events
            self._emit(PeerProtocolError(name, error.code, str(error)))
            self._send_to_route(sock, routing_id, error.as_error())

    def _on_frame(
        self, sock: zmq.Socket, routing_id: bytes, key: str | None, peer: Peer | None, frame: bytes, t: float
    ) -> None:
        decoder = peer.decoder if peer else codec.Decoder("console")
        try:
            received = decoder.decode(frame)
        except ProtocolError as exc:
            if exc.msg_type == "error":  # never answer an error with an error (SPEC §9.1): log it
                self._emit(PeerProtocolError(peer.name if peer else "unknown peer", exc.code, str(exc)))
                return
            self._reply_error(sock, routing_id, peer, exc)
            return
        if received is None:
            return  # unknown type from a newer peer: ignored and counted by the decoder
        msg = received.message
        if (
            peer is not None
            and msg.__class__ in TIME_FIELDS
            and self._implausible_time(sock, routing_id, peer, received, t)
        ):
            return
        if msg.__class__ not in LINK_LEVEL and peer is not None and not peer.left:
            self._emit(MessageReceived(peer.name, received.id, msg, t))  # the common case
            return
        if isinstance(msg, messages.Hello):
            if key is not None:
                self._on_hello(routing_id, key, msg, t)
            else:
                self._on_insecure_hello(routing_id, msg, t)
            return
        if peer is None or peer.left:
            if key is not None and key in self._candidates:
                self._candidates[key].last_seen = t  # waiting for the technician: nothing to say
            elif not isinstance(msg, messages.Bye) and (key is None or self._paired_name(key)):
                self._reply_error(
                    sock,
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

    def _implausible_time(
        self, sock: zmq.Socket, routing_id: bytes, peer: Peer, received: codec.Received, t: float
    ) -> bool:
        """True (and the engine told, the console logged) when a time in the message, moved
        into our clock, lies far in the past or in the future: never shown as data."""
        msg = received.message
        if isinstance(msg, messages.PromptAnswer) and msg.answered and msg.answered_at < msg.shown_at:
            problem = f"answered_at {msg.answered_at!r} is before shown_at {msg.shown_at!r}; message refused"
            error = ProtocolError("bad_time", problem, msg_type=msg.TYPE, field="answered_at", ref_id=received.id)
            self._reply_error(sock, routing_id, peer, error)
            return True
        offset = peer.clock.offset_s
        if offset is None:
            return False  # not known until the first heartbeats: nothing to compare with
        for name in TIME_FIELDS[msg.__class__]:
            value = getattr(msg, name)
            local = value - offset
            if not (t - PLAUSIBLE_PAST_S <= local <= t + PLAUSIBLE_FUTURE_S):
                ahead = local - t
                when = f"{ahead:+.0f} s from now" if abs(ahead) < 1e7 else "nowhere near now"
                problem = f"{value!r} is {when} in the console's clock; message refused"
                error = ProtocolError("bad_time", problem, msg_type=msg.TYPE, field=name, ref_id=received.id)
                self._reply_error(sock, routing_id, peer, error)
                return True
        return False

    def _refused_for_version(self, sock: zmq.Socket, routing_id: bytes, hello: messages.Hello) -> bool:
        """A hello of another major version: told bye (why, and which side to update) and
        reported; True if so."""
        refusal = self._version_refusal(hello)
        if refusal is None:
            return False
        self._send_to_route(sock, routing_id, messages.Bye(reason=messages.ByeReason.VERSION_MISMATCH, text=refusal))
        self._emit(PeerRefused(hello.name, "version_mismatch", refusal))
        return True

    def _version_refusal(self, hello: messages.Hello) -> str | None:
        proto = codec.PROTO
        if hello.protocol_major == proto.major:
            return None
        newer = "console" if hello.protocol_major < proto.major else "headset app"
        older = "headset app" if newer == "console" else "console"
        return (
            f"Headset {hello.name!r} speaks protocol {hello.protocol_major}.{hello.protocol_minor}, "
            f"this console speaks {proto.version}. Different major versions cannot work together: "
            f"update the {older} to one built for protocol {max(hello.protocol_major, proto.major)}.x "
            f"(the {newer} is the newer one)."
        )

    def _on_hello(self, routing_id: bytes, key: str, hello: messages.Hello, t: float) -> None:
        """A hello on the encrypted port, from the holder of ``key`` (libzmq checked it)."""
        if self._refused_for_version(self._router, routing_id, hello):
            return
        name = self._paired_name(key)
        if name is not None:
            self._join(key, name, routing_id, hello, t)
            return
        with self._lock:
            if key in self._revoked:
                return
        if not self._pairing_open(t):
            text = (
                "This headset is not paired with this console. Ask the technician to open Devices, "
                "Pair a headset, on the console, then compare the code both sides show."
            )
            self._send_to_route(self._router, routing_id, messages.Bye(reason=messages.ByeReason.NOT_PAIRED, text=text))
            return
        candidate = self._candidates.get(key)
        if candidate is None:
            if len(self._candidates) >= self.config.max_pairing_candidates:
                return
            candidate = self._candidates[key] = Candidate(routing_id, hello, t)
        candidate.routing_id, candidate.hello, candidate.last_seen = routing_id, hello, t
        if not candidate.announced:
            candidate.announced = True
            code = security.pairing_code(self.config.keys.public, key)
            self._emit(PairingRequested(key, hello.name, code, hello))

    def _join(self, key: str, name: str, routing_id: bytes, hello: messages.Hello, t: float) -> None:
        """Welcome a paired headset. The same key on a new connection is the same headset
        come back (e.g. its app crashed and restarted): it takes over, no questions asked."""
        peer = self._by_key.get(key)
        repeated = peer is not None and peer.routing_id == routing_id and peer.instance_id == hello.instance_id
        if repeated and not peer.left and peer.hello is not None:
            # A repeated hello (our welcome crossed it, or the engine started over on the same
            # connection): answer again, and take its next beat whatever its number, since an
            # engine that started over numbers from 0 again.
            peer.clock.restart_sequence()
            peer.beat_seq = 0  # and ours from 0 too: the engine forgets our last number at every welcome
            self._welcome(peer, hello, t)
            return
        resumed = peer is not None
        if peer is None:
            holder = self._peers.get(name)
            if holder is not None and holder.key != key and not holder.left:
                # Two paired headsets under one name (the device list should prevent it):
                # neither may take the other's place, so this one gets a name of its own.
                name = f"{name} ({security.fingerprint(key)[:4]})"
            peer = Peer(name, self.config.watchdog_timeout_s, key, self._new_budget())
            self._by_key[key] = peer
        self._peers[peer.name] = peer
        self._start_connection(peer, routing_id, hello, t, resumed)

    def _on_insecure_hello(self, routing_id: bytes, hello: messages.Hello, t: float) -> None:
        """A hello on the lab bench's unencrypted port: identity is only the name it claims."""
        if self._refused_for_version(self._insecure, routing_id, hello):
            return
        peer = self._peers.get(hello.name)
        if peer is not None and peer.key is not None:
            text = f"{hello.name!r} is the name of a paired headset: an unencrypted engine cannot use it."
            self._send_to_route(
                self._insecure, routing_id, messages.Bye(reason=messages.ByeReason.DUPLICATE_NAME, text=text)
            )
            self._emit(PeerRefused(hello.name, "duplicate_name", text))
            return
        if (
            peer is not None
            and peer.routing_id == routing_id
            and not peer.left
            and peer.instance_id == hello.instance_id
        ):
            self._welcome(peer, hello, t)
            return
        other = peer is not None and peer.instance_id != hello.instance_id and peer.routing_id != routing_id
        if other and not peer.left and peer.state in (HeadsetState.CONNECTED, HeadsetState.CONNECTING):
            text = (
                f"A headset named {hello.name!r} is already connected to this console. "
                "Give each headset a unique name in its settings, then reconnect."
            )
            self._send_to_route(
                self._insecure, routing_id, messages.Bye(reason=messages.ByeReason.DUPLICATE_NAME, text=text)
            )
            self._emit(PeerRefused(hello.name, "duplicate_name", text))
            return
        resumed = peer is not None
        if peer is None:
            peer = self._peers[hello.name] = Peer(hello.name, self.config.watchdog_timeout_s, None, self._new_budget())
        if peer.routing_id is not None:
            self._by_route_insecure.pop(peer.routing_id, None)
        self._by_route_insecure[routing_id] = peer
        self._start_connection(peer, routing_id, hello, t, resumed)

    def _new_budget(self) -> Budget:
        return Budget(self.config.max_messages_per_s, self.config.max_bytes_per_s)

    def _start_connection(self, peer: Peer, routing_id: bytes, hello: messages.Hello, t: float, resumed: bool) -> None:
        """A new connection of ``peer``: its heartbeat numbering and clock start afresh (a
        sequence number from an earlier connection must never make new beats look old)."""
        peer.clock = PeerClock(self.config.watchdog_timeout_s)
        peer.beat_seq = 0
        peer.routing_id = routing_id
        peer.instance_id = hello.instance_id
        peer.hello = hello
        peer.left = False
        peer.banned_until = 0.0
        peer.decoder.peer_minor = hello.protocol_minor
        self._strangers.pop((peer.key is not None, routing_id), None)
        self._welcome(peer, hello, t)
        peer.clock.last_counted_at = t  # the hello itself proves the engine is alive now
        self._set_state(peer, HeadsetState.CONNECTED, t, reason="handshake completed")
        self._emit(HeadsetJoined(peer.name, hello, resumed))

    def _welcome(self, peer: Peer, hello: messages.Hello, t: float) -> None:
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

    def _on_mirror_frame(self, peer: Peer, frame: messages.MirrorFrame, t: float) -> None:
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

    def _set_state(self, peer: Peer, state: HeadsetState, t: float, reason: str = "") -> None:
        if state != peer.state:
            previous, peer.state = peer.state, state
            self._emit(HeadsetStateChanged(peer.name, state, previous, peer.clock.silent_for(t), reason))
        self._publish(peer, t)

    def _update_states(self, t: float) -> None:
        if self._pairing_until and not self._pairing_open(t):
            self._close_pairing("closed")
        for key in [k for k, c in self._candidates.items() if t - c.last_seen > CANDIDATE_GONE_S]:
            del self._candidates[key]
            self._emit(PairingEnded(key, "gone"))
        for peer in self._peers.values():
            if peer.budget.dropped != peer.dropped_published:
                self._publish(peer, t)  # counted per message, shown at most every 20 ms
            if peer.left or peer.hello is None:
                continue
            silent = peer.clock.silent_for(t)
            if silent is None:
                continue
            if silent > self._lost_after:
                target = HeadsetState.LOST
            elif silent > self._stale_after:
                target = HeadsetState.STALE
            else:
                continue
            if peer.state != target and not (peer.state == HeadsetState.LOST and target == HeadsetState.STALE):
                self._set_state(peer, target, t, reason=f"no heartbeat for {silent * 1000:.0f} ms")

    def _publish(self, peer: Peer, t: float) -> None:
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
            public_key=peer.key or "",
            encrypted=peer.key is not None,
            dropped=peer.budget.dropped,
        )
        peer.dropped_published = peer.budget.dropped
        with self._lock:
            self._snapshots[peer.name] = snap
