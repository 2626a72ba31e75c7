"""Live physiology plots under the full load, against naive plotting of the same data.

The simulated physiology (``unity_bridge.sim.physio --eeg32``, its own process) streams
ECG 500 Hz, PPG 100 Hz, EDA 32 Hz, respiration 50 Hz and 32 channels of EEG at 1 kHz over
LSL. In this process, one :class:`~console.physio.Acquisition` pulls all five and:

- ``plot_fps`` / ``plot_cpu_pct``: the :class:`~console.qt.physio_panel.PhysioPanel`
  shows all of them (1400×1000 px, 10 s window, 60 Hz target) for ``SECONDS``: canvas
  paints per second, and process CPU time / wall time × 100 (acquisition threads included);
- ``plot_fps_naive`` / ``plot_cpu_pct_naive``: the same streams plotted the default way in
  the same run — one PlotDataItem per channel, whole 10 s arrays through ``setData`` on a
  60 Hz timer, antialiasing on, no downsampling or clipping, auto range;
- ``plot_cpu_pct_acquire_only``: the acquisition alone, nothing plotted (the floor).

Under ``QT_QPA_PLATFORM=offscreen`` unless a ``DISPLAY`` is set (then on that screen).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from tests.bench.common import result, stop

SECONDS = 10.0
WARMUP_S = 2.0
TARGET_HZ = 60.0
WINDOW_S = 10.0
SIZE = (1400, 1000)


def _spin(app, seconds: float) -> None:
    """Run the Qt event loop for ``seconds`` (the timers and paints happen in it)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _measure(app, paints) -> tuple[float, float]:
    """(paints per second, process CPU %) over SECONDS of the event loop."""
    _spin(app, WARMUP_S)
    p0, c0, t0 = paints(), time.process_time(), time.perf_counter()
    _spin(app, SECONDS)
    wall = time.perf_counter() - t0
    return (paints() - p0) / wall, (time.process_time() - c0) / wall * 100


class NaivePlots:
    """The same streams plotted with pyqtgraph's defaults: what "just plot it" costs."""

    def __init__(self, acquisition, streams):
        import pyqtgraph as pg
        from PySide6.QtCore import QTimer

        from console.qt.physio_panel import _PaintCounter

        pg.setConfigOptions(antialias=True)
        self.acquisition, self.streams = acquisition, streams
        self.widget = pg.GraphicsLayoutWidget()
        self.widget.resize(*SIZE)
        self.curves = {}
        for row, stream in enumerate(streams):
            plot = self.widget.addPlot(row=row, col=0, title=stream.name)
            self.curves[stream.uid] = [plot.plot(pen=pg.mkPen(width=1)) for _ in range(stream.channel_count)]
        self.frames = 0
        self.counter = _PaintCounter(self.widget, lambda: self.frames)  # paints that show a new frame
        self.widget.viewport().installEventFilter(self.counter)
        self.timer = QTimer()
        self.timer.timeout.connect(self.update)

    def update(self) -> None:
        for stream in self.streams:
            ts, data = self.acquisition.latest(stream.uid, WINDOW_S)
            for c, curve in enumerate(self.curves[stream.uid]):
                curve.setData(ts, data[:, c])
        self.frames += 1

    def start(self) -> None:
        self.widget.show()
        self.timer.start(int(1000 / TARGET_HZ))

    def close(self) -> None:
        import pyqtgraph as pg

        self.timer.stop()
        self.widget.close()
        pg.setConfigOptions(antialias=False)


def run() -> dict[str, dict]:
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from console.physio.acquisition import Acquisition
    from console.physio.streams import StreamDirectory
    from console.qt.physio_panel import PhysioPanel

    app = QApplication.instance() or QApplication([])
    prefix = f"bench-plot-{uuid.uuid4().hex[:6]}"
    sim = subprocess.Popen(
        [sys.executable, "-m", "unity_bridge.sim.physio", "--prefix", prefix, "--eeg32", "--seed", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    directory = StreamDirectory(poll_interval_s=0.25).start()
    acquisition = Acquisition()
    panel = PhysioPanel(
        directory, acquisition, window_s=WINDOW_S, refresh_hz=TARGET_HZ, auto_plot=lambda s: s.name.startswith(prefix)
    )
    try:
        panel.resize(*SIZE)
        panel.show()
        deadline = time.perf_counter() + 30
        while len(panel.plotted_uids()) < 5 or any(
            (s.measured_rate or 0) < 0.9 * s.stream.nominal_rate for s in acquisition.statuses().values()
        ):
            _spin(app, 0.2)
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the simulated physiology did not come up: {directory.status}")
        _spin(app, WINDOW_S)  # fill the plots' window before measuring
        fps, cpu = _measure(app, lambda: panel.frames_painted)
        streams = acquisition.selected()
        panel.shutdown()
        panel.hide()
        naive = NaivePlots(acquisition, streams)
        naive.start()
        try:
            naive_fps, naive_cpu = _measure(app, lambda: naive.counter.count)
        finally:
            naive.close()
        _, acquire_cpu = _measure(app, lambda: 0)
    finally:
        panel.shutdown()
        acquisition.close()
        directory.stop()
        stop(sim)
    out = {
        "plot_fps": result(fps, "fps", goal=">= 55", target_hz=TARGET_HZ),
        "plot_cpu_pct": result(cpu, "%", goal="<= 60", of="one core, process CPU time / wall time"),
        "plot_fps_naive": result(naive_fps, "fps", target_hz=TARGET_HZ),
        "plot_cpu_pct_naive": result(naive_cpu, "%"),
        "plot_fps_ratio": result(fps / max(naive_fps, 1e-9), "x", floor="plot_fps_naive"),
        "plot_cpu_pct_acquire_only": result(acquire_cpu, "%", note="acquisition of the same streams, no plot"),
    }
    print(
        f"plots {fps:.1f} fps at {cpu:.0f} % CPU (goal >= 55 fps, <= 60 %); naive {naive_fps:.1f} fps at "
        f"{naive_cpu:.0f} % CPU; ratio fps {fps / max(naive_fps, 1e-9):.1f}x; acquisition alone "
        f"{acquire_cpu:.0f} % CPU",
        flush=True,
    )
    return out


if __name__ == "__main__":
    run()
