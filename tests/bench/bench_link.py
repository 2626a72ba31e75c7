"""Control round trip, set_parameter -> parameter_applied, 10,000 times.

The floor and ours run interleaved in blocks, so that the machine's noise falls on both
alike:

- ``bare_curve``: a bare pyzmq ROUTER sends a msgpack map to a DEALER echo process over
  ZeroMQ CURVE and waits for it back (the floor: the link is CURVE since protocol 1.1, and
  encryption is the transport's cost, not our code's);
- ``bare``: the same unencrypted (the floor before protocol 1.1, kept for comparison);
- ``ours``: ConsoleLink.send() in the caller's thread -> link thread -> our Python engine
  client in its own process (answering at once, like the echo) -> link thread -> the
  event in the caller's thread: codec, link and client, both ends, both thread hand-overs;
- ``sim``: the same through the simulated headset, whose scene logic runs on the way.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import time
from typing import ClassVar

import msgpack
import zmq

from protocol import messages
from protocol.link import ConsoleLink, HeadsetJoined, LinkConfig, MessageReceived
from tests.bench.common import paired_keys_file, pct, result, start_headset_sim, stop

ROUND_TRIPS = 10_000
BLOCK = 100
WARMUP = 300

ECHO_PEER = """
import sys, msgpack, zmq
ctx = zmq.Context(); s = ctx.socket(zmq.DEALER)
if len(sys.argv) > 2:  # CURVE, to the server key given
    s.curve_publickey, s.curve_secretkey = zmq.curve_keypair(); s.curve_serverkey = sys.argv[2].encode()
s.connect(sys.argv[1]); s.send(b"ready")
while True:
    m = msgpack.unpackb(s.recv())
    if m.get("type") == "stop": break
    s.send(msgpack.packb(m))
"""


class Heartbeats:
    """The console's control loop beats every link; every side's wait loop calls due()."""

    links: ClassVar[list[ConsoleLink]] = []
    next_at = 0.0

    @classmethod
    def due(cls) -> None:
        t = time.perf_counter()
        if t >= cls.next_at:
            cls.next_at = t + 0.1
            for link in cls.links:
                link.beat()


class Bare:
    """A bare pyzmq round trip to an echo process; ``curve``: encrypted as our link is (no
    ZAP handler: the bare socket admits any key)."""

    def __init__(self, curve: bool = False) -> None:
        self.ctx = zmq.Context()
        self.router = self.ctx.socket(zmq.ROUTER)
        server_key: list[str] = []
        if curve:
            public, secret = zmq.curve_keypair()
            self.router.curve_server = True
            self.router.curve_secretkey, self.router.curve_publickey = secret, public
            server_key.append(public.decode("ascii"))
        port = self.router.bind_to_random_port("tcp://127.0.0.1")
        self.peer = subprocess.Popen([sys.executable, "-c", ECHO_PEER, f"tcp://127.0.0.1:{port}", *server_key])
        self.rid, _ = self.router.recv_multipart()
        self.payload = {"type": "set_parameter", "id": 0, "name": "distance", "value": 1.0, "ramp_s": 0.0}

    def round_trip(self, i: int) -> float:
        self.payload["id"] = i
        Heartbeats.due()
        t0 = time.perf_counter()
        self.router.send_multipart([self.rid, msgpack.packb(self.payload)])
        msgpack.unpackb(self.router.recv_multipart()[1])
        return time.perf_counter() - t0

    def close(self) -> None:
        self.router.send_multipart([self.rid, msgpack.packb({"type": "stop"})])
        try:
            self.peer.wait(5)
        except subprocess.TimeoutExpired:
            self.peer.kill()
        self.router.close(0)
        self.ctx.term()


class Ours:
    """Our link to an engine process; the caller's loop also sends the heartbeats."""

    def __init__(self, engine: str) -> None:
        # Round trips back to back, thousands a second: over the input budget a headset gets
        # (500 messages a second), which would drop the answers as a flood. The budget is not
        # what is measured here; a slider sends a few dozen a second.
        self.link = ConsoleLink(LinkConfig(bind="tcp://127.0.0.1:*", max_messages_per_s=1e6))
        Heartbeats.links.append(self.link)
        self.name = engine
        if engine == "sim":
            self.proc = start_headset_sim(self.link, engine)
        else:
            keys = paired_keys_file(self.link, engine)
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.bench.echo_engine", self.link.endpoint, engine],
                env={**os.environ, "VRCLINIC_KEYS": str(keys)},
            )
        self.wait_for(lambda e: isinstance(e, HeadsetJoined))
        if engine == "sim":
            self.wait_for(
                lambda e: (
                    isinstance(e, MessageReceived)
                    and isinstance(e.message, messages.SceneStatus)
                    and e.message.state == "running"
                )
            )

    def wait_for(self, predicate, timeout: float = 10.0):
        deadline = time.perf_counter() + timeout
        while True:
            Heartbeats.due()
            try:
                event = self.link.events.get(timeout=0.01)
            except queue.Empty:
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"{self.name} did not answer") from None
                continue
            if predicate(event):
                return event

    def round_trip(self, i: int) -> float:
        value = 1.0 + (i % 30) / 10
        t0 = time.perf_counter()
        msg_id = self.link.send(self.name, messages.SetParameter(name="distance", value=value))
        self.wait_for(
            lambda e: (
                isinstance(e, MessageReceived)
                and isinstance(e.message, messages.ParameterApplied)
                and e.message.ref_id == msg_id
            )
        )
        return time.perf_counter() - t0

    def close(self) -> None:
        stop(self.proc)
        Heartbeats.links.remove(self.link)
        self.link.close()


def run() -> dict[str, dict]:
    samples: dict[str, list[float]] = {"bare": [], "bare_curve": [], "ours": [], "sim": []}
    makers = {
        "bare": Bare,
        "bare_curve": lambda: Bare(curve=True),
        "ours": lambda: Ours("echo-engine"),
        "sim": lambda: Ours("sim"),
    }
    # The floors and ours interleaved, then the simulated headset on its own (its idle
    # render thread and scene clock would otherwise disturb the others).
    for group in (("bare", "bare_curve", "ours"), ("sim",)):
        sides = {key: makers[key]() for key in group}
        try:
            for side in sides.values():
                for i in range(WARMUP):
                    side.round_trip(i)
            for block in range(ROUND_TRIPS // BLOCK):
                for key, side in sides.items():
                    samples[key] += [side.round_trip(block * BLOCK + i) for i in range(BLOCK)]
        finally:
            for side in sides.values():
                side.close()
    us = 1e6
    bare, curve, ours, sim = samples["bare"], samples["bare_curve"], samples["ours"], samples["sim"]
    out = {
        "bare_zmq_rtt_p50_us": result(pct(bare, 50) * us, "us"),
        "bare_zmq_rtt_p99_us": result(pct(bare, 99) * us, "us"),
        "bare_zmq_curve_rtt_p50_us": result(pct(curve, 50) * us, "us"),
        "bare_zmq_curve_rtt_p99_us": result(pct(curve, 99) * us, "us"),
        "control_rtt_p50_us": result(pct(ours, 50) * us, "us"),
        "control_rtt_p99_us": result(pct(ours, 99) * us, "us"),
        "control_rtt_ratio": result(
            pct(ours, 99) / pct(curve, 99), "x", floor="bare_zmq_curve_rtt_p99_us", goal="<= 1.5"
        ),
        "control_rtt_ratio_p50": result(pct(ours, 50) / pct(curve, 50), "x", floor="bare_zmq_curve_rtt_p50_us"),
        "control_rtt_ratio_unencrypted": result(pct(ours, 99) / pct(bare, 99), "x", floor="bare_zmq_rtt_p99_us"),
        "control_rtt_sim_p50_us": result(pct(sim, 50) * us, "us", engine="simulated headset"),
        "control_rtt_sim_p99_us": result(pct(sim, 99) * us, "us", engine="simulated headset"),
    }
    v = {k: r["value"] for k, r in out.items()}
    print(
        f"control round trip p50 {v['control_rtt_p50_us']:.0f} us, p99 {v['control_rtt_p99_us']:.0f} us; "
        f"bare pyzmq with CURVE p50 {v['bare_zmq_curve_rtt_p50_us']:.0f} us, "
        f"p99 {v['bare_zmq_curve_rtt_p99_us']:.0f} us; "
        f"ratio p99 {v['control_rtt_ratio']:.2f} (goal <= 1.5), p50 {v['control_rtt_ratio_p50']:.2f}; "
        f"bare pyzmq unencrypted p99 {v['bare_zmq_rtt_p99_us']:.0f} us "
        f"(ratio {v['control_rtt_ratio_unencrypted']:.2f}); "
        f"through the simulated headset p50 {v['control_rtt_sim_p50_us']:.0f} us, "
        f"p99 {v['control_rtt_sim_p99_us']:.0f} us",
        flush=True,
    )
    return out
