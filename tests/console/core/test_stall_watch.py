"""The stall watch says how long the GUI thread's loop stood still and where it was."""

from __future__ import annotations

import threading
import time

from console.core.stall_watch import Stall, StallWatch


def a_long_save_on_the_gui_thread(seconds: float) -> None:
    time.sleep(seconds)


def test_a_stall_is_reported_once_with_its_length_and_the_function_it_was_in():
    reported: list[Stall] = []
    ready = threading.Event()
    holder: dict[str, StallWatch] = {}

    def loop() -> None:  # the watched thread: ticks, stalls once, ticks again
        watch = holder["watch"] = StallWatch(0.3, on_stall=reported.append).start()
        ready.set()
        for _ in range(5):
            watch.tick()
            time.sleep(0.02)
        a_long_save_on_the_gui_thread(1.0)
        for _ in range(20):
            watch.tick()
            time.sleep(0.02)

    worker = threading.Thread(target=loop)
    worker.start()
    ready.wait(5)
    worker.join(10)
    watch = holder["watch"]
    try:
        deadline = time.monotonic() + 5
        saving = []
        while not saving and time.monotonic() < deadline:
            time.sleep(0.02)
            saving = [s for s in reported if "a_long_save_on_the_gui_thread" in s.where]
        # (A loaded machine may starve this process elsewhere too: those are stalls as well.)
        assert len(saving) == 1, reported
        stall = saving[0]
        assert 0.95 <= stall.length_s < 3.0
        assert str(stall).startswith(f"{stall.length_s * 1000:.0f} ms in test_stall_watch.py:")
        stalls, count = watch.since(0)
        assert stall in stalls and count == len(reported)
        assert watch.since(count) == ([], count)
    finally:
        watch.close()


def test_a_loop_that_keeps_ticking_reports_nothing():
    reported: list[Stall] = []
    watch = StallWatch(1.0, on_stall=reported.append).start()
    try:
        for _ in range(60):
            watch.tick()
            time.sleep(0.02)
        assert reported == []
    finally:
        watch.close()
