"""A recorded session folder, read back: what the report, the export and the review window
all start from. No Qt.

A session folder holds:

- ``session.json``: the manifest (session id, patient code, wall-clock start and end, the
  console clock at the start, state: recording / complete / interrupted / recovered);
- ``session.xdf``: every stream, written by LabRecorder's engine (sensors and our own
  ``vrclinic-events``, ``-stimulus`` and ``-ratings`` marker streams); when the recorder had to
  stop and went on (the disk was full), the streams go on in ``session.part2.xdf`` … and
  ``session.json`` lists the parts and the stretches not recorded. :func:`load` reads them all
  through :mod:`console.records.completeness`, which also says what the files are missing;
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
import hmac
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from console.core.clock import clock_text
from console.core.secrets import SecretError, SecretStore, default_store
from console.records import completeness as xdfcheck
from protocol import messages

MANIFEST = "session.json"
XDF = "session.xdf"
EVENTS = "events.jsonl"
MIRROR_DIR = "mirror"
MIRROR_INDEX = "index.csv"
MIRROR_COLUMNS = ["frame", "at", "session_s", "width", "height", "file"]
# The exit status of `vrclinic review/report/export` when what was asked was done but the
# recording does not hold all it should (see RecordedSession.problems); 2 is "could not".
EXIT_INCOMPLETE = 3


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
    log_check: ChainCheck | None = None  # the event log's chains (keyed and unkeyed), checked on loading
    markers: dict[str, list[tuple[float, str]]] = field(default_factory=dict)  # other marker streams
    mirror: list[MirrorFrame] = field(default_factory=list)
    streams: list[tuple[str, str, int]] = field(default_factory=list)  # name, type, samples
    problems: list[str] = field(default_factory=list)  # what was damaged or missing, in words
    completeness: xdfcheck.Completeness | None = None  # the XDF files checked (None: there are none)

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)

    @property
    def patient(self) -> str:
        return self.manifest.get("patient") or ""

    @property
    def state(self) -> str:
        return self.manifest.get("state", "complete")

    @property
    def state_text(self) -> str:
        """The state as a reader may claim it: never "complete" for files that hold less."""
        if self.problems and self.state == "complete":
            return "incomplete (session.json says complete, but the files hold less: see the problems)"
        return self.state

    def problems_text(self) -> str:
        """What is missing or damaged, for a terminal: one line each (empty when complete)."""
        if not self.problems:
            return ""
        return f"The recording in {self.folder} is incomplete or damaged:\n" + "".join(
            f"- {p}\n" for p in self.problems
        )

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
    """``session.json`` as it is, or {} when there is none or it is not a JSON object (see
    :func:`checked_manifest` for the readers, which say what was wrong)."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


# The manifest's keys a reader uses, with the type each must have, in words. A key of the
# wrong type (a number for the patient's code, a list where a time goes) is left out, and said.
_TEXT, _NUMBER, _WHOLE = (str,), (int, float), (int,)
MANIFEST_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "format": (_TEXT, "text"),
    "session_id": (_TEXT, "text (the session's id)"),
    "patient": (_TEXT, "text (the patient's pseudonymous code)"),
    "started_wall": (_TEXT, "text (an ISO 8601 time)"),
    "ended_wall": (_TEXT, "text (an ISO 8601 time)"),
    "recovered_wall": (_TEXT, "text (an ISO 8601 time)"),
    "state": (_TEXT, "text (recording, complete, incomplete, interrupted or recovered)"),
    "host": (_TEXT, "text"),
    "console": (_TEXT, "text"),
    "format_version": (_WHOLE, "a whole number"),
    "pid": (_WHOLE, "a whole number"),
    "started_clock": (_NUMBER, "a number (seconds on the console's clock)"),
    "recording_started_clock": (_NUMBER, "a number (seconds on the console's clock)"),
    "ended_clock": (_NUMBER, "a number (seconds on the console's clock)"),
    "duration_s": (_NUMBER, "a number of seconds"),
    "recorded_s": (_NUMBER, "a number of seconds"),
    "mirror_fps": (_NUMBER, "a number"),
    "mirror_frames": (_WHOLE, "a whole number"),
    "mirror_frames_dropped": (_WHOLE, "a whole number"),
    "streams": ((list,), "a list of stream names"),
    "problems": ((list,), "a list of sentences"),
    "parts": ((list,), "a list of the XDF parts"),
    "gaps": ((list,), "a list of the stretches not recorded"),
    "summary": ((dict,), "an object"),
}
_LIST_ITEMS = {"streams": str, "problems": str, "parts": dict, "gaps": dict}


def _kind_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return {int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def checked_manifest(folder: Path) -> tuple[dict, list[str]]:
    """``session.json`` with only the keys of the right type, and a sentence for each that was
    not (naming the file and the key), or for a file that could not be read at all."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return {}, []
    try:
        raw = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        return {}, [f"{path} could not be read ({exc.strerror or exc}): the session's details are unknown"]
    except (UnicodeDecodeError, ValueError) as exc:
        return {}, [f"{path} is not valid JSON ({exc}): the session's details (patient, start, state) are unknown"]
    if not isinstance(raw, dict):
        return {}, [f"{path} holds {_kind_of(raw)}, not a JSON object: the session's details are unknown"]
    manifest, problems = {}, []
    for key, value in raw.items():
        wanted = MANIFEST_KEYS.get(key)
        if wanted is None or value is None:
            manifest[key] = value  # keys of later versions, and "not recorded", pass as they are
            continue
        types, words = wanted
        ok = isinstance(value, types) and not isinstance(value, bool)
        if ok and isinstance(value, float) and not math.isfinite(value):
            ok = False
        item = _LIST_ITEMS.get(key)
        if ok and item is not None:
            ok = all(isinstance(v, item) for v in value)
            words = f"{words}, each {'text' if item is str else 'an object'}"
        if ok:
            manifest[key] = value
        else:
            shown = json.dumps(value, ensure_ascii=False)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            problems.append(f'{path}: the key "{key}" holds {shown} ({_kind_of(value)}) where {words} belongs; ignored')
    return manifest, problems


# -- the event log's audit trail ------------------------------------------------------------
#
# Every line of events.jsonl carries two links to the line before it:
# - ``chain``: SHA-256 of the previous line's chain and this line's content. Anyone can
#   recompute it (with :func:`chain_hash`), so it detects accidental damage only: a disk
#   error, a cut, a slip in an editor.
# - ``mac``: HMAC-SHA256 under this installation's audit key of the previous line's mac and
#   this line's content. The key is kept in the OS keyring or a 0600 file
#   (:mod:`console.core.secrets`), never beside the data and never logged: whoever edits the
#   file cannot recompute it, so an edit shows as ALTERED (BRIEF §6c).
# The first keyed line names its key (``audit_key``: the first 8 hex digits of the key's
# SHA-256) so that a reader knows which key it needs, and every line after it must be keyed.
# The first keyed link starts from the unkeyed link before it (not from nothing), so lines
# written before the key was at hand (an old log appended to, a slow keyring) are covered too.
# Logs recorded before the keyed chain carry ``chain`` only; older ones, neither.

AUDIT_KEY = "audit-key"  # the secret's name in the store
KEYED_SINCE = "vrclinic 1.1"  # the first version that keyed the chain


def key_id(key: bytes) -> str:
    """Names a key without giving it away: the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:8]


@dataclass(frozen=True)
class AuditKey:
    """This installation's audit key; never shown (``repr``) nor written but to the secret store."""

    key: bytes = field(repr=False)

    @property
    def id(self) -> str:
        return key_id(self.key)


def audit_key(store: SecretStore | None = None) -> AuditKey:
    """This installation's audit key, made (32 random bytes) and kept on first use. Raises
    SecretError, in words, when the store cannot be used. Not on the GUI thread: the keyring
    may wait for D-Bus or for the user to unlock it."""
    store = store or default_store()
    return AuditKey(store.get_or_create(AUDIT_KEY, lambda: os.urandom(32)))


# Readers find the key a log names with a lookup: key id -> the key, or None when it is not here.
KeyLookup = Callable[[str], bytes | None]


def key_here(wanted: str) -> bytes | None:
    """The audit key of that id when this installation holds it, else None. Raises SecretError
    when the secret store cannot be read. Not on the GUI thread."""
    key = default_store().get(AUDIT_KEY)
    return key if key is not None and key_id(key) == wanted else None


def no_keys(_wanted: str) -> bytes | None:
    """The lookup of a reader that wants the rows, not the keyed check (nothing is looked up)."""
    return None


def _content(row: dict) -> str:
    """A line's content as both links hash it: every field but the links, in one spelling."""
    body = {k: v for k, v in row.items() if k != "chain" and k != "mac"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _utf8(text: str) -> bytes:
    # surrogatepass: a lone surrogate (legal in JSON text) still hashes; valid text is plain UTF-8.
    return text.encode("utf-8", "surrogatepass")


def chain_hash(previous: str, row: dict) -> str:
    """The unkeyed link: SHA-256 of the previous line's ``chain`` and this line's content.
    Anyone can recompute it, so it detects accidental damage, not editing (:func:`mac_hash`)."""
    return hashlib.sha256(_utf8(previous + _content(row))).hexdigest()


def mac_hash(key: bytes, previous: str, row: dict) -> str:
    """The keyed link: HMAC-SHA256 under the audit key of the previous line's ``mac`` and this
    line's content. It cannot be recomputed without the key."""
    return hmac.new(key, _utf8(previous + _content(row)), hashlib.sha256).hexdigest()


def link_row(row: dict, previous_chain: str, previous_mac: str | None, key: AuditKey | None) -> tuple[str, str | None]:
    """Give a new line its links: ``chain``, and with a key ``mac`` (the caller puts
    ``audit_key`` in the first line under a key). ``previous_mac`` is None while the log has
    no keyed line yet. Returns (chain, mac) to pass for the next line."""
    content = _content(row)
    row.pop("mac", None)
    start = previous_chain if previous_mac is None else previous_mac  # see the note above
    row["chain"] = hashlib.sha256(_utf8(previous_chain + content)).hexdigest()
    if key is None:
        return row["chain"], previous_mac
    row["mac"] = hmac.new(key.key, _utf8(start + content), hashlib.sha256).hexdigest()
    return row["chain"], row["mac"]


@dataclass(frozen=True)
class ChainCheck:
    """The event log's links, checked. Rows are lines of ``events.jsonl``, 1-based."""

    entries: int  # whole lines read, up to the first break
    chained: int  # of them, lines that carry an unkeyed link (logs from before the chain have none)
    broken_at: int | None  # the first line that cannot be read or whose unkeyed link does not follow
    last_hash: str = ""  # the unkeyed chain's newest link, where a journal appending to the log goes on
    keyed: int = 0  # of the entries, lines in the keyed chain
    key_id: str = ""  # the audit key the log names (the last named, where a journal goes on)
    altered_at: int | None = None  # the first line the keyed chain shows altered
    why: str = ""  # what is wrong at that line (altered_at, else broken_at), in words
    missing_key: str = ""  # why the keyed chain could not be checked, in words ("" when it was)
    last_mac: str = ""  # the keyed chain's newest link

    @property
    def first_bad(self) -> int | None:
        found = [n for n in (self.altered_at, self.broken_at) if n is not None]
        return min(found) if found else None

    @property
    def intact(self) -> bool:
        """Checked with the key and unaltered: the only state that shows no one edited it."""
        return self.keyed > 0 and not self.missing_key and self.first_bad is None

    def text(self) -> str:
        """The log's state in words, for the report, the review and the export."""
        bad = self.first_bad
        if self.altered_at is not None or (bad is not None and self.keyed and not self.missing_key):
            return f"ALTERED at row {bad} of {EVENTS}: {self.why}"
        if self.missing_key:
            unkeyed = (
                "the unkeyed hash chain is intact, which detects accidental damage only"
                if bad is None
                else f"the unkeyed hash chain breaks at row {bad} ({self.why}): damaged or altered"
            )
            return f"cannot verify: {self.missing_key}; {unkeyed}"
        if bad is not None:
            return f"ALTERED or damaged at row {bad} of {EVENTS}: {self.why} (an unkeyed chain)"
        if self.keyed:
            return f"{self.entries} entries, intact (keyed, key {self.key_id})"
        if self.chained == 0:
            return f"{self.entries} entries (written before the log was hash-chained)"
        return (
            f"{self.entries} entries, unkeyed chain (recorded before {KEYED_SINCE}): "
            "detects accidental damage, not editing"
        )

    def problem(self) -> str | None:
        """A sentence for the recording's problems when the log is altered or damaged; None
        when it is intact, from before the keyed chain, or only not verifiable here (a session
        read on another PC is not damaged: :meth:`text` says what it proves)."""
        if self.first_bad is not None:
            return f"the event log: {self.text()}"
        return None


def read_event_log(path: Path, keys: KeyLookup | None = None) -> tuple[list[dict], int, ChainCheck]:
    """The event log in one pass: its rows, how many lines could not be read (normally only a
    last line cut short by a crash), and its chains checked (a cut last line is not a break).
    ``keys`` finds the audit key a keyed log names (default :func:`key_here`, this
    installation's; it is asked only when the log is keyed). Read as bytes: a cut can split a
    UTF-8 character. A row is a JSON object with a finite ``at`` and a text ``kind``;
    ``session_s``, ``headset`` and ``text`` are filled in. Raises OSError if the file cannot be
    read; nothing else, whatever it holds."""
    lookup = keys or key_here
    rows: list[dict] = []
    damaged = entries = chained = keyed = 0
    broken_at: int | None = None
    altered_at: int | None = None
    keyed_from = 0
    why = previous = previous_mac = named = missing = ""
    key: bytes | None = None
    lines = path.read_bytes().split(b"\n") if path.exists() else []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
            content = _content(row) if isinstance(row, dict) else ""
        except (UnicodeDecodeError, ValueError, RecursionError):
            row = None
        if not isinstance(row, dict):
            damaged += 1
            if broken_at is None and altered_at is None and number < len(lines) - 1:  # not a crash's cut line
                broken_at, why = number, "the line cannot be read"
            continue
        if broken_at is None and altered_at is None:
            entries += 1
            if not keyed:
                previous_mac = previous  # the first keyed link starts from the unkeyed chain
            link = row.get("chain")
            if "chain" in row:  # logs from before the chain have none
                chained += 1
                if not isinstance(link, str) or link != hashlib.sha256(_utf8(previous + content)).hexdigest():
                    broken_at, why = number, "its unkeyed link does not follow from the row before"
                previous = link if isinstance(link, str) else ""
            name = row.get("audit_key")
            if name is not None and (name if isinstance(name, str) else repr(name)) != named:
                named = name if isinstance(name, str) else repr(name)
                key, missing = _find_key(lookup, named)
            if "mac" in row or named:  # once keyed, every later line must be
                keyed += 1
                keyed_from = keyed_from or number
                mac = row.get("mac")
                if not named:
                    altered_at, why = number, "it has a keyed link but the log names no audit key"
                elif not isinstance(mac, str):
                    altered_at, why = number, f"it has no keyed link, though the log is keyed from row {keyed_from}"
                elif key is not None and not hmac.compare_digest(
                    _utf8(mac), hmac.new(key, _utf8(previous_mac + content), hashlib.sha256).hexdigest().encode()
                ):
                    altered_at = number
                    why = f"its keyed link (key {named}) does not match: changed, added or removed after recording"
                previous_mac = mac if isinstance(mac, str) else ""
        try:
            at = float(row["at"])
            if not math.isfinite(at) or not isinstance(row["kind"], str):
                raise ValueError("not an event")
            session_s = row.get("session_s")
            session_s = None if session_s is None else float(session_s)
            rows.append(
                {
                    **row,
                    "at": at,
                    "session_s": session_s if session_s is None or math.isfinite(session_s) else None,
                    "headset": str(row.get("headset") or ""),
                    "text": str(row.get("text") or ""),
                }
            )
        except (ValueError, TypeError, KeyError, OverflowError):  # OverflowError: an integer too large for a float
            damaged += 1
    check = ChainCheck(
        entries, chained, broken_at, previous, keyed, named, altered_at, why, missing if keyed else "", previous_mac
    )
    return rows, damaged, check


def _find_key(lookup: KeyLookup, wanted: str) -> tuple[bytes | None, str]:
    """The key a log names, or why it cannot be had, in words."""
    try:
        key = lookup(wanted)
    except SecretError as exc:
        return None, f"the audit key {wanted} could not be read on this PC ({exc})"
    if key is None or key_id(key) != wanted:
        elsewhere = "it was recorded on another console, or rewritten with another key"
        return None, f"the audit key {wanted} is not on this PC ({elsewhere})"
    return key, ""


def verify_chain(path: Path, keys: KeyLookup | None = None) -> ChainCheck:
    """Check the event log's chains (see :func:`read_event_log`)."""
    return read_event_log(path, keys)[2]


def read_events(path: Path) -> tuple[list[dict], int]:
    """The event log's rows and how many lines could not be read (see :func:`read_event_log`);
    the keyed chain is not checked, so no key is looked up."""
    rows, damaged, _check = read_event_log(path, no_keys)
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
    parts, log = xdfcheck.xdf_parts(folder), folder / EVENTS
    if not folder.is_dir() or (not parts and not log.exists()):
        raise SessionFileError(
            f"{folder} holds no recorded session (no {XDF}, no {EVENTS}). Choose a session folder made by recording."
        )
    manifest, manifest_problems = checked_manifest(folder)
    s = RecordedSession(folder, manifest=manifest)
    s.problems += manifest_problems
    try:
        s.events, damaged, s.log_check = read_event_log(log)
    except OSError as exc:
        raise SessionFileError(f"{log} could not be read ({exc.strerror or exc}).") from exc
    if (log_problem := s.log_check.problem()) is not None:  # altered, damaged, or not verifiable here
        s.problems.append(log_problem)
    if damaged:
        s.problems.append(f"{damaged} damaged line(s) in {EVENTS} skipped (the console stopped mid-write)")
    odd = [e for e in s.events if e.get("data") is not None and not isinstance(e["data"], dict)]
    for e in odd:  # an entry's numbers are an object; anything else is not the console's
        del e["data"]
    if odd:
        s.problems.append(f"{len(odd)} entries of {EVENTS} carry data that is not an object: their data was ignored")
    streams: list[dict] = []
    started_clock = s.manifest.get("started_clock")
    if parts:
        # Where the recording should have gone on to: the manifest's end, else the event log's last entry.
        end = s.manifest.get("ended_clock", max((e["at"] for e in s.events), default=None))
        try:
            streams, s.completeness = xdfcheck.read_xdf(
                folder, xdfcheck.manifest_part_ends(s.manifest), end, started_clock, say
            )
        except OSError as exc:
            raise SessionFileError(f"{folder} could not be read ({exc.strerror or exc}).") from exc
        s.problems += s.completeness.problems
        held = xdfcheck.missing_from_xdf(s.manifest.get("streams", []), s.completeness.streams)
        if held:
            s.problems.append(f"streams the recorder was started with that no XDF file holds: {', '.join(held)}")
        s.problems += xdfcheck.gap_words(s.manifest, started_clock if started_clock is not None else 0.0)
    elif s.events:
        s.problems.append(f"no {XDF}: only the event log is available")
    if s.state in ("interrupted", "recording"):
        s.problems.append("the recording was interrupted (the console stopped without closing it)")

    starts = [e["at"] for e in s.events] + [st["time_stamps"][0] for st in streams if len(st["time_stamps"])]
    ends = [e["at"] for e in s.events] + [st["time_stamps"][-1] for st in streams if len(st["time_stamps"])]
    if not starts:
        raise SessionFileError(f"{folder}: the recording holds no data.")
    s.start = float(started_clock) if started_clock is not None else min(starts)
    s.end = max(ends)
    for e in s.events:
        e["t"] = e["at"] - s.start
    say("sorting streams")
    unreadable: dict[str, int] = {}
    xdf_events: list[dict] = []
    for st in streams:
        info = st["info"]
        try:
            name, kind, fmt = str(info["name"][0]), str((info.get("type") or [""])[0]), info["channel_format"][0]
            count, rate = int(info["channel_count"][0]), float(info["nominal_srate"][0])
        except (KeyError, IndexError, TypeError, ValueError):  # a foreign writer's header
            s.problems.append(f"a stream without a name, format or rate in its header was skipped ({info!r:.60})")
            continue
        stamps = np.asarray(st["time_stamps"], dtype=float)
        s.streams.append((name, kind, len(stamps)))
        series = st["time_series"]
        if fmt == "string":
            if name.endswith("-stimulus"):
                for t, (payload,) in zip(stamps, series, strict=True):
                    try:
                        row = _payload(payload, t - s.start)
                        applied = None if row.get("applied") is None else float(row["applied"])
                        unit = f" ({row['unit']})" if row.get("unit") else ""
                        label = f"{row['parameter']}{unit}"
                    except (ValueError, TypeError, KeyError):
                        unreadable[name] = unreadable.get(name, 0) + 1
                        continue
                    s.stimulus_rows.append(row)
                    if applied is not None:
                        s.stimulus.setdefault(label, []).append((row["t"], applied))
            elif name.endswith("-ratings"):
                for t, (payload,) in zip(stamps, series, strict=True):
                    try:
                        row = _payload(payload, t - s.start)
                    except ValueError:
                        unreadable[name] = unreadable.get(name, 0) + 1
                        continue
                    if row.get("value") is not None:
                        s.ratings.append(row)
            elif name.endswith("-events"):  # our events are in events.jsonl, whole, unless it could not be written
                for t, (payload,) in zip(stamps, series, strict=True):
                    try:
                        row = _payload(payload, t - s.start)
                        xdf_events.append({**_event_row(row), "at": float(t), "session_s": round(t - s.start, 3)})
                    except (ValueError, TypeError):
                        unreadable[name] = unreadable.get(name, 0) + 1
                continue
            else:
                s.markers[name] = [(t - s.start, str(v[0])) for t, v in zip(stamps, series, strict=True)]
            continue
        data = np.asarray(series, dtype=float)
        if data.ndim == 1:
            data = data[:, None]
        channels, units = _desc_channels(info, count)
        s.signals.append(
            Signal(
                name=name,
                kind=kind,
                rate=rate,
                channels=channels,
                units=units,
                t=stamps - s.start,
                data=data,
                source_id=(info.get("source_id") or [""])[0],
            )
        )
    for name, count in unreadable.items():
        s.problems.append(f"{count} entries of the stream {name} are not the console's JSON objects: skipped")
    _events_after_the_log(s, xdf_events)
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


def _event_row(row: dict) -> dict:
    """An entry of the ``-events`` marker stream as an event-log row (without its times)."""
    if not isinstance(row.get("kind"), str):
        raise ValueError("no kind")
    out = {"kind": row["kind"], "headset": str(row.get("headset") or ""), "text": str(row.get("text") or "")}
    if isinstance(row.get("data"), dict):
        out["data"] = row["data"]
    return {**out, "t": row["t"]}


def _events_after_the_log(s: RecordedSession, xdf_events: list[dict]) -> None:
    """When ``events.jsonl`` stopped before the recording did (its disk filled up, and the
    journal cannot go on), the XDF's own events stream, written by the recorder, holds the
    entries after it: those are added, and said (no hash chain covers them)."""
    if not s.events or not xdf_events:
        return
    last = max(e["at"] for e in s.events)
    ended = s.manifest.get("ended_clock")
    later = [e for e in xdf_events if e["at"] > last + 0.5 and (ended is None or e["at"] <= ended)]
    if not later:
        return
    s.events = sorted([*s.events, *later], key=lambda e: e["at"])
    s.problems.append(
        f"{EVENTS} ends at {clock_text(last - s.start)} (it could not be written after that); "
        f"{len(later)} later entries were taken from the recording's events stream, "
        "which no hash chain covers"
    )


def _payload(text: str, t: float) -> dict:
    """One entry of a vrclinic marker stream (a JSON object), with its session time ``t``;
    ValueError when it is not one."""
    row = json.loads(text)
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    return {**row, "t": t}


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
