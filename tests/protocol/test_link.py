"""The console link over real ZeroMQ sockets on loopback: handshake, versions, bad input,
several headsets, link states and reconnection."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import msgpack
import pytest
import zmq

from protocol import codec, messages, security
from protocol.link import (
    ConsoleLink,
    HeadsetJoined,
    HeadsetState,
    HeadsetStateChanged,
    LinkConfig,
    LinkError,
    MessageReceived,
    PeerProtocolError,
    PeerRefused,
    SendFailed,
)
from protocol.security import EngineKeys, KeyPair, write_keys_file
from protocol.timing import now
from tests.bench.echo_engine import answer_at_once
from tests.conftest import Beater, Collector, pair_engine, wait_until
from unity_bridge.client import Connected, EngineClient, EngineState, Refused


class RawEngine:
    """A bare DEALER that speaks frames by hand: for what a well-behaved client never sends.
    Encrypted with a key of its own, which :meth:`hello` pairs under the name it claims
    (``pair=False``: an unpaired key)."""

    def __init__(self, link: ConsoleLink, keys: EngineKeys | None = None, *, pair: bool = True):
        self.link, self.pair = link, pair
        self.keys = keys or EngineKeys(KeyPair.generate(), link.public_key)
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        security.make_curve_client(self.sock, self.keys)
        if pair:  # before connecting: the console decides who may connect during the handshake
            link.pair(self.keys.own.public, "raw")
        self.sock.connect(link.endpoint)
        self.ids = iter(range(1, 10**6))

    def send(self, message: messages.Message) -> int:
        msg_id = next(self.ids)
        self.sock.send(codec.encode(message, msg_id))
        return msg_id

    def send_raw(self, frame: bytes | list[bytes]) -> None:
        if isinstance(frame, list):
            self.sock.send_multipart(frame)
        else:
            self.sock.send(frame)

    def recv(self, timeout: float = 3.0, skip: tuple[type, ...] = (messages.Heartbeat,)) -> messages.Message:
        deadline = now() + timeout
        while True:
            left = deadline - now()
            if left <= 0 or not self.sock.poll(left * 1000):
                raise AssertionError("nothing received")
            received = codec.decode(self.sock.recv(), receiver="engine", lenient=True)
            if received is not None and not isinstance(received.message, skip):
                return received.message

    def hello(self, name: str = "raw", major: int | None = None, minor: int | None = None, **extra) -> None:
        fields = dict(
            name=name,
            instance_id=uuid.uuid4().hex[:8],
            protocol_major=codec.PROTO.major if major is None else major,
            protocol_minor=codec.PROTO.minor if minor is None else minor,
            engine="raw test peer",
            app_version="0",
            sent_at=now(),
        )
        fields.update(extra)
        if self.pair:
            self.link.pair(self.keys.own.public, name)
        self.send_raw(msgpack.packb({"type": "hello", "id": next(self.ids), **fields}))

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


@pytest.fixture
def raw(link):
    peer = RawEngine(link)
    yield peer
    peer.close()


class EngineThread:
    """An EngineClient driven by its own loop thread, answering set_parameter like an engine."""

    def __init__(self, endpoint: str, name: str, **kwargs):
        self.endpoint, self.name, self.kwargs = endpoint, name, kwargs
        self.events: list = []
        self.stop_flag = threading.Event()
        self.client: EngineClient | None = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        self.client = EngineClient(
            self.endpoint, self.name, engine="test engine", app_version="1", scenes=[], **self.kwargs
        )
        try:
            while not self.stop_flag.is_set():
                for event in self.client.poll(0.02):
                    self.events.append(event)
                    answer_at_once(self.client, event)
        finally:
            self.client.close()

    def stop(self) -> None:
        self.stop_flag.set()
        self.thread.join(3)


@pytest.fixture
def engines(link):
    started: list[EngineThread] = []

    def start(name: str, **kwargs) -> EngineThread:
        kwargs.setdefault("keys", pair_engine(link, name))
        e = EngineThread(link.endpoint, name, **kwargs)
        started.append(e)
        return e

    yield start
    for e in started:
        e.stop()


def joined(name: str):
    return lambda e: isinstance(e, HeadsetJoined) and e.name == name


def state_is(name: str, state: HeadsetState):
    return lambda e: isinstance(e, HeadsetStateChanged) and e.name == name and e.state == state


def test_handshake_catalogue_and_parameter_round_trip(link, events, beater, engines):
    engines("room-1")
    event = events.wait(joined("room-1"))
    assert event.hello.engine == "test engine" and not event.resumed
    events.wait(lambda e: isinstance(e, MessageReceived) and isinstance(e.message, messages.SceneCatalogue))
    msg_id = link.send("room-1", messages.SetParameter(name="distance", value=1.5))
    applied = events.wait(
        lambda e: isinstance(e, MessageReceived) and isinstance(e.message, messages.ParameterApplied),
        what="parameter_applied",
    )
    assert applied.message.ref_id == msg_id and applied.message.value == 1.5
    wait_until(lambda: link.headsets()["room-1"].rtt_ms is not None, what="an RTT estimate")
    snap = link.headsets()["room-1"]
    assert snap.state == HeadsetState.CONNECTED and snap.protocol == codec.PROTO.version
    assert 0 < snap.rtt_ms < 100
    assert abs(snap.clock_offset_ms) < 50  # same machine, same clock


def test_two_headsets_on_one_console_are_addressed_by_name(link, events, beater, engines):
    engines("left")
    engines("right")
    events.wait(joined("left"))
    events.wait(joined("right"))
    link.send("right", messages.SetParameter(name="floor", value=7))
    link.send("left", messages.SetParameter(name="floor", value=3))
    answers = {}
    while len(answers) < 2:
        e = events.wait(
            lambda e: (
                isinstance(e, MessageReceived)
                and isinstance(e.message, messages.ParameterApplied)
                and e.name not in answers
            )
        )
        answers[e.name] = e.message.value
    assert answers == {"left": 3.0, "right": 7.0}


def test_a_headset_claiming_a_live_headsets_name_and_instance_takes_nothing_over(link, events, beater, engines, raw):
    """Seen on 1.0: repeating a live headset's name and instance_id (both sent in clear) took
    over its session and its commands. Identity is the key now: the claim changes nothing."""
    victim = engines("victim")
    events.wait(joined("victim"))
    wait_until(lambda: victim.client is not None and victim.client.state == EngineState.CONNECTED)
    raw.hello(name="intruder", instance_id=victim.client.instance_id)
    assert isinstance(raw.recv(), messages.Welcome)
    raw.hello(name="victim", instance_id=victim.client.instance_id)  # now claiming the victim's name too
    assert isinstance(raw.recv(), messages.Welcome)
    link.send("victim", messages.SetParameter(name="distance", value=2.5))
    applied = events.wait(lambda e: isinstance(e, MessageReceived) and isinstance(e.message, messages.ParameterApplied))
    assert applied.name == "victim" and applied.message.value == 2.5  # the victim answered, not the intruder
    joins = [e.name for e in events.seen if isinstance(e, HeadsetJoined)]
    assert joins.count("victim") == 1 and "intruder" in joins


def test_two_keys_paired_under_one_name_get_names_of_their_own(link, events, beater, engines):
    engines("twin")
    events.wait(joined("twin"))
    engines("twin")
    second = events.wait(lambda e: isinstance(e, HeadsetJoined) and e.name.startswith("twin ("))
    assert link.headsets()["twin"].state == HeadsetState.CONNECTED
    assert link.headsets()[second.name].state == HeadsetState.CONNECTED


def test_major_version_mismatch_is_refused_with_words_a_technician_understands(link, events, raw):
    raw.hello(name="future", major=codec.PROTO.major + 1, minor=0, eye_tracking=True)
    bye = raw.recv()
    assert isinstance(bye, messages.Bye) and bye.reason == "version_mismatch"
    assert f"protocol {codec.PROTO.major + 1}.0" in bye.text and "update the console" in bye.text
    refused = events.wait(lambda e: isinstance(e, PeerRefused))
    assert refused.name == "future"
    assert "future" not in link.headsets()


def test_engine_refuses_a_console_of_another_major(link):
    """The other side of the rule: a welcome with another major is refused by the engine."""
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    client = EngineClient(f"tcp://127.0.0.1:{port}", "e", engine="t", app_version="1", scenes=[], insecure=True)
    try:
        deadline = now() + 3
        while not router.poll(10) and now() < deadline:
            client.poll(0.05)
        rid, _hello = router.recv_multipart()
        welcome = messages.Welcome(
            protocol_major=codec.PROTO.major + 1,
            protocol_minor=0,
            console_name="future console",
            session_id="s",
            heartbeat_interval_ms=100,
            watchdog_timeout_ms=500,
            sent_at=0.0,
            echo_sent_at=0.0,
            echo_received_at=0.0,
        )
        router.send_multipart([rid, codec.encode(welcome, 1)])
        events = []
        deadline = now() + 3
        while not events and now() < deadline:
            events = client.poll(0.1)
        assert isinstance(events[0], Refused) and "future console" in events[0].text
        assert client.state == EngineState.REFUSED
        assert router.poll(3000)
        bye = codec.decode(router.recv_multipart()[1], receiver="console", lenient=True).message
        assert isinstance(bye, messages.Bye) and bye.reason == "version_mismatch"
    finally:
        client.close()
        router.close(0)
        ctx.term()


def test_newer_minor_peer_works_and_its_unknowns_are_counted(link, events, raw, beater):
    raw.hello(name="newer", minor=codec.PROTO.minor + 2, eye_tracking=True)
    assert isinstance(raw.recv(), messages.Welcome)
    events.wait(joined("newer"))
    raw.send_raw(msgpack.packb({"type": "hologram", "id": 50, "colour": "blue"}))
    raw.send_raw(msgpack.packb({"type": "marker", "id": 51, "label": "hi", "at": 1.0, "colour": "blue"}))
    marker = events.wait(lambda e: isinstance(e, MessageReceived) and isinstance(e.message, messages.Marker))
    assert marker.message.label == "hi"
    raw.send(messages.Heartbeat(seq=1, sent_at=now()))
    wait_until(lambda: link.headsets()["newer"].ignored_types == 1, what="the unknown type to be counted")
    assert link.headsets()["newer"].ignored_fields == 1


@pytest.mark.parametrize(
    "frame, code",
    [
        (b"\xc1garbage", "malformed"),
        (msgpack.packb([1, 2]), "malformed"),
        (msgpack.packb({"type": "set_parameter", "id": 9, "name": "x", "value": 1.0}), "wrong_direction"),
        (msgpack.packb({"type": "teleport", "id": 9}), "unknown_type"),
        (msgpack.packb({"type": "parameter_applied", "id": 9, "name": "x"}), "invalid_field"),
        (msgpack.packb({"type": "marker", "id": 9, "label": "x" * 5000, "at": 0.0}), "too_large"),
        ([b"two", b"parts"], "malformed"),
    ],
    ids=["garbage", "array", "wrong-direction", "unknown-type", "missing-fields", "oversize-string", "multipart"],
)
def test_bad_input_gets_an_error_reply_and_the_link_stays_up(link, events, raw, beater, frame, code):
    raw.hello(name="clumsy")
    assert isinstance(raw.recv(), messages.Welcome)
    events.wait(joined("clumsy"))
    raw.send_raw(frame)
    reply = raw.recv(skip=(messages.Heartbeat,))
    assert isinstance(reply, messages.Error) and reply.code == code
    assert reply.text
    reported = events.wait(lambda e: isinstance(e, PeerProtocolError))
    assert reported.code == code and reported.name == "clumsy"
    # Still connected: a valid message goes through afterwards.
    raw.send(messages.Marker(label="still here", at=now()))
    events.wait(lambda e: isinstance(e, MessageReceived) and isinstance(e.message, messages.Marker))
    assert link.headsets()["clumsy"].state != HeadsetState.LOST


def test_error_replies_are_rate_limited(link, events, raw):
    raw.hello(name="flood")
    assert isinstance(raw.recv(), messages.Welcome)
    for _ in range(200):
        raw.send_raw(b"\xc1")
    time.sleep(0.5)
    replies = 0
    while raw.sock.poll(100):
        received = codec.decode(raw.sock.recv(), receiver="engine")
        replies += isinstance(received.message, messages.Error)
    assert 1 <= replies <= 20


def test_messages_before_hello_are_answered_not_connected(link, raw):
    raw.send(messages.Marker(label="too early", at=0.0))
    reply = raw.recv()
    assert isinstance(reply, messages.Error) and reply.code == "not_connected" and "send hello" in reply.text


def test_silent_headset_goes_stale_then_lost(link_config):
    config = LinkConfig(bind=link_config.bind, stale_after_s=0.3, lost_after_s=0.8)
    with ConsoleLink(config) as console:
        collector = Collector(console)
        raw = RawEngine(console)
        try:
            raw.hello(name="quiet")
            assert isinstance(raw.recv(), messages.Welcome)
            stale = collector.wait(state_is("quiet", HeadsetState.STALE))
            lost = collector.wait(state_is("quiet", HeadsetState.LOST))
            assert "no heartbeat" in lost.reason
            assert stale.silent_for_s >= 0.3 and lost.silent_for_s >= 0.8
            assert console.headsets()["quiet"].state == HeadsetState.LOST
            # A heartbeat brings it back.
            raw.send(messages.Heartbeat(seq=1, sent_at=now()))
            collector.wait(state_is("quiet", HeadsetState.CONNECTED))
        finally:
            raw.close()


def test_sending_to_an_unknown_headset_reports_instead_of_raising(link, events):
    link.send("nobody", messages.Pause())
    failed = events.wait(lambda e: isinstance(e, SendFailed))
    assert failed.name == "nobody" and "no headset named" in failed.text


def test_bind_conflict_says_what_to_do(link):
    with pytest.raises(LinkError, match=r"in use.*another vrclinic console"):
        ConsoleLink(LinkConfig(bind=link.endpoint))


def test_engine_restart_is_recognised_as_the_same_headset(link, events, beater, engines):
    first = engines("room-3")
    events.wait(joined("room-3"))
    first.stop()  # says bye
    events.wait(state_is("room-3", HeadsetState.LOST))
    engines("room-3", keys=first.kwargs["keys"])  # the app restarted: same key, new instance_id
    again = events.wait(lambda e: isinstance(e, HeadsetJoined) and e.resumed)
    assert again.name == "room-3"
    assert link.headsets()["room-3"].state == HeadsetState.CONNECTED


def test_console_restart_on_the_same_port_and_the_engine_comes_back(link_config):
    console = ConsoleLink(link_config)
    endpoint = console.endpoint
    beater = Beater(console)
    keys = pair_engine(console, "survivor")
    engine = EngineThread(endpoint, "survivor", keys=keys)
    try:
        Collector(console).wait(joined("survivor"))
        beater.stop()
        console.close()  # bye(shutdown): the engine makes safe and waits for a console
        wait_until(lambda: engine.client.state == EngineState.CONNECTING, what="the engine to notice")
        # The console app keeps its key pair and its paired devices across restarts.
        console = ConsoleLink(LinkConfig(bind=endpoint, keys=link_config.keys, devices={keys.own.public: "survivor"}))
        beater = Beater(console)
        again = Collector(console).wait(joined("survivor"), timeout=5)
        assert again.hello.resumed  # the engine says it had a session
        wait_until(lambda: sum(isinstance(e, Connected) for e in engine.events) == 2, what="the engine to reconnect")
        assert engine.client.state == EngineState.CONNECTED
    finally:
        beater.stop()
        engine.stop()
        console.close()


@pytest.mark.slow
def test_killed_headset_process_is_lost_and_recognised_when_it_comes_back(link_config, tmp_path):
    """kill -9 of the engine process: no bye; the console notices from the silence."""
    config = LinkConfig(bind=link_config.bind, lost_after_s=1.0)
    with ConsoleLink(config) as console:
        collector = Collector(console)
        beater = Beater(console)

        keys_file = tmp_path / "quest.keys.json"
        write_keys_file(keys_file, pair_engine(console, "quest"))

        def start() -> subprocess.Popen:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "console",
                    "headset-sim",
                    "--console",
                    console.endpoint,
                    "--name",
                    "quest",
                    "--keys",
                    str(keys_file),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

        first = start()
        try:
            collector.wait(joined("quest"), timeout=15)
            first.send_signal(signal.SIGKILL)
            first.wait(5)
            collector.wait(state_is("quest", HeadsetState.STALE), timeout=5)
            collector.wait(state_is("quest", HeadsetState.LOST), timeout=5)
            second = start()
            try:
                again = collector.wait(lambda e: isinstance(e, HeadsetJoined) and e.resumed, timeout=15)
                assert again.name == "quest"
                assert console.headsets()["quest"].state == HeadsetState.CONNECTED
            finally:
                second.terminate()
                second.wait(5)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(5)
            beater.stop()
