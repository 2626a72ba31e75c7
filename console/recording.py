"""Recording a session as XDF, the LSL ecosystem's format, with LabRecorder's own engine.

Two parts, no Qt:

- :class:`SessionOutlets` publishes what happens in the session (every event-log entry,
  every requested and applied stimulus value, every rating) as LSL streams on the console's
  clock, so that one recorder takes them together with the sensors, and a lab running its
  own LabRecorder records them alongside its own devices.
- :class:`SessionRecorder` records a set of LSL streams into ``session.xdf`` in a session
  folder through the ``labrecorder`` package.

Threads: SessionOutlets is fed in the control (GUI) thread through the model's signals;
pushing to an LSL outlet does not block. The recorder's own threads live inside
labrecorder; start() and stop() are called from the control thread and return quickly
(stop waits for the file to be complete, a second or two at most).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pylsl

from console.session import LogEntry, Rating, SessionModel


class RecordingError(RuntimeError):
    """Recording could not start or finish; the text says what to do."""


def _marker_info(name: str, kind: str, source_id: str) -> pylsl.StreamInfo:
    info = pylsl.StreamInfo(name, kind, 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, source_id)
    info.desc().append_child_value("manufacturer", "vrclinic console")
    info.desc().append_child_value("encoding", "one JSON object per sample")
    return info


class SessionOutlets:
    """The session's own streams: ``PREFIX-events``, ``PREFIX-stimulus``, ``PREFIX-ratings``."""

    def __init__(self, model: SessionModel, prefix: str = "vrclinic"):
        self.model = model
        self.names = {kind: f"{prefix}-{kind}" for kind in ("events", "stimulus", "ratings")}
        session = getattr(model.link, "config", None)
        tag = getattr(session, "session_id", "") or str(int(time.time()))
        self._outlets = {
            kind: pylsl.StreamOutlet(_marker_info(name, "Markers", f"{name}-{tag}"))
            for kind, name in self.names.items()
        }
        model.logged.connect(self._logged)
        model.parameter_changed.connect(self._parameter)
        model.rated.connect(self._rated)

    def _push(self, kind: str, payload: dict, at: float) -> None:
        self._outlets[kind].push_sample([json.dumps(payload, ensure_ascii=False)], at)

    def _logged(self, entry: LogEntry) -> None:
        self._push("events", {"kind": entry.kind, "headset": entry.headset, "text": entry.text}, entry.at)

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

    def infos(self, timeout: float = 2.0) -> list[pylsl.StreamInfo]:
        """These streams as a recorder needs them (resolved, with their network address)."""
        found = []
        for name in self.names.values():
            found += pylsl.resolve_byprop("name", name, 1, timeout)
        return found


class SessionRecorder:
    """Records LSL streams into ``FOLDER/session.xdf``."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / "session.xdf"
        self._recording = None
        self.stream_names: list[str] = []

    def start(self, infos: list[pylsl.StreamInfo]) -> None:
        try:
            import labrecorder
        except ImportError as exc:  # a broken install; say what to do
            raise RecordingError(f"Recording needs the labrecorder package ({exc}); reinstall vrclinic.") from exc
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = self.folder / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise RecordingError(
                f"Cannot write the session folder {self.folder}: {exc.strerror or exc}. "
                "Choose a folder you may write to (and that has free space)."
            ) from exc
        if not infos:
            raise RecordingError("There is no stream to record yet.")
        self.stream_names = [info.name() for info in infos]
        self._recording = labrecorder.Recording(str(self.path), infos)

    @property
    def recording(self) -> bool:
        return self._recording is not None

    def write_log(self, model: SessionModel) -> Path:
        """The session's event log as JSON lines (one entry each, console clock and session time)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "events.jsonl"
        with open(path, "w", encoding="utf-8") as fh:
            for e in model.log:
                row = {
                    "at": e.at,
                    "session_s": round(e.at - model.started_at, 3),
                    "kind": e.kind,
                    "headset": e.headset,
                    "text": e.text,
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path

    def stop(self, timeout: float = 10.0) -> Path:
        """Stop and wait until the file is complete; returns its path."""
        if self._recording is None:
            raise RecordingError("Not recording.")
        self._recording.stop()
        self._recording = None
        # labrecorder finishes writing after stop() returns: wait for the file to settle.
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            size = self.path.stat().st_size if self.path.exists() else 0
            if size > 0 and size == last:
                with open(self.path, "rb") as fh:
                    if fh.read(4) == b"XDF:":
                        return self.path
            last = size
            time.sleep(0.25)
        raise RecordingError(f"The recording {self.path} was not completed within {timeout:g} s.")
