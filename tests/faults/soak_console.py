"""The soak's console: the console window as ``vrclinic console --record DIR`` runs it
(``run_console``: the window, physiology panel, live metrics, the link, recording to XDF),
plus a therapist who keeps using it, as the demo's script does but for every connected
headset and for as long as the soak lasts: every ``ACT_EVERY_S`` the next action of
:data:`ROUTINE` on the next headset (scenes, ramps, SUDS prompts, markers, pause and resume).
It never presses make safe: a safe scene in the soak is then a watchdog's doing.

    python -m tests.faults.soak_console --bind tcp://127.0.0.1:P --record DIR --expect NAME,NAME

Ends on SIGTERM as the window's Quit does (recording finished, headsets told bye).
Threads: the GUI thread (the routine runs on a Qt timer there, as clicks would).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Callable

ACT_EVERY_S = 2.0

# One action at a time on the next headset, in this order, again and again.
ROUTINE: tuple[tuple[str, Callable], ...] = (
    ("load spiders", lambda m, h: m.load_scene("spiders", name=h)),
    ("distance 2.5 m over 3 s", lambda m, h: m.set_parameter("distance", 2.5, 3.0, name=h)),
    ("ask SUDS", lambda m, h: m.ask("suds", name=h)),
    ("three spiders", lambda m, h: m.set_parameter("count", 3, name=h)),
    ("marker", lambda m, h: m.add_marker(f"soak marker for {h}")),
    ("closer: 1.2 m over 4 s", lambda m, h: m.set_parameter("distance", 1.2, 4.0, name=h)),
    ("pause", lambda m, h: m.pause(name=h)),
    ("resume", lambda m, h: m.resume(name=h, fade_s=1.0)),
    ("load heights", lambda m, h: m.load_scene("heights", name=h)),
    ("floor 12 over 3 s", lambda m, h: m.set_parameter("floor", 12, 3.0, name=h)),
    ("ask SUDS", lambda m, h: m.ask("suds", name=h)),
    ("wind 6 m/s", lambda m, h: m.set_parameter("wind", 6.0, 2.0, name=h)),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.soak_console", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bind", required=True)
    parser.add_argument("--record", required=True, help="the session folder to record into")
    parser.add_argument("--expect", default="", help="comma-separated LSL stream names to wait for before recording")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from console.apps.console_app import run_console
    from console.qt.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    steps: dict[str, itertools.cycle] = {}  # each headset goes through the routine in order
    turn = itertools.count()
    done = {"actions": 0}

    def act() -> None:
        window = next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow)), None)
        if window is None:
            return
        names = sorted(window.model.headsets)
        if not names:
            return
        headset = names[next(turn) % len(names)]
        _say, action = next(steps.setdefault(headset, itertools.cycle(ROUTINE)))
        action(window.model, headset)
        done["actions"] += 1

    timer = QTimer(interval=round(ACT_EVERY_S * 1000))
    timer.timeout.connect(act)
    timer.start()
    expect = tuple(name for name in args.expect.split(",") if name)
    code = run_console(args.bind, record=args.record, expect_streams=expect)
    print(f"soak-console actions {done['actions']}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
