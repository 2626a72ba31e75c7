"""Live physiology metrics under the standard physiology load (the simulated patient's ECG
500 Hz, PPG 100 Hz, EDA 32 Hz and respiration 50 Hz over real LSL streams).

- ``metrics_latency_ms``: from the source time of the newest sample a reading used to the
  heart rate / arousal line being set in the session window (the real MainWindow, offscreen),
  p95; a sample arriving just after a computation also waits up to one interval (1 s);
  against the floor of one metrics computation on the same window of data, measured in the
  same run (what any live analysis must pay before it can show anything).
- ``metrics_cpu_pct``: CPU (percent of one core) the live metrics add to a console that
  already acquires the streams, the metrics process included; against the CPU of that
  acquisition alone, in the same run.
"""

from __future__ import annotations

import os
import time
import uuid

import numpy as np

from tests.bench.common import pct, result

RUN_S = 20.0
WARMUP_S = 8.0


def _patient():
    from console.physio.acquisition import Acquisition
    from console.physio.streams import StreamDirectory
    from unity_bridge.sim.physio import FixedArousal, PhysioSimulator

    sim = PhysioSimulator(f"bench-{uuid.uuid4().hex[:6]}", arousal=FixedArousal(0.2), seed=3).start()
    directory = StreamDirectory().start()
    acquisition = Acquisition()
    deadline = time.monotonic() + 20
    wanted = set(sim.stream_names.values())
    while time.monotonic() < deadline:
        found = [d for d in directory.snapshot() if d.name in wanted and d.info is not None]
        if len(found) == len(wanted):
            acquisition.set_selection(found)
            return sim, directory, acquisition
        time.sleep(0.2)
    raise RuntimeError("the simulated patient's streams were not found")


def _cpu_over(seconds: float) -> float:
    start_cpu, start = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (time.process_time() - start_cpu) / (time.monotonic() - start)


def _child_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def latency_and_cpu() -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from console.physio import metrics
    from console.physio.live_metrics import LiveMetrics
    from console.qt.bridge import LinkBridge
    from console.qt.main_window import MainWindow
    from console.session.model import SessionModel
    from protocol.link import LinkConfig
    from protocol.timing import now

    app = QApplication.instance() or QApplication([])
    metrics.preload()
    sim, directory, acquisition = _patient()
    try:
        time.sleep(WARMUP_S)  # buffers filled: the live metrics see a full window from the start
        acquisition_only = _cpu_over(RUN_S / 2)

        live = LiveMetrics(acquisition, acquisition.selected, baseline_s=5.0)
        bridge = LinkBridge(LinkConfig(bind="tcp://127.0.0.1:*", session_id="bench-metrics"))
        window = MainWindow(SessionModel(bridge.link), bridge, live=live)
        latencies: list[float] = []
        shown = window.show_reading

        def timed(reading) -> None:
            shown(reading)
            latencies.append(now() - reading.at)

        window.reading_ready.disconnect(shown)
        window.reading_ready.connect(timed)
        window.show()
        live.compute.skin(np.full(800, 5.0), 32.0, 0.0)  # NeuroKit loaded: its import is start-up, not load
        live.start()
        loop = QEventLoop()
        child = live.compute.pid  # the metrics process: its CPU counts too
        start_cpu, start_child, start = time.process_time(), _child_cpu_s(child), time.monotonic()
        QTimer.singleShot(round(RUN_S * 1000), loop.quit)
        loop.exec()
        wall = time.monotonic() - start
        with_metrics = 100.0 * (time.process_time() - start_cpu) / wall
        in_process = 100.0 * (_child_cpu_s(child) - start_child) / wall
        with_metrics += in_process
        live.stop()
        window.close()
        app.processEvents()

        # The floor: one computation on the window the live metrics use, same data, same run.
        compute = []
        heart = next(s for s in acquisition.selected() if s.type.upper() == "ECG")
        skin = next(s for s in acquisition.selected() if s.type.upper() == "EDA")
        for _ in range(20):
            t0 = time.perf_counter()
            t, data = acquisition.latest(heart.uid, live.window_s)
            metrics.heart_rate_from_ecg(data[:, 0].astype(float), heart.nominal_rate, t0=float(t[0]))
            t, data = acquisition.latest(skin.uid, live.window_s)
            metrics.skin_conductance(data[:, 0].astype(float), skin.nominal_rate, t0=float(t[0]))
            compute.append(time.perf_counter() - t0)
    finally:
        acquisition.close()
        directory.stop()
        sim.close()
    lat_ms = np.asarray(latencies[2:]) * 1000  # the first readings also wait for the worker's first interval
    floor_ms = float(np.median(compute)) * 1000
    added = max(0.0, with_metrics - acquisition_only)
    print(
        f"metrics latency p50 {pct(lat_ms, 50):.0f} ms, p95 {pct(lat_ms, 95):.0f} ms over {len(lat_ms)} readings; "
        f"one computation {floor_ms:.1f} ms; CPU {acquisition_only:.1f} % acquiring, {with_metrics:.1f} % with "
        f"live metrics (+{added:.1f} %)",
        flush=True,
    )
    return {
        "metrics_latency_ms": result(
            pct(lat_ms, 95),
            "ms",
            p50_ms=round(pct(lat_ms, 50), 1),
            readings=len(lat_ms),
            floor_compute_ms=round(floor_ms, 2),
            ratio=round(pct(lat_ms, 50) / floor_ms, 1),
            interval_s=live.interval_s,
            # A sample that arrives just after a computation waits for the next one: derived
            # from the interval and the measured p95, not measured on its own.
            any_sample_worst_ms=round(live.interval_s * 1000 + pct(lat_ms, 95), 1),
        ),
        "metrics_cpu_pct": result(
            added,
            "% of one core",
            acquisition_only_pct=round(acquisition_only, 1),
            with_metrics_pct=round(with_metrics, 1),
            metrics_process_pct=round(in_process, 1),
            ratio=round(with_metrics / acquisition_only, 2) if acquisition_only > 0 else None,
        ),
    }


def run() -> dict:
    return latency_and_cpu()


if __name__ == "__main__":
    print(run())
