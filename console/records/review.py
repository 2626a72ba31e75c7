"""Reviewing a recorded session: a cursor moving through it, and what was true at the cursor.

The review window (``console/qt/review_window.py``) is a thin view over :class:`ReviewModel`:
the plots, the stimulus timeline, the ratings, the event list and the mirror frame all show
the one cursor time held here, so they cannot drift apart. No Qt here, so the rules (what
"the latest rating" or "the next event" means, how playback ends) are tested without a
window.

Threads: the session is read by :func:`console.records.recorded.load` in a worker thread (a long
XDF takes seconds); the model is built from the loaded :class:`RecordedSession` and every
method of it is called in the GUI thread, where :attr:`ReviewModel.changed` also fires.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from console.core.signals import Signal
from console.records.recorded import MirrorFrame, RecordedSession
from console.records.recorded import Signal as Stream

SPEEDS = (1.0, 2.0, 4.0, 8.0)
RECENT_S = 10.0  # the snapshot's "recent events" reach back this far
# Pressing "previous event" while playing goes past an event passed this recently (in
# seconds of wall time), as media players do; otherwise a second press would land on the
# same event again because the cursor moved on a few milliseconds meanwhile.
PREVIOUS_GRACE_S = 0.6
EPSILON_S = 1e-6
# The self-report kinds are recorded as "answer" events; "rating" is accepted as their name.
KIND_ALIASES = {"rating": "answer", "ratings": "answer"}
# The simulated headset's own patient-state stream is the simulation's ground truth, not a
# sensor: the live console does not plot it either (physio_panel.default_auto_plot).
NOT_PHYSIOLOGY = ("simpatient",)
TYPE_ORDER = ("ECG", "PPG", "EDA", "GSR", "RESP", "EEG")


def mmss(seconds: float) -> str:
    """Session time as "mm:ss" (minutes unbounded), rounded down: a cursor at 6.9 s is at 00:06."""
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def ago_text(seconds: float) -> str:
    """How long ago, in words a therapist reads at a glance ("just now", "12 s ago", "3 min ago")."""
    if seconds < 1:
        return "just now"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    return f"{seconds / 60:.0f} min ago"


def physiology(session: RecordedSession) -> list[Stream]:
    """The session's physiology streams in a calm order (ECG, PPG, EDA, respiration, …),
    without the simulation's own state stream and without empty streams."""
    found = [s for s in session.signals if len(s.t) and s.kind.lower() not in NOT_PHYSIOLOGY]

    def order(s: Stream) -> tuple[int, str, str]:
        kind = s.kind.upper()
        return (TYPE_ORDER.index(kind) if kind in TYPE_ORDER else len(TYPE_ORDER), kind, s.name.lower())

    return sorted(found, key=order)


@dataclass(frozen=True)
class RatingAt:
    """The latest rating of one kind at the cursor."""

    kind: str  # suds, expectancy, outcome
    value: float
    t: float  # when it was given, session time
    ago_s: float  # how long before the cursor


@dataclass(frozen=True)
class SignalValue:
    """One stream's value at the cursor; ``values`` is None where the stream has no sample
    near the cursor (before it started, after it ended, in a dropout)."""

    name: str
    kind: str
    channels: list[str]
    units: list[str]
    values: list[float] | None


@dataclass(frozen=True)
class Snapshot:
    """What is true at the cursor: everything the review window shows, in plain values."""

    t: float
    duration: float
    time_text: str  # "mm:ss / mm:ss"
    playing: bool
    speed: float
    stimulus: dict[str, float]  # "param (unit)" -> applied value, as session.stimulus_at(t)
    ratings: dict[str, RatingAt]  # kind -> the latest rating up to t
    recent_events: list[dict]  # events within the last RECENT_S seconds, oldest first
    event_index: int  # index in model.events of the latest event at or before t; -1 if none
    frame: MirrorFrame | None  # the mirror frame the therapist was seeing at t
    frame_age_s: float | None  # how old that frame was at t (the mirror may have paused)
    signals: list[SignalValue]


class ReviewModel:
    """A recorded session with a cursor. ``changed`` fires after any change of the cursor,
    the playing state or the speed (GUI thread)."""

    changed = Signal()  # the cursor, the playing state or the speed changed

    def __init__(self, session: RecordedSession, recent_s: float = RECENT_S):
        self.session = session
        self.recent_s = recent_s
        self.duration = session.duration
        self.t = 0.0
        self.playing = False
        self.speed = SPEEDS[0]
        self.events: list[dict] = sorted(session.events, key=lambda e: e["t"])
        self.signals: list[Stream] = physiology(session)
        # Lookups at 20 Hz during playback: search sorted arrays made once, not lists per call
        # (the session does the same for its stimulus and mirror frames).
        self._event_t = [float(e["t"]) for e in self.events]
        self._ratings: dict[str, tuple[list[float], list[dict]]] = {}
        for r in sorted(session.ratings, key=lambda r: r["t"]):
            times, rows = self._ratings.setdefault(r["kind"], ([], []))
            times.append(float(r["t"]))
            rows.append(r)

    # -- the cursor (GUI thread) -----------------------------------------------------
    def seek(self, t: float) -> None:
        """Move the cursor to session time ``t``, held within the session."""
        t = min(max(float(t), 0.0), self.duration)
        if t != self.t:
            self.t = t
            self.changed.emit()

    def step(self, dt: float) -> None:
        """Move the cursor by ``dt`` seconds (negative: back)."""
        self.seek(self.t + dt)

    def _kinds(self, kinds: Iterable[str] | None) -> set[str] | None:
        return None if kinds is None else {KIND_ALIASES.get(k, k) for k in kinds}

    def next_event_time(self, kinds: Iterable[str] | None = None) -> float | None:
        """When the first event (of these kinds) after the cursor happened; None if none."""
        wanted = self._kinds(kinds)
        start = bisect.bisect_right(self._event_t, self.t + EPSILON_S)
        for i in range(start, len(self.events)):
            if wanted is None or self.events[i]["kind"] in wanted:
                return self._event_t[i]
        return None

    def previous_event_time(self, kinds: Iterable[str] | None = None) -> float | None:
        """When the last event (of these kinds) before the cursor happened; None if none.
        While playing, an event passed less than PREVIOUS_GRACE_S (wall time) ago is skipped."""
        wanted = self._kinds(kinds)
        grace = PREVIOUS_GRACE_S * self.speed if self.playing else EPSILON_S
        end = bisect.bisect_left(self._event_t, self.t - grace)
        for i in range(end - 1, -1, -1):
            if wanted is None or self.events[i]["kind"] in wanted:
                return self._event_t[i]
        return None

    def next_event(self, kinds: Iterable[str] | None = None) -> bool:
        """Jump to the next event (e.g. ``kinds=("safety", "marker")``); False if there is none."""
        t = self.next_event_time(kinds)
        if t is not None:
            self.seek(t)
        return t is not None

    def previous_event(self, kinds: Iterable[str] | None = None) -> bool:
        """Jump to the previous event; False if there is none."""
        t = self.previous_event_time(kinds)
        if t is not None:
            self.seek(t)
        return t is not None

    # -- playback (GUI thread, from the window's timer) ------------------------------
    def play(self) -> None:
        """Start playing; from the beginning again when the cursor is at the end."""
        if self.playing:
            return
        if self.t >= self.duration:
            self.t = 0.0
        self.playing = self.duration > 0
        self.changed.emit()

    def pause(self) -> None:
        if self.playing:
            self.playing = False
            self.changed.emit()

    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def set_speed(self, speed: float) -> None:
        """Playback speed, one of :data:`SPEEDS`."""
        if speed not in SPEEDS:
            raise ValueError(f"speed {speed} is not one of {SPEEDS}")
        if speed != self.speed:
            self.speed = speed
            self.changed.emit()

    def advance(self, wall_dt: float) -> None:
        """Playback: ``wall_dt`` seconds of wall time have passed; the cursor moves that
        times the speed, and playback stops at the end of the session."""
        if not self.playing or wall_dt <= 0:
            return
        t = self.t + wall_dt * self.speed
        if t >= self.duration:
            self.t, self.playing = self.duration, False
        else:
            self.t = t
        self.changed.emit()

    # -- what is true at the cursor (GUI thread) -------------------------------------
    def event_index(self, t: float | None = None) -> int:
        """Index in :attr:`events` of the latest event at or before ``t``; -1 if none."""
        return bisect.bisect_right(self._event_t, self.t if t is None else t) - 1

    def stimulus_at(self, t: float) -> dict[str, float]:
        """The applied value of each parameter at ``t``."""
        return self.session.stimulus_at(t)

    def ratings_at(self, t: float) -> dict[str, RatingAt]:
        found = {}
        for kind, (times, rows) in self._ratings.items():
            i = bisect.bisect_right(times, t) - 1
            if i >= 0:
                found[kind] = RatingAt(kind, rows[i]["value"], times[i], t - times[i])
        return found

    def frame_at(self, t: float) -> tuple[MirrorFrame | None, float | None]:
        """The mirror frame shown at ``t`` and how old it was then."""
        frame = self.session.frame_at(t)
        return (frame, t - frame.t) if frame is not None else (None, None)

    @staticmethod
    def value_at(stream: Stream, t: float) -> list[float] | None:
        """The stream's last sample at or before ``t``, if it is recent enough to stand for
        the value at ``t`` (a few sample periods, at least half a second)."""
        i = int(np.searchsorted(stream.t, t, side="right")) - 1
        if i < 0:
            return None
        rate = stream.rate or stream.measured_rate()
        tolerance = max(0.5, 3.0 / rate) if rate > 0 else 2.0
        if t - stream.t[i] > tolerance:
            return None
        return [float(v) for v in stream.data[i]]

    def snapshot(self) -> Snapshot:
        t = self.t
        index = self.event_index(t)
        first_recent = bisect.bisect_right(self._event_t, t - self.recent_s)
        frame, age = self.frame_at(t)
        return Snapshot(
            t=t,
            duration=self.duration,
            time_text=f"{mmss(t)} / {mmss(self.duration)}",
            playing=self.playing,
            speed=self.speed,
            stimulus=self.stimulus_at(t),
            ratings=self.ratings_at(t),
            recent_events=self.events[first_recent : index + 1],
            event_index=index,
            frame=frame,
            frame_age_s=age,
            signals=[SignalValue(s.name, s.kind, s.channels, s.units, self.value_at(s, t)) for s in self.signals],
        )
