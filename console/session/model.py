"""The live session, as plain Python objects: headsets, their scenes and parameters
(requested and applied), ratings, markers and the event log. No Qt here.

Views subscribe to the model's :class:`Signal`s and call its commands; the model sends
protocol messages through the link (which queues them for its own thread) and takes the
link's events through :meth:`SessionModel.apply`. A slider therefore never touches a socket.

Threads: every method is called in one thread, the console's control thread (the GUI
thread in the Qt console), and signals fire in that thread. Link events reach it through
a queue or a Qt signal, never directly from the link thread.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from console.core.signals import Signal
from protocol import messages
from protocol.link import (
    HeadsetJoined,
    HeadsetSnapshot,
    HeadsetState,
    HeadsetStateChanged,
    LinkEvent,
    MessageReceived,
    PeerProtocolError,
    PeerRefused,
    SendFailed,
)
from protocol.timing import now

# A headset's safety event in the event log and on the timeline: the protocol's kinds are
# identifiers (a newer headset may send one not listed: its identifier, spaced, is shown).
HEADSET_SAFETY_WORDS: dict[str, str] = {
    messages.SafetyKind.WATCHDOG: "calmed by its watchdog",
    messages.SafetyKind.MAKE_SAFE_DONE: "calm scene shown",
    messages.SafetyKind.OVERHEATING: "overheating",
    messages.SafetyKind.BATTERY_LOW: "battery low",
    messages.SafetyKind.TRACKING_LOST: "tracking lost",
    messages.SafetyKind.PATIENT_REQUEST: "the patient asked to stop",
    messages.SafetyKind.OTHER: "safety event",
}


def safety_words(kind: str) -> str:
    """What a headset's safety event kind is called for a therapist."""
    return HEADSET_SAFETY_WORDS.get(kind) or str(kind).replace("_", " ")


class Link(Protocol):
    """What the model needs of protocol.link.ConsoleLink (tests may pass a recorder)."""

    def send(self, name: str, message: messages.Message) -> int: ...
    def broadcast(self, message: messages.Message) -> int: ...
    def headsets(self) -> dict[str, HeadsetSnapshot]: ...


@dataclass
class ParameterState:
    spec: messages.ParameterSpec
    requested: float | None = None
    applied: float | None = None
    target: float | None = None
    ramping: bool = False
    requested_at: float | None = None
    applied_at: float | None = None  # console clock


@dataclass
class Headset:
    name: str
    state: HeadsetState = HeadsetState.CONNECTING
    hello: messages.Hello | None = None
    scenes: list[messages.SceneSpec] = field(default_factory=list)
    scene_id: str = ""
    scene_state: str = ""
    parameters: dict[str, ParameterState] = field(default_factory=dict)
    telemetry: messages.Telemetry | None = None
    link: HeadsetSnapshot | None = None
    state_since: float = field(default_factory=now)
    last_reason: str = ""

    def scene(self, scene_id: str | None = None) -> messages.SceneSpec | None:
        wanted = scene_id or self.scene_id
        return next((s for s in self.scenes if s.id == wanted), None)

    @property
    def calm_scene(self) -> str:
        return next((s.id for s in self.scenes if s.calm), "")


@dataclass(frozen=True)
class LogEntry:
    at: float  # console clock
    kind: str  # link, control, prompt, answer, marker, safety, error, step, decision
    headset: str
    text: str
    # The numbers behind the text, for entries a report or an audit reads back (a step's
    # values, a suggestion and what it was based on, a threshold crossed). JSON-able.
    data: dict | None = None


@dataclass(frozen=True)
class Rating:
    at: float  # console clock, when answered
    headset: str
    kind: str  # suds, expectancy, outcome
    value: int | None  # None when the prompt expired
    prompt_id: int
    response_s: float | None


@dataclass(frozen=True)
class Mark:
    """Something to draw on the timeline and the physiology plots."""

    at: float
    label: str
    kind: str  # stimulus, rating, marker, safety, habituation


PROMPT_TEXT = {
    "suds": "How anxious are you right now, from 0 (calm) to 100 (the worst)?",
    "expectancy": "How likely is it that what you fear will happen, 0 to 100 %?",
    "outcome": "How much did what you feared actually happen, 0 to 100 %?",
}


class SessionModel:
    """See the module docstring."""

    # Signals, all fired in the control thread:
    headset_changed = Signal(str)  # (name)
    telemetry_received = Signal(str, object, float)  # (name, messages.Telemetry, received_at console clock)
    parameter_changed = Signal(str, str)  # (headset, parameter name)
    logged = Signal(object)  # (LogEntry)
    rated = Signal(object)  # (Rating)
    marked = Signal(object)  # (Mark)
    current_changed = Signal(str)  # (name)
    presets_changed = Signal()  # ()
    measured = Signal(float, dict)  # (console clock, {metric: value or None}): live physiology metrics

    def __init__(self, link: Link, presets_path: Path | None = None, clock: Callable[[], float] = now):
        self.link = link
        self.clock = clock
        self.started_at = clock()
        self.headsets: dict[str, Headset] = {}
        self.current: str = ""  # the headset the controls act on
        self.log: list[LogEntry] = []
        self.ratings: list[Rating] = []
        self.marks: list[Mark] = []
        self.mirror = messages.MirrorSettings(enabled=True, max_fps=15, max_width=640, quality=70)
        self.presets_path = presets_path
        self.presets: dict[str, dict[str, dict[str, float]]] = self._load_presets()
        self._prompt_ids = itertools.count(1)
        self._open_prompts: dict[int, tuple[str, str, float]] = {}  # id -> (headset, kind, asked at)

    # -- helpers --------------------------------------------------------------------
    def elapsed(self) -> float:
        return self.clock() - self.started_at

    def note(self, kind: str, headset: str, text: str, data: dict | None = None) -> LogEntry:
        entry = LogEntry(self.clock(), kind, headset, text, data)
        self.log.append(entry)
        self.logged.emit(entry)
        return entry

    def measure(self, at: float, values: dict[str, float | None]) -> None:
        """Live metrics computed from the physiology (heart rate, arousal...), for recording."""
        self.measured.emit(at, values)

    def mark(self, label: str, kind: str, at: float | None = None) -> None:
        m = Mark(self.clock() if at is None else at, label, kind)
        self.marks.append(m)
        self.marked.emit(m)

    def headset(self, name: str | None = None) -> Headset | None:
        return self.headsets.get(name or self.current)

    def select(self, name: str) -> None:
        if name in self.headsets and name != self.current:
            self.current = name
            self.current_changed.emit(name)

    def _target(self, name: str | None) -> Headset | None:
        h = self.headset(name)
        if h is None:
            self.note("error", name or "", "No headset is connected: nothing was sent.")
        return h

    # -- commands (called by views) -------------------------------------------------
    def make_safe(self, reason: str = "therapist pressed make safe", fade_s: float = 1.0) -> None:
        """Every headset fades to its calm scene. Works in any state; needs nothing but the link."""
        self.link.broadcast(messages.MakeSafe(fade_s=fade_s, reason=reason))
        self.note("safety", "all", f"MAKE SAFE sent to every headset ({reason})")
        self.mark("make safe", "safety")

    def pause(self, name: str | None = None) -> None:
        if h := self._target(name):
            self.link.send(h.name, messages.Pause())
            self.note("control", h.name, "pause")

    def resume(self, name: str | None = None, fade_s: float = 3.0) -> None:
        if h := self._target(name):
            self.link.send(h.name, messages.Resume(fade_s=fade_s))
            self.note("control", h.name, "resume")
            self.mark("resume", "stimulus")

    def load_scene(self, scene_id: str, name: str | None = None, values: dict[str, float] | None = None) -> None:
        h = self._target(name)
        if h is None:
            return
        if h.scene(scene_id) is None:
            self.note("error", h.name, f"{h.name} has no scene {scene_id!r}")
            return
        params = [messages.ParameterValue(name=k, value=float(v)) for k, v in (values or {}).items()]
        self.link.send(h.name, messages.LoadScene(scene_id=scene_id, parameters=params))
        self.note("control", h.name, f"load scene {scene_id}")
        self.mark(f"scene {scene_id}", "stimulus")

    def set_parameter(self, param: str, value: float, ramp_s: float = 0.0, name: str | None = None) -> bool:
        """Ask for a new value. Refused here (with a log line) when outside the declared range."""
        h = self._target(name)
        if h is None:
            return False
        state = h.parameters.get(param)
        if state is None:
            self.note("error", h.name, f"scene {h.scene_id!r} has no parameter {param!r}")
            return False
        spec = state.spec
        if not spec.min <= value <= spec.max:
            self.note("error", h.name, f"{spec.label} {value:g} {spec.unit} is outside {spec.min:g} … {spec.max:g}")
            return False
        self.link.send(h.name, messages.SetParameter(name=param, value=float(value), ramp_s=float(ramp_s)))
        state.requested, state.requested_at = float(value), self.clock()
        ramp = f" over {ramp_s:g} s" if ramp_s > 0 else ""
        unit = f" {spec.unit}" if spec.unit else ""
        self.note("control", h.name, f"{spec.label} → {value:g}{unit}{ramp}")
        self.mark(f"{spec.label} {value:g}", "stimulus")
        self.parameter_changed.emit(h.name, param)
        return True

    def ask(self, kind: str, name: str | None = None, text: str | None = None) -> int | None:
        """Show a rating prompt in the headset; the answer arrives as a Rating."""
        h = self._target(name)
        if h is None:
            return None
        prompt_id = next(self._prompt_ids)
        self.link.send(
            h.name,
            messages.Prompt(prompt_id=prompt_id, kind=messages.PromptKind(kind), text=text or PROMPT_TEXT[kind]),
        )
        self._open_prompts[prompt_id] = (h.name, kind, self.clock())
        self.note("prompt", h.name, f"asked {kind.upper()}")
        return prompt_id

    def add_marker(self, label: str = "marker", note: str = "") -> None:
        at = self.clock()
        for h in self.headsets.values():
            if h.state != HeadsetState.LOST:
                self.link.send(h.name, messages.Marker(label=label[:128], note=note[:1024], at=at))
        self.note("marker", "", label + (f" — {note}" if note else ""))
        self.mark(label, "marker", at)

    def set_mirror(self, settings: messages.MirrorSettings, name: str | None = None) -> None:
        self.mirror = settings
        targets = [self.headsets[name]] if name in self.headsets else list(self.headsets.values())
        for h in targets:
            if h.state != HeadsetState.LOST:
                self.link.send(h.name, settings)
        state = f"{settings.max_width} px, {settings.max_fps:g} fps" if settings.enabled else "off"
        self.note("control", name or "all", f"mirror {state}")

    # -- presets ------------------------------------------------------------------------
    def _load_presets(self) -> dict[str, dict[str, dict[str, float]]]:
        if self.presets_path is None or not self.presets_path.exists():
            return {}
        try:
            data = json.loads(self.presets_path.read_text(encoding="utf-8"))
            return {
                scene: {k: {p: float(v) for p, v in vals.items()} for k, vals in d.items()} for scene, d in data.items()
            }
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            self.log.append(LogEntry(self.clock(), "error", "", f"presets file {self.presets_path} unreadable: {exc}"))
            return {}

    def save_preset(self, label: str, name: str | None = None) -> bool:
        h = self._target(name)
        if h is None or not h.scene_id or not h.parameters:
            return False
        values = {p: (s.requested if s.requested is not None else s.applied) for p, s in h.parameters.items()}
        self.presets.setdefault(h.scene_id, {})[label] = {p: v for p, v in values.items() if v is not None}
        if self.presets_path is not None:
            try:
                self.presets_path.parent.mkdir(parents=True, exist_ok=True)
                self.presets_path.write_text(json.dumps(self.presets, indent=1), encoding="utf-8")
            except OSError as exc:
                self.note("error", h.name, f"preset kept for this session only; could not save it: {exc}")
        self.note("control", h.name, f"preset {label!r} saved for {h.scene_id}")
        self.presets_changed.emit()
        return True

    def recall_preset(self, label: str, ramp_s: float = 0.0, name: str | None = None) -> None:
        h = self._target(name)
        if h is None:
            return
        values = self.presets.get(h.scene_id, {}).get(label)
        if values is None:
            self.note("error", h.name, f"no preset {label!r} for {h.scene_id}")
            return
        self.note("control", h.name, f"preset {label!r}")
        for param, value in values.items():
            if param in h.parameters:
                self.set_parameter(param, value, ramp_s, h.name)

    # -- link events (called in the control thread with what the link reported) -------
    def apply(self, event: LinkEvent) -> None:
        if isinstance(event, MessageReceived):
            self._on_message(event)
        elif isinstance(event, HeadsetJoined):
            h = self.headsets.get(event.name)
            if h is None:
                h = self.headsets[event.name] = Headset(event.name)
            h.hello = event.hello
            self._set_state(h, HeadsetState.CONNECTED, "")
            what = "reconnected" if event.resumed else "connected"
            self.note("link", h.name, f"{what}: {event.hello.engine} {event.hello.app_version}".strip())
            if not self.current:
                self.select(h.name)
            self.link.send(h.name, self.mirror)
        elif isinstance(event, HeadsetStateChanged):
            h = self.headsets.get(event.name)
            if h is not None:
                self._set_state(h, event.state, event.reason)
                level = "safety" if event.state in (HeadsetState.LOST, HeadsetState.STALE) else "link"
                self.note(level, h.name, f"link {event.state.upper()}" + (f": {event.reason}" if event.reason else ""))
        elif isinstance(event, PeerRefused):
            self.note("error", event.name, f"refused: {event.text}")
        elif isinstance(event, PeerProtocolError):
            self.note("error", event.name, f"sent an invalid message ({event.code}): {event.text}")
        elif isinstance(event, SendFailed):
            self.note("error", event.name, f"could not send {event.msg_type}: {event.text}")

    def refresh_link_stats(self) -> None:
        """Copy the link's per-headset figures (RTT, offset, ...) into the model."""
        for name, snap in self.link.headsets().items():
            h = self.headsets.get(name)
            if h is not None:
                h.link = snap
                self.headset_changed.emit(name)

    def _set_state(self, h: Headset, state: HeadsetState, reason: str) -> None:
        if h.state != state:
            h.state, h.state_since = state, self.clock()
        h.last_reason = reason
        self.headset_changed.emit(h.name)

    def _on_message(self, event: MessageReceived) -> None:
        h = self.headsets.get(event.name)
        if h is None:
            return
        msg = event.message
        if isinstance(msg, messages.ParameterApplied):
            state = h.parameters.get(msg.name)
            if state is None and h.parameters:  # the scene has no such parameter (SPEC §9.1)
                self._refuse(h, event, "unexpected", f"parameter {msg.name!r} is not one of scene {h.scene_id!r}'s")
            if state is not None:
                state.applied, state.target, state.ramping = msg.value, msg.target, msg.ramping
                state.applied_at = event.received_at
                self.parameter_changed.emit(h.name, msg.name)
        elif isinstance(msg, messages.Telemetry):
            h.telemetry = msg
            self.telemetry_received.emit(h.name, msg, event.received_at)
            self.headset_changed.emit(h.name)
        elif isinstance(msg, messages.SceneCatalogue):
            h.scenes = list(msg.scenes)
            self.note("link", h.name, "offers " + ", ".join(s.label for s in msg.scenes))
            self.headset_changed.emit(h.name)
        elif isinstance(msg, messages.SceneStatus):
            if h.scene(msg.scene_id) is None:  # SPEC §9.1: unexpected (unknown_scene is the engine's code)
                self._refuse(h, event, "unexpected", f"scene {msg.scene_id!r} is not in this headset's catalogue")
                return
            self._on_status(h, msg)
        elif isinstance(msg, messages.PromptAnswer):
            asked = self._open_prompts.get(msg.prompt_id)
            problem = ""
            if asked is None:
                problem = "was never asked"
            elif asked[0] != h.name:
                problem = f"was asked of {asked[0]}, not of this headset"
            elif asked[1] != str(msg.kind):
                problem = f"asked for {asked[1]}, not {msg.kind}"
            if problem:
                self._refuse(h, event, "unexpected", f"an answer to prompt {msg.prompt_id}, which {problem}")
                return
            self._on_answer(h, msg, event.received_at)
        elif isinstance(msg, messages.SafetyEvent):
            words = safety_words(msg.kind)
            self.note("safety", h.name, f"{words}: {msg.text}")
            self.mark(words, "safety", event.received_at)
        elif isinstance(msg, messages.Marker):
            self.note("marker", h.name, msg.label + (f" — {msg.note}" if msg.note else ""))
            self.mark(msg.label, "marker", event.received_at)
        elif isinstance(msg, messages.Error):
            self.note("error", h.name, f"{msg.code}: {msg.text}")
        elif isinstance(msg, messages.Bye):
            self.note("link", h.name, f"said bye: {msg.text}")

    def _refuse(self, h: Headset, event: MessageReceived, code: str, problem: str) -> None:
        """A valid message that makes no sense now: not shown as data, logged, and the
        headset told (SPEC, "Errors"), so that a faulty or hostile engine is visible."""
        msg = event.message
        self.note("error", h.name, f"refused {msg.TYPE}: {problem}")
        self.link.send(h.name, messages.Error(code=code, text=problem[:1024], ref_type=msg.TYPE, ref_id=event.msg_id))

    def _on_status(self, h: Headset, msg: messages.SceneStatus) -> None:
        changed_scene = msg.scene_id != h.scene_id
        h.scene_id, h.scene_state = msg.scene_id, str(msg.state)
        spec = h.scene(msg.scene_id)
        if changed_scene or (spec and set(h.parameters) != {p.name for p in spec.parameters}):
            h.parameters = {p.name: ParameterState(p) for p in spec.parameters} if spec else {}
        for pv in msg.parameters:
            state = h.parameters.get(pv.name)
            if state is not None:
                state.applied = state.target = pv.value
                if state.requested is None or changed_scene:
                    state.requested = pv.value
        self.note("safety" if msg.state == "safe" else "link", h.name, f"scene {msg.scene_id} {msg.state}")
        self.headset_changed.emit(h.name)
        for name in h.parameters:
            self.parameter_changed.emit(h.name, name)

    def _on_answer(self, h: Headset, msg: messages.PromptAnswer, received_at: float) -> None:
        self._open_prompts.pop(msg.prompt_id, None)
        response = msg.answered_at - msg.shown_at
        rating = Rating(
            received_at,
            h.name,
            str(msg.kind),
            msg.value if msg.answered else None,
            msg.prompt_id,
            response if msg.answered else None,
        )
        self.ratings.append(rating)
        if msg.answered:
            self.note("answer", h.name, f"{msg.kind.upper()} {msg.value} (answered in {response:.1f} s)")
            self.mark(f"{msg.kind.upper()} {msg.value}", "rating", received_at)
        else:
            self.note("answer", h.name, f"{msg.kind.upper()} prompt expired without an answer")
        self.rated.emit(rating)
