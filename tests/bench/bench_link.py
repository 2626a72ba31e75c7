"""Control round trip: set_parameter -> parameter_applied through the whole stack (console
link thread, the simulated headset's engine loop in its own process, back to the caller's
thread), against a bare pyzmq msgpack echo with the same topology in the same run."""

from __future__ import annotations

import queue
import subprocess
import sys
import time

import msgpack
import zmq

from protocol import messages
from protocol.link import ConsoleLink, HeadsetJoined, LinkConfig, MessageReceived
from tests.bench.common import pct, result, start_headset_sim, stop

ROUND_TRIPS = 10_000
WARMUP = 500

ECHO_PEER = """
import sys, msgpack, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.DEALER); s.connect(sys.argv[1]); s.send(b"ready")
while True:
    m = msgpack.unpackb(s.recv())
    if m.get("type") == "stop": break
    s.send(msgpack.packb(m))
"""


def bare_rtts() -> list[float]:
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    peer = subprocess.Popen([sys.executable, "-c", ECHO_PEER, f"tcp://127.0.0.1:{port}"])
    try:
        rid, _ = router.recv_multipart()
        payload = {"type": "set_parameter", "id": 0, "name": "distance", "value": 1.0, "ramp_s": 0.0}
        rtts = []
        for i in range(WARMUP + ROUND_TRIPS):
            payload["id"] = i
            t0 = time.perf_counter()
            router.send_multipart([rid, msgpack.packb(payload)])
            msgpack.unpackb(router.recv_multipart()[1])
            if i >= WARMUP:
                rtts.append(time.perf_counter() - t0)
        router.send_multipart([rid, msgpack.packb({"type": "stop"})])
        peer.wait(5)
        return rtts
    finally:
        if peer.poll() is None:
            peer.kill()
        router.close(0)
        ctx.term()


def our_rtts() -> list[float]:
    link = ConsoleLink(LinkConfig(bind="tcp://127.0.0.1:*"))
    sim = start_headset_sim(link.endpoint, "bench")
    interval = link.config.heartbeat_interval_s
    next_beat = time.perf_counter()

    def beat_if_due() -> None:
        nonlocal next_beat
        if time.perf_counter() >= next_beat:
            link.beat()
            next_beat += interval

    def wait_for(predicate, timeout: float = 10.0):
        deadline = time.perf_counter() + timeout
        while True:
            beat_if_due()
            try:
                event = link.events.get(timeout=0.01)
            except queue.Empty:
                if time.perf_counter() > deadline:
                    raise TimeoutError("the simulated headset did not answer") from None
                continue
            if predicate(event):
                return event

    try:
        wait_for(lambda e: isinstance(e, HeadsetJoined))
        wait_for(
            lambda e: (
                isinstance(e, MessageReceived)
                and isinstance(e.message, messages.SceneStatus)
                and e.message.state == "running"
            )
        )
        rtts = []
        for i in range(WARMUP + ROUND_TRIPS):
            beat_if_due()
            value = 1.0 + (i % 30) / 10
            t0 = time.perf_counter()
            msg_id = link.send("bench", messages.SetParameter(name="distance", value=value))
            wait_for(
                lambda e, msg_id=msg_id: (
                    isinstance(e, MessageReceived)
                    and isinstance(e.message, messages.ParameterApplied)
                    and e.message.ref_id == msg_id
                )
            )
            if i >= WARMUP:
                rtts.append(time.perf_counter() - t0)
        return rtts
    finally:
        stop(sim)
        link.close()


def run() -> dict[str, dict]:
    bare = bare_rtts()
    ours = our_rtts()
    us = 1e6
    out = {
        "bare_zmq_rtt_p50_us": result(pct(bare, 50) * us, "us"),
        "bare_zmq_rtt_p99_us": result(pct(bare, 99) * us, "us"),
        "control_rtt_p50_us": result(pct(ours, 50) * us, "us"),
        "control_rtt_p99_us": result(pct(ours, 99) * us, "us"),
    }
    ratio = pct(ours, 99) / pct(bare, 99)
    out["control_rtt_ratio"] = result(ratio, "x", floor="bare_zmq_rtt_p99_us", goal="<= 2")
    print(
        f"control round trip p50 {out['control_rtt_p50_us']['value']:.0f} us, p99 "
        f"{out['control_rtt_p99_us']['value']:.0f} us; bare pyzmq p99 {out['bare_zmq_rtt_p99_us']['value']:.0f} us;"
        f" ratio {ratio:.2f} (goal <= 2)",
        flush=True,
    )
    return out
