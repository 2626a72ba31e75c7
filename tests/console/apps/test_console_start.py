"""How `vrclinic console` starts: the window is painted before anything slow is loaded, and
the slow parts (the physiology plots and the timeline) follow."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow  # starts the real console in a process of its own

# Runs the real `vrclinic console` and notes, when the window reports its first paint (the
# line `make bench` times), which of the slow libraries were loaded by then; again at exit.
WATCHED = """
import atexit, sys
SLOW = (
    "pyqtgraph", "neurokit2", "pandas", "scipy", "console.qt.physio_panel",
    "console.apps.demo", "console.records.export", "console.physio.metrics", "unity_bridge.sim.physio",
)

def loaded():
    return ",".join(name for name in SLOW if name in sys.modules) or "none"

class Watch:
    def __init__(self, out):
        self.out = out
    def write(self, text):
        if text.startswith("first-paint "):
            self.out.write(f"loaded at first paint: {loaded()}\\n")
        return self.out.write(text)
    def flush(self):
        self.out.flush()

sys.stdout = Watch(sys.stdout)
atexit.register(lambda: print(f"loaded at exit: {loaded()}", flush=True))
from console.apps.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_window_is_painted_before_plots_and_analysis_are_loaded(tmp_path):
    shot = tmp_path / "console.png"
    run = ["console", "--bind", f"tcp://127.0.0.1:{free_port()}", "--duration", "4", "--screenshot", str(shot)]
    result = subprocess.run(
        [sys.executable, "-c", WATCHED, *run],
        capture_output=True,
        text=True,
        timeout=90,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "VRCLINIC_REPORT_FIRST_PAINT": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert "loaded at first paint: none" in lines
    # The plots came right after the first paint (and the offline analysis never did).
    assert "loaded at exit: pyqtgraph,console.qt.physio_panel" in lines
    assert shot.stat().st_size > 0
