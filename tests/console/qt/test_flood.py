"""One headset flooding the console must not calm every other patient's scene.

Seen on protocol 1.0: the window handled each incoming message on the GUI thread, which
also sends the heartbeats; 200 garbage frames from one client stopped the heartbeats to
every headset for 586 ms, 10,000 stopped them for 102 s and grew memory from 156 to
391 MB. Here the flooder is a paired (say, compromised) headset in a process of its own,
and the two good headsets are simulated headsets in processes of their own, whose
watchdogs judge the heartbeats as they arrive.
"""

from __future__ import annotations

import gc
import itertools
import subprocess
import sys

import pytest

from console.qt.bridge import LinkBridge
from console.qt.main_window import MainWindow
from console.qt.panels import HeadsetsPanel
from console.session.model import SessionModel
from protocol.link import LinkConfig
from protocol.security import write_keys_file
from protocol.timing import now
from tests.conftest import LOADED_MACHINE_WATCHDOG_S, pair_engine
from tests.console.qt.test_busy_store import HeadsetProcess

pytestmark = pytest.mark.slow

FLOODER = r"""
import os, random, sys, time, uuid
import msgpack, zmq
from protocol import security
from pathlib import Path
keys = security.read_keys_file(Path(sys.argv[2]))
count = int(sys.argv[3])
ctx = zmq.Context()
sock = ctx.socket(zmq.DEALER)
sock.setsockopt(zmq.LINGER, 5000)
security.make_curve_client(sock, keys)
sock.connect(sys.argv[1])
hello = {"type": "hello", "id": 1, "name": "flooder", "instance_id": uuid.uuid4().hex[:8], "protocol_major": 1,
         "protocol_minor": 1, "engine": "flood", "app_version": "0", "sent_at": time.perf_counter()}
sock.send(msgpack.packb(hello))
sock.poll(5000)
rng = random.Random(7)
for _ in range(count):
    sock.send(os.urandom(rng.randrange(1, 400)))
print("flooded", flush=True)
sock.close()
ctx.term()
"""


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def window(qtbot, tmp_path):
    # The good headsets' watchdog for a loaded machine (see tests/conftest.py); the gap is
    # printed (timing belongs to make bench/faults).
    # The input budget at 200 messages a second (500 by default): the budget is counted as the
    # link thread reads, and a link thread slowed by the tests beside it may read the flood at
    # less than 500 a second; what is asserted is the drop, not how fast this machine reads.
    config = LinkConfig(
        bind="tcp://127.0.0.1:*",
        session_id="flood-test",
        watchdog_timeout_s=LOADED_MACHINE_WATCHDOG_S,
        max_messages_per_s=200.0,
    )
    bridge = LinkBridge(config)
    model = SessionModel(bridge.link, presets_path=tmp_path / "presets.json")
    win = MainWindow(model, bridge)
    qtbot.addWidget(win)
    win.show()
    win.beats = []
    win.heartbeat.timeout.connect(lambda: win.beats.append(now()))
    win.headsets = [HeadsetProcess(bridge.link, name, tmp_path / f"{name}.keys.json") for name in ("good-1", "good-2")]
    yield win
    for headset in win.headsets:
        headset.close()


@pytest.mark.parametrize("frames", [200, 10_000])
def test_a_flooding_headset_does_not_calm_the_others(qtbot, window, tmp_path, frames):
    qtbot.waitUntil(
        lambda: (
            len(window.model.headsets) == 2 and all(h.scene_state == "running" for h in window.model.headsets.values())
        ),
        timeout=20_000,
    )
    qtbot.wait(1500)  # settled: memory measured from here
    # The young generations only: a full collection on this (the GUI) thread took 1.8 s on a
    # loaded machine, long enough for the good headsets' watchdogs (the stall watch said so).
    gc.collect(1)
    before_mb = rss_mb()
    keys_file = tmp_path / "flooder.keys.json"
    write_keys_file(keys_file, pair_engine(window.bridge.link, "flooder"))
    started = now()
    flooder = subprocess.Popen(
        [sys.executable, "-c", FLOODER, window.bridge.link.endpoint, str(keys_file), str(frames)],
        stdout=subprocess.DEVNULL,
    )
    try:
        qtbot.waitUntil(lambda: flooder.poll() is not None, timeout=60_000)
        qtbot.wait(2000)  # whatever the flood left queued is handled by now
    finally:
        if flooder.poll() is None:
            flooder.kill()
        flooder.wait(5)
    beats = [t for t in window.beats if t >= started]
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    print(f"longest heartbeat gap during the flood of {frames}: {max(gaps) * 1000:.0f} ms")
    assert max(gaps) < 1.5, f"the heartbeats stopped for {max(gaps) * 1000:.0f} ms during the flood"
    for headset in window.headsets:
        assert not headset.made_safe(), f"a good headset made its scene safe: {headset.made_safe()}"
    # What the therapist sees: the flooder named, a count, not thousands of lines.
    flood_lines = [e for e in window.model.log if e.headset == "flooder"]
    assert flood_lines and len(flood_lines) < 100
    if frames > 1000:
        assert any("disconnected" in e.text for e in flood_lines)  # dropped for flooding
        # The technician sees it in the headsets table too.
        qtbot.waitUntil(
            lambda: "messages dropped" in HeadsetsPanel.health(window.model.headsets["flooder"]), timeout=3000
        )
    gc.collect()
    after_mb = rss_mb()
    assert after_mb <= before_mb * 1.10, f"memory grew from {before_mb:.0f} to {after_mb:.0f} MB"
