"""The heartbeats during a recorded demo session, with the session store kept busy by another
process, against the same session with the store idle.

The console's window sends a heartbeat to every headset each ``heartbeat_interval_s``
(100 ms) from its GUI thread; a headset that hears none for ``watchdog_timeout_s`` (500 ms)
makes its scene safe. Anything else that waits in that thread (a store write waiting for
another process's lock, reading an event log, a file scan) delays the beats.

What runs (twice: ``busy`` and ``idle``), each in fresh processes and a fresh data folder:

- the **console**: ``vrclinic demo --record`` as it ships (``run_demo``: the window with
  its physiology panel at 30 Hz and live metrics, the simulated headset and the simulated
  physiology (ECG 500 Hz, PPG, EDA, respiration) in their processes of their own, the
  demo's script, recording the whole session to XDF), in a child process
  (``python -m tests.bench.bench_heartbeat --child``) that also plays a **therapist** using
  the store while the session runs: every ``ACTION_EVERY_S`` it stops the recording (the
  session is imported into the store once its file is closed) and starts a new one (the
  new session's row), and saves the patient's plan in the plan editor (three plans);
- a **listening headset**: the reference engine client (:class:`unity_bridge.client.EngineClient`)
  in this process, connected to the console once the demo's own headset is (so the demo
  still drives its headset), timestamping every heartbeat as it arrives;
- ``busy`` only: a **store locker**, another process that holds the store's write lock for
  ``LOCK_HOLD_S`` (3 s), lets go for ``LOCK_GAP_S`` (0.5 s), and again, from the moment the
  console has opened its store until the session ends.

The figures, over every heartbeat the listener received from the first to the last:

- ``heartbeat_late_max_ms``: the largest gap between two consecutive heartbeats as the
  headset received them, minus the nominal interval: how much later than due the latest
  beat came (0 = every beat on time; at 400 ms the headset's watchdog trips). Goal <= 250 ms.
- ``heartbeat_late_max_ms_idle_store``: the same with nobody else using the store (the floor:
  what the machine's load and the session itself cost).
- with each, as context: the p99 gap's lateness, how many beats came more than 250 ms late,
  the largest lateness of the console's own send times (the beats' ``sent_at``, so the
  network and the listener's scheduling are not in it), and how many watchdog trips the
  listening headset had.

``--duration S`` shortens the session for a quick look (``python -m tests.bench.bench_heartbeat
--duration 20``); the figure is the 60 s one. On 2 cores shared with other work the numbers
are noisy: the idle run is the floor measured the same minute.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from tests.bench.common import console_stalls, result

DURATION_S = 60.0
ACTION_EVERY_S = 12.0  # the therapist uses the store this often (stop + start recording, save a plan)
LOCK_HOLD_S = 3.0
LOCK_GAP_S = 0.5
LATE_MS = 250.0  # the goal, and what counts a beat as late
CHILD_TIMEOUT_S = 60.0  # beyond the session: start-up and closing
LSL_CONFIG = (
    "[ports]\nMulticastPort = 23640\nBasePort = 23641\nPortRange = 64\nIPv6 = disable\n"
    "[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {127.0.0.1}\n"
)

# Another process holding the store's write lock, again and again (a second console, a
# backup tool). In WAL mode EXCLUSIVE is the write lock; readers go on.
LOCKER = """
import sqlite3, sys, time
hold, gap = float(sys.argv[2]), float(sys.argv[3])
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
print("locking", flush=True)
while True:
    conn.execute("BEGIN EXCLUSIVE")
    time.sleep(hold)
    conn.execute("COMMIT")
    time.sleep(gap)
"""


# -- the child: the console, and a therapist using the store ------------------------------


def child(port: int, duration_s: float, record: Path) -> int:
    """Runs ``vrclinic demo`` in this process, with a therapist's store actions on timers."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from console.apps.console_app import run_demo
    from console.apps.demo import demo_plan
    from console.qt.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    done = {"actions": 0}

    def window() -> MainWindow | None:
        return next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow)), None)

    def restart_recording() -> None:
        win = window()
        if win is None or win.recording is None:
            return
        win.recording.toggle()  # stop: the session goes into the store once its file is closed
        QTimer.singleShot(3000, win.recording.toggle)  # a new recording: its row in the store
        done["actions"] += 1

    def save_plan() -> None:
        win = window()
        if win is None or win.clinic is None:
            return
        editor = win.clinic.edit_plan()
        editor.patient.setText("P-014")
        editor.patient.editingFinished.emit()
        plan = demo_plan()
        editor.name.setEditText(plan.hierarchy.name)
        editor.show_plan(plan)
        editor.save()
        editor.close()
        done["actions"] += 1

    t = ACTION_EVERY_S
    while t < duration_s - 6:
        QTimer.singleShot(round(t * 1000), restart_recording)
        QTimer.singleShot(round((t + 5) * 1000), save_plan)
        t += ACTION_EVERY_S
    code = run_demo(port, duration_s=duration_s, screenshot=None, record=str(record))
    print(f"bench-actions {done['actions']}", flush=True)
    return code


# -- the parent: listener, locker, figures ------------------------------------------------


class Listener:
    """A headset (the reference engine client) that timestamps the heartbeats it receives,
    in a thread of this process (which does nothing else meanwhile)."""

    def __init__(self, endpoint: str, keys_file: Path):
        from protocol import messages
        from protocol.security import read_keys_file
        from unity_bridge.client import ConsoleGone, EngineClient

        self.arrivals: list[tuple[float, float]] = []  # (received_at, sent_at), both on this machine's clock
        self.trips: list[float] = []  # when the watchdog tripped (not a bye)
        self._gone = ConsoleGone
        self._client = EngineClient(
            endpoint,
            "bench-heartbeat-listener",
            engine="bench",
            app_version="1",
            scenes=[],
            keys=read_keys_file(keys_file),
        )
        clock = self._client._clock  # the client's heartbeat bookkeeping: every beat passes through it
        counted = clock.on_heartbeat

        def on_heartbeat(beat: messages.Heartbeat, received_at: float) -> bool:
            self.arrivals.append((received_at, beat.sent_at))
            return counted(beat, received_at)

        clock.on_heartbeat = on_heartbeat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-heartbeat-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for event in self._client.poll(0.05):
                if isinstance(event, self._gone) and event.silent_for_s is not None:  # not a bye
                    self.trips.append(time.perf_counter())

    def close(self) -> None:
        self._stop.set()
        self._client.wake()
        self._thread.join(5)
        self._client.close()


def free_port() -> int:
    """A loopback port nobody listens on right now (the demo takes a fixed --port)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lateness_ms(times: list[float], interval_s: float) -> np.ndarray:
    gaps = np.diff(np.asarray(times)) if len(times) > 1 else np.zeros(1)
    return np.maximum(gaps - interval_s, 0.0) * 1000


def pair_listener(home: Path) -> Path:
    """Pair the listening headset with the console that will run with ``home`` as its data
    folder (its key pair in files there), before that console starts."""
    from console.core.secrets import SecretStore
    from console.session.devices import DeviceList, console_keys, pair_local_headset

    keys = console_keys(SecretStore(folder=home / "secrets", use_keyring=False))
    path = home / "headsets" / "bench-heartbeat-listener.keys.json"
    pair_local_headset(DeviceList.load(home / "devices.json"), keys, "bench-heartbeat-listener", path)
    return path


def session(busy: bool, duration_s: float, tmp: Path, env: dict[str, str]) -> dict:
    """One demo session; returns the heartbeat figures."""
    home = tmp / ("busy" if busy else "idle")
    home.mkdir()
    port = free_port()
    child_env = {**env, "VRCLINIC_HOME": str(home), "VRCLINIC_SECRETS": "files", "PYTHONUNBUFFERED": "1"}
    listener_keys = pair_listener(home)
    log: collections.deque[str] = collections.deque(maxlen=60)
    listener: Listener | None = None
    locker: subprocess.Popen | None = None
    store = home / "vrclinic.sqlite3"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bench.bench_heartbeat",
            "--child",
            str(port),
            str(duration_s),
            str(home / "session"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=child_env,
    )
    actions = 0
    try:
        deadline = time.monotonic() + duration_s + CHILD_TIMEOUT_S
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line.rstrip())
            if listener is None and "connected: " in line:  # the demo's headset is in: now the listener
                listener = Listener(f"tcp://127.0.0.1:{port}", listener_keys)
            if busy and locker is None and store.exists():
                locker = subprocess.Popen(
                    [sys.executable, "-c", LOCKER, str(store), str(LOCK_HOLD_S), str(LOCK_GAP_S)],
                    stdout=subprocess.DEVNULL,
                )
            if line.startswith("bench-actions "):
                actions = int(line.split()[1])
            if time.monotonic() > deadline:
                proc.kill()
                break
        code = proc.wait(30)
    finally:
        if locker is not None:
            locker.kill()
            locker.wait(5)
        if listener is not None:
            listener.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    if code != 0 or listener is None or len(listener.arrivals) < 10:
        raise RuntimeError(f"the demo session failed (exit {code}):\n" + "\n".join(log))
    interval = 0.1
    received = [r for r, _ in listener.arrivals]
    sent = [s for _, s in listener.arrivals]
    late = _lateness_ms(received, interval)
    late_sent = _lateness_ms(sent, interval)
    store_lines = [line for line in log if "session store" in line]
    return {
        "late_max_ms": float(late.max()),
        "late_p99_ms": float(np.percentile(late, 99)),
        "late_beats": int((late > LATE_MS).sum()),
        "sent_late_max_ms": float(late_sent.max()),
        "beats": len(received),
        "seconds": round(received[-1] - received[0], 1),
        # Trips while the session ran: at its end the beats stop a moment before the bye.
        "watchdog_trips": sum(t < received[-1] for t in listener.trips),
        "store_actions": actions,
        "store_lines": store_lines[-5:],
        "console_stalls": console_stalls(log),
    }


def run(duration_s: float = DURATION_S) -> dict[str, dict]:
    tmp = Path(tempfile.mkdtemp(prefix="vrclinic-bench-hb-"))
    env = dict(os.environ)
    if not env.get("LSLAPICFG"):
        cfg = tmp / "lsl_api.cfg"
        cfg.write_text(LSL_CONFIG)
        env["LSLAPICFG"] = str(cfg)
    try:
        idle = session(False, duration_s, tmp, env)
        busy = session(True, duration_s, tmp, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def extra(m: dict) -> dict:
        return {
            "p99_ms": round(m["late_p99_ms"], 1),
            "beats_later_than_250_ms": m["late_beats"],
            "console_send_late_max_ms": round(m["sent_late_max_ms"], 1),
            "beats": m["beats"],
            "seconds": m["seconds"],
            "headset_watchdog_trips": m["watchdog_trips"],
            "therapist_store_actions": m["store_actions"],
            "console_stalls": m["console_stalls"],  # where its GUI thread stood still (its stall watch)
        }

    out = {
        "heartbeat_late_max_ms": result(
            busy["late_max_ms"],
            "ms",
            goal="<= 250",
            floor="heartbeat_late_max_ms_idle_store",
            store=f"another process holds its write lock {LOCK_HOLD_S:g} s of every {LOCK_HOLD_S + LOCK_GAP_S:g} s",
            measured="gap between heartbeats as a headset (the reference client) received them, minus 100 ms",
            session_s=duration_s,
            **extra(busy),
        ),
        "heartbeat_late_max_ms_idle_store": result(idle["late_max_ms"], "ms", session_s=duration_s, **extra(idle)),
    }
    for name, m in (("busy store", busy), ("idle store", idle)):
        print(
            f"heartbeat_late_max_ms ({name}) {m['late_max_ms']:.0f} ms: p99 {m['late_p99_ms']:.0f} ms, "
            f"{m['late_beats']} of {m['beats']} beats more than {LATE_MS:g} ms late, console's own send times "
            f"{m['sent_late_max_ms']:.0f} ms, {m['watchdog_trips']} watchdog trips, {m['store_actions']} store actions",
            flush=True,
        )
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=DURATION_S, help="session length in s (%(default)s)")
    parser.add_argument("--child", nargs=3, metavar=("PORT", "DURATION", "RECORD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.exit(child(int(args.child[0]), float(args.child[1]), Path(args.child[2])))
    print(json.dumps(run(args.duration), indent=1))
