"""When the live plots draw a frame: at their rate, and at a lower one while the GUI thread
is behind.

The GUI thread also sends the heartbeats, and the plots are most of its work. On a computer
that is busy with something else (a virus scan, another program, the soak's CPU hog) the
console gets only its share of the processor; drawing 60 frames a second then leaves the
heartbeats waiting until the headsets' watchdogs calm the patients' scenes. So the pacer
watches its own timer: the plot timer ticks every half frame, and a tick that comes much
later than that means the event loop was held up. From then on, and for ``hold_s`` after
the last late tick, it allows only ``busy_hz`` frames a second; the data stays complete
(every sample is still drawn, just in fewer, larger steps).

Threads: whichever one thread owns the plots (the GUI thread); no locking.
"""

from __future__ import annotations

BUSY_HZ = 15.0
LATE_S = 0.1  # a plot timer tick this much later than its interval: the event loop was held up
HOLD_S = 2.0


class FramePacer:
    """Says at each tick of a timer running at twice ``rate_hz`` whether to draw a frame."""

    def __init__(self, rate_hz: float, busy_hz: float = BUSY_HZ, late_s: float = LATE_S, hold_s: float = HOLD_S):
        self.rate_hz = rate_hz
        self.busy_hz = min(busy_hz, rate_hz)
        self.late_s, self.hold_s = late_s, hold_s
        self._next_frame = 0.0
        self._last_tick: float | None = None
        self._busy_until = -1.0
        self.busy_episodes = 0  # how often it had to slow down (for the status line and checks)

    def set_rate(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self.busy_hz = min(self.busy_hz, rate_hz)
        self._next_frame = 0.0

    def busy(self, t: float) -> bool:
        """Whether frames are being held back now."""
        return t < self._busy_until

    def due(self, t: float) -> bool:
        """At each timer tick (time ``t``, seconds): draw a frame now?"""
        tick_interval = 0.5 / self.rate_hz
        if self._last_tick is not None and t - self._last_tick > tick_interval + self.late_s:
            if not self.busy(t):
                self.busy_episodes += 1
            self._busy_until = t + self.hold_s
        self._last_tick = t
        if t < self._next_frame:
            return False
        period = 1.0 / (self.busy_hz if self.busy(t) else self.rate_hz)
        # Keep the cadence; after a stall, start afresh rather than rush to catch up.
        self._next_frame = self._next_frame + period if t - self._next_frame < period else t + period
        return True
