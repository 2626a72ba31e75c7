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

Threads: SessionOutlets is fed in the control (GUI) thread through the model's signals;
pushing to an LSL outlet does not block. LabRecorder's engine runs in a
process of its own (see :mod:`console.recording.recorder_proc`).
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
from datetime import datetime
from pathlib import Path

import pylsl

from console.core.version import version
from console.physio.streams import with_v4address
from console.records.recorded import (
    EVENTS,
    MANIFEST,
    MIRROR_COLUMNS,
    MIRROR_DIR,
    MIRROR_INDEX,
    XDF,
    chain_hash,
    read_event_log,
)
from console.session.model import LogEntry, Rating, SessionModel


class RecordingError(RuntimeError):
    """Recording could not start or finish; the text says what to do."""


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


# -- the session folder ------------------------------------------------------------------


def write_json_atomically(path: Path, doc: dict) -> None:
    """A crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_manifest(folder: Path, manifest: dict) -> None:
    write_json_atomically(folder / MANIFEST, manifest)


def wall_now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RecordingError(
            f"Cannot write the session folder {folder}: {exc.strerror or exc}. "
            "Choose a folder you may write to (and that has free space)."
        ) from exc


class EventJournal:
    """``events.jsonl``, appended and flushed entry by entry, so that a crash loses at most
    the line being written. Control thread."""

    def __init__(self, path: Path, started_at: float):
        self.path = path
        self.started_at = started_at
        # Appending to a log goes on with its chain ("" for a new log, or not a regular file).
        self._chain = read_event_log(path)[2].last_hash if path.is_file() else ""
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 (open for the session's length)
        self._last_sync = time.monotonic()

    def write(self, entry: LogEntry) -> None:
        row = {
            "at": entry.at,
            "session_s": round(entry.at - self.started_at, 3),
            "kind": entry.kind,
            "headset": entry.headset,
            "text": entry.text,
        }
        if entry.data is not None:
            row["data"] = entry.data
        self._chain = row["chain"] = chain_hash(self._chain, row)
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._fh.flush()  # into the OS: survives the console being killed
        if time.monotonic() - self._last_sync > 1.0:  # onto the disk: survives power loss, once a second
            os.fsync(self._fh.fileno())
            self._last_sync = time.monotonic()

    def close(self) -> None:
        """Raises OSError if the last lines could not be written; the file is closed anyway."""
        if self._fh.closed:
            return
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        finally:
            with contextlib.suppress(OSError):  # closing flushes again; the first failure was raised
                self._fh.close()


class MirrorRecorder:
    """The patient's view at a reduced rate: JPEG files as the headset sent them (no
    re-encoding) and ``index.csv`` with each frame's console-clock time.

    :meth:`offer` is called from the mirror decoder thread and only queues; the files are
    written by this recorder's own thread, so a slow disk never delays the live mirror."""

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
        if at < self._next_due or self.error:
            return
        self._next_due = at + self.interval
        try:
            self._queue.put_nowait((headset, jpeg, at, width, height))
        except queue.Full:
            self.dropped += 1

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
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

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(5)
        if not self._index.closed:
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

    def __init__(self, folder: Path, on_error: Callable[[str], None] | None = None):
        self.folder = Path(folder)
        self.path = self.folder / XDF
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
        with open(self.log_path, "a", encoding="utf-8") as log:
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
                    log.write(f"{wall_now()} {line}\n")
                    log.flush()
                    if line.startswith("Error") and self.on_error:
                        self.on_error(f"recorder: {line}")
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
        try:
            assert proc.stdin is not None
            proc.stdin.write("stop\n")
            proc.stdin.close()
        except OSError:
            pass  # it ended already; its last words are in the queue
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

    Threads: :meth:`begin`, :meth:`end`, :meth:`poll` and the model's signal handlers run in
    the control (GUI) thread. Finding the streams and starting LabRecorder run in the
    ``vrclinic-record-start`` thread, stopping it in ``vrclinic-record-stop`` (each takes
    seconds, and the control thread must keep beating). Those threads report through a
    queue that :meth:`poll` drains.
    """

    LOW_DISK_MB = 500.0
    FULL_DISK_MB = 20.0

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
        self.model = model
        self.folder = Path(folder)
        self.outlets = outlets
        self._streams = streams
        self.patient = patient
        self.mirror_fps = mirror_fps
        self.expect = expect
        self.settle_s = settle_s
        self.session_id = self.folder.name
        self.recorder = SessionRecorder(self.folder, on_error=self._report_error)
        self.journal: EventJournal | None = None
        self.mirror: MirrorRecorder | None = None
        self.manifest: dict = {}
        self.finished = threading.Event()
        self.problems: list[str] = []
        self._messages: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._ending = threading.Event()
        self._starter: threading.Thread | None = None
        self._journal_failed = False
        self._warned_low_disk = False
        self._announced: set[str] = set()  # streams that appeared after the start, said once
        self._state_due_at: float | None = None
        self._last_check = 0.0
        self._last_size = (0, time.monotonic())

    @property
    def path(self) -> Path:
        return self.recorder.path

    def begin(self) -> None:
        """Control thread. Raises :class:`RecordingError` (in words) if the folder is unusable."""
        check_writable(self.folder)
        if _free_mb(self.folder) < self.FULL_DISK_MB:
            raise RecordingError(f"The disk holding {self.folder} is full. Free some space or choose another folder.")
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
        try:
            write_manifest(self.folder, self.manifest)
            self.journal = EventJournal(self.folder / EVENTS, self.model.started_at)
            for entry in self.model.log:  # the session so far: the log is whole from 0:00
                self.journal.write(entry)
        except OSError as exc:
            raise RecordingError(f"Cannot write into {self.folder}: {exc.strerror or exc}.") from exc
        self.model.logged.connect(self._logged)
        if self.mirror_fps > 0:
            self.mirror = MirrorRecorder(self.folder, self.model.started_at, self.mirror_fps, self._report_error)
        self._starter = threading.Thread(target=self._start_recorder, name="vrclinic-record-start", daemon=True)
        self._starter.start()

    def _report_error(self, text: str) -> None:
        """Any thread."""
        self._messages.put(("error", text))

    def _start_recorder(self) -> None:
        """The ``vrclinic-record-start`` thread."""
        # Start as soon as the sensors are known: those expected (the demo knows its own), or
        # else any at all, waiting a little for discovery when the console has just started.
        deadline = time.monotonic() + (15.0 if self.expect else self.settle_s)
        while time.monotonic() < deadline and not self._ending.is_set():
            names = {info.name() for info in self._streams()}
            if set(self.expect) <= names if self.expect else names:
                break
            time.sleep(0.25)
        # Record what is on the network now, freshly resolved: the directory may still list a
        # stream that just went away, and opening one of those would keep the recorder waiting.
        infos = list({info.uid(): info for info in pylsl.resolve_streams(2.0)}.values())
        found = {info.name() for info in infos}
        missing = [name for name in self.expect if name not in found]
        if self._ending.is_set():
            return
        try:
            self.recorder.start(infos)
        except (RecordingError, RuntimeError, OSError) as exc:
            self._messages.put(("error", f"recording did not start: {exc}"))
            return
        self.manifest["streams"] = sorted(found)
        self._last_size = (0, time.monotonic())
        # The control thread pushes the stimulus as it stands, once the recorder's inlets are
        # connected (an LSL inlet gets only what is pushed after it connects).
        self._state_due_at = time.monotonic() + 1.0
        self._messages.put(("control", f"recording {len(infos)} streams to {self.recorder.path}"))
        if missing:
            self._messages.put(
                (
                    "error",
                    f"not found, recording without it: {', '.join(missing)}. Check that the sensor is on; "
                    "once it streams, stop and start recording to include it.",
                )
            )

    def _logged(self, entry: LogEntry) -> None:
        """Control thread (the model's signal)."""
        if self.journal is None or self._journal_failed:
            return
        try:
            self.journal.write(entry)
        except OSError as exc:
            self._journal_failed = True
            self._report_error(
                f"the event log can no longer be written to {self.folder} ({exc.strerror or exc}); the session "
                "goes on and its events are still in the XDF recording. Free disk space."
            )

    def poll(self) -> list[tuple[str, str]]:
        """Control thread, a few times a second: messages for the event log (kind, text),
        and a look at the disk and the file every few seconds."""
        due = self._state_due_at
        if due is not None and time.monotonic() >= due and self.outlets is not None:
            self._state_due_at = None
            self.outlets.push_state()
        out = []
        while True:
            try:
                out.append(self._messages.get_nowait())
            except queue.Empty:
                break
        t = time.monotonic()
        if self.recorder.recording and t - self._last_check > 3.0:
            self._last_check = t
            free = _free_mb(self.folder)
            if free < self.FULL_DISK_MB:
                out.append(
                    (
                        "error",
                        f"the disk holding {self.folder} is full ({free:.0f} MB left): recording "
                        "cannot continue. The live session goes on. Free space now.",
                    )
                )
            elif free < self.LOW_DISK_MB and not self._warned_low_disk:
                self._warned_low_disk = True
                out.append(("error", f"only {free:.0f} MB free on the disk holding the recording."))
            late = {i.name() for i in self._streams()} - set(self.recorder.stream_names) - self._announced
            if late:
                self._announced |= late
                out.append(
                    (
                        "error",
                        f"new stream not in this recording: {', '.join(sorted(late))}. "
                        "Stop and start recording to include it.",
                    )
                )
            size = self.path.stat().st_size if self.path.exists() else 0
            if size != self._last_size[0]:
                self._last_size = (size, t)
            elif t - self._last_size[1] > 15:
                self._last_size = (size, t)
                out.append(("error", f"{self.path.name} has not grown for 15 s: is the disk full or gone?"))
        for kind, text in out:
            if kind == "error":
                self.problems.append(text)
        return out

    @property
    def state_text(self) -> str:
        if self.finished.is_set():
            return "recorded"
        if self._ending.is_set():
            return "finishing"
        return "recording" if self.recorder.recording else "starting"

    def end(self) -> None:
        """Control thread: stop taking events; LabRecorder is stopped in its own thread and
        :attr:`finished` is set when the folder is complete."""
        if self._ending.is_set():
            return
        self._ending.set()
        self.model.logged.disconnect(self._logged)
        if self.journal is not None:
            try:
                self.journal.close()
            except OSError as exc:
                self.problems.append(f"event log not closed cleanly: {exc}")
        if self.mirror is not None:
            self.mirror.close()
        self.manifest["ended_clock"] = self.model.clock()
        threading.Thread(target=self._finish, name="vrclinic-record-stop", daemon=True).start()

    def _finish(self) -> None:
        """The ``vrclinic-record-stop`` thread."""
        if self._starter is not None:
            self._starter.join()
        try:
            if self.recorder.recording:
                path = self.recorder.stop()
                self._messages.put(("control", f"session recorded to {path}"))
        except RecordingError as exc:
            self._messages.put(("error", str(exc)))
        finally:
            self.manifest.update(
                state="complete",
                ended_wall=wall_now(),
                duration_s=round(self.manifest["ended_clock"] - self.manifest["started_clock"], 3),
            )
            if self.mirror is not None:
                self.manifest["mirror_frames"] = self.mirror.written
                self.manifest["mirror_frames_dropped"] = self.mirror.dropped
            if self.problems:
                self.manifest["problems"] = self.problems
            try:
                write_manifest(self.folder, self.manifest)
            except OSError as exc:
                self._messages.put(("error", f"could not finish {MANIFEST}: {exc}"))
            self.finished.set()
