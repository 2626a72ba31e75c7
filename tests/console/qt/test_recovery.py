"""Crash safety: the console killed with kill -9 in the middle of a recorded session. What was
recorded survives (the last second at most is lost), the partial files open, and the next
console start says a session was interrupted and offers to recover it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from console.qt.bridge import LinkBridge
from console.qt.main_window import MainWindow
from console.qt.recording_bar import RecordingBar
from console.recording.control import RecordingController
from console.recording.recorder import SessionOutlets
from console.records import recorded
from console.records.store import SessionStore, default_path
from console.session.model import SessionModel
from protocol.link import LinkConfig
from tests.conftest import LOADED_MACHINE_WATCHDOG_S, free_port, lsl_config, wait_until

pytest.importorskip("pyxdf")
pytestmark = pytest.mark.slow  # a demo recorded for some seconds, then killed -9


@pytest.fixture(scope="module")
def killed_session(tmp_path_factory):
    """A demo recording into a folder, killed -9 some seconds in: (home, folder, kill time)."""
    root = tmp_path_factory.mktemp("killed")
    home, folder = root / "home", root / "session"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "VRCLINIC_HOME": str(home),
        "LSLAPICFG": lsl_config(),
    }
    port = free_port()
    args = ["demo", "--duration", "120", "--record", str(folder), "--port", str(port)]
    # Its output goes to a file, not a pipe: the demo's simulators share it, and a pipe they
    # keep open would leave a reader waiting after the console is gone.
    log = root / "demo.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "console", *args], stdout=out, stderr=subprocess.DEVNULL, env=env
        )
    try:
        wait_until(lambda: "recording: recording" in log.read_text(), timeout=60, what="recording")
        time.sleep(6)
        killed_at = time.perf_counter()  # CLOCK_MONOTONIC: LSL's clock on this machine
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # The recorder process sees the console's end of its pipe close, and finishes the file
    # (or leaves it without footers if a stream went away with the console: all did here).
    wait_until(lambda: not running("recorder_proc", str(folder)), timeout=30, what="the recorder process to end")
    # The demo's simulated headset and physiology end with the console, even killed.
    wait_until(lambda: not running("console", f"127.0.0.1:{port}"), timeout=15, what="the simulators to end")
    return home, folder, killed_at


def running(*words: str) -> bool:
    """Whether a process whose command line holds all ``words`` runs on this machine."""
    wanted = [w.encode() for w in words]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    cmdline = fh.read()
            except OSError:
                continue
            if all(w in cmdline for w in wanted):
                return True
    return False


def test_a_killed_console_loses_at_most_the_last_second_and_the_files_open(killed_session):
    _home, folder, killed_at = killed_session
    assert recorded.read_manifest(folder)["state"] == "recording"  # nobody closed it
    session = recorded.load(folder)
    ecg = session.signal("ECG")
    assert ecg is not None and len(ecg.t) > 500 * 5
    last_ecg = session.start + ecg.t[-1]
    assert killed_at - 1.0 <= last_ecg <= killed_at + 0.5
    # The event log was written as the session went: every line whole, up to the end. It holds
    # the session from 0:00, so the headset's "connected" may come before or after "recording
    # started" (whichever the console saw first); both are there, in time order.
    lines = (folder / "events.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    texts = [row["text"] for row in rows]
    assert texts.count(f"recording started: {folder}") == 1, texts[:10]
    assert any(row["kind"] == "link" and row["text"].startswith("connected: ") for row in rows), texts[:10]
    assert [row["at"] for row in rows] == sorted(row["at"] for row in rows)
    assert rows[-1]["at"] <= killed_at
    assert session.mirror and killed_at - 1.5 <= session.mirror[-1].at <= killed_at


def test_the_next_start_offers_recovery_and_recovers(qtbot, killed_session, monkeypatch):
    home, folder, _killed_at = killed_session
    monkeypatch.setenv("VRCLINIC_HOME", str(home))
    bridge = LinkBridge(
        LinkConfig(bind="tcp://127.0.0.1:*", session_id="recovery-test", watchdog_timeout_s=LOADED_MACHINE_WATCHDOG_S)
    )
    model = SessionModel(bridge.link, presets_path=home / "presets.json")
    controller = RecordingController(model, home, SessionOutlets(model, prefix="recovery-test"), list)
    window = MainWindow(model, bridge, recording=RecordingBar(controller))
    qtbot.addWidget(window)
    window.show()

    window.offer_recovery(quiet=True)  # what the console does when it starts (it looks off the GUI thread)
    qtbot.waitUntil(lambda: window.recording.recovery_dialog is not None, timeout=10_000)
    dialog = window.recording.recovery_dialog
    assert dialog.isVisible()
    assert "1 session was interrupted" in dialog.message.text()
    assert dialog.list.count() == 1 and folder.name in dialog.list.item(0).text()

    dialog.recover_button.click()
    qtbot.waitUntil(lambda: len(dialog.results) == 1, timeout=30_000)
    assert dialog.results[0].ok, dialog.results[0].text
    assert "readable with pyxdf" in dialog.outcome.text() and "streams" in dialog.outcome.text()
    manifest = recorded.read_manifest(folder)
    assert manifest["state"] == "recovered" and any("interrupted" in p for p in manifest["problems"])
    # The store knows it now, with its ratings, and the next start offers nothing.
    qtbot.waitUntil(lambda: controller.store.pending == 0, timeout=30_000)  # the import, in the store's thread
    with SessionStore(default_path(home)) as store:
        rows = {s.session_uid: s for s in store.sessions()}
    assert rows[folder.name].state == "recovered"
    found: list = []
    controller.interrupted(found.append)
    qtbot.waitUntil(lambda: found == [[]], timeout=10_000)
    assert any("recovered interrupted session" in e.text for e in model.log)
    controller.close()
