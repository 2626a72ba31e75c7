"""Recording a session as XDF, the LSL ecosystem's format, with LabRecorder's own engine.

No Qt here:

- :class:`SessionOutlets` publishes what happens in the session (every event-log entry,
  every requested and applied stimulus value, every rating) as LSL streams on the console's
  clock, so that one recorder takes them together with the sensors, and a lab running its
  own LabRecorder records them alongside its own devices.
- :class:`SessionRecorder` records a set of LSL streams into ``session.xdf`` in a session
  folder through the ``labrecorder`` package;
- :class:`EventJournal` appends the event log to ``events.jsonl`` as it happens, and
  :class:`MirrorRecorder` keeps the patient's view as JPEG frames at a reduced rate;
- :class:`SessionRecording` is one recording of the live session, holding all of these
  and the folder's ``session.json``. Folder layout: :mod:`console.records.recorded`.

Threads
-------
The control thread is the console's GUI thread, which also sends the heartbeats to the
headsets (a frozen window must calm the scene): nothing it calls here waits for a disk, a
network drive or the recorder. It feeds :class:`SessionOutlets` through the model's
signals (pushing to an LSL outlet does not block), and drives :class:`SessionRecording`
with ``begin``, ``end`` and ``poll``, which only hand work on and return at once:

- the **journal thread** (``vrclinic-journal``, one per :class:`EventJournal`) checks the
  session folder (writable, not full) and writes ``session.json``, then owns
  ``events.jsonl``: the control thread serializes each entry and queues the line; this
  thread chains it, writes and flushes it at once (killing the console loses only the
  lines still queued), fsyncs about once a second (a power cut loses under a second), and
  reports a failure (full disk, unwritable folder) once, in words, through the recording's
  message queue;
- the **record thread** (``vrclinic-record``) waits for the folder, starts the mirror
  recorder, finds the streams and starts LabRecorder (seconds), then looks at the disk's
  free space, the XDF's growth and newly appeared streams every 3 s;
- the **mirror thread** (``vrclinic-mirror-record``) writes the patient's view frames;
- the **stop thread** (``vrclinic-record-stop``), started by ``end``, stops LabRecorder,
  the mirror and the journal and writes the final ``session.json``.

Their messages wait in a queue that ``poll`` drains in the control thread, where the
controller notes them in the event log. At exit the controller waits a bounded time for
the stop thread, so closing the window still finishes the files. LabRecorder's engine runs
in a process of its own (see :mod:`console.recording.recorder_proc`).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

import pylsl

from console.core.clock import clock_text
from console.core.version import version
from console.physio.streams import with_v4address
from console.recording.journal import (
    EventJournal,
    RecordingError,
    check_writable,
    wall_now,
    write_json_atomically,
    write_manifest,
)
from console.records import completeness
from console.records.completeness import part_name
from console.records.recorded import (
    EVENTS,
    MANIFEST,
    MIRROR_COLUMNS,
    MIRROR_DIR,
    MIRROR_INDEX,
    XDF,
)
from console.session.model import LogEntry, Rating, SessionModel


def _marker_info(name: str, kind: str, source_id: str) -> pylsl.StreamInfo:
    info = pylsl.StreamInfo(name, kind, 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, source_id)
    info.desc().append_child_value("manufacturer", "vrclinic console")
    info.desc().append_child_value("encoding", "one JSON object per sample")
    return info


# The live metrics stream's channels: (name, unit). Missing values are NaN.
METRIC_CHANNELS = (("hr_bpm", "bpm"), ("scl_us", "µS"), ("scr_per_min", "SCR/min"), ("arousal_pct", "%"))


def _metrics_info(name: str, source_id: str) -> pylsl.StreamInfo:
    info = pylsl.StreamInfo(name, "Metrics", len(METRIC_CHANNELS), pylsl.IRREGULAR_RATE, pylsl.cf_float32, source_id)
    info.desc().append_child_value("manufacturer", "vrclinic console")
    channels = info.desc().append_child("channels")
    for label, unit in METRIC_CHANNELS:
        ch = channels.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", unit)
        ch.append_child_value("type", "Metrics")
    return info


class SessionOutlets:
    """The session's own streams: ``PREFIX-events``, ``PREFIX-stimulus``, ``PREFIX-ratings``,
    ``PREFIX-telemetry`` (each headset's frame rate, battery, temperature and head pose), and
    ``PREFIX-metrics`` (live heart rate, skin conductance, SCRs a minute and arousal index)."""

    def __init__(self, model: SessionModel, prefix: str = "vrclinic"):
        self.model = model
        self.names = {kind: f"{prefix}-{kind}" for kind in ("events", "stimulus", "ratings", "telemetry")}
        session = getattr(model.link, "config", None)
        tag = getattr(session, "session_id", "") or str(int(time.time()))
        self._outlets = {
            kind: pylsl.StreamOutlet(_marker_info(name, "Markers", f"{name}-{tag}"))
            for kind, name in self.names.items()
        }
        model.logged.connect(self._logged)
        model.parameter_changed.connect(self._parameter)
        model.rated.connect(self._rated)
        model.telemetry_received.connect(self._telemetry)
        # Live metrics as numbers (not JSON): review and report plot them like any signal.
        self.names["metrics"] = f"{prefix}-metrics"
        self._metrics = pylsl.StreamOutlet(_metrics_info(self.names["metrics"], f"{self.names['metrics']}-{tag}"))
        model.measured.connect(self._measured)

    def infos(self) -> list[pylsl.StreamInfo]:
        """The descriptions of these streams (as a resolver would give them). Any thread."""
        return [outlet.get_info() for outlet in (*self._outlets.values(), self._metrics)]

    def _push(self, kind: str, payload: dict, at: float) -> None:
        self._outlets[kind].push_sample([json.dumps(payload, ensure_ascii=False)], at)

    def _logged(self, entry: LogEntry) -> None:
        payload = {"kind": entry.kind, "headset": entry.headset, "text": entry.text}
        if entry.data is not None:
            payload["data"] = entry.data
        self._push("events", payload, entry.at)

    def _measured(self, at: float, values: dict[str, float | None]) -> None:
        sample = [float("nan") if values.get(name) is None else float(values[name]) for name, _ in METRIC_CHANNELS]
        self._metrics.push_sample(sample, at)

    def _parameter(self, headset: str, name: str) -> None:
        h = self.model.headsets.get(headset)
        state = h.parameters.get(name) if h else None
        if state is None:
            return
        self._push(
            "stimulus",
            {
                "headset": headset,
                "scene": h.scene_id,
                "parameter": name,
                "unit": state.spec.unit,
                "requested": state.requested,
                "applied": state.applied,
                "ramping": state.ramping,
            },
            self.model.clock(),
        )

    def _telemetry(self, headset: str, msg: object, received_at: float) -> None:
        self._push(
            "telemetry",
            {
                "headset": headset,
                "fps": msg.fps,
                "battery_pct": msg.battery_pct,
                "charging": msg.charging,
                "temperature_c": msg.temperature_c,
                "head_position": list(msg.head_position),
                "head_rotation": list(msg.head_rotation),
            },
            received_at,
        )

    def push_state(self) -> None:
        """Every parameter's current values, once: a recorder that joins in the middle of a
        session learns the stimulus as it stands, not only the changes after it joined."""
        for headset, h in self.model.headsets.items():
            for name in h.parameters:
                self._parameter(headset, name)

    def _rated(self, rating: Rating) -> None:
        self._push(
            "ratings",
            {
                "headset": rating.headset,
                "kind": rating.kind,
                "value": rating.value,
                "prompt_id": rating.prompt_id,
                "response_s": rating.response_s,
            },
            rating.at,
        )


class MirrorRecorder:
    """The patient's view at a reduced rate: JPEG files as the headset sent them (no
    re-encoding) and ``index.csv`` with each frame's console-clock time.

    Threads: made in the ``vrclinic-record`` thread of :class:`SessionRecording` (making it
    creates the folder and opens the index). :meth:`offer` is called from the mirror decoder
    thread and only queues; the files are written by this recorder's own
    ``vrclinic-mirror-record`` thread, so a slow disk never delays the live mirror.
    :meth:`stop` (any thread) returns at once; :meth:`close` waits for the files."""

    def __init__(self, folder: Path, started_at: float, fps: float = 2.0, on_error: Callable[[str], None] = print):
        self.folder = folder / MIRROR_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self.started_at = started_at
        self.interval = 1.0 / fps if fps > 0 else 0.0
        self.written = 0
        self.dropped = 0
        self.error: str | None = None
        self._on_error = on_error
        self._next_due = 0.0
        self._stopped = False
        self._queue: queue.Queue = queue.Queue(maxsize=int(max(4, 4 * fps)))
        new = not (self.folder / MIRROR_INDEX).exists()
        self._index = open(self.folder / MIRROR_INDEX, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._csv = csv.writer(self._index)
        if new:
            self._csv.writerow([*MIRROR_COLUMNS, "headset"])
        self._frame = sum(1 for _ in self.folder.glob("*.jpg"))
        self._thread = threading.Thread(target=self._write_loop, name="vrclinic-mirror-record", daemon=True)
        self._thread.start()

    def offer(self, headset: str, jpeg: bytes, at: float, width: int, height: int) -> None:
        """Any thread (the mirror decoder). Takes one frame per interval, drops when behind."""
        if at < self._next_due or self.error or self._stopped:
            return
        self._next_due = at + self.interval
        try:
            self._queue.put_nowait((headset, jpeg, at, width, height))
        except queue.Full:
            self.dropped += 1

    def _write_loop(self) -> None:
        """The ``vrclinic-mirror-record`` thread."""
        while True:
            try:
                item = self._queue.get(timeout=0.25)
            except queue.Empty:
                if self._stopped:  # the queue was full when stop() came: it is drained now
                    return
                continue
            if item is None:
                return
            headset, jpeg, at, width, height = item
            self._frame += 1
            name = f"{self._frame:06d}.jpg"
            try:
                (self.folder / name).write_bytes(jpeg)
                row = [self._frame, f"{at:.6f}", f"{at - self.started_at:.3f}", width, height, name, headset]
                self._csv.writerow(row)
                self._index.flush()
                self.written += 1
            except OSError as exc:
                self.error = f"mirror frames are no longer recorded: {exc.strerror or exc}"
                self._on_error(self.error)
                return

    def stop(self) -> None:
        """Any thread; returns at once: takes no more frames, writes those queued."""
        self._stopped = True
        with contextlib.suppress(queue.Full):  # a full queue: the writer sees _stopped once it is drained
            self._queue.put_nowait(None)

    def close(self, timeout: float = 5.0) -> None:
        """Not the GUI thread (it waits up to ``timeout`` for the files): stop, then close the index."""
        self.stop()
        self._thread.join(timeout)
        if not self._index.closed:
            with contextlib.suppress(OSError):
                self._index.close()


def _with_address(info: pylsl.StreamInfo) -> str:
    """The stream's XML for the recorder process, with the address filled in for a stream of
    this computer, so the recorder connects straight away instead of searching for it."""
    xml = info.as_xml()
    if info.hostname() == socket.gethostname():
        xml = with_v4address(xml, "127.0.0.1", only_if_empty=True)
    return xml


class SessionRecorder:
    """Records LSL streams into ``FOLDER/session.xdf`` with LabRecorder's engine, run in the
    recorder process (:mod:`console.recording.recorder_proc`; see there why a process).

    Threads: :meth:`start` and :meth:`stop` block for up to a few seconds: call them from a
    worker thread in a live session. The ``vrclinic-recorder-output`` thread reads the
    process's output: the engine's log lines go to ``recorder.log``, errors to ``on_error``.
    """

    def __init__(self, folder: Path, on_error: Callable[[str], None] | None = None, name: str = XDF):
        """``name``: the file in ``folder`` (a later part of the recording: see
        :mod:`console.records.completeness`)."""
        self.folder = Path(folder)
        self.path = self.folder / name
        self.log_path = self.folder / "recorder.log"
        self.stream_names: list[str] = []
        self.on_error = on_error
        self._proc: subprocess.Popen | None = None
        self._events: queue.SimpleQueue[dict] = queue.SimpleQueue()

    def start(self, infos: list[pylsl.StreamInfo], timeout: float = 20.0) -> None:
        """Record these streams. (LabRecorder can also watch for streams that appear later,
        but its watcher makes stop() hang; see packaging/SOUP.md. The session recording says
        when a stream appears that it does not record.)"""
        check_writable(self.folder)
        if not infos:
            raise RecordingError("There is no stream to record yet.")
        self.stream_names = [info.name() for info in infos]
        proc = subprocess.Popen(
            [sys.executable, "-m", "console.recording.recorder_proc", str(self.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=self._read_output, args=(proc,), name="vrclinic-recorder-output", daemon=True).start()
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({"streams": [_with_address(i) for i in infos]}) + "\n")
        proc.stdin.flush()
        event = self._next_event(timeout)
        if event.get("event") != "started":
            proc.kill()
            raise RecordingError(event.get("text", "the recorder did not start"))
        self._proc = proc

    def _read_output(self, proc: subprocess.Popen) -> None:
        """The ``vrclinic-recorder-output`` thread."""
        assert proc.stdout is not None
        # The engine's log is diagnostics: on a full disk its lines are dropped, and this thread
        # goes on reading the events (stop() waits for "stopped").
        log: TextIO | None = None
        with contextlib.suppress(OSError):
            log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 (closed below)
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            if line.startswith("{"):
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
                if isinstance(event, dict):
                    self._events.put(event)
                    if event.get("event") == "error" and self.on_error:
                        self.on_error(event.get("text", ""))
                    continue
            if line.strip():
                if log is not None:
                    try:
                        log.write(f"{wall_now()} {line}\n")
                        log.flush()
                    except OSError:
                        pass  # no room for the engine's diagnostics now; the recording says the disk is full
                if line.startswith("Error") and self.on_error:
                    self.on_error(f"recorder: {line}")
        if log is not None:
            with contextlib.suppress(OSError):
                log.close()
        proc.stdout.close()
        self._events.put({"event": "exited", "code": proc.wait()})

    def _next_event(self, timeout: float) -> dict:
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return {"event": "error", "text": f"the recorder did not answer within {timeout:g} s"}

    @property
    def recording(self) -> bool:
        return self._proc is not None

    def stop(self, timeout: float = 20.0) -> Path:
        """Stop and wait until the file is complete; returns its path."""
        proc, self._proc = self._proc, None
        if proc is None:
            raise RecordingError("Not recording.")
        assert proc.stdin is not None
        try:
            proc.stdin.write("stop\n")
        except OSError:
            pass  # it ended already; its last words are in the queue
        finally:
            # Closed whatever happened: left open, the pipe was reported (and failed a test)
            # wherever the garbage collector happened to find it.
            with contextlib.suppress(OSError):
                proc.stdin.close()
        deadline = time.monotonic() + timeout
        while True:
            event = self._next_event(max(0.1, deadline - time.monotonic()))
            kind = event.get("event")
            if kind == "stopped":
                proc.wait(5)
                return self.path
            if kind in ("error", "exited") or time.monotonic() > deadline:
                if proc.poll() is None:
                    proc.kill()
                text = event.get("text") or f"the recorder ended unexpectedly (exit {event.get('code')})"
                raise RecordingError(f"{text}. What was recorded is in {self.path}.")


RESOLVE_WAIT_S = 2.0  # how long answers to a stream query are awaited at most


def resolve_now(known: list[pylsl.StreamInfo], wait_s: float = RESOLVE_WAIT_S) -> list[pylsl.StreamInfo]:
    """The streams on the network now, freshly resolved (one description per stream).

    Asked for by the names of the streams ``known`` (the console's directory and its own
    outlets), the query ends as soon as each of those has answered; asking for every stream,
    as before, waited ``wait_s`` for late answers in any case (~2 s of every start of a
    recording). Other streams of those names (another room's console) are found when they
    answer in time; a known stream that went away costs the whole wait, as before; a stream
    the directory has not seen yet is not recorded (the recording says when a stream appears
    that it does not record). Names no XPath literal can hold (both quote marks) make it ask
    for everything. Any thread but the GUI thread (it waits)."""
    names = sorted({info.name() for info in known})
    literals = [f"'{n}'" if "'" not in n else f'"{n}"' if '"' not in n else None for n in names]
    if not names or None in literals:
        return list({info.uid(): info for info in pylsl.resolve_streams(wait_s)}.values())
    query = " or ".join(f"name={literal}" for literal in literals)
    wanted = {info.uid() for info in known}
    found: dict[str, pylsl.StreamInfo] = {}
    deadline = time.monotonic() + wait_s
    while not wanted <= found.keys() and (left := deadline - time.monotonic()) > 0:
        # At least one answer more than so far: a stream of the same name that answered first
        # does not end the wait for one of ours.
        for info in pylsl.resolve_bypred(query, minimum=len(found.keys() | wanted), timeout=left):
            found[info.uid()] = info
    return list(found.values())


# -- one recording, and what the Record button drives --------------------------------------


@dataclass
class RecordingSettings:
    """The clinic's recording settings, in ``settings.json`` of the console's data folder."""

    auto_record: bool = False  # start recording with every session
    sessions_dir: str = ""  # empty: the data folder's ``sessions``
    mirror_fps: float = 2.0  # patient's view frames per second in the recording; 0: none

    @classmethod
    def load(cls, path: Path) -> RecordingSettings:
        try:
            raw = json.loads(path.read_text(encoding="utf-8")).get("recording", {})
        except (OSError, ValueError, AttributeError):
            return cls()
        known = {f: raw[f] for f in cls.__dataclass_fields__ if f in raw}
        return cls(**known)

    def save(self, path: Path) -> None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            doc = {}
        doc["recording"] = asdict(self)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(path, doc)


def _free_mb(folder: Path) -> float:
    try:
        return shutil.disk_usage(folder).free / 1e6
    except OSError:
        return float("inf")


class SessionRecording:
    """One recording of the live session into a folder: ``session.json``, ``events.jsonl``
    (live), ``session.xdf`` (LabRecorder) and ``mirror/``.

    Threads (none of the control thread's calls waits for a file or the recorder):

    - The **control (GUI) thread** calls :meth:`begin`, :meth:`end`, :meth:`poll` and runs
      the model's signal handler :meth:`_logged`; each returns at once.
    - The journal's ``vrclinic-journal`` thread (:class:`EventJournal`) checks the folder
      (writable, not full), writes ``session.json``, then owns ``events.jsonl``.
    - The ``vrclinic-record`` thread waits for the folder, starts the :class:`MirrorRecorder`
      (its own ``vrclinic-mirror-record`` thread writes the frames), finds the streams and
      starts LabRecorder (seconds), then every few seconds looks at the disk's free space,
      the XDF's growth and streams that appeared later, until :meth:`end`.
    - The ``vrclinic-record-stop`` thread, started by :meth:`end`, stops LabRecorder, the
      mirror and the journal, writes the final ``session.json`` and sets :attr:`finished`.

    They all report through a queue that :meth:`poll` drains into words for the event log.
    A folder that cannot be used is said there, and :attr:`failed` holds the words.
    """

    LOW_DISK_MB = 500.0
    FULL_DISK_MB = 20.0  # below this, the part being written is closed (its footers still fit)
    RESUME_DISK_MB = 100.0  # recording goes on in a new part once this much is free again
    CHECK_EVERY_S = 3.0
    STALL_S = 15.0  # the XDF not growing this long is said (once, until it grows again)

    def __init__(
        self,
        model: SessionModel,
        folder: Path,
        outlets: SessionOutlets,
        streams: Callable[[], list[pylsl.StreamInfo]],
        *,
        patient: str = "",
        mirror_fps: float = 2.0,
        expect: tuple[str, ...] = (),
        settle_s: float = 2.5,
    ):
        """Control thread; touches no file."""
        self.model = model
        self.folder = Path(folder)
        self.outlets = outlets
        self._streams = streams
        self.patient = patient
        self.mirror_fps = mirror_fps
        self.expect = expect
        self.settle_s = settle_s
        self.session_id = self.folder.name
        self.recorder = SessionRecorder(self.folder, on_error=self._report_error)  # the part being written
        # The disk's free space is said when its state changes (ok, low, full), never every check.
        self.full_mb, self.low_mb, self.resume_mb = self.FULL_DISK_MB, self.LOW_DISK_MB, self.RESUME_DISK_MB
        self._disk = "ok"
        self._stalled = False
        # The XDF parts and the stretches not recorded (console clock), for session.json: written
        # by the record thread, read by the stop thread after it ended.
        self.parts: list[dict] = []
        self.gaps: list[dict] = []
        self.journal: EventJournal | None = None
        self.mirror: MirrorRecorder | None = None
        self.manifest: dict = {}
        self.finished = threading.Event()
        self.failed: str | None = None  # the folder could not be used: why, in words (control thread)
        self.problems: list[str] = []
        self._messages: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._ending = threading.Event()
        self._starter: threading.Thread | None = None
        self._announced: set[str] = set()  # streams that appeared after the start, said once
        self._state_due_at: float | None = None
        self._last_size = (0, time.monotonic())

    @property
    def path(self) -> Path:
        """Any thread: where the XDF goes."""
        return self.recorder.path

    @property
    def folder_ready(self) -> bool:
        """Any thread: the folder was checked, ``session.json`` written and the event log opened."""
        return self.journal is not None and self.journal.is_open

    def begin(self) -> None:
        """Control thread; returns at once. The folder is checked and written in the journal's
        thread; if it cannot be used, :meth:`poll` says so (a :class:`RecordingError`'s words)
        and sets :attr:`failed`. Events logged from now on are kept, the session so far too."""
        now = self.model.clock()
        self.manifest = {
            "format": "vrclinic-session",
            "format_version": 1,
            "session_id": self.session_id,
            "patient": self.patient or None,
            "started_wall": wall_now(),
            "started_clock": self.model.started_at,
            "recording_started_clock": now,
            "state": "recording",
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "console": f"vrclinic {version()}",
            "mirror_fps": self.mirror_fps,
        }
        first = dict(self.manifest)  # as it is now: the other threads add to self.manifest later
        self.journal = EventJournal(
            self.folder / EVENTS,
            self.model.started_at,
            on_error=self._journal_failed,
            prepare=lambda: self._prepare(first),
            on_warning=self._report_error,
        )
        for entry in self.model.log:  # the session so far: the log is whole from 0:00
            self.journal.write(entry)
        self.model.logged.connect(self._logged)
        self._starter = threading.Thread(target=self._record, name="vrclinic-record", daemon=True)
        self._starter.start()

    def _prepare(self, manifest: dict) -> None:
        """The ``vrclinic-journal`` thread, before it opens the log: the folder, in words."""
        check_writable(self.folder)
        if _free_mb(self.folder) < self.full_mb:
            raise RecordingError(f"The disk holding {self.folder} is full. Free some space or choose another folder.")
        try:
            write_manifest(self.folder, manifest)
        except OSError as exc:
            raise RecordingError(f"Cannot write into {self.folder}: {exc.strerror or exc}.") from exc

    def _journal_failed(self, exc: Exception) -> None:
        """The ``vrclinic-journal`` thread: the folder was unusable, or a write failed later."""
        journal = self.journal  # None while begin() is still making it: the opening failed
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if journal is not None and journal.is_open:
            self._report_error(
                f"the event log can no longer be written to {self.folder} ({text}); the session "
                "goes on and its events are still in the XDF recording. Free disk space."
            )
        elif isinstance(exc, RecordingError):
            self._messages.put(("failed", text))
        else:
            self._messages.put(("failed", f"Cannot write into {self.folder}: {text}."))

    def _report_error(self, text: str) -> None:
        """Any thread."""
        self._messages.put(("error", text))

    def _record(self) -> None:
        """The ``vrclinic-record`` thread: start, then watch until the recording ends."""
        assert self.journal is not None
        self.journal.opened.wait()
        if not self.journal.is_open or self._ending.is_set():
            return  # the folder is unusable: poll() says why
        if self.mirror_fps > 0:
            try:
                self.mirror = MirrorRecorder(self.folder, self.model.started_at, self.mirror_fps, self._report_error)
            except OSError as exc:
                self._report_error(f"the patient's view is not recorded: {exc.strerror or exc}")
        if self._start_recorder():
            while not self._ending.wait(self.CHECK_EVERY_S):
                self._look()

    def _start_recorder(self) -> bool:
        """The ``vrclinic-record`` thread. Whether LabRecorder runs."""
        # Start as soon as the sensors are known: those expected (the demo knows its own), or
        # else any at all, waiting a little for discovery when the console has just started.
        deadline = time.monotonic() + (15.0 if self.expect else self.settle_s)
        while time.monotonic() < deadline and not self._ending.is_set():
            names = {info.name() for info in self._streams()}
            if set(self.expect) <= names if self.expect else names:
                break
            time.sleep(0.25)
        if self._ending.is_set():
            return False
        found = self._open_part()
        if found is None:
            return False
        self.manifest["streams"] = sorted(found)
        self._messages.put(("control", f"recording {len(found)} streams to {self.recorder.path}"))
        missing = [name for name in self.expect if name not in found]
        if missing:
            self._messages.put(
                (
                    "error",
                    f"not found, recording without it: {', '.join(missing)}. Check that the sensor is on; "
                    "once it streams, stop and start recording to include it.",
                )
            )
        return True

    def _open_part(self) -> set[str] | None:
        """The ``vrclinic-record`` thread: start LabRecorder on the next part (``session.xdf``
        first, then ``session.part2.xdf`` …) with the streams on the network now; their names,
        or None if it did not start (said)."""
        # Record what is on the network now, freshly resolved: the directory may still list a
        # stream that just went away, and opening one of those would keep the recorder waiting.
        infos = resolve_now([*self._streams(), *(self.outlets.infos() if self.outlets is not None else [])])
        name = part_name(len(self.parts) + 1)
        recorder = self.recorder if not self.parts else SessionRecorder(self.folder, self._report_error, name)
        try:
            recorder.start(infos)
        except (RecordingError, RuntimeError, OSError) as exc:
            self._messages.put(("error", f"recording did not start: {exc}" if not self.parts else f"{name}: {exc}"))
            return None
        self.recorder = recorder
        self.parts.append({"file": name, "from_clock": self.model.clock(), "to_clock": None, "closed": None})
        self._last_size = (0, time.monotonic())
        # The control thread pushes the stimulus as it stands, once the recorder's inlets are
        # connected (an LSL inlet gets only what is pushed after it connects).
        self._state_due_at = time.monotonic() + 1.0
        return {info.name() for info in infos}

    def _close_part(self, at: float, check: bool = False) -> None:
        """The ``vrclinic-record`` or ``-record-stop`` thread: stop LabRecorder on the part
        being written (up to its stop timeout); the part's end is ``at`` (console clock).
        ``check``: read the file's structure to know whether it really got its footers (on a
        disk that filled up the engine may have failed to write them)."""
        if not self.recorder.recording:
            return
        part = self.parts[-1]
        part["to_clock"] = at
        try:
            path = self.recorder.stop()
            part["closed"] = True
            if check:
                scan = completeness.scan_file(path)
                part["closed"] = scan.whole and scan.headers <= scan.footers
        except RecordingError as exc:
            part["closed"] = False
            self._messages.put(("error", str(exc)))
        except OSError:
            part["closed"] = False

    def _session_time(self, clock: float) -> str:
        return clock_text(clock - self.model.started_at)

    def _disk_full(self, free: float) -> None:
        """The ``vrclinic-record`` thread: close the part being written while its footers still
        fit, and say so once; :meth:`_look` goes on in a new part when space is back."""
        at = self.model.clock()
        self._disk = "full"
        self._report_error(  # at once: closing the part may take the recorder's stop timeout
            f"the disk holding {self.folder} is full ({free:.0f} MB left): recording paused at "
            f"{self._session_time(at)}, closing {self.recorder.path.name}. The live session goes on. Free "
            f"space: once {self.resume_mb:.0f} MB are free, recording goes on by itself in a new file."
        )
        self._close_part(at, check=True)
        self.gaps.append({"from_clock": at, "to_clock": None, "why": "the disk was full"})

    def _space_back(self, free: float) -> None:
        """The ``vrclinic-record`` thread: the disk has room again; record into a new part."""
        found = self._open_part()
        if found is None:
            self._disk = "failed"  # said by _open_part; the gap stays open to the end
            return
        gap = self.gaps[-1]
        gap["to_clock"] = at = self.parts[-1]["from_clock"]
        self._disk = "ok"
        lost = sorted(set(self.manifest.get("streams", [])) - found)
        self._report_error(
            f"disk space is back ({free:.0f} MB free): recording goes on in {self.recorder.path.name}. "
            f"Nothing was recorded from {self._session_time(gap['from_clock'])} to {self._session_time(at)} "
            f"({at - gap['from_clock']:.0f} s)."
            + (f" Not found again, not recorded from now on: {', '.join(lost)}." if lost else "")
        )

    def _look(self) -> None:
        """The ``vrclinic-record`` thread, every few seconds: the disk, the file, new streams.
        Each condition is said when it begins and when it ends, not at every look."""
        free = _free_mb(self.folder)
        if self._disk in ("full", "failed"):
            if self._disk == "full" and free >= self.resume_mb:
                self._space_back(free)
            return  # nothing is being written meanwhile
        if free < self.full_mb:
            self._disk_full(free)
            return
        if free < self.low_mb and self._disk == "ok":
            self._disk = "low"
            self._report_error(f"only {free:.0f} MB free on the disk holding the recording.")
        elif free >= 1.2 * self.low_mb and self._disk == "low":  # with a margin: said once, not back and forth
            self._disk = "ok"
            self._messages.put(("control", f"the disk holding the recording has room again ({free:.0f} MB free)."))
        late = {i.name() for i in self._streams()} - set(self.recorder.stream_names) - self._announced
        if late:
            self._announced |= late
            self._report_error(
                f"new stream not in this recording: {', '.join(sorted(late))}. Stop and start recording to include it."
            )
        t = time.monotonic()
        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0
        if size != self._last_size[0]:
            self._last_size = (size, t)
            if self._stalled:
                self._stalled = False
                self._messages.put(("control", f"{self.path.name} is growing again."))
        elif t - self._last_size[1] > self.STALL_S and not self._stalled:
            self._stalled = True
            self._report_error(f"{self.path.name} has not grown for {self.STALL_S:g} s: is the disk full or gone?")

    def _logged(self, entry: LogEntry) -> None:
        """Control thread (the model's signal); returns at once: the journal's thread writes."""
        if self.journal is not None:
            self.journal.write(entry)

    def poll(self) -> list[tuple[str, str]]:
        """Control thread, a few times a second; returns at once: messages for the event log
        (kind, text) from the recording's threads. A folder found unusable ends the recording
        (:attr:`failed` says why)."""
        due = self._state_due_at
        if due is not None and time.monotonic() >= due and self.outlets is not None:
            self._state_due_at = None
            self.outlets.push_state()
        out = []
        while True:
            try:
                kind, text = self._messages.get_nowait()
            except queue.Empty:
                break
            if kind == "failed":
                kind = "error"
                if self.failed is None:
                    self.failed = text
                    self.end()
            out.append((kind, text))
        for kind, text in out:
            if kind == "error":
                self.problems.append(text)
        return out

    @property
    def state_text(self) -> str:
        """Control thread: what the recording bar shows while it is not simply recording."""
        if self.finished.is_set():
            return "recorded"
        if self._ending.is_set():
            return "finishing"
        if self._disk in ("full", "failed"):
            return "paused: the disk is full"
        return "recording" if self.recorder.recording else "starting"

    def end(self) -> None:
        """Control thread; returns at once: stop taking events and frames; the files are
        finished in the ``vrclinic-record-stop`` thread, and :attr:`finished` is set when
        the folder is complete."""
        if self._ending.is_set():
            return
        self._ending.set()
        self.model.logged.disconnect(self._logged, missing_ok=True)
        if self.journal is not None:
            self.journal.stop()
        mirror = self.mirror  # the vrclinic-record thread may still make one: _finish stops that
        if mirror is not None:
            mirror.stop()
        self.manifest["ended_clock"] = self.model.clock()
        threading.Thread(target=self._finish, name="vrclinic-record-stop", daemon=True).start()

    def _finish(self) -> None:
        """The ``vrclinic-record-stop`` thread."""
        if self._starter is not None:
            self._starter.join()
        if self.mirror is not None:
            self.mirror.close()
        try:
            self._close_part(self.manifest["ended_clock"], check=self.troubled)
            if self.parts:
                self._messages.put(self._recorded_words())
        finally:
            if self.journal is not None and self.journal.is_open:
                try:
                    self.journal.close(timeout=20.0)
                except OSError as exc:
                    self.problems.append(f"event log not closed cleanly: {exc}")
            if self.journal is not None and self.journal.is_open:
                self._write_last_manifest()
            self.finished.set()

    @property
    def troubled(self) -> bool:
        """The recorder stopped before the end (the disk was full), or a part was not closed."""
        return bool(self.gaps) or any(part["closed"] is False for part in self.parts)

    def _held_s(self) -> float:
        """The ``vrclinic-record-stop`` thread: seconds the XDF parts hold, from their own
        samples (a part the disk cut short holds less than its time), never more."""
        held = 0.0
        for part in self.parts:
            try:
                held += completeness.scan_file(self.folder / part["file"]).span_s
            except OSError:
                continue  # a part that cannot be read holds nothing we can claim
        return held

    def _recorded_words(self) -> tuple[str, str]:
        """The ``vrclinic-record-stop`` thread: what the recording holds, for the event log.
        Without trouble the file's name; with it, how much of the session the files hold."""
        if not self.troubled:
            return ("control", f"session recorded to {self.recorder.path}")
        held = self.manifest["recorded_s"] = round(self._held_s(), 3)
        length = self.manifest["ended_clock"] - self.manifest.get("recording_started_clock", self.model.started_at)
        names = ", ".join(part["file"] for part in self.parts)
        gaps = "; ".join(
            f"{self._session_time(g['from_clock'])}–"
            + (self._session_time(g["to_clock"]) if g["to_clock"] is not None else "the end")
            + f" ({g['why']})"
            for g in self.gaps
        )
        unclosed = [part["file"] for part in self.parts if part["closed"] is False]
        return (
            "error",
            f"session recorded to {self.folder}, incompletely: the XDF files ({names}) hold "
            f"{clock_text(held)} of the {clock_text(length)} the recording ran"
            + (f"; nothing recorded {gaps}" if gaps else "")
            + (f"; not closed properly: {', '.join(unclosed)}" if unclosed else "")
            + ". The review, the report and the export say what is missing.",
        )

    def _write_last_manifest(self) -> None:
        """The ``vrclinic-record-stop`` thread: ``session.json`` says the recording is complete,
        or incomplete (with its parts, its gaps and the seconds it holds)."""
        self.manifest.update(
            state="incomplete" if self.troubled else "complete",
            ended_wall=wall_now(),
            duration_s=round(self.manifest["ended_clock"] - self.manifest["started_clock"], 3),
        )
        if self.parts:
            self.manifest["parts"] = self.parts
        if self.gaps:
            self.manifest["gaps"] = self.gaps
        if self.mirror is not None:
            self.manifest["mirror_frames"] = self.mirror.written
            self.manifest["mirror_frames_dropped"] = self.mirror.dropped
        if self.problems:
            self.manifest["problems"] = self.problems
        try:
            write_manifest(self.folder, self.manifest)
        except OSError as exc:
            self._messages.put(("error", f"could not finish {MANIFEST}: {exc}"))
