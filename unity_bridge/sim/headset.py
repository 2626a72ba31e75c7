"""The simulated headset: an engine client that behaves like a clinic's Unity/Godot app.

It declares scenes with stimulus parameters, renders a view that changes with every
parameter, mirrors it as JPEG at the size and rate the console asks, ramps parameters
smoothly, reports applied values, answers SUDS/expectancy prompts like a patient would
(:mod:`unity_bridge.sim.patient`), sends telemetry, and makes its scene calm by itself when
the console's heartbeats stop. Users run it for demos, rehearsal and technician checks
(``vrclinic headset-sim``); the test suite uses it as the engine on the other end.

Threads: :meth:`SimulatedHeadset.run` is the engine loop and owns the client (and so the
socket). A render thread draws and encodes mirror frames from a snapshot of the scene,
taken under ``_lock``, and hands them to the client with ``offer_frame``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from protocol import messages
from protocol.codec import ProtocolError
from protocol.security import EngineKeys
from protocol.timing import now
from unity_bridge.client import (
    Connected,
    ConsoleBack,
    ConsoleGone,
    EngineClient,
    EngineState,
    PairingCode,
    Received,
    Refused,
)
from unity_bridge.sim import render
from unity_bridge.sim.patient import SimulatedPatient, scene_intensity

TICK_S = 0.01  # engine loop period while something moves (ramps, fades, prompts)
IDLE_TICK_S = 0.05
APPLIED_REPORT_S = 0.1  # at most 10 parameter_applied per second per parameter during a ramp
TELEMETRY_S = 0.5
WATCHDOG_FADE_S = 0.5
PATIENT_STREAM_HZ = 10.0


def patient_stream_name(headset_name: str) -> str:
    """The LSL stream carrying the simulated patient's state (read by `vrclinic physio-sim --follow`)."""
    return f"vrclinic-sim-patient-{headset_name}"


def patient_outlet(headset_name: str):  # -> pylsl.StreamOutlet
    """An LSL outlet with the simulated patient's arousal (0..1) and distress (0..100), so
    that simulated physiology can follow what the patient feels. Simulation only: a real
    headset has no such stream."""
    import pylsl

    from unity_bridge.sim.lsl import stream_info

    info = stream_info(
        patient_stream_name(headset_name),
        "SimPatient",
        PATIENT_STREAM_HZ,
        [("arousal", "normalized"), ("distress", "SUDS")],
    )
    return pylsl.StreamOutlet(info)


@dataclass
class _Ramp:
    start: float
    target: float
    started_at: float
    duration: float
    ref_id: int
    last_report: float = 0.0

    def value_at(self, t: float) -> float:
        if self.duration <= 0:
            return self.target
        frac = min(1.0, max(0.0, (t - self.started_at) / self.duration))
        return self.start + (self.target - self.start) * frac


@dataclass
class _PendingAnswer:
    prompt: messages.Prompt
    shown_at: float
    answer_at: float
    expires_at: float


@dataclass
class SceneSnapshot:
    """What the render thread draws (copied under the lock)."""

    scene_id: str
    values: dict[str, float]
    calm_mix: float
    paused: bool
    anim_t: float


@dataclass
class _State:
    scene_id: str
    values: dict[str, float]
    state: messages.SceneState = messages.SceneState.RUNNING
    calm_mix: float = 0.0  # 0 = the scene, 1 = fully the calm scene
    fade_from: float = 0.0
    fade_to: float = 0.0
    fade_started: float = 0.0
    fade_s: float = 0.0
    before_safe: tuple[str, dict[str, float]] | None = None
    loading_until: float = 0.0
    ramps: dict[str, _Ramp] = field(default_factory=dict)
    anim_t: float = 0.0


def catalogue() -> list[messages.SceneSpec]:
    """The scenes this headset declares, as protocol structs."""
    return [
        messages.SceneSpec(
            id=s["id"],
            label=s["label"],
            description=s.get("description", ""),
            calm=bool(s.get("calm", False)),
            parameters=[
                messages.ParameterSpec(
                    name=p["name"],
                    label=p["label"],
                    unit=p["unit"],
                    min=float(p["min"]),
                    max=float(p["max"]),
                    step=float(p["step"]),
                    default=float(p["default"]),
                    intensity_increases=bool(p.get("intensity_increases", True)),
                )
                for p in s["parameters"]
            ],
        )
        for s in render.SCENES
    ]


class SimulatedHeadset:
    """See the module docstring. ``log`` receives one line per noteworthy event."""

    def __init__(
        self,
        console: str,
        name: str = "simulated-headset",
        *,
        answer_delay_s: float = 2.0,
        load_time_s: float = 0.5,
        seed: int | None = None,
        start_scene: str = "spiders",
        log: Callable[[str], None] | None = None,
        publish_patient: bool = True,
        keys: EngineKeys | None = None,
        keys_path: Path | None = None,
    ):
        """``keys`` or ``keys_path``: the headset's key pair and the console's pinned key (see
        EngineClient; keys without a console key pair first, and a keys file keeps it)."""
        self.name = name
        self.answer_delay_s = answer_delay_s
        self.load_time_s = load_time_s
        self.log = log or (lambda line: None)
        self.scenes = {s["id"]: s for s in render.SCENES}
        self.calm_scene = next(s["id"] for s in render.SCENES if s.get("calm"))
        self.patient = SimulatedPatient(seed=seed)
        self.client = EngineClient(
            console,
            name,
            engine="vrclinic simulated headset",
            app_version="1.0",
            device="simulated",
            scenes=catalogue(),
            keys=keys,
            keys_path=keys_path,
        )
        self._lock = threading.Lock()
        self._s = _State(start_scene, self._defaults(start_scene))
        self._answers: list[_PendingAnswer] = []
        self._stop = threading.Event()
        self._stop_requested = False  # set by a signal handler; see request_stop()
        self._render_thread: threading.Thread | None = None
        self._last_tick = now()
        self._paused_at = 0.0
        self._next_telemetry = 0.0
        self._battery = 87.0
        self._patient_outlet = patient_outlet(name) if publish_patient else None
        self._next_patient_sample = 0.0
        self._temperature = 33.0
        self.render_fps = 0.0
        self.safe_events: list[tuple[float, str]] = []  # (time, why) of each make-safe, for checks

    # -- lifecycle ------------------------------------------------------------------
    def run(self, duration_s: float | None = None) -> None:
        """The engine loop (the calling thread owns the client). Returns on stop() or after duration_s."""
        self._render_thread = threading.Thread(target=self._render_loop, name="sim-render", daemon=True)
        self._render_thread.start()
        end = None if duration_s is None else now() + duration_s
        try:
            next_tick = now()
            while not self._stop.is_set() and not self._stop_requested and (end is None or now() < end):
                for event in self.client.poll(max(0.0, next_tick - now())):
                    self._on_event(event)
                t = now()
                # Animate on a clock, not after every message: a burst of commands is
                # answered at once and the scene still moves at its own pace.
                period = TICK_S if self._busy() else IDLE_TICK_S
                if t >= next_tick:
                    self._tick(t)
                    next_tick = t + period
                else:
                    next_tick = min(next_tick, t + period)
        finally:
            self._stop.set()
            self._render_thread.join(2)
            self.client.close()

    def stop(self) -> None:
        """Any thread."""
        self._stop.set()
        self.client.wake()

    def request_stop(self) -> None:
        """From a signal handler: takes no lock (an Event's set() may deadlock there, if the
        signal arrived while this thread was inside the Event's own lock). It happened: the
        demo's simulator got SIGTERM twice when the console was killed, and hung for ever."""
        self._stop_requested = True
        self.client.wake()  # a one-byte socket send, no lock

    # -- engine loop ----------------------------------------------------------------
    def _defaults(self, scene_id: str) -> dict[str, float]:
        return {p["name"]: float(p["default"]) for p in self.scenes[scene_id]["parameters"]}

    def _busy(self) -> bool:
        s = self._s
        return bool(s.ramps or self._answers or s.fade_s or s.state == messages.SceneState.LOADING)

    def _on_event(self, event: object) -> None:
        if isinstance(event, Connected):
            self.log(f"connected to console {event.welcome.console_name!r}" + (" (resumed)" if event.resumed else ""))
            self._send_status()
        elif isinstance(event, ConsoleGone):
            self.log(f"CONSOLE GONE: {event.reason} -> making the scene safe")
            self._make_safe(WATCHDOG_FADE_S, f"watchdog: {event.reason}")
        elif isinstance(event, ConsoleBack):
            self.log(f"console back after {event.after_s:.1f} s; the scene stays calm until it says otherwise")
        elif isinstance(event, Refused):
            self.log(f"REFUSED by the console ({event.reason}): {event.text}")
            if event.reason != "not_admitted":  # that one keeps trying: pairing lets it in later
                self._stop.set()
        elif isinstance(event, PairingCode):
            self.log(
                f"pairing with console {event.console_name!r}: accept it on the console only if it shows "
                f"the code {event.code}"
            )
        elif isinstance(event, Received):
            try:
                self._on_message(event.msg_id, event.message)
            except ProtocolError as exc:  # our own reply was invalid: report, keep running
                self.log(f"could not answer {event.message.TYPE}: {exc}")

    def _error(self, code: messages.ErrorCode, text: str, msg: messages.Message, msg_id: int) -> None:
        self.client.send(messages.Error(code=code, text=text[:1024], ref_type=msg.TYPE, ref_id=msg_id))

    def _on_message(self, msg_id: int, msg: messages.Message) -> None:
        t = now()
        s = self._s
        if isinstance(msg, messages.SetParameter):
            self._set_parameter(msg_id, msg, t)
        elif isinstance(msg, messages.LoadScene):
            if msg.scene_id not in self.scenes:
                self._error(messages.ErrorCode.UNKNOWN_SCENE, f"no scene {msg.scene_id!r}", msg, msg_id)
                return
            values = self._defaults(msg.scene_id)
            for pv in msg.parameters:
                if pv.name not in values:
                    self._error(
                        messages.ErrorCode.UNKNOWN_PARAMETER, f"scene {msg.scene_id!r} has no {pv.name!r}", msg, msg_id
                    )
                    return
                try:
                    values[pv.name] = self._clamp_check(msg.scene_id, pv.name, pv.value)
                except ValueError as exc:
                    self._error(messages.ErrorCode.OUT_OF_RANGE, str(exc), msg, msg_id)
                    return
            with self._lock:
                s.scene_id, s.values, s.ramps = msg.scene_id, values, {}
                s.state = messages.SceneState.LOADING
                s.loading_until = t + self.load_time_s
                s.before_safe = None
                self._fade(t, 0.0, 0.0)
            self.log(f"loading scene {msg.scene_id}")
            self._send_status(progress=0.0)
        elif isinstance(msg, messages.MakeSafe):
            self._make_safe(msg.fade_s, msg.reason or "console asked")
        elif isinstance(msg, messages.Pause):
            if s.state == messages.SceneState.RUNNING:
                s.state = messages.SceneState.PAUSED
                self._paused_at = t
                self.log("paused")
                self._send_status()
        elif isinstance(msg, messages.Resume):
            self._resume(msg.fade_s, t)
        elif isinstance(msg, messages.Prompt):
            self._answers.append(_PendingAnswer(msg, t, t + self.answer_delay_s, t + msg.timeout_s))
            self.log(f"prompt shown: {msg.text}")
        elif isinstance(msg, messages.MirrorSettings):
            state = "on" if msg.enabled else "off"
            self.log(f"mirror {state}: {msg.max_width} px, {msg.max_fps:g} fps, quality {msg.quality}")
        elif isinstance(msg, messages.Marker):
            self.log(f"marker from console: {msg.label}")
        elif isinstance(msg, messages.Error):
            self.log(f"console reported an error: {msg.text}")

    def _clamp_check(self, scene_id: str, name: str, value: float) -> float:
        spec = next(p for p in self.scenes[scene_id]["parameters"] if p["name"] == name)
        if not spec["min"] <= value <= spec["max"]:
            raise ValueError(f"{name} = {value:g} is outside {spec['min']:g} … {spec['max']:g} {spec['unit']}")
        return value

    def _set_parameter(self, msg_id: int, msg: messages.SetParameter, t: float) -> None:
        s = self._s
        if s.state in (messages.SceneState.SAFE, messages.SceneState.LOADING):
            what = (
                "the scene is calm after make safe: resume or load a scene first"
                if s.state == "safe"
                else ("the scene is still loading")
            )
            self._error(messages.ErrorCode.BUSY, f"cannot set {msg.name}: {what}", msg, msg_id)
            return
        if msg.name not in s.values:
            self._error(
                messages.ErrorCode.UNKNOWN_PARAMETER,
                f"scene {s.scene_id!r} has no parameter {msg.name!r} (it has {', '.join(s.values) or 'none'})",
                msg,
                msg_id,
            )
            return
        try:
            self._clamp_check(s.scene_id, msg.name, msg.value)
        except ValueError as exc:
            self._error(messages.ErrorCode.OUT_OF_RANGE, str(exc), msg, msg_id)
            return
        with self._lock:
            ramp = _Ramp(s.values[msg.name], msg.value, t, msg.ramp_s, msg_id, last_report=t)
            if msg.ramp_s <= 0:
                s.values[msg.name] = msg.value
                s.ramps.pop(msg.name, None)
            else:
                s.ramps[msg.name] = ramp
        self._report_applied(msg.name, msg_id, t)

    def _report_applied(self, name: str, ref_id: int, t: float) -> None:
        s = self._s
        ramp = s.ramps.get(name)
        self.client.send(
            messages.ParameterApplied(
                name=name,
                value=s.values[name],
                target=ramp.target if ramp else s.values[name],
                ramping=ramp is not None,
                ref_id=ref_id,
                applied_at=t,
            )
        )

    def _make_safe(self, fade_s: float, why: str) -> None:
        t = now()
        s = self._s
        with self._lock:
            if s.state != messages.SceneState.SAFE:
                s.before_safe = (s.scene_id, dict(s.values))
            s.ramps = {}
            s.state = messages.SceneState.SAFE
            self._fade(t, 1.0, fade_s)
        self.safe_events.append((t, why))
        self.log(f"making safe ({why}), fade {fade_s:g} s")
        self._send_status()

    def _resume(self, fade_s: float, t: float) -> None:
        s = self._s
        if s.state == messages.SceneState.PAUSED:
            with self._lock:
                s.state = messages.SceneState.RUNNING
                for ramp in s.ramps.values():  # ramps stood still while paused
                    ramp.started_at += t - self._paused_at
            self.log("resumed")
        elif s.state == messages.SceneState.SAFE and s.before_safe is not None:
            with self._lock:
                s.scene_id, values = s.before_safe
                s.values = dict(values)
                s.before_safe = None
                s.state = messages.SceneState.RUNNING
                self._fade(t, 0.0, fade_s)
            self.log(f"back from calm to {s.scene_id} over {fade_s:g} s")
        else:
            return
        self._send_status()

    def _fade(self, t: float, to: float, duration: float) -> None:
        s = self._s
        if duration <= 0:
            s.calm_mix, s.fade_s = to, 0.0
            return
        s.fade_from, s.fade_to, s.fade_started, s.fade_s = s.calm_mix, to, t, duration

    def _tick(self, t: float) -> None:
        dt, self._last_tick = t - self._last_tick, t
        s = self._s
        with self._lock:
            if s.state != messages.SceneState.PAUSED:
                s.anim_t += dt
            if s.fade_s:
                frac = min(1.0, (t - s.fade_started) / s.fade_s)
                s.calm_mix = s.fade_from + (s.fade_to - s.fade_from) * frac
                if frac >= 1.0:
                    s.fade_s = 0.0
                    if s.state == messages.SceneState.SAFE:
                        self.client.send(
                            messages.SafetyEvent(
                                kind=messages.SafetyKind.MAKE_SAFE_DONE, text="The calm scene is fully shown.", at=t
                            )
                        )
            reports = []
            if s.state != messages.SceneState.PAUSED:
                for name, ramp in list(s.ramps.items()):
                    if t >= ramp.started_at + ramp.duration:
                        s.values[name] = ramp.target
                        del s.ramps[name]
                        reports.append(name)
                    else:
                        s.values[name] = ramp.value_at(t)
                        if t - ramp.last_report >= APPLIED_REPORT_S:
                            ramp.last_report = t
                            reports.append(name)
        for name in reports:
            self._report_applied(name, -1, t)
        if s.state == messages.SceneState.LOADING and t >= s.loading_until:
            s.state = messages.SceneState.RUNNING
            self.log(f"scene {s.scene_id} running")
            self._send_status()
            self.client.send(messages.Marker(label=f"scene {s.scene_id} loaded", at=t))
        self._update_patient(dt)
        self._answer_prompts(t)
        if t >= self._next_telemetry:
            self._next_telemetry = t + TELEMETRY_S
            self._send_telemetry(t)

    def _intensity(self) -> float:
        s = self._s
        if s.state in (messages.SceneState.LOADING,):
            return 0.0
        params = self.scenes[s.scene_id]["parameters"]
        return scene_intensity(params, s.values) * (1.0 - s.calm_mix)

    def _update_patient(self, dt: float) -> None:
        if dt > 0:
            self.patient.update(self._intensity(), min(dt, 1.0))
        t = now()
        if self._patient_outlet is not None and t >= self._next_patient_sample:
            self._next_patient_sample = t + 1.0 / PATIENT_STREAM_HZ
            self._patient_outlet.push_sample([self.patient.arousal, self.patient.distress], t)

    def _answer_prompts(self, t: float) -> None:
        due = [a for a in self._answers if t >= min(a.answer_at, a.expires_at)]
        for a in due:
            self._answers.remove(a)
            answered = a.answer_at <= a.expires_at
            kind = a.prompt.kind
            value = {
                messages.PromptKind.SUDS: self.patient.answer_suds,
                messages.PromptKind.EXPECTANCY: self.patient.answer_expectancy,
                messages.PromptKind.OUTCOME: self.patient.answer_outcome,
            }[kind]()
            value = max(a.prompt.min, min(a.prompt.max, value))
            self.client.send(
                messages.PromptAnswer(
                    prompt_id=a.prompt.prompt_id,
                    kind=kind,
                    answered=answered,
                    value=value if answered else 0,
                    shown_at=a.shown_at,
                    answered_at=t,
                )
            )
            self.log(f"patient answered {kind} = {value}" if answered else f"prompt {a.prompt.prompt_id} expired")

    def _send_status(self, progress: float = 1.0) -> None:
        s = self._s
        scene = self.calm_scene if s.state == messages.SceneState.SAFE else s.scene_id
        values = {} if s.state == messages.SceneState.SAFE else s.values
        self.client.send(
            messages.SceneStatus(
                scene_id=scene,
                state=s.state,
                progress=progress,
                parameters=[messages.ParameterValue(name=k, value=v) for k, v in values.items()],
            )
        )

    def _send_telemetry(self, t: float) -> None:
        mirror = self.client.mirror_settings
        load = (mirror.max_width / 1280) * (mirror.max_fps / 30) if mirror.enabled else 0.0
        self._temperature += ((33.0 + 6.0 * load) - self._temperature) * 0.02
        self._battery = max(0.0, self._battery - 0.002 * (1 + load))
        sway = 0.02 + 0.05 * (self.patient.distress / 100)  # an anxious patient moves more
        yaw = sway * math.sin(t * 0.7)
        self.client.send(
            messages.Telemetry(
                at=t,
                head_position=[0.03 * math.sin(t * 0.3), 1.62 + 0.01 * math.sin(t * 1.1), 0.02 * math.cos(t * 0.4)],
                head_rotation=[0.0, math.sin(yaw / 2), 0.0, math.cos(yaw / 2)],
                fps=72.0,
                battery_pct=round(self._battery, 1),
                charging=False,
                temperature_c=round(self._temperature, 1),
            )
        )

    # -- render thread --------------------------------------------------------------
    def snapshot(self) -> SceneSnapshot:
        """Any thread."""
        with self._lock:
            s = self._s
            return SceneSnapshot(s.scene_id, dict(s.values), s.calm_mix, s.state == "paused", s.anim_t)

    def _render_loop(self) -> None:
        frames, since = 0, now()
        next_frame = now()
        while not self._stop.is_set():
            mirror = self.client.mirror_settings
            if self.client.state != EngineState.CONNECTED or not mirror.enabled:
                self._stop.wait(0.05)
                next_frame = now()
                continue
            period = 1.0 / mirror.max_fps
            wait = next_frame - now()
            if wait > 0:
                self._stop.wait(wait)
            next_frame = max(next_frame + period, now() - period)
            snap = self.snapshot()
            captured_at = now()
            image = render.render_view(
                snap.scene_id,
                snap.values,
                snap.anim_t,
                width=mirror.max_width,
                calm_mix=snap.calm_mix,
                paused=snap.paused,
                label=self.name,
            )
            jpeg = render.encode_jpeg(image, mirror.quality)
            self.client.offer_frame(jpeg, image.width, image.height, captured_at)
            frames += 1
            if now() - since >= 1.0:
                self.render_fps, frames, since = frames / (now() - since), 0, now()
