"""The review window on a real recorded demo session, as a therapist uses it: scrub, click
an event, play, look at the patient's view. Offscreen Qt (pytest-qt)."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer

from console.qt import review_window
from console.qt.review_window import ReviewWindow, open_review, run_review
from console.records.recorded import MIRROR_COLUMNS, RecordedSession, load
from console.records.review import ReviewModel, mmss

pytest.importorskip("pyxdf")

FRAMES = {3.0: (220, 30, 30), 6.0: (30, 200, 40), 9.0: (30, 60, 220)}  # session time -> colour


@pytest.fixture(scope="module")
def session(recorded_demo) -> RecordedSession:
    folder, result = recorded_demo
    assert result.returncode == 0, result.stderr[-2000:]
    return load(folder)


@pytest.fixture(scope="module")
def mirrored(session, tmp_path_factory) -> RecordedSession:
    """The demo session copied, with mirror frames of known colours at known times, and
    marked as interrupted (as after a crash)."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("mirrored") / "session"
    shutil.copytree(session.folder, folder)
    mirror = folder / "mirror"
    shutil.rmtree(mirror, ignore_errors=True)
    mirror.mkdir()
    with open(mirror / "index.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(MIRROR_COLUMNS)
        for i, (t, colour) in enumerate(FRAMES.items(), 1):
            name = f"{i:06d}.jpg"
            Image.new("RGB", (320, 180), colour).save(mirror / name, quality=90)
            writer.writerow([i, f"{session.start + t:.6f}", f"{t:.3f}", 320, 180, name])
    manifest = {**session.manifest, "state": "interrupted"}
    (folder / "session.json").write_text(json.dumps(manifest), encoding="utf-8")
    return load(folder)


def recorded_what(session: RecordedSession) -> str:
    """For a failing precondition: what the demo fixture actually recorded."""
    return f"the demo recorded {[s.kind for s in session.signals]}; problems: {session.problems}"


def make_window(qtbot, session: RecordedSession) -> ReviewWindow:
    window = ReviewWindow(ReviewModel(session))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=10_000)  # returns at once; long only on a loaded machine
    return window


@pytest.fixture
def window(qtbot, session):
    return make_window(qtbot, session)


def test_one_plot_per_physiology_stream_labelled_with_its_unit(window):
    signals = window.model.signals
    assert {s.kind for s in signals} >= {"ECG", "PPG", "EDA", "RESP"}, recorded_what(window.model.session)
    assert len(window.plots) == len(signals)
    left = [p.getAxis("left").label.toPlainText() for p in window.plots]
    assert any(text.strip() == "EDA (µS)" for text in left), left
    assert any(text.strip() == "ECG (mV)" for text in left), left
    assert len(window.cursors) == len(signals) + 1, "a cursor on the timeline and on every plot"
    assert window.windowTitle().startswith(f"Review – {window.model.session.manifest.get('session_id', 'session')}")


def test_moving_the_scrubber_updates_the_time_and_the_values_at_the_cursor(window, session):
    assert window.time_text.text() == f"00:00 / {mmss(session.duration)}"
    t = session.duration * 0.75
    window.slider.setValue(round(t * 10))
    assert window.model.t == pytest.approx(t, abs=0.05)
    assert window.time_text.text() == f"{mmss(window.model.t)} / {mmss(session.duration)}"
    assert all(line.value() == pytest.approx(window.model.t) for line in window.cursors)
    for label, value in session.stimulus_at(window.model.t).items():
        shown = window.value_labels[f"stimulus:{label}"].text()
        assert shown.startswith(f"{value:.3g}"), (label, shown)
    eda = next((i for i, s in enumerate(window.model.signals) if s.kind == "EDA" and len(s.t) > 100), None)
    assert eda is not None, recorded_what(session)
    inside = float(window.model.signals[eda].t[-10])
    window.slider.setValue(round(inside * 10))
    assert window.value_labels[f"signal:{eda}"].text().endswith(" µS")
    suds = [r for r in session.ratings if r["kind"] == "suds"]
    if suds:
        window.slider.setValue(round(suds[-1]["t"] * 10) + 10)
        assert window.value_labels["suds"].text().startswith(f"{suds[-1]['value']} ")


def test_dragging_a_cursor_on_any_plot_moves_every_cursor(window):
    t = round(window.model.duration * 0.4, 1)
    window.cursors[-1].setValue(t)  # what pyqtgraph does while the line is dragged
    assert window.model.t == pytest.approx(t)
    assert all(line.value() == pytest.approx(t) for line in window.cursors)
    assert window.slider.value() == round(t * 10)
    assert window.time_text.text().startswith(f"{mmss(t)} /")


def test_clicking_an_event_goes_to_it_and_the_list_follows_the_cursor(qtbot, window):
    events = window.model.events
    row = next(i for i, e in enumerate(events) if e["kind"] == "marker" and e["t"] > 5)
    item = window.events.item(row, 2)
    window.events.scrollToItem(item)
    qtbot.mouseClick(
        window.events.viewport(), Qt.MouseButton.LeftButton, pos=window.events.visualItemRect(item).center()
    )
    assert window.model.t == pytest.approx(events[row]["t"])
    assert window.time_text.text().startswith(mmss(events[row]["t"]))
    assert [i.row() for i in window.events.selectionModel().selectedRows()] == [window.model.event_index()]
    window.model.seek(0)
    first = next(i for i, e in enumerate(events) if e["t"] > 0)
    window.model.seek(events[first]["t"])
    assert [i.row() for i in window.events.selectionModel().selectedRows()] == [window.model.event_index()]


def test_space_plays_and_pauses_and_the_keys_move_the_cursor(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.model.t == pytest.approx(1.0)
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.model.t == pytest.approx(min(11.0, window.model.duration))
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.model.t == 0.0
    qtbot.keyClick(window, Qt.Key.Key_N)
    assert window.model.t == pytest.approx(next(e["t"] for e in window.model.events if e["t"] > 0))

    window.speed.setCurrentIndex(window.speed.findText("4×"))
    assert window.model.speed == 4.0
    start = window.model.t
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.play_button.text().startswith("Pause")
    qtbot.waitUntil(lambda: window.model.t > start + 1.0, timeout=5000)
    qtbot.waitUntil(lambda: window.time_text.text() != f"{mmss(start)} / {mmss(window.model.duration)}")
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.model.playing and window.play_button.text().startswith("Play")
    stopped = window.model.t
    qtbot.wait(150)
    assert window.model.t == stopped

    qtbot.keyClick(window, Qt.Key.Key_End)
    qtbot.keyClick(window, Qt.Key.Key_Space)  # at the end: plays from the beginning
    assert window.model.playing and window.model.t < 1.0
    window.model.seek(window.model.duration - 0.2)
    qtbot.waitUntil(lambda: not window.model.playing, timeout=10_000)
    assert window.model.t == window.model.duration and not window.timer.isActive()


def test_without_mirror_frames_the_patients_view_says_so(qtbot, session):
    window = make_window(qtbot, dataclasses.replace(session, mirror=[]))
    assert window.mirror.text() == "No mirror frames recorded"
    assert window.mirror.pixmap().isNull()
    assert window.banner.isHidden() == (not session.problems)


def test_the_mirror_frame_shown_is_the_one_the_therapist_saw_then(qtbot, mirrored):
    window = make_window(qtbot, mirrored)
    window.model.seek(1.0)
    assert window.mirror.text() == "No mirror frame yet at this time"
    # Just after each frame's time (the index stores it to the microsecond), between frames, and after the last.
    for t, colour in ((3.01, FRAMES[3.0]), (7.5, FRAMES[6.0]), (9.01, FRAMES[9.0]), (12.2, FRAMES[9.0])):
        window.model.seek(t)
        pixmap = window.mirror.pixmap()
        assert not pixmap.isNull() and pixmap.width() > 0 and pixmap.height() > 0
        assert pixmap.width() / pixmap.height() == pytest.approx(320 / 180, rel=0.03), "aspect kept"
        seen = pixmap.toImage().pixelColor(QPoint(pixmap.width() // 2, pixmap.height() // 2))
        assert max(abs(a - b) for a, b in zip(seen.getRgb()[:3], colour, strict=True)) < 20, (t, seen.name())
    assert "no newer frame for 3 s" in window.mirror_caption.text()
    assert window.banner.isVisible() and "This recording was interrupted" in window.banner.text()


def test_open_review_loads_in_the_background_and_shows_the_window(qtbot, session):
    window = open_review(session.folder)
    assert window is not None and window in review_window._OPEN
    try:
        assert window.isVisible() and len(window.plots) == len(ReviewModel(session).signals)
        assert window.windowTitle().startswith("Review – ")
    finally:
        window.close()  # deletes the window (WA_DeleteOnClose), and forgets it
    qtbot.waitUntil(lambda: not review_window._OPEN)


def test_a_folder_without_a_session_is_explained_in_a_message_box(qtbot, tmp_path, monkeypatch, capsys):
    shown = []
    monkeypatch.setattr(review_window.QMessageBox, "warning", lambda _parent, title, text: shown.append(text))
    assert open_review(tmp_path) is None
    assert len(shown) == 1 and "holds no recorded session" in shown[0]
    assert run_review(str(tmp_path), duration_s=0.1) == 2
    assert "holds no recorded session" in capsys.readouterr().err


def test_run_review_saves_a_screenshot(qtbot, session, tmp_path):
    png = tmp_path / "review.png"
    assert run_review(str(session.folder), duration_s=0.3, screenshot=str(png)) == 0
    # The screenshot is judged by eye in development; here only that it was made.
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000


def test_run_review_in_a_process_with_its_own_qt_leaves_that_process_running(qtbot, session):
    """Run inside a process that already has a QApplication (the console, these tests), the
    review must not quit it: afterwards that process's timers (the console's heartbeats) stop."""
    assert run_review(str(session.folder), duration_s=0.2) == 0
    fired: list[int] = []
    QTimer.singleShot(10, lambda: fired.append(1))
    qtbot.waitUntil(lambda: fired == [1], timeout=2000)


def test_plan_steps_and_habituation_are_drawn_as_marks_with_their_words():
    from console.qt.review_window import mark_kind, mark_words

    started = {"kind": "step", "text": "step 2/4 started", "data": {"position": 2, "label": "Spider at 2 m"}}
    habituated = {"kind": "step", "text": "step 2 …: habituation: …", "data": {"position": 2, "habituation": {}}}
    selected = {"kind": "step", "text": "step 2/4 Spider at 2 m selected", "data": {"position": 2, "why": "x"}}
    marker = {"kind": "marker", "text": "patient looked away"}
    assert [mark_kind(e) for e in (started, habituated, selected, marker)] == [
        "plan step",
        "habituation",
        "step",  # not drawn: the step starts when its stimulus does
        "marker",
    ]
    assert [mark_words(e) for e in (started, habituated, marker)] == [
        "2. Spider at 2 m",
        "habituation",
        "patient looked away",
    ]
