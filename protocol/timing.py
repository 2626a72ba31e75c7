"""Heartbeat bookkeeping shared by both ends of the link: which beats count, round-trip
time and clock offset (the NTP method, see SPEC.md section 5).

Plain objects, no threads: each :class:`PeerClock` belongs to the thread that owns the
socket its heartbeats arrive on.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from dataclasses import dataclass

from protocol import messages


def now() -> float:
    """The protocol's clock: monotonic seconds, the same clock LSL's local_clock() reads."""
    return time.perf_counter()


@dataclass(frozen=True, slots=True)
class ClockSample:
    at: float  # local time of the sample
    rtt_s: float
    offset_s: float  # peer clock - local clock


class PeerClock:
    """What one side knows about its peer's heartbeats and clock.

    ``late_after_s``: a beat whose send time, moved into our clock, is older than this is
    ignored (it was queued somewhere, e.g. during a freeze, and proves nothing about now).
    """

    def __init__(self, late_after_s: float, window_s: float = 10.0):
        self.late_after_s = late_after_s
        self.window_s = window_s
        self.last_seq = -1
        self.last_counted_at: float | None = None  # local time of the last beat that counted
        self.duplicates = 0
        self.late = 0
        self._echo: tuple[int, float, float] = (-1, 0.0, 0.0)
        self._samples: deque[ClockSample] = deque()
        self._last_echo_seq = -2

    # -- estimates ------------------------------------------------------------------
    @property
    def offset_s(self) -> float | None:
        """Peer clock minus local clock, from the sample with the smallest round trip."""
        if not self._samples:
            return None
        return min(self._samples, key=lambda s: s.rtt_s).offset_s

    @property
    def rtt_s(self) -> float | None:
        """Median round-trip time over the recent samples."""
        if not self._samples:
            return None
        return statistics.median(s.rtt_s for s in list(self._samples)[-20:])

    def to_local(self, peer_time: float) -> float | None:
        """A time of the peer's clock expressed in ours, once an offset is known."""
        offset = self.offset_s
        return None if offset is None else peer_time - offset

    def add_sample(self, t1: float, t2: float, t3: float, t4: float) -> None:
        """t1 we sent, t2 peer received, t3 peer sent, t4 we received (t1, t4 ours)."""
        rtt = (t4 - t1) - (t3 - t2)
        if rtt < -0.001 or (t3 - t2) < -0.001:
            return  # impossible sample: clocks went backwards or echo of something else
        self._samples.append(ClockSample(t4, max(rtt, 0.0), ((t2 - t1) + (t3 - t4)) / 2))
        while self._samples and self._samples[0].at < t4 - self.window_s:
            self._samples.popleft()

    # -- heartbeats -----------------------------------------------------------------
    def restart_sequence(self) -> None:
        """The peer restarted (a new session): its next beats start from seq 0."""
        self.last_seq = -1

    def on_heartbeat(self, beat: messages.Heartbeat, received_at: float) -> bool:
        """Record a heartbeat from the peer; True when it counts as proof of life."""
        if beat.echo_seq >= 0 and beat.echo_seq != self._last_echo_seq:
            self._last_echo_seq = beat.echo_seq
            self.add_sample(beat.echo_sent_at, beat.echo_received_at, beat.sent_at, received_at)
        if beat.seq <= self.last_seq:
            self.duplicates += 1
            return False
        self.last_seq = beat.seq
        self._echo = (beat.seq, beat.sent_at, received_at)
        sent_local = self.to_local(beat.sent_at)
        if sent_local is not None and received_at - sent_local > self.late_after_s:
            self.late += 1
            return False
        self.last_counted_at = received_at
        return True

    def silent_for(self, at: float) -> float | None:
        """Seconds since the last counted beat, None before the first."""
        return None if self.last_counted_at is None else at - self.last_counted_at

    def heartbeat(self, seq: int, sent_at: float) -> messages.Heartbeat:
        """Our next heartbeat, echoing the peer's last one."""
        echo_seq, echo_sent, echo_received = self._echo
        return messages.Heartbeat(
            seq=seq, sent_at=sent_at, echo_seq=echo_seq, echo_sent_at=echo_sent, echo_received_at=echo_received
        )
