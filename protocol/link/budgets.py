"""Input budgets and rate limits of the link thread: plain objects, no threads (each
belongs to the link thread, which alone calls them)."""

from __future__ import annotations

from protocol.timing import now


class Budget:
    """Token buckets for one connection's input: messages and bytes per second (bursts of a
    second's worth), and how long it has been over them."""

    __slots__ = (
        "at",
        "byte_rate",
        "bytes",
        "dropped",
        "episode_dropped",
        "last_drop_at",
        "msg_rate",
        "msgs",
        "over_since",
    )

    def __init__(self, msg_rate: float, byte_rate: float):
        self.msg_rate, self.byte_rate = msg_rate, byte_rate
        self.msgs, self.bytes = msg_rate, byte_rate
        self.at = now()
        self.over_since: float | None = None
        self.last_drop_at = 0.0
        self.dropped = 0
        self.episode_dropped = 0  # since the current run of drops began

    def take(self, size: int, t: float) -> bool:
        elapsed = t - self.at
        self.at = t
        self.msgs = min(self.msg_rate, self.msgs + elapsed * self.msg_rate)
        self.bytes = min(self.byte_rate, self.bytes + elapsed * self.byte_rate)
        if self.msgs >= 1.0 and self.bytes >= size:
            self.msgs -= 1.0
            self.bytes -= size
            return True
        if t - self.last_drop_at > 1.0:
            self.over_since = t  # a new episode: the last drop was a while ago
            self.episode_dropped = 0
        self.last_drop_at = t
        self.dropped += 1
        self.episode_dropped += 1
        return False


class RateLimit:
    """Token bucket: at most ``rate`` per second, bursts of ``rate``."""

    def __init__(self, rate: float):
        self.rate = rate
        self.tokens = rate
        self.at = now()

    def allow(self) -> bool:
        t = now()
        self.tokens = min(self.rate, self.tokens + (t - self.at) * self.rate)
        self.at = t
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Once:
    """Says a thing about a subject at most once per ``every_s`` (bounded memory)."""

    def __init__(self, every_s: float, remember: int = 1024):
        self.every_s, self.remember = every_s, remember
        self._said: dict[object, float] = {}

    def due(self, subject: object, t: float) -> bool:
        last = self._said.get(subject)
        if last is not None and t - last < self.every_s:
            return False
        if len(self._said) >= self.remember:
            self._said.clear()
        self._said[subject] = t
        return True
