"""The watchdog: the patient's scene goes calm by itself when the console is gone —
killed, frozen (SIGSTOP), or alive but with its control loop stuck — and never otherwise.

The console runs as its own process (``vrclinic monitor``) where it must be killed or
frozen; the simulated headset runs in this process so its make-safe moments can be read.
Bounds on timing carry a scheduling margin for a loaded 2-core machine; what is asserted
is the behaviour (made safe, for the right reason, soon after the timeout), not speed.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import zmq

from protocol import codec, messages
from protocol.link import HeadsetJoined, MessageReceived
from protocol.security import read_keys_file
from protocol.timing import now
from tests.conftest import SimThread, VrclinicProcess, free_port, pair_engine, pair_local, wait_until
from unity_bridge.client import ConsoleGone, EngineClient, EngineState

TIMEOUT_S = 0.5
MARGIN_S = 0.25  # scheduling slack on a shared 2-core machine
GOOD_BEATS_WATCHDOG_S = 1.5  # where good beats must keep it quiet (see test_good_beats_keep_it_quiet)


def ConsoleProcess(port: int) -> VrclinicProcess:
    """`vrclinic monitor` in its own process, its output collected line by line."""
    return VrclinicProcess("monitor", "--bind", f"tcp://127.0.0.1:{port}")


@pytest.fixture
def console_and_sim():
    port = free_port()
    keys = read_keys_file(pair_local("patient-room"))  # paired before the console process starts
    console = ConsoleProcess(port)
    sim = SimThread(f"tcp://127.0.0.1:{port}", keys=keys)
    try:
        wait_until(lambda: sim.sim.client.state == EngineState.CONNECTED, timeout=10, what="the handshake")
        yield console, sim
    finally:
        sim.close()
        console.close()


def watchdog_trips(sim: SimThread) -> list[tuple[float, str]]:
    return [(t, why) for t, why in sim.sim.safe_events if why.startswith("watchdog")]


@pytest.mark.slow
def test_killed_console_makes_the_scene_safe_within_the_timeout(console_and_sim):
    console, sim = console_and_sim
    time.sleep(1.0)  # normal operation first: nothing trips
    assert watchdog_trips(sim) == []
    killed_at = now()
    console.proc.kill()
    wait_until(lambda: watchdog_trips(sim), timeout=3, what="the watchdog")
    tripped_at, why = watchdog_trips(sim)[0]
    assert "no heartbeat from the console" in why
    assert tripped_at - killed_at <= TIMEOUT_S + MARGIN_S
    assert sim.sim.snapshot().calm_mix > 0 or sim.sim._s.state == messages.SceneState.SAFE


@pytest.mark.slow
def test_frozen_console_trips_the_watchdog_and_hears_about_it_when_it_thaws(console_and_sim):
    console, sim = console_and_sim
    time.sleep(0.5)
    frozen_at = now()
    os.kill(console.proc.pid, signal.SIGSTOP)
    try:
        wait_until(lambda: watchdog_trips(sim), timeout=3, what="the watchdog")
        tripped_at, _ = watchdog_trips(sim)[0]
        assert tripped_at - frozen_at <= TIMEOUT_S + MARGIN_S
        assert sim.sim._s.state == messages.SceneState.SAFE
    finally:
        os.kill(console.proc.pid, signal.SIGCONT)
    # The console comes back; the headset tells it what it did, and stays calm.
    wait_until(lambda: console.said("SAFETY watchdog"), timeout=5, what="the console to hear of the watchdog")
    assert sim.sim._s.state == messages.SceneState.SAFE


def test_console_whose_control_loop_stalls_trips_the_watchdog_though_its_socket_thread_lives(link, events, beater):
    """libzmq and our link thread keep running; only the control loop stopped."""
    sim = SimThread(link.endpoint, keys=pair_engine(link, "patient-room"))
    try:
        events.wait(lambda e: isinstance(e, HeadsetJoined), timeout=10)
        time.sleep(0.5)
        assert watchdog_trips(sim) == []
        stalled_at = now()
        beater.pause()
        wait_until(lambda: watchdog_trips(sim), timeout=3, what="the watchdog")
        assert watchdog_trips(sim)[0][0] - stalled_at <= TIMEOUT_S + MARGIN_S
        beater.resume()
        report = events.wait(
            lambda e: (
                isinstance(e, MessageReceived)
                and isinstance(e.message, messages.SafetyEvent)
                and e.message.kind == "watchdog"
            ),
            timeout=5,
        )
        assert "faded to the calm scene" in report.message.text
    finally:
        sim.close()


@pytest.mark.slow
def test_no_trip_during_normal_operation_under_mirror_load(link, events, beater):
    sim = SimThread(link.endpoint, keys=pair_engine(link, "patient-room"))
    try:
        joined = events.wait(lambda e: isinstance(e, HeadsetJoined), timeout=10)
        link.send(joined.name, messages.MirrorSettings(enabled=True, max_fps=30, max_width=1280, quality=80))
        for value in (4.0, 3.0, 2.0, 1.0):
            link.send(joined.name, messages.SetParameter(name="distance", value=value, ramp_s=0.5))
            time.sleep(1.0)
            events.pump()
        assert sim.sim.client.frames_sent > 10
        assert watchdog_trips(sim) == []
    finally:
        sim.close()


class FakeConsole:
    """A raw ROUTER that welcomes one engine and then beats however the test says."""

    def __init__(self):
        self.ctx = zmq.Context()
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.port = self.router.bind_to_random_port("tcp://127.0.0.1")
        self.rid = b""
        self.ids = iter(range(1, 10**6))

    def handshake(self, client: EngineClient, session_id: str = "s", watchdog_s: float = TIMEOUT_S) -> None:
        deadline = now() + 5
        hello = None
        while not isinstance(hello, messages.Hello):  # after a bye, other messages may come first
            while not self.router.poll(10):
                client.poll(0.02)
                assert now() < deadline, "no hello"
            self.rid, frame = self.router.recv_multipart()
            hello = codec.decode(frame, receiver="console").message
        self.send(
            messages.Welcome(
                protocol_major=codec.PROTO.major,
                protocol_minor=codec.PROTO.minor,
                console_name="fake",
                session_id=session_id,
                heartbeat_interval_ms=100,
                watchdog_timeout_ms=round(watchdog_s * 1000),
                sent_at=now(),
                echo_sent_at=hello.sent_at,
                echo_received_at=now(),
            )
        )

    def send(self, message: messages.Message) -> None:
        self.router.send_multipart([self.rid, codec.encode(message, next(self.ids))])

    def close(self) -> None:
        self.router.close(0)
        self.ctx.term()


@pytest.mark.parametrize("how", ["duplicate", "out_of_order", "late"])
def test_beats_that_prove_nothing_do_not_keep_the_watchdog_quiet(how):
    console = FakeConsole()
    client = EngineClient(f"tcp://127.0.0.1:{console.port}", "e", engine="t", app_version="1", scenes=[], insecure=True)
    try:
        console.handshake(client)
        started = now()
        tripped: ConsoleGone | None = None
        seq = 10
        while tripped is None and now() - started < 3:
            if how == "duplicate":
                beat = messages.Heartbeat(seq=10, sent_at=now())
            elif how == "out_of_order":
                seq -= 1
                beat = messages.Heartbeat(seq=seq, sent_at=now())
            else:
                seq += 1
                beat = messages.Heartbeat(seq=seq, sent_at=now() - 2 * TIMEOUT_S)  # queued long ago
            console.send(beat)
            for event in client.poll(0.1):
                if isinstance(event, ConsoleGone):
                    tripped = event
        assert tripped is not None, f"{how} beats kept the watchdog quiet"
        assert now() - started <= TIMEOUT_S + 0.1 + MARGIN_S
    finally:
        client.close()
        console.close()


def test_good_beats_keep_it_quiet():
    console = FakeConsole()
    client = EngineClient(f"tcp://127.0.0.1:{console.port}", "e", engine="t", app_version="1", scenes=[], insecure=True)
    try:
        # This process both beats and watches: a longer watchdog than the others use, so that a
        # loaded machine pausing it for half a second is not taken for a frozen console; beats
        # that were ignored would still trip it within the loop.
        console.handshake(client, watchdog_s=GOOD_BEATS_WATCHDOG_S)
        started, seq = now(), 0
        while now() - started < 2 * GOOD_BEATS_WATCHDOG_S:
            seq += 1
            console.send(messages.Heartbeat(seq=seq, sent_at=now()))
            assert not any(isinstance(e, ConsoleGone) for e in client.poll(0.1))
    finally:
        client.close()
        console.close()


def test_a_restarted_console_counting_its_beats_from_zero_again_keeps_the_watchdog_quiet():
    """A console that ran for an hour sent beat 36 000; restarted, it counts from 0 again.
    Its beats are proof of life, not duplicates of the old console's."""
    console = FakeConsole()
    client = EngineClient(f"tcp://127.0.0.1:{console.port}", "e", engine="t", app_version="1", scenes=[], insecure=True)
    try:
        console.handshake(client, session_id="before")
        console.send(messages.Heartbeat(seq=36_000, sent_at=now()))
        client.poll(0.1)
        console.send(messages.Bye(reason=messages.ByeReason.RESTARTING, text="restarting"))
        console.handshake(client, session_id="after", watchdog_s=GOOD_BEATS_WATCHDOG_S)
        started, seq = now(), 0
        while now() - started < 2 * GOOD_BEATS_WATCHDOG_S:
            console.send(messages.Heartbeat(seq=seq, sent_at=now()))
            seq += 1
            assert not any(isinstance(e, ConsoleGone) for e in client.poll(0.1)), "new console's beats ignored"
        assert client.state == EngineState.CONNECTED and not client.console_gone
    finally:
        client.close()
        console.close()


@pytest.mark.slow
def test_killed_console_restarted_on_the_same_port_gets_the_headset_back(console_and_sim):
    console, sim = console_and_sim
    port = int(sim.sim.client.console.rsplit(":", 1)[1])
    console.proc.kill()
    wait_until(lambda: watchdog_trips(sim), timeout=3, what="the watchdog")
    console.close()
    restarted = ConsoleProcess(port)
    try:
        wait_until(
            lambda: restarted.said("patient-room: reconnected") or restarted.said("patient-room: connected"),
            timeout=20,  # a new console process starting on a loaded machine, then the headset's next retry
            what="the headset to come back to the new console",
        )
        wait_until(lambda: restarted.said("SAFETY watchdog"), timeout=5, what="the watchdog report")
        assert sim.sim.client.state == EngineState.CONNECTED
        assert sim.sim._s.state == messages.SceneState.SAFE  # still calm: the console decides what next
    finally:
        restarted.close()


def test_an_engine_loop_that_was_away_reads_the_waiting_beats_before_it_judges_the_console():
    """A scene load or a starved CPU keeps the engine's loop away longer than the watchdog,
    while the console beats on time: the beats wait in the socket and prove the console is
    alive; the scene must not go calm for the engine's own pause (it did, in the soak)."""
    console = FakeConsole()
    client = EngineClient(f"tcp://127.0.0.1:{console.port}", "e", engine="t", app_version="1", scenes=[], insecure=True)
    try:
        console.handshake(client)
        client.poll(0.05)
        seq = 0
        away_until = now() + 3 * TIMEOUT_S  # the engine loop does not poll meanwhile
        while now() < away_until:
            seq += 1
            console.send(messages.Heartbeat(seq=seq, sent_at=now()))
            time.sleep(0.1)
        seq += 1
        console.send(messages.Heartbeat(seq=seq, sent_at=now()))
        events = client.poll(0.05) + client.poll(0.05)
        assert not any(isinstance(e, ConsoleGone) for e in events), "tripped for the engine's own pause"
        assert not client.console_gone
        # A console that really went silent meanwhile still trips it at the next look.
        time.sleep(3 * TIMEOUT_S)
        events = client.poll(0.05)
        assert any(isinstance(e, ConsoleGone) for e in events)
    finally:
        client.close()
        console.close()
