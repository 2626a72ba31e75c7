"""The physiology model knows no Qt: a headless tool (or the simulator's host) can use it."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_physiology_model_does_not_import_qt():
    code = (
        "import sys, console.physio, console.physio.peer_probe; "
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken6'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"console.physio imported Qt modules: {done.stdout}"
