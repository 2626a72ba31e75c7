"""Where the GUI thread was when it stalled.

The console's heartbeats come from the GUI thread's control loop, so a stall there of half a
second calms every patient's scene. The window notices a late beat afterwards; this says
*where* the thread was meanwhile, which is what a developer needs to fix it: a thread of its
own looks at the time of the last tick and, when the loop has been silent longer than the
threshold, takes the watched thread's Python stack (``sys._current_frames``).

Threads:
- :meth:`StallWatch.tick` is called by the watched thread at every turn of its loop (the GUI
  thread, at each heartbeat); it only stores a number;
- the watcher thread (``vrclinic-stall-watch``) samples and calls ``on_stall`` with each stall
  once it is over (so the report carries its whole length);
- :meth:`StallWatch.since` (the stalls after the n-th) may be called from any thread.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

now = time.perf_counter  # the protocol clock (protocol.timing.now), which core may not import


OURS = tuple(str(Path(__file__).resolve().parents[2] / name) for name in ("console", "protocol", "unity_bridge"))
KEEP = 20  # stalls remembered


@dataclass(frozen=True)
class Stall:
    """A stretch in which the watched thread did not tick for longer than the threshold."""

    started_at: float  # the last tick before it (protocol clock)
    length_s: float
    where: str  # "file.py:123 in function": our innermost frame in the sample
    stack: tuple[str, ...]  # the sampled stack, innermost last ("file.py:123 in function")

    def __str__(self) -> str:
        return f"{self.length_s * 1000:.0f} ms in {self.where}"


def _where(frames: list[traceback.FrameSummary]) -> str:
    ours = [f for f in frames if f.filename.startswith(OURS)]
    frame = (ours or frames)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


class StallWatch:
    """Reports the watched thread's stalls longer than ``threshold_s`` (see the module)."""

    def __init__(
        self,
        threshold_s: float,
        on_stall: Callable[[Stall], None] | None = None,
        thread: threading.Thread | None = None,
    ):
        self.threshold_s = threshold_s
        self.on_stall = on_stall
        self._ident = (thread or threading.current_thread()).ident
        self._last_tick = now()
        self._stalls: deque[Stall] = deque(maxlen=KEEP)
        self._count = 0  # stalls ever seen
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="vrclinic-stall-watch", daemon=True)

    def start(self) -> StallWatch:
        self._thread.start()
        return self

    def tick(self) -> None:
        """The watched thread, at every turn of its loop."""
        self._last_tick = now()

    def since(self, seen: int) -> tuple[list[Stall], int]:
        """The stalls after the first ``seen`` (the latest KEEP at most) and how many there
        have been in all. Any thread."""
        with self._lock:
            return list(self._stalls)[max(0, len(self._stalls) - (self._count - seen)) :], self._count

    def close(self) -> None:
        """Any thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _sample(self) -> tuple[str, tuple[str, ...]]:
        frame = sys._current_frames().get(self._ident)
        if frame is None:
            return "(thread gone)", ()
        frames = traceback.extract_stack(frame)[-12:]
        return _where(frames), tuple(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames)

    def _watch(self) -> None:
        """The watcher thread."""
        period = self.threshold_s / 4
        sampled: tuple[float, str, tuple[str, ...]] | None = None  # (last tick, where, stack) of a stall
        while not self._stop.wait(period):
            last = self._last_tick
            if sampled is not None and last != sampled[0]:  # it ticked again: the stall is over
                stall = Stall(sampled[0], last - sampled[0], sampled[1], sampled[2])
                with self._lock:
                    self._stalls.append(stall)
                    self._count += 1
                if self.on_stall is not None:
                    self.on_stall(stall)
                sampled = None
            if sampled is None and now() - last > self.threshold_s:
                sampled = (last, *self._sample())
