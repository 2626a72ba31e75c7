"""The console's look, in one place: every window takes its style sheet from here, so no window
imports another for its style. Colours that mean something across rooms (marks) are in
:mod:`console.core.colours`."""

STYLE = """
QMainWindow, QWidget { background: #f4f5f7; color: #1e2328; font-size: 10.5pt; }
QLabel#panelTitle { font-size: 11.5pt; font-weight: 600; color: #3a4350; padding: 4px 0 2px 0; }
QLabel#bigNumber { font-size: 22pt; font-weight: 700; color: #1f5f9f; padding-right: 12px; }
QLabel#sessionClock { font-size: 15pt; font-weight: 600; padding: 0 12px; }
QLabel#banner { background: #c0392b; color: white; font-size: 12.5pt; font-weight: 700; padding: 8px; }
QLabel#sceneStatus { color: #3a4350; }
QLabel#viewProblem { color: #8e2a20; font-weight: 600; padding: 0 8px; }
QLabel#arousal { font-size: 11.5pt; color: #3a4350; padding: 2px 4px; }
QPushButton { padding: 6px 12px; border: 1px solid #b9c0c8; border-radius: 4px; background: #ffffff; }
QPushButton:hover { background: #eef2f6; }
QPushButton#makeSafe { background: #c0392b; color: white; font-size: 15pt; font-weight: 800;
                       padding: 10px 28px; border: 2px solid #8e2a20; border-radius: 6px; }
QPushButton#makeSafe:hover { background: #a93226; }
QTableWidget { background: white; gridline-color: #e3e6ea; }
QHeaderView::section { background: #e9ecef; padding: 3px; border: none; }
"""

REVIEW_STYLE = (
    STYLE
    + """
QLabel#mirror { background: #1d2126; color: #c9ced6; font-size: 12pt; }
QLabel#valueName { color: #5d6d7e; }
QLabel#value { font-weight: 600; }
QLabel#suds { font-size: 16pt; font-weight: 700; color: #1f5f9f; }
QLabel#caption { color: #5d6d7e; }
QTableWidget { selection-background-color: #dbe7f3; selection-color: #1e2328; }
"""
)
