"""Start the Qt console: `vrclinic console` (real headsets) and `vrclinic demo` (with a
simulated headset and simulated physiology in their own processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from protocol.link import LinkConfig, LinkError


def data_dir() -> Path:
    """Where the console keeps its own files (presets); VRCLINIC_HOME overrides."""
    if "VRCLINIC_HOME" in os.environ:
        return Path(os.environ["VRCLINIC_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "vrclinic"


def run_console(
    bind: str,
    *,
    duration_s: float | None = None,
    screenshot: str | None = None,
    script: list | None = None,
    record: str | None = None,
    expect_streams: tuple[str, ...] = (),
) -> int:
    """Run the window until it is closed (or for ``duration_s``, then save ``screenshot``)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from console.demo import ScriptPlayer
    from console.physio.acquisition import Acquisition
    from console.physio.streams import StreamDirectory
    from console.qt.bridge import LinkBridge
    from console.qt.main_window import MainWindow
    from console.qt.panels import clock_text
    from console.qt.physio_panel import PhysioPanel
    from console.session import SessionModel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("vrclinic")
    app.setStyle("Fusion")
    try:
        bridge = LinkBridge(LinkConfig(bind=bind))
    except LinkError as exc:
        print(exc, file=sys.stderr)
        return 2
    model = SessionModel(bridge.link, presets_path=data_dir() / "presets.json")
    # The event log also goes to the terminal: what a technician reads when something went wrong.
    model.logged.connect(
        lambda e: print(
            f"[{clock_text(e.at - model.started_at)}] {e.headset + ': ' if e.headset else ''}{e.text}", flush=True
        )
    )
    directory = StreamDirectory().start()
    acquisition = Acquisition()
    # In the session window the stream table stays short (it scrolls): people look at the traces.
    physio = PhysioPanel(directory, acquisition, session_start=model.started_at, table_rows=3)
    window = MainWindow(model, bridge, physio=physio)
    physio.known_host_added.connect(lambda text: window.statusBar().showMessage(text, 10_000))
    window.show()
    if script:
        player = ScriptPlayer(model, script, on_step=lambda s: window.statusBar().showMessage(f"demo: {s.say}", 4000))
        timer = QTimer(window, interval=100)
        timer.timeout.connect(player.tick)
        timer.start()
    recorder = start_recording(model, directory, Path(record), window, expect_streams) if record else None
    if duration_s is not None:

        def finish() -> None:
            if screenshot:
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
                window.grab().save(screenshot)
            window.close()

        QTimer.singleShot(round(duration_s * 1000), finish)
    # Ctrl+C in the terminal closes the window properly (headsets get a bye, scenes go calm).
    signal.signal(signal.SIGINT, lambda *_: window.close())
    keepalive = QTimer(window, interval=200)  # lets Python see the signal while Qt's loop runs
    keepalive.timeout.connect(lambda: None)
    keepalive.start()
    try:
        app.exec()
    finally:
        if recorder is not None:
            recorder.finish()
        physio.shutdown()
        acquisition.close()
        directory.stop()
    return 0


class _RecordingStarter:
    """Starts recording off the GUI thread (finding and opening streams can take seconds,
    and the GUI thread must keep beating), then reports in the GUI thread."""

    def __init__(self, model, directory, folder: Path, window, delay_s: float = 2.5, expect: tuple[str, ...] = ()):
        import threading

        from PySide6.QtCore import QTimer

        from console.recording import SessionOutlets, SessionRecorder

        self.model = model
        self.outlets = SessionOutlets(model)
        self.recorder = SessionRecorder(folder)
        self.result: str | None = None
        self._reported = False

        def work() -> None:
            import time

            from console.recording import RecordingError

            time.sleep(delay_s)  # let discovery find the sensors first
            deadline = time.monotonic() + 15
            while expect and time.monotonic() < deadline:  # the demo knows which sensors are coming
                if set(expect) <= {d.name for d in directory.snapshot()}:
                    break
                time.sleep(0.25)
            try:
                candidates = [d.info for d in directory.snapshot() if d.info is not None] + self.outlets.infos()
                infos = list({info.uid(): info for info in candidates}.values())  # each stream once
                self.recorder.start(infos)
                self.result = f"recording {len(infos)} streams to {self.recorder.path}"
            except (RecordingError, RuntimeError, OSError) as exc:
                self.result = f"ERROR: recording did not start: {exc}"

        threading.Thread(target=work, name="vrclinic-record-start", daemon=True).start()
        self._timer = QTimer(window, interval=200)
        self._timer.timeout.connect(self._report)
        self._timer.start()

    def _report(self) -> None:
        if self.result is not None and not self._reported:
            self._reported = True
            self._timer.stop()
            kind = "error" if self.result.startswith("ERROR") else "control"
            self.model.note(kind, "", self.result.removeprefix("ERROR: "))

    def finish(self) -> None:
        from console.recording import RecordingError

        if self.recorder.recording:
            try:
                path = self.recorder.stop()
                print(f"session recorded to {path}", flush=True)
            except RecordingError as exc:
                print(f"recording problem: {exc}", file=sys.stderr, flush=True)
        # The whole event log too, from the first second (LSL inlets only get what is sent
        # after they connect, so the XDF's event stream starts when recording did).
        try:
            self.recorder.write_log(self.model)
        except OSError as exc:
            print(f"could not write the event log: {exc}", file=sys.stderr, flush=True)


def start_recording(model, directory, folder: Path, window, expect: tuple[str, ...] = ()) -> _RecordingStarter:
    return _RecordingStarter(model, directory, folder, window, expect=expect)


def run_demo(
    port: int,
    *,
    duration_s: float | None,
    screenshot: str | None,
    play_script: bool = True,
    record: str | None = None,
) -> int:
    """Console + simulated headset + simulated physiology, started and stopped together."""
    from console.demo import demo_script

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    headset = "demo-headset"
    link_args = ["--console", f"tcp://127.0.0.1:{port}", "--name", headset, "--answer-delay", "1.5", "--seed", "7"]
    children = [
        subprocess.Popen([sys.executable, "-m", "console.cli", "headset-sim", *link_args], env=env),
        # The patient's body, following what the simulated patient in that headset feels.
        subprocess.Popen([sys.executable, "-m", "console.cli", "physio-sim", "--follow", headset], env=env),
    ]
    try:
        return run_console(
            f"tcp://127.0.0.1:{port}",
            duration_s=duration_s,
            screenshot=screenshot,
            script=demo_script() if play_script else None,
            record=record,
            expect_streams=tuple(f"vrclinic-sim-{kind}" for kind in ("ECG", "PPG", "EDA", "RESP")),
        )
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                child.kill()
