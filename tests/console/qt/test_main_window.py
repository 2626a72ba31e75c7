"""The live-session window with a real link and the simulated headset: what a therapist
does, and what they see come back."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from console.qt.bridge import LinkBridge
from console.qt.main_window import MainWindow
from console.session.model import SessionModel
from protocol import messages
from protocol.link import HeadsetState, LinkConfig
from tests.conftest import LOADED_MACHINE_WATCHDOG_S


@pytest.fixture
def window(qtbot, sims, tmp_path):
    bridge = LinkBridge(
        LinkConfig(bind="tcp://127.0.0.1:*", session_id="gui-test", watchdog_timeout_s=LOADED_MACHINE_WATCHDOG_S)
    )
    model = SessionModel(bridge.link, presets_path=tmp_path / "presets.json")
    win = MainWindow(model, bridge)
    qtbot.addWidget(win)
    win.show()
    win.sim = sims(bridge.link, "quest-a", answer_delay_s=0.2)
    qtbot.waitUntil(lambda: "distance" in win.stimulus.rows, timeout=10_000)
    return win


def test_moving_a_slider_reaches_the_headset_and_the_applied_value_comes_back(qtbot, window):
    row = window.stimulus.rows["distance"]
    row.slider.setValue(row.position_of(2.0))
    qtbot.waitUntil(lambda: window.sim.sim.snapshot().values["distance"] == pytest.approx(2.0), timeout=5000)
    qtbot.waitUntil(lambda: row.applied.text() == "now 2.0 m", timeout=5000)
    assert row.spin.value() == pytest.approx(2.0)


def test_typing_a_value_with_a_ramp_shows_the_ramp_then_the_target(qtbot, window):
    window.stimulus.ramp.setValue(1.0)
    row = window.stimulus.rows["count"]
    row.spin.setValue(5)
    qtbot.waitUntil(lambda: "→ 5" in row.applied.text(), timeout=5000)
    qtbot.waitUntil(lambda: row.applied.text() == "now 5", timeout=5000)


@pytest.mark.parametrize("state", ["running", "loading", "paused"])
def test_make_safe_by_key_reaches_the_headset_from_any_state(qtbot, window, state):
    if state == "loading":
        window.model.load_scene("heights")
    elif state == "paused":
        window.model.pause()
        qtbot.waitUntil(lambda: window.model.headset().scene_state == "paused", timeout=5000)
    qtbot.keyClick(window.marker_note, Qt.Key.Key_Escape)  # focus in a text field: still works
    qtbot.waitUntil(lambda: bool(window.sim.sim.safe_events), timeout=5000)
    assert window.sim.sim.safe_events[-1][1] == "therapist pressed make safe"
    qtbot.waitUntil(lambda: window.model.headset().scene_state == "safe", timeout=5000)
    assert any(e.kind == "safety" and "MAKE SAFE" in e.text for e in window.model.log)


def test_make_safe_button(qtbot, window):
    qtbot.mouseClick(window.make_safe_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(window.sim.sim.safe_events), timeout=5000)


def test_a_suds_prompt_round_trips_and_lands_on_the_timeline(qtbot, window):
    qtbot.mouseClick(window.report.suds_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(window.model.ratings), timeout=5000)
    rating = window.model.ratings[-1]
    assert window.report.latest.text() == f"SUDS {rating.value}"
    xs, ys = window.report.suds_curve.getData()
    assert list(ys) == [rating.value] and xs[0] == pytest.approx(rating.at - window.model.started_at)


def test_a_lost_headset_is_impossible_to_miss(qtbot, window):
    window.sim.close()  # the headset app goes away
    # On a loaded machine the banner may first say STALE (beats late before the bye): wait for LOST.
    qtbot.waitUntil(lambda: window.banner.isVisible() and "LOST" in window.banner.text(), timeout=8000)
    assert "quest-a" in window.banner.text()
    assert window.headsets.table.item(0, 1).text().startswith("LOST")
    assert not window.stimulus.rows["distance"].slider.isEnabled()


def test_a_stalled_gui_thread_stops_the_heartbeats_and_the_scene_goes_calm(qtbot, window):
    """If the window freezes, the patient must not stay under a stimulus nobody controls."""
    time.sleep(LOADED_MACHINE_WATCHDOG_S + 1.0)  # this test runs in the GUI thread: nothing in the window can run
    trips = [why for _, why in window.sim.sim.safe_events if why.startswith("watchdog")]
    assert trips, "the headset did not notice the frozen console"
    qtbot.waitUntil(lambda: any(e.kind == "safety" and "watchdog" in e.text for e in window.model.log), timeout=5000)


def test_the_mirror_shows_frames_at_the_chosen_size(qtbot, window):
    qtbot.waitUntil(lambda: window.mirror.canvas.has_signal, timeout=5000)
    from console.qt.bridge import source_size

    assert source_size(window.mirror.canvas.image)[0] == 640  # what the headset sends
    window.mirror.size_box.setCurrentIndex(window.mirror.size_box.findData(320))
    qtbot.waitUntil(lambda: source_size(window.mirror.canvas.image)[0] == 320, timeout=5000)
    # Decoded no larger than it is shown: the GUI thread paints it without scaling.
    canvas = window.mirror.canvas
    assert canvas.image.width() <= canvas.width() * canvas.devicePixelRatioF() + 1


def test_marker_with_a_note_reaches_the_headset_and_the_log(qtbot, window):
    window.marker_note.setText("patient closed eyes")
    qtbot.mouseClick(window.marker_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any("marker from console: marker" in line for line in window.sim.log), timeout=5000)
    assert any(e.kind == "marker" and "patient closed eyes" in e.text for e in window.model.log)
    assert window.marker_note.text() == ""


def test_headset_health_is_shown(qtbot, window):
    qtbot.waitUntil(lambda: "battery" in window.headsets.table.item(0, 2).text(), timeout=5000)
    qtbot.waitUntil(lambda: "round trip" in window.headsets.table.item(0, 2).text(), timeout=5000)
    assert window.model.headset().state == HeadsetState.CONNECTED
    assert isinstance(window.model.headset().telemetry, messages.Telemetry)


@pytest.mark.slow
def test_live_metrics_line_says_what_to_do_without_physiology(qtbot, tmp_path):
    from console.physio.acquisition import Acquisition
    from console.physio.live_metrics import LiveMetrics

    bridge = LinkBridge(LinkConfig(bind="tcp://127.0.0.1:*", session_id="gui-live"))
    model = SessionModel(bridge.link, presets_path=tmp_path / "presets.json")
    acquisition = Acquisition()
    live = LiveMetrics(acquisition, acquisition.selected, interval_s=0.2).start()
    win = MainWindow(model, bridge, live=live)
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(lambda: "tick an ECG, PPG or EDA stream" in win.arousal.text(), timeout=15_000)
        assert win.baseline_button.isVisible()
        win.baseline_button.click()  # nothing measured yet: starts over, quietly
        assert live.errors == 0
    finally:
        live.stop()
        acquisition.close()


def test_a_broken_view_is_named_in_the_window_and_the_session_goes_on(qtbot, window, view_failures):
    """A view that raises on a model event (here: one more subscriber to the ratings) does not stop
    the others nor the session; the window names it in its status bar until closed."""

    class BrokenChart:
        def on_rated(self, rating):
            raise RuntimeError("chart cannot draw")

    chart = BrokenChart()
    window.model.rated.connect(chart.on_rated)
    qtbot.mouseClick(window.report.suds_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.view_problem.isVisible(), timeout=10_000)
    assert "BrokenChart.on_rated" in window.view_problem.text()
    assert "the session goes on" in window.view_problem.text()
    assert "chart cannot draw" in window.view_problem.toolTip()
    rating = window.model.ratings[-1]
    assert window.report.latest.text() == f"SUDS {rating.value}", "the views after the broken one still ran"
    qtbot.keyClick(window.marker_note, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: bool(window.sim.sim.safe_events), timeout=5000)
    assert [f.callback for f in view_failures] == ["BrokenChart.on_rated"]
