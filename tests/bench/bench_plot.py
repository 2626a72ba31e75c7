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
- ``plot_cpu_pct_acquire_only``: the acquisition alone, nothing plotted (the floor);
- ``plot_fps_256ch`` / ``plot_cpu_pct_256ch`` / ``plot_frame_late_max_ms``: the same panel
  with 256 channels of EEG at 1 kHz instead of 32 (an outlet in a process of its own, with
  artefact bursts that make lanes grow and shrink), for ``SECONDS_256`` (forty rounds of
  lane scaling, about twenty new scales drawn): frames per second, CPU, and the latest
  frame — the longest time between two frames shown, less the 1/60 s period it should
  have been; ``plot_frame_late_p99_ms`` the same at the 99th percentile;
- ``plot_frame_cpu_max_ms``: the most GUI-thread CPU time spent between two frames shown —
  what the frames themselves cost, which a busy machine (other processes on the two
  cores) does not inflate the way it inflates the lateness;
- ``…_bare``: the same figures for a bare plot canvas repainted by a 60 Hz timer in the
  same process while the 256-channel acquisition runs (the floor: what the event loop and
  this machine's scheduler cost without any plotting work).

Under ``QT_QPA_PLATFORM=offscreen`` unless a ``DISPLAY`` is set (then on that screen). All
of it runs in a child process (``python -m tests.bench.bench_plot --child OUT``) whose liblsl
reads ``LSLAPICFG`` from its start: the caller's if set, else a configuration that resolves
on this machine only on ports of its own, so that other LSL programs on the machine (a
running simulator, test runs, other benches) neither show up in the panel's stream table
(each new row is work on the GUI thread) nor take the ports.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from tests.bench.common import result, stop

SECONDS = 10.0
SECONDS_256 = 20.0  # 40 rounds of lane rescaling, several artefact bursts
CHANNELS_256 = 256
EEG_RATE = 1000.0
WARMUP_S = 2.0
TARGET_HZ = 60.0
WINDOW_S = 10.0
SIZE = (1400, 1000)
REPO = Path(__file__).resolve().parents[2]
LSL_CONFIG = (
    "[ports]\nMulticastPort = 23710\nBasePort = 23711\nPortRange = 64\nIPv6 = disable\n"
    "[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {127.0.0.1}\n"
)


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


class FrameTimes:
    """When the paints that show a new frame (``frame()`` changed) happened, in wall-clock
    time and in the GUI thread's CPU time: an event filter on the canvas, so it sees what
    the user sees, after every cost of the frame."""

    def __init__(self, widget, frame) -> None:
        from PySide6.QtCore import QEvent, QObject

        class _Filter(QObject):
            def eventFilter(inner, watched, event) -> bool:
                if event.type() == QEvent.Type.Paint and self.recording:
                    current = frame()
                    if current != self._last:
                        self._last = current
                        self.times.append(time.perf_counter())
                        self.cpu.append(time.thread_time())
                return False

        self.times: list[float] = []
        self.cpu: list[float] = []  # the GUI thread's CPU time at each frame
        self.recording = False
        self._last = -1
        self._filter = _Filter(widget)
        widget.viewport().installEventFilter(self._filter)

    def clear(self) -> None:
        self.times.clear()
        self.cpu.clear()

    def late_ms(self, period_s: float, q: float = 100.0) -> float:
        """The longest (``q`` = 100) or ``q``-th percentile gap between two frames shown, less
        the period: how late a frame came after the one before it was due to be followed."""
        gaps = np.diff(self.times)
        return max(0.0, float(np.percentile(gaps, q)) - period_s) * 1000 if len(gaps) else float("nan")

    def cpu_max_ms(self) -> float:
        """The most GUI-thread CPU time spent between two frames shown: the frame's own cost
        (data, scaling, drawing, painting, and whatever else the thread did), without the
        waits for a core that a busy machine adds to the lateness."""
        return float(np.diff(self.cpu).max()) * 1000 if len(self.cpu) > 1 else float("nan")


def _measure_frames(app, frames: FrameTimes, seconds: float) -> dict[str, float]:
    """Frames per second, process CPU %, latest frame (max and 99th percentile, ms) and the
    costliest frame in GUI-thread CPU (ms) over ``seconds`` of the event loop."""
    _spin(app, WARMUP_S)
    frames.clear()
    frames.recording = True
    c0, t0 = time.process_time(), time.perf_counter()
    _spin(app, seconds)
    wall = time.perf_counter() - t0
    frames.recording = False
    times = frames.times
    period = 1.0 / TARGET_HZ
    return {
        "fps": (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0,
        "cpu": (time.process_time() - c0) / wall * 100,
        "late_max": frames.late_ms(period),
        "late_p99": frames.late_ms(period, 99),
        "frame_cpu_max": frames.cpu_max_ms(),
    }


def push_eeg(name: str, channels: int, rate: float = EEG_RATE, seed: int = 1) -> None:
    """An EEG outlet of ``channels`` channels at ``rate`` (the 256-channel load; runs as its
    own process until terminated). Background noise of a steady amplitude per channel, and
    every 2.5 s an artefact burst (a blink, a jaw clench) of 1 s on a block of channels, 3 to
    6 times larger: lanes that must grow at once and shrink again later."""
    import pylsl

    from unity_bridge.sim.lsl import stream_info

    rng = np.random.default_rng(seed)
    info = stream_info(name, "EEG", rate, [(f"E{c + 1}", "µV") for c in range(channels)])
    outlet = pylsl.StreamOutlet(info, chunk_size=0, max_buffered=30)
    amplitude = rng.uniform(5.0, 20.0, channels).astype(np.float32)
    state = np.zeros(channels, dtype=np.float32)
    t0 = pylsl.local_clock()
    sent = 0
    while True:
        time.sleep(0.02)
        due = int((pylsl.local_clock() - t0) * rate) - sent
        if due <= 0:
            continue
        times = t0 + (sent + np.arange(due)) / rate
        sent += due
        noise = rng.standard_normal((due, channels)).astype(np.float32)
        # Smooth the noise a little (one-pole), per chunk: EEG-looking, not white.
        noise[0] = 0.6 * state + 0.4 * noise[0]
        for i in range(1, due):
            noise[i] = 0.6 * noise[i - 1] + 0.4 * noise[i]
        state = noise[-1].copy()
        data = noise * amplitude
        burst = (times % 2.5) < 1.0
        if burst.any():
            block = int(times[0] // 2.5) % 8
            lanes = slice(block * channels // 8, (block + 1) * channels // 8)
            gain = 3.0 + (int(times[0] // 2.5) % 4)
            data[burst, lanes] *= gain
        outlet.push_chunk(np.ascontiguousarray(data), timestamp=float(times[-1]))


class BareCanvas:
    """A plot canvas with nothing to draw, repainted on a 60 Hz timer: the floor of frame
    lateness on this machine with the same acquisition running."""

    def __init__(self) -> None:
        import pyqtgraph as pg
        from PySide6.QtCore import Qt, QTimer

        self.widget = pg.GraphicsLayoutWidget()
        self.widget.resize(*SIZE)
        self.widget.addPlot()
        self.frames = 0
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.update)

    def update(self) -> None:
        self.frames += 1
        self.widget.viewport().update()

    def start(self) -> None:
        self.widget.show()
        self.timer.start(int(1000 / TARGET_HZ))

    def close(self) -> None:
        self.timer.stop()
        self.widget.close()


def _panel_for(prefix: str):
    """The session window's physiology panel, shown, plotting the streams named ``prefix...``:
    (directory, acquisition, panel)."""
    from console.physio.acquisition import Acquisition
    from console.physio.streams import StreamDirectory
    from console.qt.physio_panel import PhysioPanel

    directory = StreamDirectory(poll_interval_s=0.25).start()
    acquisition = Acquisition()
    panel = PhysioPanel(
        directory, acquisition, window_s=WINDOW_S, refresh_hz=TARGET_HZ, auto_plot=lambda s: s.name.startswith(prefix)
    )
    panel.resize(*SIZE)
    panel.show()
    return directory, acquisition, panel


def _wait_for_streams(app, panel, acquisition, directory, count: int) -> None:
    deadline = time.perf_counter() + 30
    while len(panel.plotted_uids()) < count or any(
        (s.measured_rate or 0) < 0.9 * s.stream.nominal_rate for s in acquisition.statuses().values()
    ):
        _spin(app, 0.2)
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the simulated physiology did not come up: {directory.status}")


def run_256(app) -> dict[str, dict]:
    """The full load with 256 EEG channels at 1 kHz: frame rate, CPU, the latest frame and the
    costliest one, against a bare canvas in the same conditions."""

    prefix = f"bench-plot256-{uuid.uuid4().hex[:6]}"
    sim = subprocess.Popen(
        [sys.executable, "-m", "unity_bridge.sim.physio", "--prefix", prefix, "--seed", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    eeg = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.bench_plot", "--eeg-outlet", f"{prefix}-EEG256"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    directory, acquisition, panel = _panel_for(prefix)
    try:
        _wait_for_streams(app, panel, acquisition, directory, 5)
        _spin(app, WINDOW_S)  # fill the plots' window before measuring
        redraws = _lane_redraws(panel)
        plot = _measure_frames(app, FrameTimes(panel.graphics, lambda: panel.frames), SECONDS_256)
        redraws = _lane_redraws(panel) - redraws
        panel.shutdown()
        panel.hide()
        bare = BareCanvas()
        bare.start()
        try:
            floor = _measure_frames(app, FrameTimes(bare.widget, lambda: bare.frames), SECONDS)
        finally:
            bare.close()
    finally:
        panel.shutdown()
        acquisition.close()
        directory.stop()
        stop(eeg)
        stop(sim)
    out = {
        "plot_fps_256ch": result(plot["fps"], "fps", goal=">= 59", target_hz=TARGET_HZ, channels=CHANNELS_256),
        "plot_cpu_pct_256ch": result(plot["cpu"], "%", of="one core, process CPU time / wall time"),
        "plot_frame_late_max_ms": result(
            plot["late_max"],
            "ms",
            goal="<= 50",
            seconds=SECONDS_256,
            lane_rescales=redraws,
            floor="plot_frame_late_max_ms_bare",
        ),
        "plot_frame_late_max_ms_bare": result(floor["late_max"], "ms", note="a bare canvas at 60 Hz, same acquisition"),
        "plot_frame_late_p99_ms": result(plot["late_p99"], "ms", floor="plot_frame_late_p99_ms_bare"),
        "plot_frame_late_p99_ms_bare": result(floor["late_p99"], "ms"),
        "plot_frame_cpu_max_ms": result(
            plot["frame_cpu_max"],
            "ms",
            goal="< 16.7 (one frame)",
            of="GUI-thread CPU time between two frames shown",
            floor="plot_frame_cpu_max_ms_bare",
        ),
        "plot_frame_cpu_max_ms_bare": result(floor["frame_cpu_max"], "ms"),
    }
    print(
        f"256 ch: {plot['fps']:.1f} fps at {plot['cpu']:.0f} % CPU; latest frame {plot['late_max']:.1f} ms late "
        f"(goal <= 50), p99 {plot['late_p99']:.1f} ms; costliest frame {plot['frame_cpu_max']:.1f} ms of GUI-thread "
        f"CPU; {redraws} lane rescales in {SECONDS_256:g} s. Bare canvas: latest {floor['late_max']:.1f} ms, p99 "
        f"{floor['late_p99']:.1f} ms, costliest {floor['frame_cpu_max']:.1f} ms",
        flush=True,
    )
    return out


def _lane_redraws(panel) -> int:
    """How many times the stacked lanes were redrawn for a new scale (-1 if unknown)."""
    return sum(getattr(row.lanes.raster, "rescales", -1) for row in panel._rows.values() if row.lanes is not None)


class NaivePlots:
    """The same streams plotted with pyqtgraph's defaults: what "just plot it" costs."""

    def __init__(self, acquisition, streams):
        import pyqtgraph as pg
        from PySide6.QtCore import QTimer

        from console.qt.physio_items import PaintCounter

        pg.setConfigOptions(antialias=True)
        self.acquisition, self.streams = acquisition, streams
        self.widget = pg.GraphicsLayoutWidget()
        self.widget.resize(*SIZE)
        self.curves = {}
        for row, stream in enumerate(streams):
            plot = self.widget.addPlot(row=row, col=0, title=stream.name)
            self.curves[stream.uid] = [plot.plot(pen=pg.mkPen(width=1)) for _ in range(stream.channel_count)]
        self.frames = 0
        self.counter = PaintCounter(self.widget, lambda: self.frames)  # paints that show a new frame
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
    """Every figure of this bench, measured in a child process with its own LSL configuration."""
    tmp = Path(tempfile.mkdtemp(prefix="vrclinic-bench-plot-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if not env.get("LSLAPICFG"):
        (tmp / "lsl_api.cfg").write_text(LSL_CONFIG)
        env["LSLAPICFG"] = str(tmp / "lsl_api.cfg")
    out = tmp / "measured.json"
    subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_plot", "--child", str(out)],
        cwd=REPO,
        env=env,
        stderr=subprocess.DEVNULL,  # liblsl's log lines
        check=True,
        timeout=600,
    )
    return json.loads(out.read_text())


def measure() -> dict[str, dict]:
    """The figures, in this process (the child of :func:`run`)."""
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    prefix = f"bench-plot-{uuid.uuid4().hex[:6]}"
    sim = subprocess.Popen(
        [sys.executable, "-m", "unity_bridge.sim.physio", "--prefix", prefix, "--eeg32", "--seed", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    directory, acquisition, panel = _panel_for(prefix)
    try:
        _wait_for_streams(app, panel, acquisition, directory, 5)
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
    out.update(run_256(app))
    return out


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _parser.add_argument("--eeg-outlet", metavar="NAME", help="only stream the 256-channel EEG load under NAME")
    _parser.add_argument("--child", metavar="OUT", help="measure here and write the figures to OUT (JSON)")
    _args = _parser.parse_args()
    if _args.eeg_outlet:
        push_eeg(_args.eeg_outlet, CHANNELS_256)
    elif _args.child:
        Path(_args.child).write_text(json.dumps(measure(), indent=1))
    else:
        print(json.dumps(run(), indent=1))
