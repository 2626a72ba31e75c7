"""The console side of a conformance check: an encrypted ROUTER on a random loopback port,
the client process it starts, and everything said between them.

:class:`Harness` makes a console key pair and a key pair for the client, writes the client's
keys file (mode 0600, in a private temporary folder; ``console_public`` set unless the check
is about pairing), binds a CURVE ROUTER with its own ZAP handler (``protocol.security``) that
admits that one client key, and starts the client command (shell-split, no shell) with
``VRCLINIC_CONSOLE=tcp://127.0.0.1:PORT``, ``VRCLINIC_HEADSET=<name>`` and
``VRCLINIC_KEYS=<keys file>`` in its environment. It sends raw protocol frames (built with
:mod:`protocol.codec` or by hand, so that it can send wrong things on purpose), beats like a
console and records every frame the client sends. A client that does not connect with CURVE,
or with another key, is recorded from the handshake failures the socket monitor reports.

Threads: none of its own. Everything (reading the socket, sending the console's heartbeats,
waiting) happens in the calling thread, inside :meth:`Harness.pump`; every wait there is
bounded by the check's own deadline, so a hung client fails its check instead of hanging
the run. No Qt: this runs on CI machines and headset build servers.

Where the spec says only "at once", the suite allows :data:`AT_ONCE_S`; the section
"Writing an engine client" of SPEC.md lists every bound the suite uses.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import zmq

from protocol import codec, messages, security
from protocol.codec import ProtocolError
from protocol.timing import now

PROTO = codec.PROTO
LIMITS = codec.LIMITS

REPLY_S = 1.0  # an answer (error, parameter_applied, scene_status) on loopback
AT_ONCE_S = 0.5  # "at once" (make_safe): never slower than the default watchdog timeout
WATCHDOG_SLACK_S = 0.15  # how late after watchdog_timeout_ms the safe scene_status may arrive
LOAD_S = 10.0  # a scene load
HELLO_RETRY_S = 0.25  # SPEC §4: hello again every 250 ms until welcome
STAY_CALM_S = 1.0  # how long the suite watches that a safe scene stays safe
CLOCK_SLACK_S = 2.0  # a timestamp may lie this far outside the check's run (SPEC §11.10)
DEFAULT_NAME = "conformance-headset"
CONSOLE_NAME = "vrclinic conformance"
# Timestamps an engine writes, per message type: all seconds of its one monotonic clock.
TIME_FIELDS = {
    "heartbeat": ("sent_at",),
    "telemetry": ("at",),
    "marker": ("at",),
    "safety_event": ("at",),
    "parameter_applied": ("applied_at",),
    "prompt_answer": ("shown_at", "answered_at"),
    "mirror_frame": ("captured_at",),
}


_BROKE_OFF = (
    "the client broke off the encrypted handshake before it showed a CURVE key (a client without encryption, "
    "ZeroMQ's NULL mechanism as in protocol 1.0, or one without console_public as its server key)"
)


class Fail(Exception):
    """A check failed; ``reason`` says what the client did wrong, in plain words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class CheckTimeout(Exception):
    """The check's hard deadline passed (the client hung, or is far too slow)."""


@dataclass(frozen=True)
class Options:
    """How to run the client and how long a check may take at most."""

    client: str
    name: str = DEFAULT_NAME
    timeout_s: float = 30.0  # hard cap per check, client start-up included
    startup_s: float = 10.0  # from starting the process to its first hello


@dataclass(frozen=True)
class Setup:
    """What a check needs from its harness: a paired keys file (else the client must pair
    first) and the pairing port next to the main one."""

    paired: bool = True
    pairing_port: bool = False


@dataclass
class CheckResult:
    name: str
    passed: bool
    reason: str
    duration_s: float
    evidence: list[str] = field(default_factory=list)
    client_output: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Frame:
    """One frame the client sent, as the runner received it."""

    at: float  # runner clock on arrival
    route: bytes  # the ROUTER's routing id: one per connection
    raw: bytes
    msg_id: int
    message: messages.Message | None  # None when it did not decode (``problem`` says why)
    problem: str = ""

    @property
    def type(self) -> str:
        return self.message.TYPE if self.message is not None else "(invalid)"


@dataclass(frozen=True, slots=True)
class _Sent:
    type: str
    expect_error: bool


class Harness:
    """The console side of one check: a CURVE ROUTER with its ZAP handler, the client
    process, and what was said.

    Owned by the thread that runs the check; nothing here is thread-safe (nothing needs to be).
    """

    def __init__(self, options: Options, deadline: float, setup: Setup | None = None):
        self.options = options
        self.deadline = deadline
        self.setup = setup or Setup()
        self.t0 = now()
        self.console_keys = security.KeyPair.generate()
        self.client_keys = security.KeyPair.generate()
        # A private folder (mkdtemp makes it 0700) for the client's keys file (0600).
        self.keys_dir = Path(tempfile.mkdtemp(prefix="vrclinic-conformance-"))
        self.keys_path = self.keys_dir / "keys.json"
        keys = security.EngineKeys(self.client_keys)
        security.write_keys_file(
            self.keys_path, keys.with_console(self.console_keys.public) if self.setup.paired else keys
        )
        self.ctx = zmq.Context()
        # The ZAP handler first: a CURVE server without one admits every key (libzmq fails open).
        self.zap: zmq.Socket = security.bind_zap(self.ctx)
        self.monitor: zmq.Socket | None = None
        self.pairing: zmq.Socket | None = None
        self.router: zmq.Socket | None = None
        self._bind_ports()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.handshake_failures: Counter[str] = Counter()  # what the monitor and ZAP saw, in words
        self.foreign_keys: set[str] = set()
        self.user_ids: set[str] = set()
        self.key_requests: list[tuple[float, messages.KeyRequest]] = []
        self.pairing_open = True  # what the pairing port answers
        self.frames: list[Frame] = []
        self.evidence: list[str] = []
        self.invalid: list[Frame] = []
        self.violations: list[str] = []
        self.decoders: dict[bytes, codec.Decoder] = {}
        self.welcomed: set[bytes] = set()
        self.route: bytes | None = None  # the connection the console talks to
        self.hello: messages.Hello | None = None
        self.catalogue: messages.SceneCatalogue | None = None
        self.status: messages.SceneStatus | None = None
        self.interval_s = 0.1
        self.watchdog_s = 0.5
        self.beating = False
        self.next_beat = 0.0
        self.beat_seq = 0
        self.beats_sent: dict[int, float] = {}  # seq -> sent_at (runner clock), since the last welcome
        self.last_beat_at: float | None = None
        self.last_client_beat: tuple[int, float, float] | None = None  # seq, sent_at, arrival
        self.welcomes: list[float] = []  # when each welcome was sent (runner clock)
        self.beat_override: Callable[[int, float], messages.Heartbeat | None] | None = None
        self.offset: tuple[float, float] | None = None  # (round trip, client clock - runner clock)
        self.prompts: dict[int, messages.Prompt] = {}  # prompt_id -> what the suite asked
        self.answered: set[int] = set()
        self.ids = itertools.count(1)
        self.sent: dict[int, _Sent] = {}
        self.allow_unattributed_errors = False  # the malformed check sends frames without a readable id
        self.auto_ack = True  # acknowledge every mirror_frame on arrival, as the console does
        self.not_connected_sent = 0
        self.first_not_connected_at: float | None = None
        self.proc: subprocess.Popen | None = None
        self._output: IO[bytes] | None = None
        self._exit_noted = False
        self._send_failures: set[str] = set()

    # -- sockets and process (the check's thread) ----------------------------------------
    def _bind_ports(self) -> None:
        """The encrypted main port on a random loopback port and, when the check wants it,
        the pairing port right above it (SPEC §10.4): retried until both are free."""
        for _ in range(50):
            self._bind("tcp://127.0.0.1:*")
            assert self.router is not None
            self.port = int(self.router.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1])
            if not self.setup.pairing_port:
                return
            pairing = self.ctx.socket(zmq.ROUTER)
            pairing.setsockopt(zmq.LINGER, 0)
            pairing.setsockopt(zmq.MAXMSGSIZE, 4096)
            try:
                pairing.bind(f"tcp://127.0.0.1:{self.port + 1}")
            except zmq.ZMQError:
                pairing.close(0)
                self._close_router()
                continue
            self.pairing = pairing
            return
        raise Fail("the runner found no free pair of loopback ports for the main and the pairing port")

    def _bind(self, endpoint: str) -> None:
        """A CURVE server ROUTER on ``endpoint``, with a monitor for failed handshakes."""
        router = self.ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        router.setsockopt(zmq.ROUTER_MANDATORY, 1)  # a send to a vanished client fails loudly
        router.setsockopt(zmq.SNDHWM, 1000)
        router.setsockopt(zmq.RCVHWM, 10000)
        router.setsockopt(zmq.MAXMSGSIZE, LIMITS.max_frame_bytes + 1024)
        security.make_curve_server(router, self.console_keys)
        monitor = router.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
        )
        try:
            router.bind(endpoint)
        except zmq.ZMQError:
            router.disable_monitor()
            monitor.close(0)
            router.close(0)
            raise
        self.router, self.monitor = router, monitor

    def _close_router(self) -> None:
        if self.router is not None:
            self.router.disable_monitor()
            self.router.close(0)
            self.router = None
        if self.monitor is not None:
            self.monitor.close(0)
            self.monitor = None

    def start_client(self) -> None:
        """Start the client command in a process group of its own (the check's thread)."""
        argv = shlex.split(self.options.client)
        if not argv:
            raise Fail("the client command is empty")
        env = {
            **os.environ,
            "VRCLINIC_CONSOLE": f"tcp://127.0.0.1:{self.port}",
            "VRCLINIC_HEADSET": self.options.name,
            "VRCLINIC_KEYS": str(self.keys_path),
            "PYTHONUNBUFFERED": "1",  # a Python client's log reaches the output tail in time
        }
        # A file, not a pipe: a chatty client never blocks. Closed in close().
        self._output = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            # A session of its own: a wrapper script and everything it starts are killed together.
            self.proc = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            raise Fail(f"could not start the client {self.options.client!r}: {exc}") from None
        self.note(
            f"started {self.options.client!r} (pid {self.proc.pid}) with VRCLINIC_CONSOLE={self.endpoint}, "
            f"VRCLINIC_KEYS={self.keys_path} (client key {self.client_keys.public}"
            f"{', console_public set' if self.setup.paired else ', no console_public: it must pair'})"
        )

    def stop_client(self) -> None:
        """Kill the client's process group: SIGTERM, then SIGKILL after 2 s (the check's thread)."""
        proc = self.proc
        if proc is None:
            return
        for sig, wait_s in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)  # the group we created with start_new_session
            try:
                proc.wait(wait_s)
            except subprocess.TimeoutExpired:
                continue
            # The leader is gone; anything it left behind in its group goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            return

    def client_output(self, lines: int = 15) -> list[str]:
        """The last lines the client printed (stdout and stderr together)."""
        if self._output is None:
            return []
        self._output.seek(0, os.SEEK_END)
        size = self._output.tell()
        self._output.seek(max(0, size - 16384))
        text = self._output.read().decode("utf-8", "replace")
        return [line[:200] for line in text.splitlines()[-lines:]]

    def close(self) -> None:
        self._close_router()
        if self.pairing is not None:
            self.pairing.close(0)
            self.pairing = None
        self.zap.close(0)
        self.ctx.term()
        if self._output is not None:
            self._output.close()
        shutil.rmtree(self.keys_dir, ignore_errors=True)

    def restart_client(self) -> None:
        """Kill the client and start it again (same keys), forgetting its connection."""
        self.stop_client()
        self.route, self.hello, self.beating = None, None, False
        self.catalogue, self.status = None, None
        self.welcomed.clear()
        self.decoders.clear()
        self._exit_noted = False
        self.start_client()

    def drop_console(self) -> None:
        """Close the ROUTER, as a crashed or restarted console would."""
        assert self.router is not None
        self._close_router()
        self.beating = False
        self.welcomed.clear()
        self.note(f"closed the console's socket on port {self.port}")

    def rebind(self) -> None:
        """Bind a new ROUTER on the same port; libzmq releases the old one asynchronously."""
        endpoint = f"tcp://127.0.0.1:{self.port}"
        give_up = now() + 3.0
        while True:
            try:
                self._bind(endpoint)
                break
            except zmq.ZMQError as exc:
                if now() > give_up:
                    raise Fail(f"the runner could not bind {endpoint} again: {exc} (not the client's fault)") from None
                self.pump(now() + 0.05)
        self.decoders.clear()
        self.note(f"console back on {endpoint}")

    def keys_file(self) -> security.EngineKeys | None:
        """The client's keys file as it is now (None when it cannot be read)."""
        try:
            return security.read_keys_file(self.keys_path)
        except security.KeyProblem as exc:
            self.note(f"the keys file cannot be read: {exc}")
            return None

    # -- bookkeeping -------------------------------------------------------------------
    def rel(self, t: float) -> str:
        return f"+{t - self.t0:.3f} s"

    def note(self, text: str) -> None:
        self.evidence.append(f"{self.rel(now())}  {text}")

    def violation(self, text: str) -> None:
        if text not in self.violations:
            self.violations.append(text)
            self.note(f"VIOLATION: {text}")

    def summary(self, since: int = 0, until: float | None = None) -> str:
        kinds = Counter(f.type for f in self.frames[since:] if until is None or f.at <= until)
        return ", ".join(f"{k}×{n}" for k, n in kinds.most_common()) or "nothing"

    def of(self, msg_type: str, since: int = 0) -> list[Frame]:
        return [f for f in self.frames[since:] if f.type == msg_type]

    # -- sending -----------------------------------------------------------------------
    def send(self, message: messages.Message, *, expect_error: bool = False) -> int:
        """Encode and send one valid message to the client's connection; returns its id.
        ``expect_error`` when the client must refuse it (e.g. a value out of range)."""
        msg_id = next(self.ids)
        self.sent[msg_id] = _Sent(message.TYPE, expect_error)
        if isinstance(message, messages.Prompt):
            self.prompts[message.prompt_id] = message
        self._send_frame(codec.encode(message, msg_id), message.TYPE)
        return msg_id

    def send_raw(self, frame: bytes, what: str, msg_id: int | None = None, *, expect_error: bool = True) -> None:
        """Send a hand-made (usually wrong) frame; ``msg_id`` when it carries a readable id;
        ``expect_error`` False for a frame the client must accept (e.g. from a newer minor)."""
        if msg_id is not None:
            self.sent[msg_id] = _Sent(what, expect_error)
        self._send_frame(frame, what)

    def new_id(self) -> int:
        """An envelope id for a hand-made frame."""
        return next(self.ids)

    def _send_frame(self, frame: bytes, what: str) -> None:
        route = self.route
        if route is None or self.router is None:
            raise Fail(f"internal: no connection to send {what} on")
        try:
            self.router.send_multipart([route, frame], zmq.NOBLOCK)
        except zmq.ZMQError as exc:
            if what not in self._send_failures:  # once per type: heartbeats would flood the evidence
                self._send_failures.add(what)
                self.note(f"could not send {what} to the client: {exc} (its connection is gone)")

    def welcome(
        self,
        hello_frame: Frame,
        *,
        interval_ms: int = 100,
        watchdog_ms: int = 500,
        major: int | None = None,
        minor: int | None = None,
    ) -> None:
        """Answer ``hello_frame`` with a welcome (of another ``major`` or ``minor`` for the
        version checks). Like a console, the runner numbers its heartbeats from 0 again after
        every hello it answers (SPEC §5)."""
        hello = hello_frame.message
        assert isinstance(hello, messages.Hello)
        self.route = hello_frame.route
        self.hello = hello
        t = now()
        minor = (PROTO.minor if major is None else 0) if minor is None else minor
        self.beat_seq = 0
        self.beats_sent = {}
        self.last_client_beat = None
        self.welcomes.append(t)
        self.send(
            messages.Welcome(
                protocol_major=PROTO.major if major is None else major,
                protocol_minor=minor,
                console_name=CONSOLE_NAME,
                session_id="conformance",
                heartbeat_interval_ms=interval_ms,
                watchdog_timeout_ms=watchdog_ms,
                sent_at=t,
                echo_sent_at=hello.sent_at,
                echo_received_at=hello_frame.at,
            )
        )
        self.note(
            f"sent welcome (protocol {PROTO.major if major is None else major}.{minor}, "
            f"heartbeat {interval_ms} ms, watchdog {watchdog_ms} ms)"
        )
        if major is None or major == PROTO.major:
            self.welcomed.add(hello_frame.route)
            self.interval_s = interval_ms / 1000
            self.watchdog_s = watchdog_ms / 1000

    def start_beating(self) -> None:
        """From now on pump() sends the console's heartbeats to the client's connection."""
        self.beating = True
        self.next_beat = now()

    def _beat(self, t: float) -> None:
        self.next_beat = max(self.next_beat + self.interval_s, t)  # keep the cadence, never burst
        if self.beat_override is not None:  # the watchdog check: beats that must not count
            fake = self.beat_override(self.beat_seq, t)
            if fake is not None:
                self.send(fake)
            return
        seq = self.beat_seq
        self.beat_seq += 1
        echo = self.last_client_beat
        beat = messages.Heartbeat(
            seq=seq,
            sent_at=t,
            echo_seq=echo[0] if echo else -1,
            echo_sent_at=echo[1] if echo else 0.0,
            echo_received_at=echo[2] if echo else 0.0,
        )
        self.send(beat)
        self.beats_sent[seq] = t
        self.last_beat_at = t

    # -- receiving ---------------------------------------------------------------------
    def pump(self, until: float, *, stop_on_frame: bool = False) -> None:
        """Receive and beat until ``until`` (or the first frame, with ``stop_on_frame``).

        Raises CheckTimeout when the check's deadline passes: every wait goes through here."""
        while True:
            t = now()
            if t >= self.deadline:
                raise CheckTimeout()
            if self.beating and self.route is not None and t >= self.next_beat:
                self._beat(t)
            self._watch_process()
            if t >= until:
                return
            wake = min(until, self.deadline, self.next_beat if self.beating else until)
            timeout_ms = max(0, math.ceil((wake - t) * 1000))
            watched = [self.zap] + [s for s in (self.router, self.monitor, self.pairing) if s is not None]
            if self.router is None and self.pairing is None:  # the console is "down" (reconnection check)
                self._side_sockets(dict(zmq.zmq_poll([(s, zmq.POLLIN) for s in watched], timeout_ms)))
                continue
            ready = dict(zmq.zmq_poll([(s, zmq.POLLIN) for s in watched], timeout_ms))
            self._side_sockets(ready)
            if self.router is not None and self.router in ready and self._drain() and stop_on_frame:
                return

    def _side_sockets(self, ready: dict) -> None:
        """ZAP requests, handshake failures and the pairing port (the check's thread)."""
        if self.zap in ready:
            self._answer_zap()
        if self.monitor is not None and self.monitor in ready:
            self._on_monitor()
        if self.pairing is not None and self.pairing in ready:
            self._on_key_request()

    def _answer_zap(self) -> None:
        """Admit the one key the client was given, and nothing else (SPEC §10.3)."""
        while True:
            try:
                frames = self.zap.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            request = security.read_zap_request(frames)
            key = request.client_key if request else None
            admitted = key is not None and key == self.client_keys.public
            if key is not None and not admitted and key not in self.foreign_keys:
                self.foreign_keys.add(key)
                self.note(f"ZAP: refused the CURVE key {key}: it is not the client key in VRCLINIC_KEYS")
            if request is not None and request.mechanism != "CURVE":
                self.handshake_failures[f"asked to admit a {request.mechanism} client"] += 1
            text = "" if admitted else "not the key in VRCLINIC_KEYS"
            self.zap.send_multipart(security.zap_reply(request, admitted, text, key or ""))

    def _on_monitor(self) -> None:
        assert self.monitor is not None
        while True:
            try:
                event = security.handshake_event(self.monitor, zmq.NOBLOCK)
            except zmq.Again:
                return
            if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                what = "its CURVE key was refused (not the one in VRCLINIC_KEYS)"
            elif event["event"] == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:
                # The client hung up during the ZMTP greeting: it saw first that the mechanisms
                # differ (a NULL client) or that our key is not the one it expects.
                what = _BROKE_OFF
            elif event["value"] == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
                what = "it connected without encryption (ZeroMQ's NULL mechanism)"
            elif event["value"] == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
                what = "its CURVE handshake did not decrypt (not console_public from VRCLINIC_KEYS as the server key?)"
            else:
                what = f"the ZMTP handshake failed (libzmq protocol error {event['value']:#x})"
            if what not in self.handshake_failures:
                self.note(f"handshake failed: {what}")
            self.handshake_failures[what] += 1

    def _on_key_request(self) -> None:
        """The pairing port: answer key_request with console_key (SPEC §10.4)."""
        assert self.pairing is not None
        while True:
            try:
                parts = self.pairing.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            t = now()
            if len(parts) != 2:
                self.violation(f"the client sent a {len(parts) - 1}-part message to the pairing port")
                continue
            try:
                received = codec.Decoder("console").decode(parts[1])
            except ProtocolError as exc:
                self.violation(f"the client sent the pairing port a frame that does not decode: {exc}")
                continue
            if received is None or not isinstance(received.message, messages.KeyRequest):
                kind = received.message.TYPE if received else "an unknown type"
                self.violation(f"the client sent {kind} to the pairing port, where only key_request belongs")
                continue
            request = received.message
            self.key_requests.append((t, request))
            answer = messages.ConsoleKey(
                public_key=self.console_keys.public, console_name=CONSOLE_NAME, pairing_open=self.pairing_open
            )
            self.note(
                f"pairing port: key_request name={request.name!r} key={request.public_key}; "
                f"answered pairing_open={self.pairing_open}"
            )
            with contextlib.suppress(zmq.ZMQError):
                self.pairing.send_multipart([parts[0], codec.encode(answer, next(self.ids))], zmq.NOBLOCK)

    def encryption_problem(self) -> str:
        """Why the client never got through the handshake, in words, or ""."""
        if not self.handshake_failures and not self.foreign_keys:
            return ""
        worst = [w for w in self.handshake_failures if "without encryption" in w] or [
            w for w in self.handshake_failures if w == _BROKE_OFF and not self.user_ids and not self.foreign_keys
        ]
        if worst:
            return (
                f"{worst[0]} ({self.handshake_failures[worst[0]]} time(s)): protocol {PROTO.version} requires "
                "CURVE; connect as a CURVE client with the keys in VRCLINIC_KEYS and its console_public as the "
                "server key (SPEC §10.3)"
            )
        if self.foreign_keys:
            return (
                f"it connected with the CURVE key {sorted(self.foreign_keys)[0]}, not the key "
                f"{self.client_keys.public} of the keys file in VRCLINIC_KEYS; an engine connects with the keys it "
                "is given (SPEC §10.2)"
            )
        what, count = self.handshake_failures.most_common(1)[0]
        return f"{what} ({count} time(s)); an engine connects with the keys in VRCLINIC_KEYS (SPEC §10.3)"

    def _drain(self) -> int:
        assert self.router is not None
        count = 0
        while True:
            try:
                parts = self.router.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return count
            user = parts[-1].get("User-Id")
            if user not in self.user_ids:
                self.user_ids.add(user)
                self.note(f"encrypted connection from the key {user} (ZAP admitted it)")
            self._on_parts([p.bytes for p in parts], now())
            count += 1

    def _watch_process(self) -> None:
        if self.proc is not None and not self._exit_noted and self.proc.poll() is not None:
            self._exit_noted = True
            self.note(f"the client process exited with code {self.proc.returncode}")

    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def _on_parts(self, parts: list[bytes], t: float) -> None:
        route, rest = parts[0], parts[1:]
        if len(rest) != 1:
            frame = Frame(t, route, b"".join(rest), -1, None, f"a message must be 1 frame, got {len(rest)}")
            self._invalid(frame)
            return
        raw = rest[0]
        decoder = self.decoders.setdefault(route, codec.Decoder("console"))
        try:
            received = decoder.decode(raw)
        except ProtocolError as exc:
            self._invalid(Frame(t, route, raw, codec.peek_envelope(raw)[1], None, str(exc)))
            return
        if received is None:  # an unknown type from a client that announced a newer minor
            msg_type, msg_id = codec.peek_envelope(raw)
            self.frames.append(Frame(t, route, raw, msg_id, None, f"unknown type {msg_type!r} (newer minor)"))
            return
        msg = received.message
        frame = Frame(t, route, raw, received.id, msg)
        self.frames.append(frame)
        if isinstance(msg, messages.Hello):
            if msg.protocol_major == PROTO.major:
                decoder.peer_minor = msg.protocol_minor
            return
        if route not in self.welcomed:
            if not isinstance(msg, messages.Bye):
                self._not_connected(route, msg, received.id)
            return
        self._check_clock(msg, t)
        if isinstance(msg, messages.Heartbeat):
            self._clock_sample(msg, t)
            self.last_client_beat = (msg.seq, msg.sent_at, t)
        elif isinstance(msg, messages.SceneCatalogue):
            self.catalogue = msg
        elif isinstance(msg, messages.SceneStatus):
            self._check_status(msg)
            self.status = msg
        elif isinstance(msg, messages.PromptAnswer):
            self._check_answer(msg)
        elif isinstance(msg, messages.MirrorFrame):
            if self.auto_ack and self.router is not None:
                self.send(messages.MirrorAck(seq=msg.seq, received_at=t))
        elif isinstance(msg, messages.Error):
            self._attribute_error(msg)

    # -- what every check holds a client to (SPEC §11.10, "In every check") ---------------
    def _clock_sample(self, beat: messages.Heartbeat, t4: float) -> None:
        """The client's clock against ours, from a beat echoing one of ours (NTP method)."""
        t1 = self.beats_sent.get(beat.echo_seq) if beat.echo_seq >= 0 else None
        if t1 is None or abs(beat.echo_sent_at - t1) > 1e-6:
            return
        t2, t3 = beat.echo_received_at, beat.sent_at
        rtt = (t4 - t1) - (t3 - t2)
        if rtt >= -0.002 and (self.offset is None or rtt < self.offset[0]):
            self.offset = (rtt, ((t2 - t1) + (t3 - t4)) / 2)

    def _check_clock(self, msg: messages.Message, t: float) -> None:
        if self.offset is None:
            return
        for name in TIME_FIELDS.get(msg.TYPE, ()):
            stamp = getattr(msg, name)
            local = stamp - self.offset[1]
            if not self.t0 - CLOCK_SLACK_S <= local <= t + CLOCK_SLACK_S:
                self.violation(
                    f"{msg.TYPE}.{name} = {stamp!r} is {self._when(local, t)} by the clock its heartbeats "
                    "show; every timestamp of an engine is seconds of the one monotonic clock its heartbeats "
                    "use (SPEC §2)"
                )
                return

    def _when(self, local: float, t: float) -> str:
        if local > t:
            return f"{local - t:.3g} s in the future"
        return f"{self.t0 - local:.3g} s before the check started"

    def _check_status(self, status: messages.SceneStatus) -> None:
        if self.catalogue is None:
            return
        ids = [s.id for s in self.catalogue.scenes]
        if status.scene_id not in ids:
            self.violation(
                f"scene_status names scene {status.scene_id!r}, which is not in the client's scene_catalogue "
                f"({', '.join(ids)}) (SPEC §4.1)"
            )

    def _check_answer(self, answer: messages.PromptAnswer) -> None:
        if answer.prompt_id not in self.prompts:
            self.violation(
                f"the client sent prompt_answer for prompt_id {answer.prompt_id}, which the suite never asked "
                "(SPEC §7: never an answer to a prompt not sent)"
            )
        elif answer.prompt_id in self.answered:
            self.violation(f"the client answered prompt {answer.prompt_id} twice (SPEC §7: exactly one answer)")
        self.answered.add(answer.prompt_id)

    def _invalid(self, frame: Frame) -> None:
        self.frames.append(frame)
        self.invalid.append(frame)
        self.note(f"the client sent a frame that does not decode ({len(frame.raw)} bytes): {frame.problem}")

    def _not_connected(self, route: bytes, msg: messages.Message, msg_id: int) -> None:
        """What a console answers to anything but hello from a connection it does not know (SPEC §4)."""
        if self.not_connected_sent >= 20 or self.router is None:  # the spec's error rate limit, roughly
            return
        self.not_connected_sent += 1
        if self.first_not_connected_at is None:
            self.first_not_connected_at = now()
        error = messages.Error(
            code=messages.ErrorCode.NOT_CONNECTED,
            text="this console does not know you (it may have restarted): send hello",
            ref_type=msg.TYPE,
            ref_id=msg_id,
        )
        with contextlib.suppress(zmq.ZMQError):
            self.router.send_multipart([route, codec.encode(error, next(self.ids))], zmq.NOBLOCK)
        if self.not_connected_sent == 1:
            self.note(f"answered {msg.TYPE} from an unknown connection with error not_connected")

    def _attribute_error(self, error: messages.Error) -> None:
        sent = self.sent.get(error.ref_id) if error.ref_id >= 0 else None
        if sent is not None and not sent.expect_error:
            self.violation(
                f"the client refused a valid {sent.type} (id {error.ref_id}) with error {error.code}: {error.text!r}"
            )
        elif sent is None and not self.allow_unattributed_errors:
            self.violation(
                f"the client sent error {error.code} ({error.text!r}, ref {error.ref_type or '?'} id {error.ref_id}) "
                "although every frame the runner sent was valid"
            )

    def wait_for(self, predicate: Callable[[Frame], bool], timeout: float, since: int | None = None) -> Frame | None:
        """The first frame from ``since`` on (default: from now) that matches, or None after ``timeout``."""
        index = len(self.frames) if since is None else since
        give_up = now() + timeout
        while True:
            while index < len(self.frames):
                frame = self.frames[index]
                index += 1
                if predicate(frame):
                    return frame
            if now() >= give_up:
                return None
            self.pump(give_up, stop_on_frame=True)

    def expect(
        self, predicate: Callable[[Frame], bool], timeout: float, failure: str, since: int | None = None
    ) -> Frame:
        start = len(self.frames) if since is None else since
        frame = self.wait_for(predicate, timeout, start)
        if frame is None:
            raise Fail(f"{failure}; in {timeout * 1000:.0f} ms the client sent: {self.summary(start)}")
        return frame

    # -- common steps ------------------------------------------------------------------
    def expect_hello(self, since: int = 0, within_s: float | None = None) -> Frame:
        """The client's first hello from frame ``since`` on, within the start-up allowance."""
        give_up = now() + (self.options.startup_s if within_s is None else within_s)
        index = since
        while True:
            for frame in self.frames[index:]:
                if frame.type == "hello":
                    hello = frame.message
                    assert isinstance(hello, messages.Hello)
                    self.note(
                        f"hello: name={hello.name!r} instance_id={hello.instance_id!r} protocol "
                        f"{hello.protocol_major}.{hello.protocol_minor} engine={hello.engine!r} "
                        f"app_version={hello.app_version!r} resumed={hello.resumed}"
                    )
                    return frame
            index = len(self.frames)
            problem = self.encryption_problem()
            if problem and (self.exited() or now() >= min(give_up, self.t0 + 2.0)):  # a few attempts, to be sure
                raise Fail(f"the client never got through the encrypted handshake: {problem}")
            if self.exited():
                raise Fail(
                    f"the client exited (code {self.proc.returncode if self.proc else '?'}) without saying hello; "
                    "see its output below"
                )
            if now() >= give_up:
                raise Fail(
                    f"no hello within {self.options.startup_s:g} s of starting the client (it sent: {self.summary()}); "
                    "it must connect a DEALER to VRCLINIC_CONSOLE (CURVE, with the keys in VRCLINIC_KEYS) and "
                    "send hello (SPEC §4)"
                )
            self.pump(min(give_up, now() + 0.1), stop_on_frame=True)

    def connect(
        self, *, interval_ms: int = 100, watchdog_ms: int = 500, minor: int | None = None, since: int = 0
    ) -> None:
        """Hello, welcome, scene_catalogue and scene_status; then the console beats."""
        hello = self.expect_hello(since)
        mark = len(self.frames)
        self.welcome(hello, interval_ms=interval_ms, watchdog_ms=watchdog_ms, minor=minor)
        self.start_beating()
        self.expect(
            lambda f: f.type == "scene_catalogue",
            REPLY_S,
            "after welcome the client must send scene_catalogue (SPEC §4)",
            mark,
        )
        self.expect(
            lambda f: f.type == "scene_status",
            REPLY_S,
            "after welcome the client must send scene_status (SPEC §4)",
            mark,
        )
        assert self.catalogue is not None and self.status is not None
        self.note(
            f"catalogue: {', '.join(s.id + ('(calm)' if s.calm else '') for s in self.catalogue.scenes)}; "
            f"status: {self.status.scene_id} {self.status.state}"
        )

    def calm_ids(self) -> set[str]:
        return {s.id for s in self.catalogue.scenes if s.calm} if self.catalogue else set()

    def stimulus(self) -> tuple[messages.SceneSpec, messages.ParameterSpec]:
        """A non-calm scene and an adjustable parameter of it, from the catalogue."""
        assert self.catalogue is not None
        current = self.status.scene_id if self.status else ""
        scenes = sorted(self.catalogue.scenes, key=lambda s: s.id != current)  # prefer the scene shown now
        for scene in scenes:
            if scene.calm:
                continue
            for p in scene.parameters:
                if p.max > p.min:
                    return scene, p
        raise Fail(
            "the scene_catalogue declares no non-calm scene with an adjustable parameter (max > min), "
            "so the stimulus cannot be checked"
        )

    def ensure_running(self, scene_id: str) -> None:
        """Make ``scene_id`` the running scene: wait for it, or load it."""
        status = self.status
        if status is not None and status.scene_id == scene_id and status.state == messages.SceneState.RUNNING:
            return
        mark = len(self.frames)
        if not (status is not None and status.scene_id == scene_id and status.state == messages.SceneState.LOADING):
            self.send(messages.LoadScene(scene_id=scene_id))
            self.note(f"sent load_scene {scene_id!r}")
        self.expect(
            lambda f: is_status("running")(f) and status_of(f).scene_id == scene_id,
            LOAD_S,
            f"after load_scene {scene_id!r} no scene_status with that scene running",
            mark,
        )
        self.note(f"scene {scene_id!r} running")


# -- what the checks wait for ---------------------------------------------------------
def status_of(frame: Frame) -> messages.SceneStatus:
    assert isinstance(frame.message, messages.SceneStatus)
    return frame.message


def is_status(state: str, route: bytes | None = None) -> Callable[[Frame], bool]:
    return lambda f: f.type == "scene_status" and status_of(f).state == state and (route is None or f.route == route)


def is_safety(kind: str) -> Callable[[Frame], bool]:
    return lambda f: f.type == "safety_event" and getattr(f.message, "kind", None) == kind
