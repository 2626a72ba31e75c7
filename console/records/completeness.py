"""Whether a recording holds what it should, in words: every reader of a session folder (the
review window, the report, the export, recovery) reads the XDF through :func:`read_xdf`,
which also says what is missing. No Qt.

The XDF parts
-------------
A session's streams are in ``session.xdf``. When the recorder had to stop during the session
(the disk filled up) and could go on later, it went on in a new file, ``session.part2.xdf``,
then ``session.part3.xdf`` …: LabRecorder's engine cannot reopen a file it stopped writing,
so each part is a whole XDF file of its own (file header, stream headers, samples, clock
offsets and, when it was closed properly, stream footers), readable alone by any XDF reader.
:func:`xdf_parts` finds them in order and :func:`read_xdf` joins them stream by stream (the
same LSL stream, by its uid): the time between two parts holds no samples, and the session's
``session.json`` says why (its ``gaps``).

What is checked
---------------
- **The file's structure**, chunk by chunk as the XDF 1.0 specification lays it out (length,
  tag, stream id, contents that fill the chunk exactly). Bytes that do not parse (garbage, a
  block the disk lost) are skipped up to the next place where chunks parse again, and counted;
  a file that ends in the middle of a chunk was cut off. pyxdf then reads only the chunks that
  parse, so it never loses its place, and what it logs is caught and put into words here
  rather than printed as a traceback.
- **The footers**: LabRecorder writes each stream's footer (first and last time stamp, sample
  count) when it closes the file; a missing footer means the file was never closed.
- **The counts**: the samples read against the footer's count, and, for a stream with a
  nominal rate, against that rate × the stream's time span: with a footer, the footer's span
  (samples the sensor never delivered); without one, from the stream's first sample to the end
  of the part as ``session.json`` gives it (or, with no end recorded, the event log's last
  entry).

Threads: runs in the caller's thread, which reads the whole file (seconds for a long
session): a worker thread of the review window or recovery, or a command.
"""

from __future__ import annotations

import heapq
import io
import logging
import mmap
import re
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError, fromstring

import numpy as np

XDF = "session.xdf"
_PART = re.compile(r"^session\.part([1-9][0-9]*)\.xdf$")
_MAGIC = b"XDF:"
_BOUNDARY = bytes.fromhex("43A546DCCBF5410FB30ED5467383CBE4")
_VALUE_BYTES = {"float32": 4, "double64": 8, "int8": 1, "int16": 2, "int32": 4, "int64": 8, "string": 0}
_RESYNC_CHUNKS = 3  # chunks that must parse in a row after damage before reading goes on there
# A stream is short when it misses more than this many seconds of its rate (a sensor's first
# and last chunk come up to a chunk late: well under a second).
_SLACK_S = 1.5
_SLACK_FRACTION = 0.02


def part_name(number: int) -> str:
    """The file name of the recording's part ``number`` (1: ``session.xdf``)."""
    return XDF if number == 1 else f"session.part{number}.xdf"


def xdf_parts(folder: Path) -> list[Path]:
    """The recording's XDF files in order: ``session.xdf``, then ``session.part2.xdf`` … (see
    the module docstring); only those that exist."""
    folder = Path(folder)
    numbered: list[tuple[int, Path]] = []
    if (folder / XDF).is_file():
        numbered.append((1, folder / XDF))
    if folder.is_dir():
        for path in folder.iterdir():
            found = _PART.match(path.name)
            if found and int(found.group(1)) > 1 and path.is_file():
                numbered.append((int(found.group(1)), path))
    return [path for _, path in sorted(numbered)]


# -- the structure of one file -------------------------------------------------------------------


@dataclass
class Damage:
    offset: int  # where the unreadable bytes start
    length: int  # how many were skipped
    why: str


@dataclass
class FileScan:
    """One XDF file's chunks, checked: which byte ranges hold whole chunks, which did not parse."""

    path: Path
    size: int = 0
    readable: list[tuple[int, int]] = field(default_factory=list)  # (start, end) of runs of whole chunks
    damage: list[Damage] = field(default_factory=list)
    cut_at: int | None = None  # the file ends inside a chunk that starts here
    not_xdf: bool = False
    footers: set[int] = field(default_factory=set)  # stream ids with a footer
    headers: set[int] = field(default_factory=set)
    first_time: float | None = None  # the earliest and latest sample time in the readable chunks
    last_time: float | None = None

    @property
    def span_s(self) -> float:
        """Seconds from the file's first sample to its last (0 without samples)."""
        if self.first_time is None or self.last_time is None:
            return 0.0
        return max(0.0, self.last_time - self.first_time)

    @property
    def whole(self) -> bool:
        return not self.damage and self.cut_at is None and not self.not_xdf


class _Bad(Exception):
    """A chunk that does not parse here."""


class _Short(_Bad):
    """A chunk that would need more bytes than the file has."""


def _past_time_stamp(buf: mmap.mmap, pos: int, end: int) -> int:
    """Where a sample's values start: past its time stamp field ([0 or 8][8 bytes if 8])."""
    if pos >= end:
        raise _Bad("a samples chunk shorter than its samples")
    flag = buf[pos]
    if flag not in (0, 8):
        raise _Bad("a sample with a time stamp field of neither 0 nor 8 bytes")
    return pos + 1 + flag


def _varlen(buf: mmap.mmap, pos: int, size: int) -> tuple[int, int]:
    """An XDF variable-length integer at ``pos``: (value, position after it)."""
    if pos >= size:
        raise _Short("no length")
    width = buf[pos]
    if width not in (1, 4, 8):
        raise _Bad(f"a length field of {width} bytes")
    if pos + 1 + width > size:
        raise _Short("length cut off")
    return int.from_bytes(buf[pos + 1 : pos + 1 + width], "little"), pos + 1 + width


def _xml(raw: bytes) -> Element:
    try:
        return fromstring(raw.decode("utf-8"))
    except (ParseError, UnicodeDecodeError) as exc:
        raise _Bad(f"unreadable XML ({exc})") from exc


class _Walker:
    """Walks one file's chunks (see :func:`scan_file`)."""

    def __init__(self, buf: mmap.mmap, size: int):
        self.buf, self.size = buf, size
        self.layouts: dict[int, tuple[int, int]] = {}  # stream id -> (channels, bytes per value; 0: strings)
        self.rates: dict[int, float] = {}  # stream id -> nominal rate (0: irregular)
        self.footers: set[int] = set()
        self.first_time: float | None = None
        self.last_time: float | None = None

    def chunk(self, pos: int, commit: bool = True) -> int:
        """The end of the chunk that starts at ``pos``; raises :class:`_Bad` if none does.
        ``commit``: take in what it declares (a stream header, a footer)."""
        buf, size = self.buf, self.size
        length, start = _varlen(buf, pos, size)
        if length < 2:
            raise _Bad("a chunk shorter than its tag")
        end = start + length
        if end > size:
            raise _Short(f"a chunk of {length:,} bytes where {size - start:,} are left")
        (tag,) = struct.unpack_from("<H", buf, start)
        body = start + 2
        if tag == 1:  # FileHeader
            _xml(buf[body:end])
        elif tag == 5:  # Boundary
            if buf[body:end] != _BOUNDARY:
                raise _Bad("a boundary chunk without its signature")
        elif tag in (2, 3, 4, 6):
            if length < 6:
                raise _Bad("a stream chunk without a stream id")
            (sid,) = struct.unpack_from("<I", buf, body)
            if tag == 2:
                self._header(sid, buf[body + 4 : end], commit)
            elif sid not in self.layouts:
                raise _Bad(f"a chunk of stream {sid}, whose header was not read")
            elif tag == 3:
                self._samples(sid, body + 4, end)
                if commit:
                    self._times(sid, body + 4)
            elif tag == 4:
                if length != 22:
                    raise _Bad("a clock offset chunk of the wrong length")
            else:
                _xml(buf[body + 4 : end])
                if commit:
                    self.footers.add(sid)
        else:
            raise _Bad(f"an unknown chunk tag {tag}")
        return end

    def _header(self, sid: int, raw: bytes, commit: bool) -> None:
        info = _xml(raw)
        try:
            channels = int(info.findtext("channel_count") or "")
        except ValueError as exc:
            raise _Bad("a stream header without a channel count") from exc
        fmt = info.findtext("channel_format") or ""
        if channels < 1 or fmt not in _VALUE_BYTES:
            raise _Bad(f"a stream header with {channels} channels of format {fmt!r}")
        if commit:
            self.layouts[sid] = (channels, _VALUE_BYTES[fmt])
            try:
                self.rates[sid] = max(0.0, float(info.findtext("nominal_srate") or 0))
            except ValueError:
                self.rates[sid] = 0.0

    def _times(self, sid: int, pos: int) -> None:
        """The span of a samples chunk that parsed: its first sample's time stamp (LabRecorder
        stamps it), and the last's, stamped or deduced from the rate."""
        count, pos = _varlen(self.buf, pos, self.size)
        if not count or self.buf[pos] != 8:
            return
        (first,) = struct.unpack_from("<d", self.buf, pos + 1)
        rate = self.rates.get(sid, 0.0)
        last = first + (count - 1) / rate if rate > 0 else first
        if np.isfinite(first) and np.isfinite(last):
            self.first_time = first if self.first_time is None else min(self.first_time, first)
            self.last_time = last if self.last_time is None else max(self.last_time, last)

    def _samples(self, sid: int, pos: int, end: int) -> None:
        """A Samples chunk's contents must fill it exactly (else pyxdf would lose its place)."""
        buf = self.buf
        channels, width = self.layouts[sid]
        count, pos = _varlen(buf, pos, end)
        if width:  # numbers: [0 or 8][time stamp if 8][values], every sample the same size
            value = channels * width
            room = end - pos
            # The common layouts checked at once: every sample stamped, none, or only the first.
            if room == count * (9 + value) and buf[pos : end : 9 + value].count(8) == count:
                return
            if room == count * (1 + value) and not any(buf[pos : end : 1 + value]):
                return
            if count and room == count * (1 + value) + 8 and buf[pos] == 8:
                rest = pos + 9 + value
                if not any(buf[rest : end : 1 + value]):
                    return
            for _ in range(count):
                pos = _past_time_stamp(buf, pos, end) + value
        else:  # strings: [0 or 8][time stamp if 8] then per channel [length][bytes]
            for _ in range(count):
                pos = _past_time_stamp(buf, pos, end)
                for _ch in range(channels):
                    n, pos = _varlen(buf, pos, end)
                    pos += n
        if pos != end:
            raise _Bad("a samples chunk whose samples do not fill it")

    def parses_from(self, pos: int) -> bool:
        """Whether chunks parse from ``pos`` on: a few in a row, or up to the file's end."""
        for _ in range(_RESYNC_CHUNKS):
            if pos == self.size:
                return True
            try:
                pos = self.chunk(pos, commit=False)
            except _Bad:
                return False
        return True

    def resync(self, after: int) -> int | None:
        """The first place after ``after`` where chunks parse again (a boundary chunk, or a
        chunk of a known stream found by its tag and id), None if there is none."""
        patterns = [(_BOUNDARY, (4,))]
        for sid in self.layouts:
            for tag in (3, 4, 6):
                patterns.append((struct.pack("<HI", tag, sid), (2, 5, 9)))  # after a 1-, 4- or 8-byte length
        heap: list[tuple[int, int]] = []
        for i, (pattern, _back) in enumerate(patterns):
            found = self.buf.find(pattern, after)
            if found >= 0:
                heapq.heappush(heap, (found, i))
        while heap:
            found, i = heapq.heappop(heap)
            pattern, backs = patterns[i]
            for back in backs:
                start = found - back
                if start > after and self.parses_from(start):
                    return start
            again = self.buf.find(pattern, found + 1)
            if again >= 0:
                heapq.heappush(heap, (again, i))
        return None


def scan_file(path: Path) -> FileScan:
    """Check one XDF file's structure (see the module docstring). Raises OSError if the file
    cannot be read at all."""
    scan = FileScan(Path(path))
    with open(path, "rb") as fh:
        scan.size = size = fh.seek(0, io.SEEK_END)
        if size < len(_MAGIC):
            scan.not_xdf = size > 0
            scan.cut_at = 0 if size == 0 else None
            return scan
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            if buf[:4] != _MAGIC:
                scan.not_xdf = True
                return scan
            walker = _Walker(buf, size)
            pos, run_start = 4, 0
            while pos < size:
                try:
                    pos = walker.chunk(pos)
                    continue
                except _Bad as exc:
                    bad, why = pos, exc
                if bad > run_start:
                    scan.readable.append((run_start, bad))
                found = walker.resync(bad)
                if found is None:
                    if isinstance(why, _Short) and not scan.damage:
                        scan.cut_at = bad  # the last chunk was being written when the file ended
                    else:
                        scan.damage.append(Damage(bad, size - bad, str(why)))
                    run_start = pos = size
                    break
                scan.damage.append(Damage(bad, found - bad, str(why)))
                pos = run_start = found
            if pos > run_start:
                scan.readable.append((run_start, pos))
            scan.headers, scan.footers = set(walker.layouts), walker.footers
            scan.first_time, scan.last_time = walker.first_time, walker.last_time
    return scan


class _Readable(io.RawIOBase):
    """The readable runs of a damaged file, one after the other, as if they were the file:
    what pyxdf is given to read, so that it never sees a chunk that does not parse."""

    def __init__(self, path: Path, runs: list[tuple[int, int]]):
        super().__init__()
        self._fh = open(path, "rb")  # noqa: SIM115 (closed with this object)
        self._runs = runs
        self._starts = np.cumsum([0] + [b - a for a, b in runs]).tolist()  # offsets in the joined view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._starts[-1]}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, out: bytearray | memoryview) -> int:
        view = memoryview(out).cast("B")
        done = 0
        while done < len(view) and self._pos < self._starts[-1]:
            i = int(np.searchsorted(self._starts, self._pos, side="right")) - 1
            start, end = self._runs[i]
            within = self._pos - self._starts[i]
            n = min(len(view) - done, end - start - within)
            self._fh.seek(start + within)
            got = self._fh.readinto(view[done : done + n])
            if not got:
                break
            done += got
            self._pos += got
        return done

    def close(self) -> None:
        self._fh.close()
        super().close()


# -- pyxdf, its log caught ------------------------------------------------------------------------

_PYXDF_LOGGER = "pyxdf.pyxdf"
_catching = threading.Lock()
_readers = 0  # reads in progress (any thread): while there are, pyxdf's log goes to them only


class _Caught(logging.Handler):
    """pyxdf's log records of one reading thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append(record)


def _load_quietly(source: object) -> tuple[list[dict], list[logging.LogRecord]]:
    """``pyxdf.load_xdf`` with its log records returned instead of printed (no tracebacks on
    the terminal: what they meant is said in words by the caller)."""
    global _readers
    import pyxdf

    logger = logging.getLogger(_PYXDF_LOGGER)
    caught = _Caught()
    with _catching:
        _readers += 1
        logger.addHandler(caught)
        logger.propagate = False
    try:
        streams, _header = pyxdf.load_xdf(source, dejitter_timestamps=False)
    finally:
        with _catching:
            logger.removeHandler(caught)
            _readers -= 1
            if not _readers:
                logger.propagate = True
    return streams, caught.records


# -- the whole recording ------------------------------------------------------------------------


def _kb(n: int) -> str:
    return f"{n / 1000:,.1f} kB" if n < 10_000_000 else f"{n / 1e6:,.1f} MB"


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


@dataclass
class PartHeld:
    """One stream in one part: what was read, and what the footer says."""

    part: int
    stamps: np.ndarray
    footer_count: int | None = None
    footer_first: float | None = None
    footer_last: float | None = None

    @property
    def samples(self) -> int:
        return len(self.stamps)


@dataclass
class StreamHeld:
    """One stream over the whole recording: what it holds, what it should."""

    name: str
    kind: str
    rate: float
    samples: int
    expected: int | None  # None: cannot be told (an irregular stream without footers)
    missing_s: float = 0.0
    where: str = ""  # where the samples are missing, in words
    estimated: bool = False  # expected from the rate and the recording's end (no footer says it)
    parts: list[PartHeld] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return 0 if self.expected is None else max(0, self.expected - self.samples)


@dataclass
class Completeness:
    """What a recording holds, checked; :attr:`problems` says in words what is missing."""

    parts: list[str] = field(default_factory=list)
    scans: list[FileScan] = field(default_factory=list)
    streams: list[StreamHeld] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # pyxdf's warnings that are no loss (clock fits)

    @property
    def complete(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """The problems in one short sentence, for a banner: which files, which streams, how
        much; :attr:`problems` has the details. Empty when complete."""
        said = []
        for scan in self.scans:
            what = []
            if scan.not_xdf:
                what.append("not an XDF file")
            if scan.damage:
                what.append(f"damaged ({sum(d.length for d in scan.damage):,} bytes skipped)")
            if scan.cut_at is not None:
                what.append("cut off")
            if scan.headers - scan.footers and not scan.not_xdf:
                what.append("never closed")
            if what:
                said.append(f"{scan.path.name} is {' and '.join(what)}")
        short = sorted((s for s in self.streams if s.missing), key=lambda s: (s.rate <= 0, -s.missing_s, s.name))
        if short:
            shown = [
                f"{s.kind or s.name} {s.samples:,} of {'about ' if s.estimated else ''}{s.expected:,}"
                + (f" ({s.missing_s:.1f} s)" if s.rate > 0 else "")
                for s in short[:3]
            ]
            more = f" and {len(short) - 3} more" if len(short) > 3 else ""
            said.append(f"{len(short)} stream{'s' if len(short) > 1 else ''} miss samples: {', '.join(shown)}{more}")
        return "; ".join(said) if said else "; ".join(self.problems)


def _float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _footer(stream: dict) -> tuple[int | None, float | None, float | None]:
    try:
        info = stream["footer"]["info"]
        count = int(info["sample_count"][0])
        return count, _float(info["first_timestamp"][0]), _float(info["last_timestamp"][0])
    except (KeyError, IndexError, TypeError, ValueError):
        return None, None, None


def _key(info: dict) -> tuple:
    """The same LSL stream in two parts: its uid (the recorder re-opened the same outlet)."""
    uid = (info.get("uid") or [""])[0]
    if uid:
        return ("uid", uid)
    return tuple((info.get(k) or [""])[0] for k in ("name", "type", "source_id"))


def _join(joined: dict[tuple, dict], stream: dict, part: int, held: dict[tuple, list[PartHeld]]) -> None:
    info = stream["info"]
    key = _key(info)
    stamps = np.asarray(stream["time_stamps"], dtype=float)
    count, first, last = _footer(stream)
    held.setdefault(key, []).append(PartHeld(part, stamps, count, first, last))
    if key not in joined:
        joined[key] = {**stream, "time_stamps": stamps}
        return
    into = joined[key]
    into["time_stamps"] = np.concatenate([into["time_stamps"], stamps])
    if isinstance(into["time_series"], list):
        into["time_series"] = [*into["time_series"], *stream["time_series"]]
    else:
        into["time_series"] = np.concatenate([np.asarray(into["time_series"]), np.asarray(stream["time_series"])])


def read_xdf(
    folder: Path,
    part_ends: dict[int, float] | None = None,
    end: float | None = None,
    start: float | None = None,
    say: Callable[[str], None] | None = None,
) -> tuple[list[dict], Completeness]:
    """Every XDF part of the session in ``folder`` read and joined (pyxdf's stream dicts,
    time stamps as arrays), and what is missing from them. ``part_ends``: when each part's
    recording ended (console clock, from ``session.json``); ``end``: when the recording
    ended, for a last part with no end of its own; ``start``: the session's 0:00, for the
    times in the words (else the first sample). Raises OSError if a file cannot be read."""
    say = say or (lambda _text: None)
    result = Completeness()
    joined: dict[tuple, dict] = {}
    held: dict[tuple, list[PartHeld]] = {}
    for number, path in enumerate(xdf_parts(folder), 1):
        result.parts.append(path.name)
        say(f"checking {path.name} ({path.stat().st_size / 1e6:.1f} MB)")
        scan = scan_file(path)
        result.scans.append(scan)
        result.problems += _file_problems(scan)
        if scan.not_xdf or not scan.readable:
            continue
        say(f"reading {path.name}")
        try:
            if scan.whole:
                streams, records = _load_quietly(str(path))
            else:
                with io.BufferedReader(_Readable(path, scan.readable), 1 << 20) as view:
                    streams, records = _load_quietly(view)
        except OSError:
            raise
        except Exception as exc:  # chunks that parse but hold what pyxdf cannot take (a foreign writer)
            result.problems.append(
                f"{path.name} could not be read by the XDF reader ({type(exc).__name__}: {exc}): "
                "its streams are missing here"
            )
            continue
        for record in records:
            words = f"{path.name}: the XDF reader said: {record.getMessage()}"
            (result.problems if record.levelno >= logging.ERROR else result.notes).append(words)
        for stream in streams:
            _join(joined, stream, number, held)
    ends = dict(part_ends or {})
    if result.parts and end is not None:
        ends.setdefault(len(result.parts), end)
    firsts = [float(s["time_stamps"][0]) for s in joined.values() if len(s["time_stamps"])]
    zero = start if start is not None else min(firsts, default=0.0)
    for key, stream in joined.items():
        result.streams.append(_held(stream, held[key], ends, zero))
    short = sorted((s for s in result.streams if s.missing), key=lambda s: (s.rate <= 0, s.name))
    if short:
        result.problems.append("samples missing: " + "; ".join(_short_words(s) for s in short))
    return list(joined.values()), result


def _file_problems(scan: FileScan) -> list[str]:
    name = scan.path.name
    if scan.not_xdf:
        return [f"{name} is not an XDF file (it does not start as one): nothing in it could be read"]
    out = []
    if scan.damage:
        lost = sum(d.length for d in scan.damage)
        places = ", ".join(f"{_kb(d.offset)}" for d in scan.damage[:3]) + (" …" if len(scan.damage) > 3 else "")
        where = f"at {places}" if len(scan.damage) == 1 else f"in {len(scan.damage)} places (at {places})"
        out.append(f"{name} is damaged: {lost:,} bytes {where} could not be read and were skipped")
    if scan.cut_at is not None:
        out.append(
            f"{name} is cut off: it ends {scan.size - scan.cut_at:,} bytes into an unfinished chunk "
            f"at {_kb(scan.cut_at)}"
        )
    unclosed = scan.headers - scan.footers
    if scan.headers and unclosed:
        which = (
            "none of its streams has a footer"
            if unclosed == scan.headers
            else f"{len(unclosed)} of its {len(scan.headers)} streams have no footer"
        )
        out.append(
            f"{name} was not closed: {which} (the recorder's closing record), so sample counts were "
            "checked against the streams' rates instead"
        )
    return out


def _held(stream: dict, parts: list[PartHeld], ends: dict[int, float], start: float) -> StreamHeld:
    """One stream's samples against its footers and its rate, part by part."""
    info = stream["info"]
    rate = _float((info.get("nominal_srate") or ["0"])[0]) or 0.0
    held = StreamHeld(
        name=(info.get("name") or ["?"])[0],
        kind=(info.get("type") or [""])[0],
        rate=rate,
        samples=sum(p.samples for p in parts),
        expected=None,
        parts=parts,
    )
    wheres: list[str] = []
    for p in parts:
        stamps = p.stamps
        until = None  # when the part's samples should have gone on to
        if p.footer_count is not None:
            expected: int | None = p.footer_count
            until = p.footer_last
            if rate > 0 and p.footer_count and p.footer_first is not None and p.footer_last is not None:
                # Samples the recorder never got (the sensor did not send them) are missing too.
                expected = max(p.footer_count, round((p.footer_last - p.footer_first) * rate) + 1)
        elif rate > 0 and len(stamps) and ends.get(p.part) is not None:
            until = ends[p.part]
            expected = max(len(stamps), round((until - stamps[0]) * rate) + 1)
            held.estimated = True
        else:
            expected = len(stamps) if len(stamps) else None  # cannot be told
        if expected is None:
            continue
        short = expected - len(stamps)
        if short <= (max(rate * _SLACK_S, _SLACK_FRACTION * expected) if rate > 0 else 0):
            expected, short = len(stamps), 0  # whole, give or take a chunk's lateness
        held.expected = (held.expected or 0) + expected
        if short and rate > 0:
            held.missing_s += short / rate
            wheres.append(_where(stamps, until, rate, start))
    held.where = ", ".join(w for w in wheres if w)
    return held


def _where(stamps: np.ndarray, until: float | None, rate: float, start: float) -> str:
    """Where a stream's samples are missing, in session time: the longest gap inside, and the
    end if it stops early."""
    found = []
    if len(stamps) > 1:
        steps = np.diff(stamps)
        i = int(np.argmax(steps))
        if steps[i] > max(_SLACK_S, 10 / rate):
            found.append(f"{_clock(stamps[i] - start)}–{_clock(stamps[i + 1] - start)}")
    if until is not None and len(stamps) and until - stamps[-1] > _SLACK_S:
        found.append(f"{_clock(stamps[-1] - start)}–{_clock(until - start)}")
    if until is not None and not len(stamps):
        found.append(f"all, to {_clock(until - start)}")
    return ", ".join(found)


def _short_words(s: StreamHeld) -> str:
    if s.rate > 0:
        where = f" at {s.where}" if s.where else ""
        about = "about " if s.estimated else ""
        return (
            f"{s.name} ({s.kind}) holds {s.samples:,} of {about}{s.expected:,} samples "
            f"({s.missing_s:.1f} s missing{where})"
        )
    return f"{s.name} ({s.kind}) holds {s.samples:,} of {s.expected:,} entries"


def manifest_part_ends(manifest: dict) -> dict[int, float]:
    """When each closed part's recording ended, from ``session.json``'s ``parts`` (console
    clock); parts it does not list, or lists wrongly, are left out."""
    ends: dict[int, float] = {}
    parts = manifest.get("parts")
    if not isinstance(parts, list):
        return ends
    for number, part in enumerate(parts, 1):
        if isinstance(part, dict):
            to = _float(part.get("to_clock"))
            if to is not None:
                ends[number] = to
    return ends


def gap_words(manifest: dict, start: float) -> list[str]:
    """The stretches the recorder did not record, from ``session.json``'s ``gaps``."""
    out = []
    gaps = manifest.get("gaps")
    for gap in gaps if isinstance(gaps, list) else []:
        if not isinstance(gap, dict):
            continue
        a, b = _float(gap.get("from_clock")), _float(gap.get("to_clock"))
        if a is None:
            continue
        why = gap.get("why") if isinstance(gap.get("why"), str) else "the recorder was stopped"
        until = f"to {_clock(b - start)} ({b - a:.0f} s)" if b is not None else "to the end"
        out.append(f"nothing recorded from {_clock(a - start)} {until}: {why}")
    return out


def missing_from_xdf(expected: Iterable[str], streams: list[StreamHeld]) -> list[str]:
    """Streams ``session.json`` says were recorded that no part holds."""
    found = {s.name for s in streams}
    return sorted({name for name in expected if isinstance(name, str) and name not in found})
