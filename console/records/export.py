"""`vrclinic export SESSION --out DIR [--format csv|xdf|both] [--overwrite]`: a recorded
session as files a researcher can open without vrclinic. No Qt.

Two forms, because researchers work two ways:

- **CSV** (:func:`export_csv`): one table per numeric stream (``<stream>.csv``: ``lsl_time``,
  ``session_s``, one column per channel), plus ``events.csv``, ``ratings.csv``,
  ``stimulus.csv``, ``markers-<stream>.csv`` for other marker streams, ``mirror.csv`` when the
  patient's view was recorded, ``streams.csv`` (an index: which file holds which stream, its
  rate and sample count) and ``README.txt``. For spreadsheets, R, pandas and MATLAB.
- **XDF** (:func:`export_xdf`): ``session.xdf`` copied byte for byte (it is the LSL field's
  own format; MNE, EEGLAB and pyxdf read it), and its later parts ``session.part2.xdf`` …
  when the recorder had to stop and went on (see :mod:`console.records.completeness`), with
  ``events.jsonl``, ``session.json``, the README and ``SHA256SUMS``; every copy is checked
  against its original.

The README says what the recording is missing (:attr:`RecordedSession.problems`: damaged or
cut-off files, streams short of samples, stretches not recorded), and the command's exit
status tells a script: 0 complete, 3 written but incomplete, 2 not written.

``--format both`` (the default) writes the CSV files into ``DIR`` and the XDF copy into
``DIR/xdf``, so that one folder handed to a researcher holds both.

Every time is on one clock, the console's LSL clock in seconds (``lsl_time``, the XDF's own
timestamps); ``session_s`` is seconds since the session's 0:00 (``lsl_time`` minus the
console clock at 0:00), the time the report and the review window show.

An output folder that exists and is not empty is refused unless ``overwrite``; then the
files of an earlier vrclinic export in it are replaced (other files are left alone). Each
file is written under a temporary name and renamed when complete, so a failed export never
leaves a half-written file under a real name.

Threads: runs in the caller's thread (a command, or a worker thread of the review window:
reading and writing a long session takes seconds). ``progress(text)`` is called once per
stream, from that thread.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from console.core.version import version
from console.records.completeness import xdf_parts
from console.records.recorded import (
    EVENTS,
    EXIT_INCOMPLETE,
    MANIFEST,
    XDF,
    RecordedSession,
    SessionFileError,
    Signal,
    load,
)

Progress = Callable[[str], None]

README = "README.txt"
SUMS = "SHA256SUMS"
STREAMS = "streams.csv"
XDF_SUBFOLDER = "xdf"
FORMATS = ("csv", "xdf", "both")
EXPORT_FORMAT = 1  # bump when a file's columns change, so scripts written against one can check
_FIXED_CSV = ("events.csv", "ratings.csv", "stimulus.csv", "mirror.csv", STREAMS)
_XDF_FILES = (XDF, EVENTS, MANIFEST)
_XDF_PART = re.compile(r"^session\.part[0-9]+\.xdf$")  # a recording that went on in a new file (completeness)
# The text tables' columns; each starts with the two times, the rest are the recorded fields.
STREAM_COLUMNS = ["file", "stream", "type", "source_id", "nominal_rate_hz", "measured_rate_hz", "channels"]
STREAM_COLUMNS += ["samples", "first_session_s", "first_lsl_time", "last_session_s", "last_lsl_time"]
EVENT_COLUMNS = ["session_s", "lsl_time", "kind", "headset", "text"]
RATING_COLUMNS = ["session_s", "lsl_time", "kind", "value", "headset", "prompt_id", "response_s"]
STIMULUS_COLUMNS = ["session_s", "lsl_time", "headset", "scene", "parameter", "unit", "requested", "applied"]
STIMULUS_COLUMNS += ["ramping"]
MIRROR_COLUMNS = ["session_s", "lsl_time", "file", "width", "height"]
MARKER_COLUMNS = ["session_s", "lsl_time", "text"]
_ROWS_PER_BLOCK = 20_000  # bounded memory for long high-rate streams
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)}


class ExportError(RuntimeError):
    """The export cannot be written; the text says why and what to do."""


def safe_name(name: str) -> str:
    """A stream name as a file name every OS accepts (stream names are free text in LSL)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "stream"
    if safe.split(".")[0].lower() in _WINDOWS_RESERVED:
        safe = f"_{safe}"
    return safe[:100]


def _unique(stem: str, taken: set[str]) -> str:
    """``stem.csv``, or ``stem-2.csv`` … when a stream of that name was already written (two
    devices may publish the same name; case-insensitive filesystems fold case)."""
    candidate, n = f"{stem}.csv", 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem}-{n}.csv"
    taken.add(candidate.lower())
    return candidate


def _column(label: str, unit: str) -> str:
    return f"{label} [{unit}]" if unit else label


def _prepare(out: Path, overwrite: bool, session_folder: Path) -> None:
    """Refuse an output folder that would mix this export with other files, or the session itself."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file; give --out a folder (new, or empty).")
    if out.exists() and out.resolve() == session_folder.resolve():
        raise ExportError(f"{out} is the session folder itself; export into another folder.")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ExportError(
                f"{out} is not empty; choose a new or empty folder, or pass --overwrite to replace an earlier export."
            )
        _remove_earlier_export(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"Cannot create {out}: {exc.strerror or exc}. Choose a folder you may write to.") from exc


def _remove_earlier_export(out: Path) -> None:
    """Files an earlier vrclinic export wrote (its README says so), so that no table of another
    session is left beside this one. Anything else in the folder is not ours and stays."""
    try:
        ours = (out / README).read_text(encoding="utf-8").startswith("vrclinic export")
    except (OSError, UnicodeDecodeError):
        ours = False
    if not ours:
        return
    try:
        for path in out.iterdir():
            earlier = path.name in (README, SUMS, *_XDF_FILES) or _XDF_PART.match(path.name)
            if path.is_file() and (path.suffix in (".csv", ".part") or earlier):
                path.unlink()
        if (out / XDF_SUBFOLDER).is_dir():
            _remove_earlier_export(out / XDF_SUBFOLDER)
            if not any((out / XDF_SUBFOLDER).iterdir()):
                (out / XDF_SUBFOLDER).rmdir()
    except OSError as exc:
        raise ExportError(f"Cannot replace the earlier export in {out}: {exc.strerror or exc}.") from exc


@contextmanager
def _writing(path: Path, binary: bool = False) -> Iterator[IO]:
    """A file under a temporary name, renamed to ``path`` only once it is complete."""
    part = path.with_name(path.name + ".part")
    try:
        with open(part, "wb") if binary else open(part, "w", newline="", encoding="utf-8") as fh:
            yield fh
        os.replace(part, path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise ExportError(
            f"Cannot write {path}: {exc.strerror or exc}. Choose a folder you may write to (and that has free space)."
        ) from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _value_format(data: np.ndarray) -> str:
    """``%.9g`` round-trips float32 (what sensors send); anything finer (double or int32
    streams) gets ``%.17g``, so no stream loses precision in the CSV."""
    finite = data[np.isfinite(data)]
    return "%.9g" if np.array_equal(finite.astype(np.float32).astype(np.float64), finite) else "%.17g"


def _write_signal(sig: Signal, start: float, path: Path) -> None:
    data = sig.data if sig.data.ndim == 2 else sig.data.reshape(len(sig.t), -1)
    count = data.shape[1]
    channels = sig.channels if len(sig.channels) == count else [f"ch{i + 1}" for i in range(count)]
    units = sig.units if len(sig.units) == count else [""] * count
    line = ",".join(["%.9f", "%.6f"] + [_value_format(data)] * count)
    with _writing(path) as fh:
        csv.writer(fh, lineterminator="\n").writerow(
            ["lsl_time", "session_s"] + [_column(c, u) for c, u in zip(channels, units, strict=True)]
        )
        for i in range(0, len(sig.t), _ROWS_PER_BLOCK):
            t = sig.t[i : i + _ROWS_PER_BLOCK]
            block = np.column_stack([t + start, t, data[i : i + _ROWS_PER_BLOCK]])
            fh.write("\n".join([line % tuple(row) for row in block.tolist()]))
            fh.write("\n")


def _write_table(path: Path, header: list[str], rows: list[list]) -> None:
    with _writing(path) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _cell(value: object) -> object:
    """Blank for a missing value; numbers as Python writes them (full precision)."""
    if value is None:
        return ""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _times(t: float, start: float) -> list[str]:
    return [f"{t:.6f}", f"{t + start:.9f}"]


def session_id(s: RecordedSession) -> str:
    """The manifest's session id; a folder recorded before manifests existed goes by its name."""
    return str(s.manifest.get("session_id") or s.manifest.get("id") or s.folder.name)


def readme_text(s: RecordedSession, files: list[tuple[str, str]]) -> str:
    """What a researcher needs to use the files without asking us: what each one is, the clock,
    whose session it is (pseudonymous code only) and what went wrong while recording."""
    lines = [
        f"vrclinic export (vrclinic {version()}, export format {EXPORT_FORMAT})",
        "=" * 60,
        "",
        f"Session id:      {session_id(s)}"
        + ("" if s.manifest.get("session_id") or s.manifest.get("id") else "  (no session.json: the folder's name)"),
        f"Patient code:    {s.patient or 'not recorded'}  (pseudonymous; no names are exported)",
        f"Started:         {s.manifest.get('started_wall') or 'not recorded'}",
        f"Duration:        {s.duration:.1f} s",
        f"Recording state: {s.state_text}",
        f"Recorded with:   {s.manifest.get('console') or 'not recorded'}",
        f"Event log:       {s.log_check.text() if s.log_check else 'none'}",
        f"Exported:        {time.strftime('%Y-%m-%d %H:%M:%S')} from {s.folder}",
        "",
        "Clock",
        "-----",
        "All times are on one clock: the console's Lab Streaming Layer (LSL) clock, in seconds.",
        "lsl_time is that clock, the same numbers as the timestamps inside session.xdf, so these",
        "files line up with each other and with any stream the lab recorded itself.",
        f"session_s is seconds since the session's 0:00 (lsl_time minus {s.start:.6f}), the time",
        "shown in the console, the report and the review window.",
        *_recorder_note(s),
        "",
        "Files",
        "-----",
    ]
    width = max((len(name) for name, _ in files), default=0)
    lines += [f"{name.ljust(width)}  {what}" for name, what in files]
    lines += ["", "Problems of the recording", "-------------------------"]
    if s.problems:
        lines += ["The files hold less than the session: what is missing or damaged, as the export found it.", ""]
    lines += [f"- {p}" for p in s.problems] or [
        f"None found: the recording is complete (every XDF file read whole, with its footers, and every stream "
        f"holds the samples its rate gives for its time).{_parts_note(s)}"
    ]
    lines += [
        "",
        "Text tables are UTF-8, comma-separated, first row the column names, quoted where a value",
        "holds a comma, a quote or a line break. An empty cell is a value that was not recorded.",
        "A stream table's values keep the stream's precision (9 significant digits round-trip the",
        "float32 most sensors send). Streams of the same name (two devices, or a device that",
        "restarted) are numbered -2, -3 … in the order of session.xdf; streams.csv says which is which.",
        "The vrclinic-events, -ratings and -stimulus marker streams inside session.xdf hold the entries",
        "of events.csv, ratings.csv and stimulus.csv made while the recorder ran, on the same clock.",
        "",
    ]
    return "\n".join(lines)


def _parts_note(s: RecordedSession) -> str:
    parts = s.completeness.parts if s.completeness is not None else []
    return f" The streams are in {len(parts)} XDF files: {', '.join(parts)}." if len(parts) > 1 else ""


def _recorder_note(s: RecordedSession) -> list[str]:
    """When the XDF recorder started after 0:00, streams hold nothing before then; say so, or a
    researcher takes the gap for a sensor dropout."""
    began = s.manifest.get("recording_started_clock")
    if not isinstance(began, (int, float)) or began - s.start < 0.5:
        return []
    return [
        f"The XDF recorder started at session_s {began - s.start:.3f}: the streams hold no samples before",
        "then (the event log does).",
    ]


def _load(folder: Path, session: RecordedSession | None, progress: Progress | None) -> RecordedSession:
    if session is not None:
        return session
    return load(Path(folder), progress=progress)


def export_csv(
    folder: Path,
    out: Path,
    progress: Progress | None = None,
    *,
    overwrite: bool = False,
    session: RecordedSession | None = None,
) -> list[Path]:
    """Write the session as CSV tables into ``out``; returns the files written (README last).
    ``session``: an already loaded session, so that an export of both forms reads it once."""
    say = progress or (lambda _text: None)
    out = Path(out)
    s = _load(folder, session, progress)
    _prepare(out, overwrite, s.folder)
    start = s.start
    written: list[Path] = []
    files: list[tuple[str, str]] = []
    taken = {name.lower() for name in (*_FIXED_CSV, README)}
    index = []
    for i, sig in enumerate(s.signals, 1):
        name = _unique(safe_name(sig.name), taken)
        say(f"writing {name} ({i} of {len(s.signals)} streams, {len(sig.t)} samples)")
        _write_signal(sig, start, out / name)
        written.append(out / name)
        rate = f"{sig.rate:g} Hz" if sig.rate else "irregular rate"
        files.append((name, f"stream '{sig.name}' ({sig.kind}, {rate}, {len(sig.t)} samples)"))
        index.append(
            [
                name,
                sig.name,
                sig.kind,
                sig.source_id,
                _cell(sig.rate),
                f"{sig.measured_rate():.6f}",
                len(sig.channels),
                len(sig.t),
                *(_times(float(sig.t[0]), start) if len(sig.t) else ["", ""]),
                *(_times(float(sig.t[-1]), start) if len(sig.t) else ["", ""]),
            ]
        )

    say("writing the event log, ratings and stimulus")
    tables: list[tuple[str, list[str], list[list], str]] = [
        (
            STREAMS,
            STREAM_COLUMNS,
            index,
            "index of the stream files: stream name, LSL type and source id, rates, first and last sample",
        ),
        (
            "events.csv",
            EVENT_COLUMNS,
            [[*_times(e["t"], start), *(_cell(e.get(k)) for k in EVENT_COLUMNS[2:])] for e in s.events],
            "the console's event log (events.jsonl): links, controls, prompts, answers, safety events, markers",
        ),
        (
            "ratings.csv",
            RATING_COLUMNS,
            [[*_times(r["t"], start), *(_cell(r.get(k)) for k in RATING_COLUMNS[2:])] for r in s.ratings],
            "the patient's ratings (kind suds = Subjective Units of Distress, 0–100); response_s = seconds"
            " the patient took to answer",
        ),
        (
            "stimulus.csv",
            STIMULUS_COLUMNS,
            [[*_times(r["t"], start), *(_cell(r.get(k)) for k in STIMULUS_COLUMNS[2:])] for r in s.stimulus_rows],
            "every stimulus parameter change: the value the therapist requested and the value the headset"
            " applied (ramping = still moving towards the request)",
        ),
    ]
    if s.mirror:
        tables.append(
            (
                "mirror.csv",
                MIRROR_COLUMNS,
                [[*_times(f.t, start), _relative(f.path, s.folder), f.width, f.height] for f in s.mirror],
                "the patient's view as the therapist saw it: one JPEG frame per row, file relative to the"
                " session folder (the frames are not copied)",
            )
        )
    for stream, rows in s.markers.items():
        name = _unique(f"markers-{safe_name(stream)}", taken)
        tables.append(
            (
                name,
                MARKER_COLUMNS,
                [[*_times(t, start), text] for t, text in rows],
                f"marker stream '{stream}' (one text marker per row)",
            )
        )
    for name, header, rows, what in tables:
        _write_table(out / name, header, rows)
        written.append(out / name)
        files.append((name, f"{what} ({len(rows)} row{'' if len(rows) == 1 else 's'})"))
    files.append((README, "this file"))
    with _writing(out / README) as fh:
        fh.write(readme_text(s, files))
    written.append(out / README)
    return written


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return str(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_verified(source: Path, target: Path) -> str:
    """Copy ``source`` and prove the copy equal: the bytes read are hashed as they are copied,
    then the copy is read back from disk; a file that changed meanwhile (still recording) is refused."""
    size = source.stat().st_size
    digest = hashlib.sha256()
    with open(source, "rb") as src, _writing(target, binary=True) as dst:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            digest.update(chunk)
            dst.write(chunk)
    expected = digest.hexdigest()
    if source.stat().st_size != size or target.stat().st_size != size:
        target.unlink(missing_ok=True)
        raise ExportError(f"{source} changed while it was copied; stop the recording first, then export again.")
    if _sha256(target) != expected:
        target.unlink(missing_ok=True)
        raise ExportError(f"The copy of {source} differs from the original; check the disk of {target.parent}.")
    return expected


def export_xdf(
    folder: Path,
    out: Path,
    progress: Progress | None = None,
    *,
    overwrite: bool = False,
    session: RecordedSession | None = None,
) -> Path:
    """Copy the session's XDF, event log and manifest unchanged into ``out``, with a README and
    ``SHA256SUMS`` (``sha256sum -c SHA256SUMS`` checks them); returns the XDF copy."""
    _export_xdf(folder, out, progress, overwrite=overwrite, session=session)
    return Path(out) / XDF


def _export_xdf(
    folder: Path,
    out: Path,
    progress: Progress | None = None,
    *,
    overwrite: bool = False,
    session: RecordedSession | None = None,
) -> list[Path]:
    say = progress or (lambda _text: None)
    folder, out = Path(folder), Path(out)
    if folder.is_dir() and (folder / EVENTS).exists() and not (folder / XDF).exists():
        raise ExportError(
            f"{folder} has no {XDF} (only the event log was recorded); export it as CSV (--format csv) instead."
        )
    s = _load(folder, session, progress)
    if not (s.folder / XDF).exists():
        raise ExportError(f"{s.folder} has no {XDF}; export it as CSV (--format csv) instead.")
    _prepare(out, overwrite, s.folder)
    sums: list[tuple[str, str]] = []
    files: list[tuple[str, str]] = []
    described = {
        XDF: "every stream as recorded (LabRecorder's engine), unchanged bytes; open with pyxdf, MNE or EEGLAB",
        EVENTS: "the console's event log, one JSON object per line (at = lsl_time, session_s)",
        MANIFEST: "the session manifest: session id, patient code, start and end, state",
    }
    parts = [p.name for p in xdf_parts(s.folder)][1:]  # session.xdf is the first
    for number, name in enumerate(parts, 2):
        described[name] = f"part {number} of the recording: the streams after the recorder had to stop (see README)"
    for name in (XDF, *parts, EVENTS, MANIFEST):
        source = s.folder / name
        if not source.exists():
            continue
        say(f"copying {name} ({source.stat().st_size / 1e6:.1f} MB)")
        sums.append((_copy_verified(source, out / name), name))
        files.append((name, described[name]))
    files += [(README, "this file"), (SUMS, "SHA-256 of every file here; check with: sha256sum -c SHA256SUMS")]
    with _writing(out / README) as fh:
        fh.write(readme_text(s, files))
    sums.append((_sha256(out / README), README))
    with _writing(out / SUMS) as fh:
        fh.write("".join(f"{digest}  {name}\n" for digest, name in sums))
    return [out / name for _, name in sums] + [out / SUMS]


def export(
    folder: Path,
    out: Path,
    fmt: str = "both",
    progress: Progress | None = None,
    *,
    overwrite: bool = False,
    session: RecordedSession | None = None,
) -> list[Path]:
    """Both forms from one reading of the session: CSV in ``out``, the XDF copy in ``out/xdf``
    (``fmt="both"``), or one of them in ``out``. Returns every file written. ``session``: the
    session already loaded from ``folder``."""
    if fmt not in FORMATS:
        raise ExportError(f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    out = Path(out)
    s = _load(folder, session, progress)
    if fmt == "xdf":
        return _export_xdf(folder, out, progress, overwrite=overwrite, session=s)
    if fmt == "both" and not (s.folder / XDF).exists():
        raise ExportError(f"{s.folder} has no {XDF}; export it as CSV (--format csv) instead.")
    written = export_csv(folder, out, progress, overwrite=overwrite, session=s)
    if fmt == "both":
        written += _export_xdf(folder, out / XDF_SUBFOLDER, progress, overwrite=True, session=s)  # out checked above
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", help="the session folder (from --record)")
    parser.add_argument("--out", required=True, help="the folder to write (new, or empty)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="both",
        help="csv tables, a verified copy of the xdf, or both (xdf copy in OUT/xdf); default %(default)s",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier export in OUT")


def run(args: argparse.Namespace) -> int:
    """The command: prints what was written, or why not (on stderr). Exit status 0: written,
    the recording complete; 3 (EXIT_INCOMPLETE): written, but the recording is incomplete or
    damaged (said on stderr and in the README); 2: not written."""
    out = Path(args.out)
    try:
        s = load(Path(args.session))
        written = export(Path(args.session), out, args.format, overwrite=args.overwrite, session=s)
    except (ExportError, SessionFileError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(
        f"wrote {len(written)} files into {out}"
        + (f" (XDF copy in {out / XDF_SUBFOLDER})" if args.format == "both" else "")
    )
    if s.problems:
        print(s.problems_text() + f"The README in {out} says the same.", file=sys.stderr, end="\n")
        return EXIT_INCOMPLETE
    return 0
