"""Recording from the session window: the Record button, the patient code, the clinic's
auto-record setting; what the therapist sees and what lands on disk and in the store."""

from __future__ import annotations

import json

import pytest

from console.qt.bridge import LinkBridge
from console.qt.main_window import MainWindow
from console.qt.recording_bar import RecordingBar
from console.recording.control import RecordingController
from console.recording.recorder import RecordingSettings, SessionOutlets
from console.records import recorded
from console.records.store import SessionStore, default_path
from console.session.model import SessionModel
from protocol.link import LinkConfig
from tests.conftest import LOADED_MACHINE_WATCHDOG_S

pytest.importorskip("pyxdf")


@pytest.fixture
def window(qtbot, sims, tmp_path, request):
    bridge = LinkBridge(
        LinkConfig(bind="tcp://127.0.0.1:*", session_id="record-test", watchdog_timeout_s=LOADED_MACHINE_WATCHDOG_S)
    )
    model = SessionModel(bridge.link, presets_path=tmp_path / "presets.json")
    outlets = SessionOutlets(model, prefix=f"rec-{request.node.name[:20]}-{id(model)}")
    controller = RecordingController(model, tmp_path / "home", outlets, list, settle_s=0.5)
    bridge.frame_tap = controller.frame_tap
    win = MainWindow(model, bridge, recording=RecordingBar(controller))
    qtbot.addWidget(win)
    win.show()
    win.sim = sims(bridge.link, "quest-r", answer_delay_s=0.2)
    qtbot.waitUntil(lambda: "distance" in win.stimulus.rows, timeout=10_000)
    yield win
    controller.close()


@pytest.mark.slow
def test_record_then_stop_from_the_window_writes_a_whole_session(qtbot, window):
    bar = window.recording
    bar.patient.setText("P-014")
    bar.button.click()
    assert bar.button.text().startswith("■ Stop  REC")
    assert not bar.patient.isEnabled()  # the code cannot change under a running recording
    qtbot.waitUntil(lambda: any(e.text.startswith("recording: recording ") for e in window.model.log), timeout=20_000)
    window.model.ask("suds")
    qtbot.waitUntil(lambda: any(e.kind == "answer" for e in window.model.log), timeout=10_000)
    window.stimulus.rows["distance"].spin.setValue(2.0)
    qtbot.wait(1500)  # a little of the session in the file
    bar.button.click()
    assert bar.button.text() == "● Record"
    controller = bar.controller
    qtbot.waitUntil(lambda: not controller.finishing, timeout=30_000)

    folder = next((controller.home / "sessions").iterdir())
    assert folder.name.endswith("_P-014")
    manifest = recorded.read_manifest(folder)
    assert manifest["state"] == "complete" and manifest["patient"] == "P-014"
    session = recorded.load(folder)
    assert [r["kind"] for r in session.ratings] == ["suds"]
    assert any(label.startswith("distance") for label in session.stimulus)
    assert session.mirror, "the patient's view was recorded"
    assert any(e.text.startswith("recording: session recorded to") for e in window.model.log)
    qtbot.waitUntil(lambda: controller.store.pending == 0, timeout=30_000)  # the import, in the store's thread
    with SessionStore(default_path(controller.home)) as store:
        (row,) = store.sessions("P-014")
        assert row.state == "complete" and row.session_uid == folder.name
        assert [r.kind for r in store.ratings(folder.name)] == ["suds"]


def test_a_name_is_refused_as_patient_code_with_advice(qtbot, window):
    bar = window.recording
    bar.patient.setText("Jane Doe")
    bar.patient.editingFinished.emit()
    assert "pseudonymous code" in bar.state.text()
    assert bar.patient.text() == ""


def test_auto_record_is_a_clinic_setting_that_persists(qtbot, window):
    window.auto_record_action.trigger()
    path = window.recording.controller.settings_path
    qtbot.waitUntil(path.exists)  # written off the GUI thread
    assert json.loads(path.read_text())["recording"]["auto_record"] is True
    assert RecordingSettings.load(path).auto_record


def test_an_unwritable_sessions_folder_is_said_in_the_log_and_the_session_goes_on(qtbot, window, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    window.recording.controller.settings.sessions_dir = str(blocker)
    window.recording.button.click()
    # The folder is checked off the GUI thread; the bar's next tick says what is wrong.
    qtbot.waitUntil(lambda: window.recording.button.text() == "● Record", timeout=5000)
    error = [e.text for e in window.model.log if e.kind == "error"][-1]
    assert "Cannot write the session folder" in error and "Choose a folder" in error
    window.model.make_safe()  # the live session is unaffected
    qtbot.waitUntil(lambda: bool(window.sim.sim.safe_events), timeout=5000)
