"""The console as a therapist meets it.

- ``slider_to_applied_p95_ms``: a slider moved in the window -> the simulated headset
  applies it -> the applied value is shown back next to the slider; against a bare pyzmq (CURVE)
  round trip measured in the same run (the floor any networked control pays).
- ``console_start_s``: process start to the first painted console window; against the
  same for a bare Qt window (Python + PySide6 start-up, the floor).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.bench.bench_link import Bare
from tests.bench.common import pct, result, start_headset_sim, stop

MOVES = 300
BARE_QT = """
import sys, time
from PySide6.QtWidgets import QApplication, QWidget
class W(QWidget):
    def paintEvent(self, e):
        print(f"first-paint {time.time():.6f}", flush=True); QApplication.instance().quit()
app = QApplication(sys.argv); w = W(); w.resize(1500, 940); w.show(); app.exec()
"""


def first_paint(cmd: list[str]) -> float:
    env = {**os.environ, "VRCLINIC_REPORT_FIRST_PAINT": "1"}
    # As a user starts it: an installed console has its modules' bytecode (pip compiles them
    # when it installs), as the floor's PySide6 has; here it is written by the warm-up start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("first-paint "):
                return float(line.split()[1]) - t0
        raise RuntimeError(f"{cmd} never painted")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def startup() -> tuple[float, float]:
    bare_cmd = [sys.executable, "-c", BARE_QT]
    ours_cmd = [sys.executable, "-m", "console", "console", "--bind", "tcp://127.0.0.1:*"]
    for cmd in (bare_cmd, ours_cmd):  # warm-up, not counted: files in the page cache, bytecode written
        first_paint(cmd)
    ours, bare = [], []
    for _ in range(3):
        bare.append(first_paint(bare_cmd))
        ours.append(first_paint(ours_cmd))
    return min(ours), min(bare)


def slider_round_trips() -> list[float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from console.qt.bridge import LinkBridge
    from console.qt.main_window import MainWindow
    from console.session.model import SessionModel
    from protocol.link import LinkConfig

    app = QApplication.instance() or QApplication([])
    bridge = LinkBridge(LinkConfig(bind="tcp://127.0.0.1:*"))
    model = SessionModel(bridge.link)
    window = MainWindow(model, bridge)
    window.show()
    sim = start_headset_sim(bridge.link, "bench-gui")
    try:
        deadline = time.perf_counter() + 20
        # A settled window: the headset's controls shown, the timeline (built after the first
        # paint, its imports in the background) in place.
        while "distance" not in window.stimulus.rows or window.report.plot is None:
            app.processEvents()
            if time.perf_counter() > deadline:
                raise RuntimeError("the simulated headset did not show up")
        row = window.stimulus.rows["distance"]
        samples = []
        for i in range(MOVES):
            value = 1.0 + (i % 20) / 10
            if f"now {value:.1f} m" == row.applied.text():
                value += 2.0
            want = f"now {value:.1f} m"
            t0 = time.perf_counter()
            row.slider.setValue(row.position_of(value))
            while row.applied.text() != want:
                # Block in the event loop as the real window does (a busy processEvents loop
                # would hold the GIL and starve the link thread).
                app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
                if time.perf_counter() - t0 > 5:
                    raise RuntimeError(f"the applied value never showed {want!r}")
            samples.append(time.perf_counter() - t0)
        return samples
    finally:
        stop(sim)
        window.close()


def run() -> dict[str, dict]:
    bare = Bare(curve=True)  # the link is CURVE: so is the floor
    try:
        floor = [bare.round_trip(i) for i in range(2000)]
    finally:
        bare.close()
    slider = slider_round_trips()
    ours_start, bare_start = startup()
    p95 = pct(slider, 95) * 1000
    floor_p95 = pct(floor, 95) * 1000
    out = {
        "slider_to_applied_p95_ms": result(p95, "ms", floor="bare_zmq_rtt_p95_ms", goal="<= 3"),
        "slider_to_applied_p50_ms": result(pct(slider, 50) * 1000, "ms"),
        "bare_zmq_rtt_p95_ms": result(floor_p95, "ms"),
        "slider_to_applied_ratio": result(p95 / floor_p95, "x", floor="bare_zmq_rtt_p95_ms"),
        "console_start_s": result(ours_start, "s", floor="bare_qt_start_s", goal="<= 0.5"),
        "bare_qt_start_s": result(bare_start, "s"),
        "console_start_ratio": result(ours_start / bare_start, "x", floor="bare_qt_start_s"),
    }
    print(
        f"slider -> applied shown: p95 {p95:.2f} ms (bare pyzmq round trip p95 {floor_p95:.2f} ms, "
        f"{p95 / floor_p95:.1f}x); console start to first paint {ours_start:.2f} s "
        f"(bare Qt window {bare_start:.2f} s, {ours_start / bare_start:.1f}x)",
        flush=True,
    )
    return out
