"""Devices…: what a technician does to pair, rename and revoke a headset, with a real link
and a real engine client."""

from __future__ import annotations

import json
import threading

import pytest

from console.qt.bridge import LinkBridge
from console.qt.main_window import MainWindow
from console.session.devices import DeviceList
from console.session.model import SessionModel
from protocol import security
from protocol.link import LinkConfig
from protocol.security import EngineKeys, KeyPair
from tests.conftest import LOADED_MACHINE_WATCHDOG_S
from unity_bridge.client import EngineClient, EngineState, Refused


class Headset:
    """An engine client polled by a thread of its own."""

    def __init__(self, endpoint: str, keys: EngineKeys):
        self.events: list = []
        self.client = EngineClient(endpoint, "quest-new", engine="t", app_version="1", scenes=[], keys=keys)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.events += self.client.poll(0.02)
        self.client.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(3)


@pytest.fixture
def window(qtbot, tmp_path):
    devices = DeviceList(tmp_path / "devices.json")
    bridge = LinkBridge(
        LinkConfig(bind="tcp://127.0.0.1:*", session_id="devices-test", watchdog_timeout_s=LOADED_MACHINE_WATCHDOG_S)
    )
    win = MainWindow(SessionModel(bridge.link), bridge, devices=devices)
    qtbot.addWidget(win)
    win.show()
    yield win
    for headset in getattr(win, "test_headsets", []):
        headset.close()


def test_pairing_a_headset_by_its_code_then_revoking_it(qtbot, window, tmp_path):
    window.show_devices()
    dialog = window.devices_dialog
    dialog.pair_button.click()
    assert "Pairing is open" in dialog.pairing_state.text()
    keys = EngineKeys(KeyPair.generate(), window.bridge.link.public_key)
    headset = Headset(window.bridge.link.endpoint, keys)
    window.test_headsets = [headset]
    qtbot.waitUntil(lambda: bool(dialog._requests), timeout=5000)
    box = next(iter(dialog._requests.values()))
    assert box.code.text() == security.pairing_code(window.bridge.link.public_key, keys.own.public)
    assert headset.client.state == EngineState.CONNECTING  # nothing before the technician agrees
    box.name.setText("Room 3 Quest")
    box.accept_button.click()
    qtbot.waitUntil(lambda: headset.client.state == EngineState.CONNECTED, timeout=5000)
    qtbot.waitUntil(lambda: "Room 3 Quest" in window.model.headsets, timeout=5000)
    qtbot.waitUntil(lambda: (tmp_path / "devices.json").exists(), timeout=5000)
    saved = json.loads((tmp_path / "devices.json").read_text())["devices"]
    assert [d["name"] for d in saved] == ["Room 3 Quest"] and saved[0]["public_key"] == keys.own.public
    assert (tmp_path / "devices.json").stat().st_mode & 0o077 == 0  # this user's only

    dialog.table.selectRow(0)
    dialog.revoke(keys.own.public)
    qtbot.waitUntil(lambda: any(isinstance(e, Refused) and e.reason == "revoked" for e in headset.events), timeout=1500)
    qtbot.waitUntil(
        lambda: json.loads((tmp_path / "devices.json").read_text())["devices"][0]["revoked_at"] != "", timeout=5000
    )
    assert "revoked" in dialog.table.item(0, 3).text()


def test_a_pairing_request_brings_the_devices_dialog_forward(qtbot, window):
    window.bridge.link.open_pairing(30)
    headset = Headset(window.bridge.link.endpoint, EngineKeys(KeyPair.generate(), window.bridge.link.public_key))
    window.test_headsets = [headset]
    qtbot.waitUntil(lambda: window.devices_dialog is not None and window.devices_dialog.isVisible(), timeout=5000)
    box = next(iter(window.devices_dialog._requests.values()))
    box.reject_button.click()
    qtbot.waitUntil(lambda: headset.client.state == EngineState.REFUSED, timeout=5000)
