"""The live-session panels on their own, with a real link behind the model: the event log a
therapist reads, and the panels that are built after the window's first paint."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pylsl
import pytest
from PySide6.QtWidgets import QLabel

from console.physio.acquisition import Acquisition
from console.physio.streams import StreamDirectory
from console.qt.panels import EventLog, LaterPanel, PhysioSlot, SelfReportPanel
from console.session.model import SessionModel
from protocol.link import ConsoleLink, LinkConfig
from tests.console.physio.lsl_helpers import pushers, unique  # noqa: F401


@pytest.fixture
def model(tmp_path):
    link = ConsoleLink(LinkConfig(bind="tcp://127.0.0.1:*", session_id="panels-test"))
    yield SessionModel(link, presets_path=tmp_path / "presets.json")
    link.close()


def shown_lines(log: EventLog) -> list[str]:
    return [log.table.item(row, 2).text() for row in range(log.table.rowCount())]


def test_the_event_log_shows_every_line_in_order_with_the_newest_in_view(qtbot, model):
    log = EventLog(model)
    qtbot.addWidget(log)
    log.resize(430, 200)
    log.show()
    for i in range(60):
        model.note("control", "quest-a", f"Distance → {i / 10:g} m")
    qtbot.waitUntil(lambda: log.table.rowCount() == 60, timeout=2000)
    assert shown_lines(log) == [f"Distance → {i / 10:g} m" for i in range(60)]
    assert log.table.item(59, 1).text() == "quest-a"
    bar = log.table.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=2000)


def test_the_event_log_keeps_the_newest_lines_when_full(qtbot, model):
    log = EventLog(model)
    qtbot.addWidget(log)
    log.MAX_ROWS = 25
    log.show()
    for i in range(40):
        model.note("link", "quest-a", f"line {i}")
    qtbot.waitUntil(lambda: shown_lines(log)[-1:] == ["line 39"], timeout=2000)
    assert shown_lines(log) == [f"line {i}" for i in range(15, 40)]


def test_the_event_log_shows_what_was_logged_before_it_was_built(qtbot, model):
    model.note("link", "quest-a", "connected: sim 1.0")
    log = EventLog(model)
    qtbot.addWidget(log)
    assert shown_lines(log) == ["connected: sim 1.0"]


def test_a_later_panel_is_built_once_it_was_painted(qtbot):
    built: list[QLabel] = []

    def build() -> QLabel:
        built.append(QLabel("the real panel"))
        return built[-1]

    slot = LaterPanel(build, "starting…")
    qtbot.addWidget(slot)
    assert not built  # nothing slow while the window is being put together
    slot.show()
    qtbot.waitUntil(lambda: slot.panel is not None, timeout=2000)
    assert built == [slot.panel] and slot.panel.isVisible()
    assert slot.findChildren(QLabel) == built  # the waiting text is gone


def test_a_later_panel_imports_its_modules_then_builds(qtbot, tmp_path, monkeypatch):
    # Stands for pyqtgraph: imported by the panel after its first paint, before it is built.
    (tmp_path / "slow_plotting_library.py").write_text("NAME = 'plots'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_plotting_library", raising=False)

    def build() -> QLabel:
        return QLabel(f"drawn with {sys.modules['slow_plotting_library'].NAME}")

    slot = LaterPanel(build, "starting…", ("slow_plotting_library",))
    qtbot.addWidget(slot)
    assert "slow_plotting_library" not in sys.modules
    slot.show()
    qtbot.waitUntil(lambda: slot.panel is not None, timeout=5000)
    assert slot.panel.text() == "drawn with plots"


def test_the_timeline_shows_what_happened_before_it_was_built(qtbot, model):
    model.mark("patient closed eyes", "marker")
    model.mark("make safe", "safety")
    panel = SelfReportPanel(model, timeline_after_first_paint=True)  # as the console app starts
    qtbot.addWidget(panel)
    assert panel.plot is None
    panel.show()
    qtbot.waitUntil(lambda: panel.plot is not None, timeout=5000)
    assert panel.timeline_marks() == ["patient closed eyes", "make safe"]
    model.mark("patient opened eyes", "marker")
    assert panel.timeline_marks()[-1] == "patient opened eyes"


def test_marks_made_before_the_physiology_panel_is_built_reach_its_plots(qtbot, tmp_path, request, unique, pushers):  # noqa: F811
    from console.qt.physio_panel import PhysioPanel

    config = tmp_path / "lsl_api.cfg"
    config.write_text(Path(os.environ["LSLAPICFG"]).read_text())
    directory = StreamDirectory(poll_interval_s=0.1, forget_after_s=2.0, config_path=config).start()
    acquisition = Acquisition()
    mine = request.node.name[:20]
    slot = PhysioSlot(lambda: PhysioPanel(directory, acquisition, auto_plot=lambda s: s.name.startswith(mine)))
    qtbot.addWidget(slot)
    try:
        slot.add_mark(pylsl.local_clock() - 1.0, "SUDS 40", "#1f5f9f")  # e.g. a rating during start-up
        slot.resize(1000, 600)
        slot.show()
        qtbot.waitUntil(lambda: slot.panel is not None, timeout=5000)
        pusher = pushers(unique("RESP"), stream_type="RESP", rate=50.0, unit="a.u.")
        uid = None

        def plotted() -> bool:
            nonlocal uid
            uid = next((s.uid for s in directory.snapshot() if s.name == pusher.name), None)
            return uid is not None and uid in slot.panel.plotted_uids()

        qtbot.waitUntil(plotted, timeout=5000)
        slot.add_mark(pylsl.local_clock(), "marker", "#6a3d9a")
        qtbot.waitUntil(lambda: [mark.label for mark in slot.panel.marks(uid)] == ["SUDS 40", "marker"], timeout=5000)
    finally:
        if slot.panel is not None:
            slot.panel.shutdown()
        acquisition.close()
        directory.stop()
