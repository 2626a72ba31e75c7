"""A recorded session folder, read back: what the report, the export and the review window
all start from. No Qt.

A session folder holds:

- ``session.json``: the manifest (session id, patient code, wall-clock start and end, the
  console clock at the start, state: recording / complete / interrupted / recovered);
- ``session.xdf``: every stream, written by LabRecorder's engine (sensors and our own
  ``vrclinic-events``, ``-stimulus`` and ``-ratings`` marker streams);
- ``events.jsonl``: the console's event log, one JSON object per line, appended as it
  happens (so a crash loses at most the line being written);
- ``mirror/``: optionally, the patient's view as JPEG frames at a reduced rate, with
  ``index.csv`` giving each frame's console-clock time.

Every time here is in seconds on the console's clock; ``t`` fields are seconds from the
session's start (the console's session clock, 0:00 when the console started).

Threads: :func:`load` runs in whichever thread calls it (a command, or a worker thread of
the review window: reading a long XDF takes seconds).
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from protocol import messages

MANIFEST = "session.json"
XDF = "session.xdf"
EVENTS = "events.jsonl"
MIRROR_DIR = "mirror"
MIRROR_INDEX = "index.csv"
MIRROR_COLUMNS = ["frame", "at", "session_s", "width", "height", "file"]


class SessionFileError(RuntimeError):
    """The folder cannot be read as a session; the text says why and what to do."""


@dataclass
class Signal:
    """One numeric stream: samples (n × channels) at times ``t`` (s from the session start)."""

    name: str
    kind: str
    rate: float  # announced; 0 for irregular
    channels: list[str]
    units: list[str]
    t: np.ndarray
    data: np.ndarray
    source_id: str = ""

    def measured_rate(self) -> float:
        return (len(self.t) - 1) / (self.t[-1] - self.t[0]) if len(self.t) > 1 and self.t[-1] > self.t[0] else 0.0


@dataclass
class MirrorFrame:
    t: float
    at: float
    width: int
    height: int
    path: Path


@dataclass
class RecordedSession:
    folder: Path
    manifest: dict = field(default_factory=dict)
    start: float = 0.0  # console clock at the session's 0:00
    end: float = 0.0
    events: list[dict] = field(default_factory=list)  # events.jsonl rows, plus "t"
    ratings: list[dict] = field(default_factory=list)  # kind, value, headset, ..., "t"
    stimulus_rows: list[dict] = field(default_factory=list)  # every stimulus sample, plus "t"
    stimulus: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # "param (unit)" -> (t, applied)
    signals: list[Signal] = field(default_factory=list)
    log_check: ChainCheck | None = None  # the event log's hash chain, checked on loading
    markers: dict[str, list[tuple[float, str]]] = field(default_factory=dict)  # other marker streams
    mirror: list[MirrorFrame] = field(default_factory=list)
    streams: list[tuple[str, str, int]] = field(default_factory=list)  # name, type, samples
    problems: list[str] = field(default_factory=list)  # what was damaged or missing, in words

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)

    @property
    def patient(self) -> str:
        return self.manifest.get("patient") or ""

    @property
    def state(self) -> str:
        return self.manifest.get("state", "complete")

    def signal(self, kind: str) -> Signal | None:
        """The stream of this LSL type with the most samples (e.g. ``"EDA"``, ``"ECG"``)."""
        found = [s for s in self.signals if s.kind.upper() == kind.upper() and len(s.t)]
        return max(found, key=lambda s: len(s.t)) if found else None

    # Looked up at every cursor move of the review window: sorted times made once (after
    # load() has filled the session), not lists built per call.
    @cached_property
    def _frame_times(self) -> list[float]:
        return [f.t for f in self.mirror]

    @cached_property
    def _stimulus_times(self) -> dict[str, list[float]]:
        return {label: [p[0] for p in points] for label, points in self.stimulus.items()}

    def frame_at(self, t: float) -> MirrorFrame | None:
        """The mirror frame the therapist was seeing at session time ``t`` (the last one before)."""
        i = bisect.bisect_right(self._frame_times, t) - 1
        return self.mirror[i] if i >= 0 else None

    def stimulus_at(self, t: float) -> dict[str, float]:
        """The applied value of each parameter at session time ``t``."""
        values = {}
        for label, times in self._stimulus_times.items():
            i = bisect.bisect_right(times, t) - 1
            if i >= 0:
                values[label] = self.stimulus[label][i][1]
        return values


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def chain_hash(previous: str, row: dict) -> str:
    """The event log's hash chain: each line carries the SHA-256 of the previous line's hash
    and its own content, so an entry changed or removed after the session shows (BRIEF:
    audit trails append-only and tamper-evident)."""
    body = {k: v for k, v in row.items() if k != "chain"}
    text = previous + json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    entries: int  # whole lines read
    chained: int  # of them, lines that carry a hash (logs from before the chain have none)
    broken_at: int | None  # 1-based line of the first entry whose hash does not follow, if any
    last_hash: str = ""  # the chain's newest link, where a journal appending to the log goes on

    def text(self) -> str:
        if self.broken_at is not None:
            return f"altered after recording: the hash chain breaks at line {self.broken_at} of {EVENTS}"
        if self.chained == 0:
            return f"{self.entries} entries (written before the log was hash-chained)"
        return f"{self.entries} entries, hash chain intact"


def read_event_log(path: Path) -> tuple[list[dict], int, ChainCheck]:
    """The event log in one pass: its rows, how many lines could not be read (normally only a
    last line cut short by a crash), and its hash chain checked (a cut last line is not a
    break). Read as bytes: a cut can split a UTF-8 character. A row needs a finite ``at`` and
    a text ``kind``; ``session_s``, ``headset`` and ``text`` are filled in. Raises OSError if
    the file cannot be read."""
    rows: list[dict] = []
    damaged = entries = chained = 0
    broken_at: int | None = None
    previous = ""
    lines = path.read_bytes().split(b"\n") if path.exists() else []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            damaged += 1
            if broken_at is None and number < len(lines) - 1:  # not the line being written at a crash
                broken_at = number
            continue
        if broken_at is None:
            entries += 1
            if "chain" in row:  # logs from before the chain have none
                chained += 1
                if row["chain"] != chain_hash(previous, row):
                    broken_at = number
                previous = row["chain"]
        try:
            at = float(row["at"])
            if not math.isfinite(at) or not isinstance(row["kind"], str):
                raise ValueError("not an event")
            session_s = row.get("session_s")
            rows.append(
                {
                    **row,
                    "at": at,
                    "session_s": None if session_s is None else float(session_s),
                    "headset": str(row.get("headset") or ""),
                    "text": str(row.get("text") or ""),
                }
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            damaged += 1
    return rows, damaged, ChainCheck(entries, chained, broken_at, previous)


def verify_chain(path: Path) -> ChainCheck:
    """Check the event log's hash chain (see :func:`read_event_log`)."""
    return read_event_log(path)[2]


def read_events(path: Path) -> tuple[list[dict], int]:
    """The event log's rows and how many lines could not be read (see :func:`read_event_log`)."""
    rows, damaged, _check = read_event_log(path)
    return rows, damaged


# How the console's event log words an answer: "SUDS 45 (answered in 1.5 s)".
_RATING = re.compile(rf"^({'|'.join(k.value for k in messages.PromptKind)})\s+(\d+)", re.IGNORECASE)
_RESPONSE = re.compile(r"\((?:after|answered in)\s+(\d+(?:\.\d+)?)\s*s\)", re.IGNORECASE)


def parse_rating(text: str) -> tuple[str, int, float | None] | None:
    """A rating from an ``answer`` event's text: kind, value, response time; None for
    anything else (an expired prompt)."""
    m = _RATING.match(text)
    if not m:
        return None
    r = _RESPONSE.search(text)
    return m.group(1).lower(), int(m.group(2)), float(r.group(1)) if r else None


def read_mirror_index(folder: Path) -> list[dict]:
    index = Path(folder) / MIRROR_DIR / MIRROR_INDEX
    if not index.exists():
        return []
    with open(index, newline="", encoding="utf-8") as fh:
        rows = []
        for row in csv.DictReader(fh):
            try:
                rows.append({**row, "at": float(row["at"]), "width": int(row["width"]), "height": int(row["height"])})
            except (KeyError, TypeError, ValueError):
                continue  # the last row of a crashed session may be cut short
        return rows


def _desc_channels(info: dict, count: int) -> tuple[list[str], list[str]]:
    labels, units = [], []
    try:
        for ch in info["desc"][0]["channels"][0]["channel"]:
            labels.append((ch.get("label") or [""])[0])
            units.append((ch.get("unit") or [""])[0])
    except (KeyError, IndexError, TypeError):
        pass
    if len(labels) != count:
        labels = [f"ch{i + 1}" for i in range(count)]
        units = [""] * count
    return labels, units


def load(folder: Path, progress: Callable[[str], None] | None = None) -> RecordedSession:
    """Read a session folder. Damage is reported in ``problems``, not raised, when what is
    left is still readable; :class:`SessionFileError` when nothing is."""
    folder = Path(folder)
    say = progress or (lambda _text: None)
    xdf, log = folder / XDF, folder / EVENTS
    if not folder.is_dir() or (not xdf.exists() and not log.exists()):
        raise SessionFileError(
            f"{folder} holds no recorded session (no {XDF}, no {EVENTS}). Choose a session folder made by recording."
        )
    s = RecordedSession(folder, manifest=read_manifest(folder))
    s.events, damaged, s.log_check = read_event_log(log)
    if s.log_check.broken_at is not None:
        s.problems.append(f"the event log was {s.log_check.text()}")
    if damaged:
        s.problems.append(f"{damaged} damaged line(s) in {EVENTS} skipped (the console stopped mid-write)")
    streams = []
    if xdf.exists():
        import pyxdf

        say(f"reading {xdf.name} ({xdf.stat().st_size / 1e6:.1f} MB)")
        try:
            streams, _ = pyxdf.load_xdf(str(xdf), dejitter_timestamps=False)
        except Exception as exc:  # pyxdf raises several types on damaged files
            raise SessionFileError(f"{xdf} could not be read ({exc}); the recording may be damaged.") from exc
    elif s.events:
        s.problems.append(f"no {XDF}: only the event log is available")
    if s.state in ("interrupted", "recording"):
        s.problems.append("the recording was interrupted (the console stopped without closing it)")

    starts = [e["at"] for e in s.events] + [st["time_stamps"][0] for st in streams if len(st["time_stamps"])]
    ends = [e["at"] for e in s.events] + [st["time_stamps"][-1] for st in streams if len(st["time_stamps"])]
    if not starts:
        raise SessionFileError(f"{folder}: the recording holds no data.")
    started_clock = s.manifest.get("started_clock")
    s.start = float(started_clock) if isinstance(started_clock, (int, float)) else min(starts)
    s.end = max(ends)
    for e in s.events:
        e["t"] = e["at"] - s.start
    say("sorting streams")
    for st in streams:
        info = st["info"]
        name, kind = info["name"][0], info["type"][0]
        stamps = np.asarray(st["time_stamps"], dtype=float)
        s.streams.append((name, kind, len(stamps)))
        series = st["time_series"]
        if info["channel_format"][0] == "string":
            if name.endswith("-stimulus"):
                for t, (payload,) in zip(stamps, series, strict=True):
                    row = {**json.loads(payload), "t": t - s.start}
                    s.stimulus_rows.append(row)
                    if row.get("applied") is not None:
                        unit = f" ({row['unit']})" if row.get("unit") else ""
                        s.stimulus.setdefault(f"{row['parameter']}{unit}", []).append((row["t"], float(row["applied"])))
            elif name.endswith("-ratings"):
                for t, (payload,) in zip(stamps, series, strict=True):
                    row = json.loads(payload)
                    if row.get("value") is not None:
                        s.ratings.append({**row, "t": t - s.start})
            elif not name.endswith("-events"):  # our events are in events.jsonl, whole
                s.markers[name] = [(t - s.start, str(v[0])) for t, v in zip(stamps, series, strict=True)]
            continue
        data = np.asarray(series, dtype=float)
        if data.ndim == 1:
            data = data[:, None]
        count = int(info["channel_count"][0])
        channels, units = _desc_channels(info, count)
        s.signals.append(
            Signal(
                name=name,
                kind=kind,
                rate=float(info["nominal_srate"][0]),
                channels=channels,
                units=units,
                t=stamps - s.start,
                data=data,
                source_id=(info.get("source_id") or [""])[0],
            )
        )
    # The recorder's inlets join a few seconds after recording starts: ratings given before
    # that are not in the XDF, but the event log, written from the first moment, has them all.
    from_log = ratings_from_events(s.events)
    if len(from_log) > len(s.ratings):
        s.ratings = from_log
    s.ratings.sort(key=lambda r: r["t"])
    for row in read_mirror_index(folder):
        s.mirror.append(
            MirrorFrame(row["at"] - s.start, row["at"], row["width"], row["height"], folder / MIRROR_DIR / row["file"])
        )
    if s.mirror:
        s.end = max(s.end, s.mirror[-1].at)
    return s


def ratings_from_events(events: list[dict]) -> list[dict]:
    """Ratings as the event log words them (see :func:`parse_rating`)."""
    found = []
    for e in events:
        parsed = parse_rating(e["text"]) if e["kind"] == "answer" else None
        if parsed:
            kind, value, response_s = parsed
            found.append({"kind": kind, "value": value, "response_s": response_s, "headset": e["headset"], "t": e["t"]})
    return found


@dataclass
class Step:
    """A stretch of the session: a step of the plan, or (without a plan) one stimulus level,
    from one change the therapist made (a slider, a scene) to the next."""

    start: float  # session time
    end: float
    scene: str
    values: dict[str, tuple[float, str]]  # parameter -> (requested value, unit), held from before
    name: str = ""  # the plan step's position and label, e.g. "2. Spider at 2 m"

    def label(self) -> str:
        shown = " · ".join(f"{p} {v:.3g}{' ' + u if u else ''}" for p, (v, u) in sorted(self.values.items()))
        what = f"{self.scene}: {shown}" if shown else self.scene
        return f"{self.name} — {what}" if self.name else what


def plan_entry(event: dict) -> str:
    """What one of the plan's log entries (kind "step", written by
    :mod:`console.session.clinic.workflow`) records, told by the numbers it carries: "started",
    "habituation", "violation", "expectancy", or "" for the others (a step selected, a variation)."""
    data = event.get("data") or {}
    if event["kind"] != "step":
        return ""
    for key, what in (("label", "started"), ("habituation", "habituation"), ("violation", "violation")):
        if key in data:
            return what
    return "expectancy" if "expectancy" in data else ""


def session_steps(session: RecordedSession, merge_s: float = 3.0) -> list[Step]:
    """The steps as the therapist ran them: once a plan ran, its steps (each from its start
    to the next one's; variation within a step stays in it); before that, the stretches
    between stimulus changes (:func:`stimulus_steps`)."""
    started = [(e["t"], e["data"]) for e in session.events if plan_entry(e) == "started"]
    steps = stimulus_steps(session, merge_s)
    if not started:
        return steps
    # A stimulus change just before the plan's first step is that step being applied.
    before = [s for s in steps if s.start < started[0][0] - merge_s]
    if before:
        before[-1].end = min(before[-1].end, started[0][0])
    units = {row.get("parameter"): row.get("unit") or "" for row in session.stimulus_rows}
    for i, (t, data) in enumerate(started):
        end = started[i + 1][0] if i + 1 < len(started) else max(t, session.duration)
        values = {k: (float(v), units.get(k, "")) for k, v in (data.get("values") or {}).items()}
        before.append(Step(t, end, data.get("scene_id", ""), values, f"{data.get('position', i + 1)}. {data['label']}"))
    return before


def stimulus_steps(session: RecordedSession, merge_s: float = 3.0) -> list[Step]:
    """The session cut at every change of a requested stimulus value or of the scene.
    Changes within ``merge_s`` of each other are one step (several sliders set together)."""
    steps: list[Step] = []
    values: dict[str, tuple[float, str]] = {}
    scene = ""
    for row in session.stimulus_rows:
        requested, name = row.get("requested"), row.get("parameter", "")
        if requested is None:
            continue
        new_scene = row.get("scene") or scene
        changed = new_scene != scene or values.get(name, (None,))[0] != requested
        if not changed:
            continue
        if new_scene != scene:
            values = {}  # another scene has its own parameters
        scene = new_scene
        values[name] = (float(requested), row.get("unit") or "")
        t = row["t"]
        if steps and t - steps[-1].start < merge_s and steps[-1].scene == scene:
            steps[-1].values = dict(values)  # the same step, more sliders
        else:
            if steps:
                steps[-1].end = t
            steps.append(Step(t, session.duration, scene, dict(values)))
    if steps:
        steps[-1].end = max(steps[-1].start, session.duration)
    return steps
