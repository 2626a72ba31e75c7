"""Who gets in: the encrypted link admits paired keys only, pairing works as a technician
expects, and the faults seen on protocol 1.0 (take-over by name, lock-out after a crash,
a wedging heartbeat number, a flood) are gone. Real CURVE sockets on loopback."""

from __future__ import annotations

import os
import random
import threading

import msgpack
import pytest
import zmq

from protocol import codec, messages, security
from protocol.link import (
    ConsoleLink,
    HeadsetJoined,
    HeadsetState,
    LinkConfig,
    LinkError,
    MessageReceived,
    PairingEnded,
    PairingRequested,
    PeerProtocolError,
    PeerRefused,
)
from protocol.security import EngineKeys, KeyPair
from protocol.timing import now
from tests.bench.echo_engine import answer_at_once
from tests.conftest import Beater, Collector, pair_engine, wait_until
from unity_bridge.client import ConsoleGone, EngineClient, EngineState, Refused, request_console_key


class Engine:
    """An EngineClient in its own loop thread that records events and its longest silence
    from the console (the gap between heartbeats that counted)."""

    def __init__(self, link: ConsoleLink, name: str, keys: EngineKeys | None = None, **kwargs):
        self.events: list = []
        self.longest_silence_s = 0.0
        self.say_bye = True
        self._outbox: list[messages.Message] = []
        self.client = EngineClient(link.endpoint, name, engine="test", app_version="1", scenes=[], keys=keys, **kwargs)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                while self._outbox:
                    self.client.send(self._outbox.pop(0))
                for event in self.client.poll(0.01):
                    self.events.append(event)
                    answer_at_once(self.client, event)
                if self.client.state == EngineState.CONNECTED:
                    silent = self.client._clock.silent_for(now())
                    if silent is not None:
                        self.longest_silence_s = max(self.longest_silence_s, silent)
        finally:
            if not self.say_bye:
                self.client.state = EngineState.CONNECTING  # close() says bye only when connected
            self.client.close()

    def post(self, message: messages.Message) -> None:
        """Have the engine's own thread send ``message`` (any thread)."""
        self._outbox.append(message)
        self.client.wake()

    def saw(self, kind: type, **fields) -> bool:
        return any(isinstance(e, kind) and all(getattr(e, k) == v for k, v in fields.items()) for e in self.events)

    def stop(self, *, say_bye: bool = True) -> None:
        """``say_bye=False``: the loop just stops, as when the app crashes."""
        self.say_bye = say_bye
        self._stop.set()
        self._thread.join(3)


@pytest.fixture
def started():
    engines: list[Engine] = []
    yield engines
    for engine in engines:
        engine.stop()


def test_an_unpaired_key_is_refused_during_the_handshake_and_both_sides_say_so(link, events, beater, started):
    stranger = Engine(link, "stranger", keys=EngineKeys(KeyPair.generate(), link.public_key))
    started.append(stranger)
    refused = events.wait(lambda e: isinstance(e, PeerRefused))
    assert refused.reason == "not_paired" and "Pair a headset" in refused.text
    wait_until(lambda: stranger.saw(Refused, reason="not_admitted"), what="the headset to hear it was refused")
    assert not any(isinstance(e, HeadsetJoined) for e in events.seen)
    assert stranger.client.state == EngineState.CONNECTING  # it keeps trying: pairing lets it in later


def test_an_unencrypted_engine_is_refused_and_the_technician_told_what_to_update(link, events, started):
    old = Engine(link, "old-app", insecure=True)
    started.append(old)
    refused = events.wait(lambda e: isinstance(e, PeerRefused))
    # libzmq reports a mechanism mismatch, or (when the engine hangs up first) no detail.
    assert refused.reason in ("no_encryption", "handshake_failed")
    assert "protocol 1.0" in refused.text and f"built for protocol {codec.PROTO.version}" in refused.text
    assert "allow unpaired engines" in refused.text
    assert not any(isinstance(e, HeadsetJoined) for e in events.seen)


def test_an_engine_pinned_to_another_consoles_key_never_gets_in(link, events, started):
    keys = pair_engine(link, "misled")
    impostor_key = KeyPair.generate().public
    misled = Engine(link, "misled", keys=EngineKeys(keys.own, impostor_key))
    started.append(misled)
    deadline = now() + 1.5
    while now() < deadline:
        assert not any(isinstance(e, HeadsetJoined) for e in events.seen)
    assert misled.client.state == EngineState.CONNECTING


def test_without_its_key_check_the_console_refuses_to_listen(monkeypatch):
    """libzmq admits every CURVE client when no ZAP handler runs: no handler, no port."""

    def no_zap(ctx):
        raise zmq.ZMQError(zmq.EADDRINUSE)

    monkeypatch.setattr(security, "bind_zap", no_zap)
    with pytest.raises(LinkError, match="refusing to listen"):
        ConsoleLink(LinkConfig(bind="tcp://127.0.0.1:*"))


def test_why_the_zap_handler_matters_libzmq_admits_any_key_without_one():
    """The fail-open behaviour the console guards against (BRIEF §6c), shown on bare sockets."""
    ctx = zmq.Context()
    server_keys = KeyPair.generate()
    server = ctx.socket(zmq.ROUTER)
    security.make_curve_server(server, server_keys)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client = ctx.socket(zmq.DEALER)
    security.make_curve_client(client, EngineKeys(KeyPair.generate(), server_keys.public))
    client.connect(f"tcp://127.0.0.1:{port}")
    try:
        client.send(b"anyone")
        assert server.poll(3000), "the stranger's message did not arrive"
        assert server.recv_multipart()[1] == b"anyone"
    finally:
        for sock in (client, server):
            sock.close(0)
        ctx.term()


def test_pairing_with_the_code_both_sides_show(link, events, beater, started):
    keys = EngineKeys(KeyPair.generate())
    answer = request_console_key(link.pairing_endpoint, "new-quest", keys)
    assert answer.public_key == link.public_key and not answer.pairing_open
    link.open_pairing(30)
    assert request_console_key(link.pairing_endpoint, "new-quest", keys).pairing_open
    keys = keys.with_console(answer.public_key)
    headset_code = security.pairing_code(answer.public_key, keys.own.public)
    engine = Engine(link, "new-quest", keys=keys)
    started.append(engine)
    request = events.wait(lambda e: isinstance(e, PairingRequested))
    assert request.code == headset_code and request.proposed_name == "new-quest"
    assert not any(isinstance(e, HeadsetJoined) for e in events.seen)  # nothing before the technician says yes
    link.pair(request.public_key, "Room 5 Quest")
    joined = events.wait(lambda e: isinstance(e, HeadsetJoined))
    assert joined.name == "Room 5 Quest"
    assert events.wait(lambda e: isinstance(e, PairingEnded)).outcome == "paired"
    wait_until(lambda: engine.client.state == EngineState.CONNECTED, what="the headset to be welcomed")


def test_pairing_opened_just_before_a_key_request_applies_to_it(link, monkeypatch):
    """Seen in a loaded suite: the technician opened pairing, the headset asked for the key
    in the same round of the link thread, and was told pairing was closed (the socket was
    read before the command queue)."""
    keys = EngineKeys(KeyPair.generate())
    assert not request_console_key(link.pairing_endpoint, "new-quest", keys).pairing_open
    # The command waits in the queue until the link thread's next round, as when that
    # thread is busy: here, until the key request wakes it.
    monkeypatch.setattr(link._waker, "wake", lambda: None)
    link.open_pairing(30)
    assert request_console_key(link.pairing_endpoint, "new-quest", keys).pairing_open


def test_a_rejected_pairing_request_is_told_no_in_words(link, events, started):
    link.open_pairing(30)
    engine = Engine(link, "unwanted", keys=EngineKeys(KeyPair.generate(), link.public_key))
    started.append(engine)
    request = events.wait(lambda e: isinstance(e, PairingRequested))
    link.reject(request.public_key)
    wait_until(lambda: engine.saw(Refused, reason="not_paired"), what="the headset to hear no")
    assert engine.client.state == EngineState.REFUSED


def test_at_most_a_few_pairing_requests_wait_at_once(link, events, started):
    link.open_pairing(30)
    for i in range(6):
        started.append(Engine(link, f"fake-{i}", keys=EngineKeys(KeyPair.generate(), link.public_key)))

    def requests() -> int:
        events.pump()
        return sum(isinstance(e, PairingRequested) for e in events.seen)

    wait_until(lambda: requests() == 3, what="three pairing requests")
    deadline = now() + 1.0
    while now() < deadline:
        assert requests() == 3


def test_a_revoked_headset_is_dropped_within_a_second_and_cannot_rejoin(link, events, beater, started):
    keys = pair_engine(link, "lost-quest")
    engine = Engine(link, "lost-quest", keys=keys)
    started.append(engine)
    events.wait(lambda e: isinstance(e, HeadsetJoined))
    wait_until(lambda: engine.client.state == EngineState.CONNECTED)
    revoked_at = now()
    link.revoke(keys.own.public)
    wait_until(lambda: engine.saw(Refused, reason="revoked"), timeout=1.0, what="the headset to be dropped")
    assert now() - revoked_at < 1.0
    assert engine.saw(ConsoleGone)  # it made its scene calm
    assert link.headsets()["lost-quest"].state == HeadsetState.LOST
    again = Engine(link, "lost-quest", keys=keys)  # the app restarted, same key
    started.append(again)
    wait_until(lambda: again.saw(Refused, reason="not_admitted"), what="the revoked key to be refused")
    assert sum(isinstance(e, HeadsetJoined) for e in events.seen) == 1


def test_a_crashed_and_restarted_headset_comes_back_by_itself(link, events, beater, started):
    """Seen on 1.0: the restarted app (new instance_id within 2 s) was refused as a duplicate
    name, and the spec told it never to retry. Its key is its identity now."""
    keys = pair_engine(link, "room-2")
    first = Engine(link, "room-2", keys=keys)
    events.wait(lambda e: isinstance(e, HeadsetJoined))
    first.stop(say_bye=False)  # crashed: no bye, the console still thinks it is connected
    second = Engine(link, "room-2", keys=keys)
    started.append(second)
    again = events.wait(lambda e: isinstance(e, HeadsetJoined) and e.resumed, timeout=3)
    assert again.name == "room-2"
    wait_until(lambda: second.client.state == EngineState.CONNECTED)
    link.send("room-2", messages.SetParameter(name="distance", value=4.0))
    applied = events.wait(lambda e: isinstance(e, MessageReceived) and isinstance(e.message, messages.ParameterApplied))
    assert applied.message.value == 4.0
    assert not any(isinstance(e, PeerRefused) for e in events.seen)


def test_a_huge_heartbeat_number_cannot_wedge_a_headset(link, events, beater):
    """Seen on 1.0: one beat with seq 2**64-1 made every later beat 'not newer', for good."""
    from tests.protocol.test_link import RawEngine

    raw = RawEngine(link)
    try:
        raw.hello(name="wedge")
        assert isinstance(raw.recv(), messages.Welcome)
        raw.send_raw(msgpack.packb({"type": "heartbeat", "id": 99, "seq": 2**64 - 1, "sent_at": now()}))
        error = raw.recv(skip=(messages.Heartbeat,))
        assert isinstance(error, messages.Error) and error.ref_type == "heartbeat"
        raw.send(messages.Heartbeat(seq=2**53 - 1, sent_at=now()))  # the largest allowed number counts...
        events.wait(lambda e: isinstance(e, HeadsetJoined))
        wait_until(lambda: link.headsets()["wedge"].state == HeadsetState.STALE, what="silence to show")
        raw.hello(name="wedge", instance_id="restarted")  # ...and a new start numbers from 0 again
        assert isinstance(raw.recv(), messages.Welcome)
        for seq in range(5):
            raw.send(messages.Heartbeat(seq=seq, sent_at=now()))
        wait_until(lambda: link.headsets()["wedge"].state == HeadsetState.CONNECTED, what="beats from 0 to count")
        wait_until(lambda: link.headsets()["wedge"].silent_for_s < 0.3)
    finally:
        raw.close()


@pytest.mark.slow
def test_one_flooding_headset_cannot_calm_the_others(link, events, beater, started):
    """10,000 random frames from one paired client while two good headsets are connected:
    the good ones' heartbeats keep coming (no gap over 250 ms, nobody goes safe) and the
    flooder is warned, then dropped."""
    from tests.protocol.test_link import RawEngine

    good = [Engine(link, name, keys=pair_engine(link, name)) for name in ("good-1", "good-2")]
    started.extend(good)
    for engine in good:
        wait_until(lambda engine=engine: engine.client.state == EngineState.CONNECTED)
    flooder = RawEngine(link)
    try:
        flooder.hello(name="flooder")
        assert isinstance(flooder.recv(), messages.Welcome)
        rng = random.Random(12)
        for _ in range(10_000):
            flooder.send_raw(os.urandom(rng.randrange(1, 400)))
        refused = events.wait(lambda e: isinstance(e, PeerRefused) and e.reason == "flooding", timeout=15)
        assert "disconnected" in refused.text
    finally:
        flooder.close()
    assert any(isinstance(e, PeerProtocolError) and e.code == "rate_limited" for e in events.seen)
    for engine in good:
        assert not engine.saw(ConsoleGone), f"{engine.client.name} made its scene safe"
        assert engine.longest_silence_s <= 0.25, f"{engine.client.name}: {engine.longest_silence_s * 1000:.0f} ms"
    errors_told = sum(isinstance(e, PeerProtocolError) for e in events.seen)
    assert errors_told < 200  # a flood of garbage does not become a flood of events


def test_a_paired_headset_over_its_budget_is_warned_and_its_excess_dropped():
    config = LinkConfig(bind="tcp://127.0.0.1:*", max_messages_per_s=50, flood_grace_s=30)
    with ConsoleLink(config) as link:
        collector = Collector(link)
        beater = Beater(link)
        from tests.protocol.test_link import RawEngine

        raw = RawEngine(link)
        try:
            raw.hello(name="chatty")
            assert isinstance(raw.recv(), messages.Welcome)
            for i in range(120):  # 70 over: fewer than the 2 s worth that gets a peer dropped at once
                raw.send(messages.Marker(label=f"m{i}", at=now()))
            warning = raw.recv(skip=(messages.Heartbeat,))
            assert isinstance(warning, messages.Error) and warning.code == "rate_limited"

            def markers() -> int:
                collector.pump()
                return sum(
                    isinstance(e, MessageReceived) and isinstance(e.message, messages.Marker) for e in collector.seen
                )

            # Every message is delivered or counted as dropped; none vanishes.
            wait_until(lambda: markers() + link.headsets()["chatty"].dropped == 120, what="all 120 accounted for")
            assert link.headsets()["chatty"].dropped > 0
            assert link.headsets()["chatty"].state == HeadsetState.CONNECTED  # within its grace: still served
        finally:
            raw.close()
            beater.stop()


def test_absurd_timestamps_are_refused_with_an_error_not_shown_as_data(link, events, beater, started):
    engine = Engine(link, "clocky", keys=pair_engine(link, "clocky"))
    started.append(engine)
    events.wait(lambda e: isinstance(e, HeadsetJoined))
    wait_until(lambda: link.headsets()["clocky"].clock_offset_ms is not None, what="a clock offset")
    engine.post(messages.Marker(label="from the year 33000", at=1e12))
    engine.post(messages.Marker(label="now", at=now()))
    reported = events.wait(lambda e: isinstance(e, PeerProtocolError) and e.code == "bad_time")
    assert "marker.at" in reported.text and "refused" in reported.text
    marker = events.wait(lambda e: isinstance(e, MessageReceived) and isinstance(e.message, messages.Marker))
    assert marker.message.label == "now"  # the absurd one never arrived as data
    wait_until(lambda: any(e.code == "bad_time" for e in engine.client.errors_from_console), what="the engine told")


def test_the_lab_benchs_unencrypted_port_admits_a_protocol_1_0_style_engine_and_marks_it():
    """Only with "allow unpaired engines": a separate port, and the headset shows as unencrypted."""
    config = LinkConfig(bind="tcp://127.0.0.1:*", insecure_bind="tcp://127.0.0.1:*")
    with ConsoleLink(config) as link:
        collector = Collector(link)
        beater = Beater(link)
        old = EngineClient(link.insecure_endpoint, "bench-rig", engine="t", app_version="1", scenes=[], insecure=True)
        try:
            deadline = now() + 5
            while old.state != EngineState.CONNECTED and now() < deadline:
                old.poll(0.05)
            joined = collector.wait(lambda e: isinstance(e, HeadsetJoined))
            assert joined.name == "bench-rig"
            snapshot = link.headsets()["bench-rig"]
            assert not snapshot.encrypted and snapshot.public_key == ""
        finally:
            old.close()
            beater.stop()


def test_without_the_setting_there_is_no_unencrypted_port(link):
    assert link.insecure_endpoint == ""


@pytest.mark.slow
def test_pairing_the_simulated_headset_from_its_command_line(link, events, beater, tmp_path):
    """What a technician does: open pairing on the console, run the headset with --pair,
    compare the code it prints with the one the console shows, accept."""
    import subprocess
    import sys

    link.open_pairing(60)
    keys_file = tmp_path / "new.keys.json"
    argv = [sys.executable, "-m", "console", "headset-sim", "--console", link.endpoint, "--name", "new-quest"]
    proc = subprocess.Popen(
        [*argv, "--keys", str(keys_file), "--pair", "--duration", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        request = events.wait(lambda e: isinstance(e, PairingRequested), timeout=15)
        assert security.read_keys_file(keys_file).console_public is None  # kept only once welcomed
        link.pair(request.public_key, "new-quest")
        events.wait(lambda e: isinstance(e, HeadsetJoined), timeout=10)
        wait_until(lambda: security.read_keys_file(keys_file).console_public == link.public_key)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0]
    assert f"shows the code {request.code}" in output
