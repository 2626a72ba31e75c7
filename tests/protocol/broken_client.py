"""Deliberately broken engine clients, to prove that the conformance suite fails each MUST of
SPEC.md by name (SPEC section 11.10 lists them with the check that catches each).

Each is the simulated headset with one fault switched on, chosen by the first argument (see
FAULTS). Without a fault (``none``) it is a client that keeps the spec: the reference client,
plus what it does not do yet while protocol 1.1 is being built (marked ``_SPEC``: an error
rate limit, no error answered with an error, the lost threshold from the welcome, ``refused``
as a refusal, pairing when the keys file has no console key). Those are harmless once the
reference client does them too; each fault turns off exactly one thing.

Run as ``python tests/protocol/broken_client.py FAULT``; it reads VRCLINIC_CONSOLE,
VRCLINIC_HEADSET and VRCLINIC_KEYS like every engine client. The engine loop runs in the
main thread. Faults are made from outside the client where they can be (rewriting what goes
in and out), so that they keep working while the client's insides change.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from protocol import codec, messages, security
from protocol.codec import ProtocolError
from protocol.timing import now
from unity_bridge import client as engine_client
from unity_bridge.sim import headset

FAULTS = {
    "none": "no fault: a client that keeps the spec",
    "no_curve": "connects without encryption, as a protocol 1.0 engine does",
    "wrong_key": "connects with a key pair of its own instead of the one in VRCLINIC_KEYS",
    "bad_frames": "sends telemetry with a field no version declares",
    "wall_clock": "stamps telemetry with wall-clock time instead of its monotonic clock",
    "one_hello": "says hello once and never repeats it",
    "talks_first": "sends telemetry before it is welcomed",
    "keeps_hello": "goes on saying hello after the welcome",
    "no_calm_scene": "declares no calm scene",
    "fixed_interval": "beats every 100 ms whatever the welcome says",
    "seq_continues": "numbers its heartbeats on across connections instead of from 0",
    "keeps_console_seq": "ignores a repeated welcome, so it does not count the console's renumbered beats",
    "counts_stale_beats": "counts every console heartbeat, repeated and late ones too",
    "no_watchdog": "does not make the scene safe when the console's heartbeats stop",
    "returns_by_itself": "goes back to the stimulus by itself when the console's heartbeats resume",
    "never_lost": "never says hello again on its own when the console is lost",
    "ignores_not_connected": "does not answer error not_connected with hello",
    "ignore_version": "accepts a welcome of any major version and carries on",
    "retries_after_refusal": "says hello again after a refusing bye (version_mismatch, not_paired, ...)",
    "ignores_bye": "ignores bye",
    "lenient": "ignores unknown fields and types from a console of its own minor",
    "strict": "refuses unknown fields and types from a console of a newer minor",
    "silent_on_bad_input": "never answers a frame it cannot decode",
    "answers_errors": "answers an error it cannot decode with an error",
    "no_error_limit": "answers every bad frame, however many",
    "delays_errors": "queues the errors over its rate limit and sends them later instead of dropping them",
    "refuses_pause": "refuses pause with error busy",
    "accept_out_of_range": "applies an out-of-range set_parameter instead of refusing it",
    "ignore_make_safe": "drops every make_safe from the console",
    "load_undoes_safe": "finishes a load that make_safe interrupted and shows the stimulus",
    "running_at_fade_end": "reports running when the fade back after resume ends, not when it starts",
    "mirror_flood": "sends mirror frames without waiting for acknowledgements",
    "answers_unasked": "answers a prompt the console never sent",
    "no_pairing": "cannot pair: waits for ever when its keys file has no console key",
}
_REFUSALS = {"version_mismatch", "duplicate_name", "not_paired", "revoked", "refused"}
_ERRORS_PER_S = 10.0  # SPEC §9.2


class BrokenClient(engine_client.EngineClient):
    """The reference client, as the spec wants it, with the link-level faults (the engine's
    thread, as its base)."""

    fault = ""
    keys_path: Path | None = None  # written with console_public once welcomed (pairing)

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._tokens, self._tokens_at = _ERRORS_PER_S, now()
        self._own_seq = itertools.count(0)
        self._welcomed = False
        self._may_hello = True  # never_lost: only a not_connected or a bye lets it say hello again
        self._hellos = 0
        self._last_extra_hello = 0.0
        self._console_clock: tuple[float, float] | None = None  # newest console sent_at, and when seen
        self._fake_seq = itertools.count(1)
        self._fake_ack: int | None = None
        self._delayed: list[messages.Error] = []
        self._delayed_at = 0.0
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    # -- what goes out ------------------------------------------------------------------
    def send(self, message: messages.Message) -> int:
        fault = self.fault
        if isinstance(message, messages.Error) and fault != "no_error_limit" and not self._spec_error_token():
            if fault == "delays_errors":
                self._delayed.append(message)  # the fault: kept for later instead of dropped
            return -1  # _SPEC: at most 10 errors a second, the rest dropped
        if isinstance(message, messages.Hello):
            if fault == "one_hello" and self._hellos and not self._welcomed:
                return -1
            if fault == "never_lost" and not self._may_hello:
                return -1
            if fault == "talks_first" and not self._welcomed:
                self._raw(self._telemetry())
            dropped = self.dropped_sends
            msg_id = super().send(message)
            self._hellos += self.dropped_sends == dropped  # one that left (not dropped before TCP was up)
            return msg_id
        if isinstance(message, messages.Heartbeat):
            if fault == "seq_continues":
                message = dataclasses.replace(message, seq=next(self._own_seq))
            if fault == "keeps_hello" and now() - self._last_extra_hello >= 0.25:
                self._last_extra_hello = now()
                self._raw(codec.encode(self._hello(), 0))
        if isinstance(message, messages.Telemetry):
            if fault == "wall_clock":
                message = dataclasses.replace(message, at=time.time())
            if fault == "bad_frames" and self._welcomed:
                return self._raw(self._telemetry(message, conformance_colour="red"))
        if fault == "mirror_flood" and isinstance(message, messages.MirrorFrame):
            self._fake_ack = message.seq
        return super().send(message)

    def poll(self, timeout: float = 0.0) -> list:
        events = super().poll(timeout)
        if self._delayed and now() - self._delayed_at >= 1.0 / _ERRORS_PER_S:
            self._delayed_at = now()
            super().send(self._delayed.pop(0))  # delays_errors: one held-back error, past the limit
        if self._fake_ack is not None:  # mirror_flood: acknowledge our own frame, so the next goes out at once
            ack, self._fake_ack = messages.MirrorAck(seq=self._fake_ack, received_at=0.0), None
            self._on_frame(codec.encode(ack, 0), now(), events)
        return events

    def _error_token(self, t: float) -> bool:
        """The reference client's own bucket, off: the bucket is kept in send() above, where
        the faults (no_error_limit, delays_errors) can bend it."""
        return True

    def _spec_error_token(self) -> bool:
        t = now()
        self._tokens = min(_ERRORS_PER_S, self._tokens + (t - self._tokens_at) * _ERRORS_PER_S)
        self._tokens_at = t
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def _raw(self, frame: bytes) -> int:
        """Send bytes as they are, past every check of the client."""
        with contextlib.suppress(zmq.Again):
            self._socket.send(frame, zmq.NOBLOCK)
        return -1

    def _hello(self) -> messages.Hello:
        return messages.Hello(
            name=self.name,
            instance_id=self.instance_id,
            protocol_major=codec.PROTO.major,
            protocol_minor=codec.PROTO.minor,
            engine=self.engine,
            app_version=self.app_version,
            sent_at=now(),
        )

    def _telemetry(self, telemetry: messages.Telemetry | None = None, **extra: object) -> bytes:
        telemetry = telemetry or messages.Telemetry(
            at=now(), head_position=[0.0, 1.6, 0.0], head_rotation=[0.0, 0.0, 0.0, 1.0], fps=72.0
        )
        fields = msgpack.unpackb(codec.encode(telemetry, 900_000))
        fields.update(extra)
        return msgpack.packb(fields, use_bin_type=True)

    # -- what comes in --------------------------------------------------------------------
    def _on_frame(self, frame: bytes, t: float, events: list) -> None:
        fault = self.fault
        try:
            received = codec.decode(frame, receiver="engine", lenient=fault == "lenient" or self._decoder.lenient)
        except ProtocolError as exc:
            if fault == "silent_on_bad_input":
                return
            if exc.msg_type == "error" and fault != "answers_errors":
                return  # _SPEC: never answer an error with an error
            if fault in ("answers_errors", "no_error_limit"):
                self._raw(codec.encode(exc.as_error(), 0))  # past the rate limit
                return
            super()._on_frame(frame, t, events)  # the client answers it
            return
        if received is None:  # an unknown type, read leniently
            if fault == "strict":
                self.send(ProtocolError("unknown_type", "unknown message type", ref_id=-1).as_error())
            return
        msg = received.message
        if fault == "strict" and received.ignored_fields:
            problem = f"unknown field(s) {', '.join(received.ignored_fields)}"
            self.send(ProtocolError("invalid_field", problem, msg_type=msg.TYPE, ref_id=received.id).as_error())
            return
        if fault == "lenient" and received.ignored_fields:
            frame = codec.encode(msg, received.id)  # the fault: the unknown fields are silently dropped
        replaced = self._rewrite(msg)
        if replaced is None:
            return
        if replaced is not msg:
            frame = codec.encode(replaced, received.id)
        super()._on_frame(frame, t, events)
        if isinstance(replaced, messages.Welcome) and replaced.protocol_major == codec.PROTO.major:
            self._on_welcomed(replaced)

    def _rewrite(self, msg: messages.Message) -> messages.Message | None:
        """The faults that change (or drop, with None) a message from the console."""
        fault = self.fault
        if isinstance(msg, messages.Welcome):
            if fault == "keeps_console_seq" and self._welcomed and self.state == engine_client.EngineState.CONNECTED:
                return None
            if fault == "ignore_version":
                msg = dataclasses.replace(msg, protocol_major=codec.PROTO.major)
            if fault == "fixed_interval":
                msg = dataclasses.replace(msg, heartbeat_interval_ms=100)
            self._may_hello = False
        elif isinstance(msg, messages.Heartbeat):
            seen = self._console_clock
            if seen is None or msg.sent_at > seen[0] + (now() - seen[1]):
                self._console_clock = seen = (msg.sent_at, now())
            if fault == "counts_stale_beats":
                # Every beat made to look new and timely: what a client that counts them all sees.
                return dataclasses.replace(msg, seq=2**40 + next(self._fake_seq), sent_at=seen[0] + now() - seen[1])
        elif isinstance(msg, messages.Error) and msg.code == messages.ErrorCode.NOT_CONNECTED:
            if fault == "ignores_not_connected":
                return None
            self._may_hello = True
        elif isinstance(msg, messages.Bye):
            if fault == "ignores_bye":
                return None
            self._may_hello = True
            if fault == "retries_after_refusal" and str(msg.reason) in _REFUSALS:
                return dataclasses.replace(msg, reason=messages.ByeReason.RESTARTING)
            if msg.reason == messages.ByeReason.REFUSED:  # _SPEC: refused is a refusal too
                return dataclasses.replace(msg, reason=messages.ByeReason.REVOKED)
        return msg

    def _on_welcomed(self, welcome: messages.Welcome) -> None:
        self._welcomed = True
        # _SPEC: the console is lost after 4 watchdog timeouts (SPEC §4.3).
        watchdog = max(welcome.watchdog_timeout_ms, 3 * welcome.heartbeat_interval_ms) / 1000
        self.lost_after_s = 1e9 if self.fault == "never_lost" else 4 * watchdog
        if self.keys_path is not None and self.keys is not None:  # _SPEC: paired now: keep the console's key
            security.write_keys_file(self.keys_path, self.keys)
            self.keys_path = None


class BrokenHeadset(headset.SimulatedHeadset):
    """The simulated headset with the engine-level faults (its engine loop's thread)."""

    fault = ""
    _hold_status = False
    _status_due: float | None = None

    def _send_status(self, progress: float = 1.0) -> None:
        if not self._hold_status:
            super()._send_status(progress)

    def _tick(self, t: float) -> None:
        if self._status_due is not None and t >= self._status_due:
            self._status_due = None
            super()._send_status()  # running_at_fade_end: only now
        super()._tick(t)

    def _on_event(self, event: object) -> None:
        if self.fault == "no_watchdog" and isinstance(event, engine_client.ConsoleGone):
            return  # the fault: the scene keeps running without a console
        super()._on_event(event)
        if self.fault == "returns_by_itself" and isinstance(event, engine_client.ConsoleBack):
            self._on_message(-1, messages.Resume(fade_s=0.3))  # the fault: back to the stimulus unasked
        if self.fault == "answers_unasked" and isinstance(event, engine_client.Connected):
            t = now()
            answer = messages.PromptAnswer(
                prompt_id=4242, kind=messages.PromptKind.SUDS, answered=True, value=50, shown_at=t, answered_at=t
            )
            self.client.send(answer)

    def _on_message(self, msg_id: int, msg: messages.Message) -> None:
        if self.fault == "ignore_make_safe" and isinstance(msg, messages.MakeSafe):
            return  # the fault
        if self.fault == "refuses_pause" and isinstance(msg, messages.Pause):
            self._error(messages.ErrorCode.BUSY, "pause is not possible now", msg, msg_id)
            return
        s = self._s
        loading = s.state == messages.SceneState.LOADING and isinstance(msg, messages.MakeSafe)
        scene_id, until = s.scene_id, s.loading_until
        if self.fault == "running_at_fade_end" and isinstance(msg, messages.Resume) and s.state == "safe":
            self._hold_status, self._status_due = True, now() + msg.fade_s
            try:
                super()._on_message(msg_id, msg)
            finally:
                self._hold_status = False
            return
        super()._on_message(msg_id, msg)
        if self.fault == "load_undoes_safe" and loading:
            s.scene_id, s.loading_until = scene_id, until  # the fault: the load goes on regardless
            s.state = messages.SceneState.LOADING

    def _clamp_check(self, scene_id: str, name: str, value: float) -> float:
        if self.fault == "accept_out_of_range":
            return value  # the fault: no range check
        return super()._clamp_check(scene_id, name, value)


def _pair(console: str, name: str, keys: security.EngineKeys, fault: str) -> security.EngineKeys:
    """_SPEC: keys without console_public: ask the pairing port (main port + 1) until pairing
    is open, every 2 s (SPEC §10.4); the key is kept once the console welcomes us."""
    if fault == "no_pairing":
        print(f"[broken:{fault}] the keys file has no console key and this client cannot pair", flush=True)
        while True:
            time.sleep(1)
    head, _, port = console.rpartition(":")
    while True:
        answer = engine_client.request_console_key(f"{head}:{int(port) + 1}", name, keys)
        code = security.pairing_code(answer.public_key, keys.own.public)
        print(f"[broken:{fault}] pairing with {answer.console_name!r}: code {code}", flush=True)
        if answer.pairing_open:
            return keys.with_console(answer.public_key)
        time.sleep(2.0)


def _protocol_1_0(console: str, name: str, fault: str) -> int:
    """no_curve: what a protocol 1.0 engine does: a NULL DEALER saying hello every 250 ms."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(console)
    hello = messages.Hello(
        name=name, instance_id="no-curve", protocol_major=1, protocol_minor=0, engine="broken", app_version="1.0",
        sent_at=0.0,
    )  # fmt: skip
    print(f"[broken:{fault}] connecting without encryption", flush=True)
    for msg_id in itertools.count(1):
        with contextlib.suppress(zmq.Again):
            sock.send(codec.encode(dataclasses.replace(hello, sent_at=now()), msg_id), zmq.NOBLOCK)
        time.sleep(0.25)
    return 0


def main() -> int:
    fault = sys.argv[1] if len(sys.argv) > 1 else ""
    if fault not in FAULTS:
        print(f"usage: broken_client.py {{{','.join(FAULTS)}}}", file=sys.stderr)
        return 2
    console = os.environ["VRCLINIC_CONSOLE"]
    name = os.environ.get("VRCLINIC_HEADSET", "broken-headset")
    if fault == "no_curve":
        return _protocol_1_0(console, name, fault)
    keys_path = Path(os.environ["VRCLINIC_KEYS"])
    keys = security.read_keys_file(keys_path)
    if fault == "wrong_key":  # a pair of its own, with the console's key: ZAP must refuse it
        keys = security.EngineKeys(security.KeyPair.generate(), keys.console_public)
        keys_path = Path(tempfile.mkdtemp()) / "keys.json"
        security.write_keys_file(keys_path, keys)
    if keys.console_public is None:
        keys = _pair(console, name, keys, fault)
        BrokenClient.keys_path = keys_path
    if fault == "no_calm_scene":
        scenes = headset.catalogue()
        headset.catalogue = lambda: [dataclasses.replace(s, calm=False) for s in scenes]
    BrokenClient.fault = BrokenHeadset.fault = fault
    headset.EngineClient = BrokenClient  # SimulatedHeadset builds its client by this name
    sim = BrokenHeadset(
        console,
        name,
        log=lambda line: print(f"[broken:{fault}] {line}", flush=True),
        publish_patient=False,
        keys=keys,
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sim.request_stop())
    print(f"[broken:{fault}] {FAULTS[fault]}; keys {json.dumps(keys.own.public)}", flush=True)
    sim.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
