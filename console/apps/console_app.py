"""Start the Qt console: `vrclinic console` (real headsets) and `vrclinic demo` (with a
simulated headset and simulated physiology in their own processes)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from console.core.paths import data_dir
from protocol import security
from protocol.link import LinkConfig, LinkError, pairing_endpoint_for

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget


GIL_SWITCH_INTERVAL_S = 0.001  # Python's default: 0.005 (see run_console)


def run_console(
    bind: str,
    *,
    duration_s: float | None = None,
    screenshot: str | None = None,
    script: list | None = None,
    record: str | None = None,
    expect_streams: tuple[str, ...] = (),
    allow_unpaired_engines: bool = False,
    watchdog_s: float = 0.5,
) -> int:
    """Run the window until it is closed (or for ``duration_s``, then save ``screenshot``).
    ``allow_unpaired_engines``: the lab bench's unencrypted port as well (see ``--help``).

    Start-up order, for a window on screen in well under half a second: the Qt-free modules
    first (once PySide6 is loaded it looks at the source of every module imported after it,
    which makes those imports slower), then Qt; the physiology panel and the timeline, which
    need pyqtgraph (~0.2 s to import), are built right after the window's first paint.
    """
    from console.core.clock import clock_text
    from console.core.secrets import SecretError
    from console.physio.acquisition import Acquisition
    from console.physio.live_metrics import LiveMetrics
    from console.physio.streams import StreamDirectory
    from console.recording.control import RecordingController
    from console.recording.journal import RecordingError
    from console.recording.recorder import SessionOutlets
    from console.session.clinic.workflow import ClinicalSession
    from console.session.devices import DeviceListError, link_identity
    from console.session.model import SessionModel

    try:
        # The console's key pair and its paired headsets: who may connect. Read before PySide6
        # is imported (finding the OS keyring imports every keyring backend).
        keys, devices = link_identity(data_dir())
    except (SecretError, DeviceListError) as exc:
        print(f"vrclinic: {exc}", file=sys.stderr)
        return 2

    from PySide6.QtCore import QTimer  # isort: skip (after the Qt-free modules, see above)
    from PySide6.QtWidgets import QApplication  # isort: skip

    from console.qt.bridge import LinkBridge
    from console.qt.clinic_panel import ClinicPanel
    from console.qt.main_window import MainWindow
    from console.qt.panels import PhysioSlot
    from console.qt.recording_bar import RecordingBar
    from console.qt.screenshots import close_after

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("vrclinic")
    app.setStyle("Fusion")
    # The GUI thread's work is many short Python calls from Qt (every plot item's paint, every
    # slot), each of which must take the GIL back from the console's other threads (LSL
    # inlets, link, mirror decoder); with Python's default 5 ms switch interval, a frame of
    # such calls on a loaded machine waited long enough to stall the heartbeats.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    try:
        # Bound now (a port in use is said before any window), headsets answered once the
        # panels built after the first paint are in place (see below).
        insecure = pairing_endpoint_for(bind, offset=2) if allow_unpaired_engines else None
        config = LinkConfig(
            bind=bind, keys=keys, devices=devices.paired(), insecure_bind=insecure, watchdog_timeout_s=watchdog_s
        )
        bridge = LinkBridge(config, accepting=False)
    except (LinkError, SecretError, DeviceListError) as exc:
        print(f"vrclinic: {exc}", file=sys.stderr)
        return 2
    model = SessionModel(bridge.link, presets_path=data_dir() / "presets.json")
    # The event log also goes to the terminal: what a technician reads when something went wrong.
    model.logged.connect(
        lambda e: print(
            f"[{clock_text(e.at - model.started_at)}] {e.headset + ': ' if e.headset else ''}{e.text}", flush=True
        )
    )
    directory = StreamDirectory()  # started once the window is shown (see below)
    acquisition = Acquisition()

    def build_physio() -> QWidget:
        from console.qt.physio_panel import PhysioPanel  # imported by PhysioSlot in a turn of its own

        # In the session window the stream table stays short (it scrolls): people look at the traces.
        # 30 plot frames a second look as smooth for physiology as 60 and leave the GUI thread,
        # which also sends the heartbeats, half the painting to do.
        panel = PhysioPanel(
            directory, acquisition, session_start=model.started_at, table_rows=2, compact=True, refresh_hz=30.0
        )
        panel.known_host_added.connect(lambda text: window.statusBar().showMessage(text, 10_000))
        return panel

    physio = PhysioSlot(build_physio)
    outlets = SessionOutlets(model)  # the session's own LSL streams, for any recorder on the network
    controller = RecordingController(
        model,
        data_dir(),
        outlets,
        lambda: [d.info for d in directory.snapshot() if d.info is not None],
        expect=expect_streams,
    )
    bridge.frame_tap = controller.frame_tap
    live = LiveMetrics(acquisition, acquisition.selected).start()  # its own thread
    clinic = ClinicPanel(ClinicalSession(model), controller.store, lambda: controller.patient)
    if script:
        from console.apps.demo import Step, demo_plan

        # The demo offers its spider hierarchy in Plan… and, after the scripted part, runs it.
        clinic.default_plan = demo_plan()
        script = [*script, Step(52.0, "start the exposure plan", lambda _m: clinic.clinic.begin(demo_plan()))]
    recording_bar = RecordingBar(controller)
    # A patient's code entered: their own safety thresholds (kept with their plans) apply.
    recording_bar.patient.editingFinished.connect(lambda: clinic.load_patient(controller.patient))
    # The timeline's pyqtgraph plot is built after the first paint, like the physiology panel.
    window = MainWindow(
        model,
        bridge,
        physio=physio,
        recording=recording_bar,
        live=live,
        clinic=clinic,
        devices=devices,
        plots_after_first_paint=True,
    )
    if bridge.link.insecure_endpoint:
        window.show_unencrypted_port(bridge.link.insecure_endpoint)
    window.show()
    # Importing pyqtgraph and building the plots after the first paint hold the GUI thread (up
    # to ~0.2 s a turn): a headset answered before that would wait for its heartbeats meanwhile.
    later = {physio, window.report.timeline}

    def later_panel_built(slot: QWidget) -> None:
        later.discard(slot)
        if not later:
            bridge.link.accept()

    for slot in list(later):
        slot.built.connect(lambda _panel, slot=slot: later_panel_built(slot))
    QTimer.singleShot(3000, bridge.link.accept)  # in any case (a window that never painted)
    # LSL discovery from the first turn of the event loop: its thread would otherwise take turns
    # at the GIL with the GUI thread while the window is being built.
    QTimer.singleShot(0, directory.start)
    window.offer_recovery(quiet=True)
    if record or controller.settings.auto_record:
        try:
            controller.start(Path(record) if record else None)
        except RecordingError as exc:
            model.note("error", "", f"recording: {exc}")
    if script:
        from console.apps.demo import ScriptPlayer

        player = ScriptPlayer(model, script, on_step=lambda s: window.statusBar().showMessage(f"demo: {s.say}", 4000))
        timer = QTimer(window, interval=100)
        timer.timeout.connect(player.tick)
        timer.start()
    if duration_s is not None:
        close_after(window, duration_s, screenshot)
    # Ctrl+C, `kill PID`, `systemctl stop` and a closed terminal close the window as closing it
    # does (headsets get a bye, the recording is finished), not as a crash.
    stop_hearing = close_on_signals(window, lambda text: model.note("control", "", text))
    try:
        app.exec()
    finally:
        stop_hearing()
        bridge.frame_tap = None
        live.stop()
        controller.close()
        if physio.panel is not None:
            physio.panel.shutdown()
        acquisition.close()
        directory.stop()
    return 0


# What a stop request from outside is called in the event log.
STOP_SIGNALS = {
    signal.SIGINT: "Ctrl+C",
    signal.SIGTERM: "a request to stop (SIGTERM: kill, systemctl stop)",
    signal.SIGHUP: "the terminal closing (SIGHUP: logout)",
}


def close_on_signals(window: QWidget, say: Callable[[str], None]) -> Callable[[], None]:
    """GUI thread: SIGINT, SIGTERM and SIGHUP close ``window`` (its closeEvent is the console's
    Quit: the recording ends, the headsets get their bye), from the GUI thread, promptly.

    Python runs a signal's handler only between bytecodes of the main thread, which sits in
    Qt's event loop; so the handlers here do nothing, and the signal's number, which the C-level
    handler writes into a socket (``signal.set_wakeup_fd``), wakes a ``QSocketNotifier`` in that
    loop, whose slot closes the window. Returns what undoes it (the previous handlers back)."""
    from PySide6.QtCore import QSocketNotifier

    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in STOP_SIGNALS}
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, window)
    closing = []

    def woken() -> None:
        try:
            numbers = reader.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        for number in numbers:
            if number in STOP_SIGNALS and not closing:
                closing.append(number)
                say(f"{STOP_SIGNALS[signal.Signals(number)]} received: closing as Quit does")
                window.close()

    notifier.activated.connect(woken)

    def undo() -> None:
        notifier.setEnabled(False)
        signal.set_wakeup_fd(previous_fd)
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        reader.close()
        writer.close()

    return undo


def _with_parent() -> dict:
    """Popen arguments that end the demo's simulators when the console dies, even by kill -9
    (Linux's parent-death signal); elsewhere they stop when the console stops them."""
    if not sys.platform.startswith("linux"):
        return {}
    import ctypes

    def die_with_parent() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return {"preexec_fn": die_with_parent}


def run_demo(
    port: int,
    *,
    duration_s: float | None,
    screenshot: str | None,
    play_script: bool = True,
    record: str | None = None,
) -> int:
    """Console + simulated headset + simulated physiology, started and stopped together."""
    from console.apps.demo import demo_script
    from console.core.secrets import SecretError
    from console.session.devices import DeviceListError, link_identity, pair_local_headset

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    headset = "demo-headset"
    # The demo pairs its own simulated headset (its keys file, the console's key pinned):
    # no question asked, and no other headset gets in.
    keys_file = data_dir() / "headsets" / f"{headset}.keys.json"
    try:
        console_keys, devices = link_identity(data_dir())
        paired = devices.get(security.read_keys_file(keys_file).own.public) if keys_file.exists() else None
        if paired is None or paired.revoked or security.read_keys_file(keys_file).console_public != console_keys.public:
            pair_local_headset(devices, console_keys, headset, keys_file)
    except (SecretError, DeviceListError, security.KeyProblem) as exc:
        print(f"vrclinic demo: {exc}", file=sys.stderr)
        return 2
    link_args = [
        *("--console", f"tcp://127.0.0.1:{port}", "--name", headset, "--keys", str(keys_file)),
        *("--answer-delay", "1.5", "--seed", "7"),
    ]
    children = [
        subprocess.Popen([sys.executable, "-m", "console", "headset-sim", *link_args], env=env, **_with_parent()),
        # The patient's body, following what the simulated patient in that headset feels.
        subprocess.Popen(
            [sys.executable, "-m", "console", "physio-sim", "--follow", headset], env=env, **_with_parent()
        ),
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
