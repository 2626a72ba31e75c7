"""`vrclinic report SESSION_DIR --out FILE.html [--pdf FILE.pdf]`: the report's drawing and
printing. The timeline (stimulus with SUDS, heart rate and skin conductance on one clock) is
drawn with pyqtgraph offscreen and embedded in the HTML that :mod:`console.records.report`
writes; the PDF is the same document printed by Qt. Runs in the caller's thread (a command,
or a worker of the review window), never needing a screen.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from console.core.colours import MARK_COLOURS
from console.records.recorded import RecordedSession, Step, load, plan_entry, session_steps
from console.records.report import Physiology, analyse, render_html


def timeline_png(
    s: RecordedSession, body: Physiology | None = None, steps: list[Step] = (), width: int = 1100, height: int = 520
) -> bytes:
    """The session on one clock: stimulus values (scaled to their own range) with SUDS,
    heart rate, skin conductance; step boundaries dashed."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    import pyqtgraph.exporters
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication([])
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    layout = pg.GraphicsLayoutWidget()
    layout.resize(width, height)
    top = layout.addPlot(row=0, col=0)
    top.setLabel("left", "SUDS / stimulus %")
    top.setYRange(0, 100)
    top.addLegend(offset=(60, 2), colCount=5)  # one row across the top, clear of the right edge
    colours = ["#7f8c8d", "#16a085", "#8e44ad", "#d35400", "#2c3e50"]
    for i, (label, points) in enumerate(sorted(s.stimulus.items())):
        t, v = np.array([*points, (s.end - s.start, points[-1][1])]).T  # held until the end
        lo, hi = float(v.min()), float(v.max())
        scaled = 50.0 if hi == lo else (v - lo) / (hi - lo) * 100
        top.plot(
            t,
            np.broadcast_to(scaled, t.shape),
            pen=pg.mkPen(colours[i % len(colours)], width=2),
            stepMode=None,
            name=f"{label} {lo:.3g}–{hi:.3g}",
        )
    suds = [(r["t"], r["value"]) for r in s.ratings if r["kind"] == "suds"]
    if suds:
        t, v = np.array(suds).T
        top.plot(t, v, pen=pg.mkPen("#1f5f9f", width=2), symbol="o", symbolBrush="#1f5f9f", name="SUDS")
    for e in s.events:
        habituated = plan_entry(e) == "habituation"
        if e["kind"] in ("safety", "marker") or habituated:
            colour = MARK_COLOURS["habituation" if habituated else e["kind"]]
            top.addItem(pg.InfiniteLine(e["t"], angle=90, pen=pg.mkPen(colour, width=2 if habituated else 1)))
    for step in steps[1:]:
        top.addItem(pg.InfiniteLine(step.start, angle=90, pen=pg.mkPen("#95a5a6", width=1, style=Qt.PenStyle.DashLine)))
    row = 1
    if body is not None and body.hr is not None:
        heart = layout.addPlot(row=row, col=0)
        heart.setXLink(top)
        heart.setLabel("left", "heart rate (bpm)")
        t, bpm = body.hr.series(step_s=1.0)
        heart.plot(t, bpm, pen=pg.mkPen("#c0392b", width=1.5), connect="finite")
        layout.ci.layout.setRowStretchFactor(row, 2)
        row += 1
    bottom = layout.addPlot(row=row, col=0)
    bottom.setXLink(top)
    bottom.setLabel("left", "skin conductance (µS)")
    bottom.setLabel("bottom", "session time", units="s")
    eda = s.signal("EDA")
    if eda is not None:
        bottom.plot(eda.t, eda.data[:, 0], pen=pg.mkPen("#16a085", width=1))
    top.setXRange(0, max(1.0, s.end - s.start), padding=0.01)
    layout.ci.layout.setRowStretchFactor(0, 3)
    layout.ci.layout.setRowStretchFactor(row, 2)
    image = layout.grab().toImage()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


def write_pdf(html_text: str, png: bytes, path: Path) -> None:
    """The HTML printed to PDF by Qt (no browser needed); the timeline as a document resource."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QImage, QPageSize, QPdfWriter, QTextDocument
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication([])
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setResolution(110)
    doc = QTextDocument()
    doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl("timeline.png"), QImage.fromData(png, "PNG"))
    page_width = int(writer.pageLayout().paintRectPixels(writer.resolution()).width())
    start = html_text.index('<img src="data:')
    end = html_text.index(">", start) + 1
    doc.setHtml(html_text[:start] + f'<img src="timeline.png" width="{page_width}">' + html_text[end:])
    doc.setPageSize(writer.pageLayout().paintRectPixels(writer.resolution()).size().toSizeF())
    doc.print_(writer)


def make_report(folder: Path, out: Path, pdf: Path | None = None) -> RecordedSession:
    """Write the report of the session in ``folder`` as HTML (and PDF); returns the session as
    read, whose ``problems`` say what the recording is missing (the report says it too)."""
    session = load(folder)
    body = analyse(session)
    steps = session_steps(session)
    png = timeline_png(session, body, steps)
    text = render_html(session, png, body, steps)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    if pdf is not None:
        write_pdf(text, png, pdf)
    return session
