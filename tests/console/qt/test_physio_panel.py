"""The physiology panel with real LSL outlets: what a technician and a therapist see in
the stream table and on the plots."""

from __future__ import annotations

import math
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import numpy as np
import pylsl
import pytest
from PySide6.QtCore import Qt

from console.physio.acquisition import Acquisition
from console.physio.quality import QualityConfig
from console.physio.streams import StreamDirectory
from console.qt.physio_panel import SEVERITY_STYLE, PhysioPanel
from tests.console.physio.lsl_helpers import pushers, unique  # noqa: F401


@pytest.fixture
def panel(qtbot, tmp_path, request):
    config = tmp_path / "lsl_api.cfg"
    config.write_text(Path(os.environ["LSLAPICFG"]).read_text())
    directory = StreamDirectory(poll_interval_s=0.1, forget_after_s=2.0, config_path=config).start()
    acquisition = Acquisition(quality=QualityConfig(lost_after_s=2.5))
    # Plot only this test's streams, whatever else runs on the machine.
    mine = request.node.name[:20]
    widget = PhysioPanel(directory, acquisition, auto_plot=lambda s: s.name.startswith(mine) and s.numeric)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    widget.shutdown()
    acquisition.close()
    directory.stop()


def uid_of(panel: PhysioPanel, name: str) -> str | None:
    return next((s.uid for s in panel.directory.snapshot() if s.name == name), None)


def measured_hz(panel: PhysioPanel, uid: str) -> float:
    text = panel.table_row_text(uid).get("Measured", "")
    return float(text.split()[0]) if text.endswith("Hz") else 0.0


def row_background(panel: PhysioPanel, uid: str) -> str | None:
    item = panel.table.item(panel._table_uids.index(uid), 1)
    brush = item.background()
    return brush.color().name() if brush.style() != Qt.BrushStyle.NoBrush else None


def test_a_new_stream_appears_with_its_measured_rate(qtbot, panel, unique, pushers):  # noqa: F811
    pusher = pushers(unique("ECG"), rate=250.0, labels=("ECG",), unit="mV")
    qtbot.waitUntil(lambda: uid_of(panel, pusher.name) is not None, timeout=5000)
    uid = uid_of(panel, pusher.name)
    qtbot.waitUntil(lambda: abs(measured_hz(panel, uid) - 250) < 2.5, timeout=8000)
    row = panel.table_row_text(uid)
    assert (row["Stream"], row["Type"], row["Announced"], row["Channels"]) == (pusher.name, "ECG", "250 Hz", "1 (mV)")
    assert row["Quality"] == "OK" and row_background(panel, uid) is None
    assert uid in panel.plotted_uids()
    assert panel.table.item(panel._table_uids.index(uid), 0).checkState() == Qt.CheckState.Checked


@pytest.mark.slow
def test_a_stalled_stream_is_flagged_in_words_and_colour(qtbot, panel, unique, pushers):  # noqa: F811
    pusher = pushers(unique("PPG"), stream_type="PPG", rate=100.0, unit="a.u.")
    qtbot.waitUntil(lambda: measured_hz(panel, uid_of(panel, pusher.name) or "") > 90, timeout=8000)
    uid = uid_of(panel, pusher.name)
    pusher.stall()
    qtbot.waitUntil(lambda: "Dropout" in panel.table_row_text(uid)["Quality"], timeout=4000)
    assert row_background(panel, uid) == SEVERITY_STYLE[2][0]  # amber
    qtbot.waitUntil(lambda: "Stream lost" in panel.table_row_text(uid)["Quality"], timeout=5000)
    assert row_background(panel, uid) == SEVERITY_STYLE[3][0]  # red
    assert "Stream lost" in panel._rows[uid].plot.titleLabel.text  # on the plot too


@pytest.mark.slow
def test_a_flat_channel_is_flagged(qtbot, panel, unique, pushers):  # noqa: F811
    pusher = pushers(
        unique("EDA"), stream_type="EDA", rate=32.0, unit="µS", signal=lambda t: np.full((len(t), 1), 0.02)
    )
    qtbot.waitUntil(lambda: uid_of(panel, pusher.name) is not None, timeout=5000)
    uid = uid_of(panel, pusher.name)
    qtbot.waitUntil(lambda: "Flat line on" in panel.table_row_text(uid).get("Quality", ""), timeout=8000)


def test_the_curve_follows_the_data_and_marks_line_up(qtbot, panel, unique, pushers):  # noqa: F811
    pusher = pushers(unique("RESP"), stream_type="RESP", rate=50.0, unit="a.u.")
    qtbot.waitUntil(lambda: uid_of(panel, pusher.name) in panel.plotted_uids(), timeout=5000)
    uid = uid_of(panel, pusher.name)
    curve = panel.curve(uid, 0)
    qtbot.waitUntil(lambda: curve.getOriginalDataset()[0] is not None and len(curve.getOriginalDataset()[0]) > 50)
    x1 = curve.getOriginalDataset()[0].copy()
    frames = panel.frames_painted
    qtbot.waitUntil(lambda: panel.frames_painted > frames + 5)
    x2, y2 = curve.getOriginalDataset()
    assert len(x2) > len(x1) and -0.5 < x2[-1] <= 0.05  # newest sample at "now" on the right
    # What is drawn is what was sent, at the time it was sent (x = seconds before the frame).
    assert np.allclose(y2, pusher.signal(x2 + panel.drawn_at)[:, 0], atol=1e-3)
    marked_at = pylsl.local_clock() - 1.0
    panel.add_mark(marked_at, "SUDS 40", "#1f5f9f")
    (mark,) = panel.marks(uid)
    assert mark.label == "SUDS 40"
    qtbot.waitUntil(lambda: panel.frames_painted > frames + 10)
    (mark,) = panel.marks(uid)
    assert mark.x < -1.0 and abs(mark.x - (marked_at - panel.drawn_at)) < 0.02  # it scrolls with the data
    assert not panel.grab().isNull()


def test_unticking_a_stream_stops_it_and_channels_can_be_chosen(qtbot, panel, unique, pushers):  # noqa: F811
    pusher = pushers(unique("EEG"), stream_type="EEG", rate=200.0, channels=8, unit="µV")
    qtbot.waitUntil(lambda: uid_of(panel, pusher.name) in panel.plotted_uids(), timeout=5000)
    uid = uid_of(panel, pusher.name)
    assert panel.table_row_text(uid)["Channels"] == "8 (µV), all shown"
    panel.set_channels(uid, [0, 2, 4])
    assert panel.table_row_text(uid)["Channels"] == "8 (µV), 3 of 8 shown"
    menu = panel.table.cellWidget(panel._table_uids.index(uid), 3).menu()
    menu.aboutToShow.emit()  # the user opens it
    ticked = [a.text() for a in menu.actions() if a.isCheckable() and a.isChecked()]
    assert menu.actions()[0].text() == "All channels" and ticked == ["EEG1 (µV)", "EEG3 (µV)", "EEG5 (µV)"]
    raster = panel._rows[uid].lanes.raster
    qtbot.waitUntil(lambda: raster.lanes == 3 and raster.newest >= 0 and raster.image.any(), timeout=5000)
    item = panel.table.item(panel._table_uids.index(uid), 0)
    item.setCheckState(Qt.CheckState.Unchecked)
    assert uid not in panel.plotted_uids() and uid not in panel.acquisition.selected_uids()
    qtbot.waitUntil(lambda: panel.table_row_text(uid)["Quality"] == "Not plotted.", timeout=10_000)


def test_adding_a_known_host_from_the_panel(qtbot, panel):
    panel.host_edit.setText("not a host!")
    panel.host_button.click()
    assert "neither an IP address" in panel.host_label.text()
    with qtbot.waitSignal(panel.known_host_added, timeout=10_000) as said:
        panel.host_edit.setText("127.0.0.1")
        panel.host_button.click()
    assert "127.0.0.1 added" in said.args[0] and panel.host_edit.text() == ""
    qtbot.waitUntil(lambda: "Known hosts: 127.0.0.1" in panel.host_label.text(), timeout=10_000)


@pytest.mark.slow
def test_a_restarted_sensor_carries_on_in_the_same_plot(qtbot, panel, unique, pushers):  # noqa: F811
    name = unique("ECG")
    first = pushers(name, rate=100.0)
    qtbot.waitUntil(lambda: uid_of(panel, name) in panel.plotted_uids(), timeout=5000)
    old_uid = uid_of(panel, name)
    plot = panel._rows[old_uid].plot
    first.close()
    pushers(name, rate=100.0)  # the sensor's app restarts: same name and source, new uid
    qtbot.waitUntil(lambda: any(u != old_uid for u in panel.plotted_uids()), timeout=6000)
    (new_uid,) = panel.plotted_uids()
    assert panel._rows[new_uid].plot is plot and panel.acquisition.selected_uids() == [new_uid]
    qtbot.waitUntil(lambda: measured_hz(panel, new_uid) > 90, timeout=6000)


@pytest.mark.slow
def test_eeg_lanes_stay_still_and_a_lane_whose_signal_grows_is_rescaled(qtbot, panel, unique, pushers):  # noqa: F811
    rng = np.random.default_rng(5)
    grows_at = math.inf  # set once the steady lanes have been judged

    def eeg(t: np.ndarray) -> np.ndarray:
        data = rng.standard_normal((len(t), 8)) * 10.0  # µV of background, each sample different
        data[:, 0] *= np.where(t > grows_at, 3.0, 1.0)  # electrode 1 picks up an artefact
        return data

    pusher = pushers(unique("EEG"), stream_type="EEG", rate=250.0, channels=8, unit="µV", signal=eeg)
    qtbot.waitUntil(lambda: uid_of(panel, pusher.name) in panel.plotted_uids(), timeout=5000)
    panel.set_window(5.0)
    row = panel._rows[uid_of(panel, pusher.name)]
    raster, scale = row.lanes.raster, row.lane_scale
    # While the window fills the lanes are measured on few columns; once it is full they are
    # settled on it (one redraw), and from then on a steady signal must leave them still.
    qtbot.waitUntil(lambda: scale.settled and not raster.redrawing, timeout=15000)
    redraws, spans = raster.rescales, scale.spans.copy()
    grows_at = pylsl.local_clock() + 2.5
    qtbot.waitUntil(lambda: pylsl.local_clock() > grows_at - 0.1, timeout=4000)
    # Two seconds of the same kind of signal (four rounds of scaling): not one jump on screen.
    assert raster.rescales == redraws and np.array_equal(scale.spans, spans)
    qtbot.waitUntil(lambda: scale.spans[0] > 2 * spans[0], timeout=3000)  # the growing lane, at once
    qtbot.waitUntil(
        lambda: raster.rescales > redraws and np.array_equal(raster.scale.spans, scale.spans.astype(np.float32))
    )
    assert np.array_equal(scale.spans[1:], spans[1:])  # the others stay as they were


def test_a_long_search_status_wraps_instead_of_widening_the_window(qtbot, panel):
    """The directory's advice when nothing is found is a long sentence; shown unwrapped it had
    made the panel 1805 px wide at least, and the console window grew past a laptop's screen."""
    panel.status_label.setText(
        "No LSL streams found yet. Check that the sensors' apps are streaming; if they run on another "
        "computer and multicast is blocked on this network, add that computer as a known host."
    )
    assert panel.minimumSizeHint().width() < 1280


def test_marks_that_scrolled_out_leave_the_plots_and_only_the_top_plot_is_labelled(qtbot, panel, unique, pushers):  # noqa: F811
    """Seen in the 30-minute soak: every mark of the session stayed in every plot (hidden, a
    label on each), so each frame's work grew with the session until the heartbeats stalled."""
    first = pushers(unique("ECG"), stream_type="ECG", rate=250.0)
    second = pushers(unique("EDA"), stream_type="EDA", rate=32.0)
    qtbot.waitUntil(lambda: len(panel.plotted_uids()) >= 2, timeout=5000)
    uids = [uid_of(panel, first.name), uid_of(panel, second.name)]
    now = pylsl.local_clock()
    for k in range(200):  # one every half second over the last 100 s
        panel.add_mark(now - 100 + k / 2, f"m{k}", "#1f5f9f")
    frames = panel.frames_painted
    qtbot.waitUntil(lambda: panel.frames_painted > frames + 3)
    window = panel.window_s
    for uid in uids:
        assert len(panel.marks(uid)) <= 2 * (window + 1) + 2  # only what the window shows
    labelled = [uid for uid in uids if any(mark.label is not None for mark in panel.marks(uid))]
    assert len(labelled) == 1
    panel.set_window(60.0)  # a wider window shows the older marks again
    # Every mark of the last 60 s by the clock now (a loaded machine took seconds to get here).
    shown = sum(1 for k in range(200) if now - 100 + k / 2 >= pylsl.local_clock() - 60)
    assert shown > 60
    assert all(len(panel.marks(uid)) >= shown for uid in uids)


def test_a_held_up_gui_thread_slows_the_plots_and_says_so(qtbot, panel, unique, pushers):  # noqa: F811
    """The GUI thread also sends the heartbeats: when it falls behind, the plots draw fewer
    frames, and the technician reads why."""
    pusher = pushers(unique("ECG"), stream_type="ECG", rate=250.0)
    qtbot.waitUntil(lambda: uid_of(panel, pusher.name) in panel.plotted_uids(), timeout=5000)
    frames = panel.frames
    qtbot.waitUntil(lambda: panel.frames > frames + 5)
    time.sleep(0.4)  # the event loop held up (this test runs on the GUI thread)
    qtbot.waitUntil(lambda: "Plots slowed to 15 frames a second" in panel.status_label.text(), timeout=3000)
    assert panel.pacer.busy_episodes >= 1
