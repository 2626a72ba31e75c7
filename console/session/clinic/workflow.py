"""The clinical session: running a plan step by step, expectancy and its violation,
bounded variability, suggestions the therapist accepts, modifies or dismisses, safety
thresholds, and the audit trail of all of it in the session's event log.

No Qt. One thread (the console's GUI thread) calls every method: the views' actions, and
:meth:`ClinicalSession.tick` from a timer with the latest live metrics. The model's signals
(ratings, telemetry) arrive in that same thread.

Every change goes through :class:`console.session.model.SessionModel`, so it is logged and
recorded like a change made by hand; what this module adds is logged with ``kind`` "step",
"decision" or "safety" and the numbers in the entry's ``data``, which the report reads back.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

from console.core.clock import minutes_text
from console.core.signals import Signal
from console.session.clinic.decision import Habituation, StepContext, Suggestion, habituation, suggest
from console.session.clinic.plan import SessionPlan, Step, clamp_vary
from console.session.clinic.safety import SAFETY_EVENT_KINDS, SEVERITIES, SafetyMonitor, Thresholds
from console.session.model import Rating, SessionModel

SUGGEST_AGAIN_AFTER_S = 60.0  # a dismissed kind of suggestion is not repeated at this step for this long


@dataclass(frozen=True)
class StepStatus:
    position: int
    steps: int
    step: Step
    time_at_step_s: float
    min_s: float
    max_s: float
    next_label: str | None
    habituation: Habituation
    expectancy: int | None
    waiting_for: str  # "" or what the step waits for before it starts (the expectancy answer)

    def time_text(self) -> str:
        t = minutes_text(self.time_at_step_s)
        if self.time_at_step_s < self.min_s:
            return f"{t} at step · minimum {minutes_text(self.min_s)}"
        if self.time_at_step_s >= self.max_s:
            return f"{t} at step · over maximum {minutes_text(self.max_s)}"
        return f"{t} at step · {minutes_text(self.min_s)}–{minutes_text(self.max_s)} planned"


@dataclass
class OpenSuggestion:
    id: int
    suggestion: Suggestion
    at: float  # console clock


@dataclass(frozen=True)
class Violation:
    step: str
    expected: int
    happened: int

    @property
    def points(self) -> int:
        """Positive when what was feared happened less than expected: the learning exposure aims for."""
        return self.expected - self.happened

    def text(self) -> str:
        return (
            f"{self.step}: expected {self.expected} %, happened {self.happened} % → "
            f"expectancy violated by {self.points:+d} points"
        )


class ClinicalSession:
    """See the module docstring."""

    changed = Signal()  # () the step, its status or the suggestion changed
    alerted = Signal(object)  # (Alert) a threshold was crossed

    def __init__(
        self,
        model: SessionModel,
        thresholds: Thresholds | None = None,
        *,
        auto_make_safe: bool = True,
        rng: random.Random | None = None,
    ):
        self.model = model
        self.safety = SafetyMonitor(thresholds)
        self.auto_make_safe = auto_make_safe
        self.rng = rng or random.Random()
        self.plan: SessionPlan | None = None
        self.position = -1
        self.entered_at: float | None = None
        self.suggestion: OpenSuggestion | None = None
        self.violations: list[Violation] = []
        self._ids = itertools.count(1)
        self._step_suds: list[tuple[float, int]] = []
        self._step_arousal: list[tuple[float, float]] = []
        self._expectancy: dict[int, int] = {}  # position -> expected %
        self._queue: list[tuple[str, int]] = []  # prompts to ask, one at a time: (kind, position)
        self._asking: dict[int, tuple[str, int]] = {}  # prompt id -> (kind, position)
        self._pending_entry: int | None = None  # a step waiting for its expectancy answer
        self._last_suds_ask: float | None = None
        self._last_vary: float | None = None
        self._dismissed: dict[str, float] = {}  # action -> when it was last dismissed at this step
        self._latest: dict[str, float | None] = {}  # newest hr_bpm, arousal_pct, suds, temperature_c
        self._habituated = False  # said once per step, when first seen
        # Signals, in the calling thread:
        model.rated.connect(self._on_rating)
        model.telemetry_received.connect(self._on_telemetry)

    # -- the plan ----------------------------------------------------------------------
    def begin(self, plan: SessionPlan) -> None:
        """Start running a plan from its first step."""
        self.plan = plan
        names = ", ".join(plan.step(i).label for i in range(len(plan.steps)))
        self.model.note("step", "", f"plan {plan.name!r}: {names}", {"plan": plan.to_dict()})
        self.position = -1
        self.go_to(0, "start of plan")

    def advance(self) -> None:
        if self.plan is not None and self.position + 1 < len(self.plan.steps):
            self.go_to(self.position + 1, "therapist moved up")

    def back(self) -> None:
        if self.plan is not None and self.position > 0:
            self.go_to(self.position - 1, "therapist moved back")

    def go_to(self, position: int, why: str) -> None:
        """Leave the current step (asking the outcome) and enter another one (asking the
        expectancy first, when the plan says so; the stimulus follows the answer)."""
        plan = self.plan
        if plan is None or not 0 <= position < len(plan.steps):
            return
        if self._pending_entry is not None:
            # Moved again while waiting for the patient's expectancy: do not wait any longer.
            self._queue = [(k, p) for k, p in self._queue if k != "expectancy"]
        elif self.position >= 0 and plan.ask_expectancy and position != self.position:
            self._queue.append(("outcome", self.position))
        step = plan.step(position)
        self.model.note(
            "step",
            "",
            f"step {position + 1}/{len(plan.steps)} {step.label} selected ({why})",
            {"position": position + 1, "step": step.to_dict(), "why": why},
        )
        if plan.ask_expectancy and position not in self._expectancy and self._pending_entry is None:
            self._pending_entry = position
            self._queue.append(("expectancy", position))
            self._ask_next()
            self.changed.emit()
            return
        self._pending_entry = None
        self._enter(position)

    def _enter(self, position: int) -> None:
        """Apply the step's scene and values to the current headset; start its clock."""
        assert self.plan is not None
        step = self.plan.step(position)
        self.position = position
        self.entered_at = self.model.clock()
        self._step_suds, self._step_arousal = [], []
        self._habituated = False
        self._dismissed.clear()
        self.suggestion = None
        self._last_suds_ask = self._last_vary = self.entered_at
        h = self.model.headset()
        if h is not None and h.scene_id != step.scene_id:
            self.model.load_scene(step.scene_id, values=step.values)
        else:
            for param, value in step.values.items():
                self.model.set_parameter(param, value, ramp_s=3.0)
        self.model.mark(f"step {position + 1}: {step.label}", "stimulus")
        self.model.note(
            "step",
            "",
            f"step {position + 1}/{len(self.plan.steps)} {step.label} started",
            {"position": position + 1, "label": step.label, "values": step.values, "scene_id": step.scene_id},
        )
        self.changed.emit()

    def vary(self, why: str = "therapist asked") -> dict[str, float]:
        """New values within the step's variability bounds (never above the step's values)."""
        if self.plan is None or self.position < 0:
            return {}
        h = self.model.headset()
        increases = {n: st.spec.intensity_increases for n, st in h.parameters.items()} if h else {}
        step = clamp_vary(self.plan.step(self.position), increases)
        chosen = {}
        for param, (lo, hi) in step.vary.items():
            state = h.parameters.get(param) if h else None
            if state is not None:
                lo, hi = max(lo, state.spec.min), min(hi, state.spec.max)
            value = round(self.rng.uniform(lo, hi), 2)
            if self.model.set_parameter(param, value, ramp_s=3.0):
                chosen[param] = value
        self._last_vary = self.model.clock()
        if chosen:
            self.model.note(
                "step",
                "",
                f"varied within bounds ({why}): " + ", ".join(f"{k}={v:g}" for k, v in chosen.items()),
                {"vary": chosen, "bounds": {k: list(b) for k, b in step.vary.items()}, "why": why},
            )
        return chosen

    def status(self) -> StepStatus | None:
        if self.plan is None or (self.position < 0 and self._pending_entry is None):
            return None
        position = self.position if self.position >= 0 else self._pending_entry
        showing = self._pending_entry if self._pending_entry is not None else position
        planned = self.plan.steps[showing]
        t = self.model.clock() - self.entered_at if self.entered_at is not None and self._pending_entry is None else 0.0
        nxt = self.plan.step(showing + 1).label if showing + 1 < len(self.plan.steps) else None
        return StepStatus(
            position=showing,
            steps=len(self.plan.steps),
            step=self.plan.step(showing),
            time_at_step_s=t,
            min_s=planned.min_s,
            max_s=planned.max_s,
            next_label=nxt,
            habituation=habituation(self._step_suds, self._step_arousal),
            expectancy=self._expectancy.get(showing),
            waiting_for="the patient's expectancy rating" if self._pending_entry is not None else "",
        )

    # -- readings ----------------------------------------------------------------------
    def tick(self, readings: dict[str, float | None]) -> None:
        """With the latest live metrics (``hr_bpm``, ``arousal_pct``...; None when not
        measured): safety thresholds, the step's arousal series, scheduled prompts and
        variation, and the suggestion. Called every half second or so."""
        now = self.model.clock()
        self._latest.update({k: v for k, v in readings.items() if k in ("hr_bpm", "arousal_pct")})
        self._check_safety()
        arousal = readings.get("arousal_pct")
        in_step = self.entered_at is not None and self._pending_entry is None
        if arousal is not None and in_step and (not self._step_arousal or now - self._step_arousal[-1][0] >= 1.0):
            self._step_arousal.append((now, float(arousal)))
        plan = self.plan
        if plan is not None and self.position >= 0 and self._pending_entry is None:
            if plan.suds_every_s > 0 and now - (self._last_suds_ask or now) >= plan.suds_every_s:
                self._last_suds_ask = now
                if not any(k == "suds" for k, _ in self._queue):
                    self._queue.append(("suds", self.position))
            if (
                plan.vary_every_s > 0
                and plan.step(self.position).vary
                and now - (self._last_vary or now) >= plan.vary_every_s
            ):
                self.vary("planned variation")
            status = self.status()  # once a tick: the habituation note and the suggestion read it
            self._note_habituation(status)
            self._update_suggestion(now, status)
        self._ask_next()
        self.changed.emit()

    def _note_habituation(self, status: StepStatus | None) -> None:
        """The first time a step shows habituation: in the log and on the timeline."""
        if self._habituated or status is None or not status.habituation.detected:
            return
        self._habituated = True
        self.model.note(
            "step",
            "",
            f"step {status.position + 1} {status.step.label}: {status.habituation.text}",
            {"position": status.position + 1, "habituation": status.habituation.numbers()},
        )
        self.model.mark("habituation", "habituation")

    def _on_telemetry(self, _name: str, msg: Any, _at: float) -> None:
        self._latest["temperature_c"] = float(msg.temperature_c)
        self._check_safety()

    def _check_safety(self) -> None:
        for alert in self.safety.check(self._latest):
            self.model.note("safety", "", f"ALERT: {alert.text}", {"alert": alert.data()})
            self.model.mark(alert.text, "safety")
            if alert.level == "make_safe" and self.auto_make_safe:
                self.model.make_safe(reason=f"automatic: {alert.text}")
            self.alerted.emit(alert)

    def _on_rating(self, rating: Rating) -> None:
        asked = self._asking.pop(rating.prompt_id, None)
        if rating.kind == "suds" and rating.value is not None:
            self._latest["suds"] = float(rating.value)
            if self.entered_at is not None and self._pending_entry is None:
                self._step_suds.append((rating.at, rating.value))
            self._check_safety()
        if asked is not None:
            kind, position = asked
            if kind == "expectancy":
                if rating.value is not None:
                    self._expectancy[position] = rating.value
                    self.model.note(
                        "step",
                        "",
                        f"expectancy before {self.plan.step(position).label}: {rating.value} %",
                        {"position": position + 1, "expectancy": rating.value},
                    )
                if self._pending_entry == position:
                    self._pending_entry = None
                    self._enter(position)
            elif kind == "outcome" and rating.value is not None:
                expected = self._expectancy.get(position)
                label = self.plan.step(position).label
                if expected is not None:
                    v = Violation(label, expected, rating.value)
                    self.violations.append(v)
                    self.model.note(
                        "step",
                        "",
                        v.text(),
                        {
                            "position": position + 1,
                            "expected": expected,
                            "happened": rating.value,
                            "violation": v.points,
                        },
                    )
                else:
                    self.model.note("step", "", f"outcome after {label}: {rating.value} % (no expectancy was given)")
        self._ask_next()
        self.changed.emit()

    def _ask_next(self) -> None:
        """One prompt at a time: the patient answers one question before seeing the next."""
        if self._asking or not self._queue:
            return
        kind, position = self._queue.pop(0)
        if self.model.headset() is None:
            self._queue.insert(0, (kind, position))  # asked as soon as a headset is there
            return
        label = self.plan.step(position).label if self.plan else ""
        text = {
            "expectancy": f"Next: {label}. How likely is it that what you fear will happen, 0 to 100 %?",
            "outcome": f"During {label}: how much did what you feared actually happen, 0 to 100 %?",
        }.get(kind)
        prompt_id = self.model.ask(kind, text=text)
        if prompt_id is not None:
            self._asking[prompt_id] = (kind, position)

    # -- suggestions and the therapist's decisions ---------------------------------------
    def _context(self, status: StepStatus | None) -> StepContext | None:
        if status is None or self._pending_entry is not None:
            return None
        return StepContext(
            step_label=status.step.label,
            position=status.position,
            steps=status.steps,
            time_at_step_s=status.time_at_step_s,
            min_s=status.min_s,
            max_s=status.max_s,
            habituation=status.habituation,
            suds_now=self._step_suds[-1][1] if self._step_suds else None,
            arousal_now=self._latest.get("arousal_pct"),
            hr_now=self._latest.get("hr_bpm"),
            can_vary=bool(status.step.vary),
        )

    def _update_suggestion(self, now: float, status: StepStatus | None) -> None:
        ctx = self._context(status)
        found = suggest(ctx) if ctx is not None else None
        if found is not None and now - self._dismissed.get(found.action, -1e9) < SUGGEST_AGAIN_AFTER_S:
            found = None
        if self.suggestion is not None:
            if found is not None and found.action == self.suggestion.suggestion.action:
                return  # the same advice stands; keep its id and its time
            self._decide("expired", "the data no longer supports it")
        if found is not None:
            self.suggestion = OpenSuggestion(next(self._ids), found, now)
            self.model.note(
                "decision",
                "",
                f"suggestion #{self.suggestion.id}: {found.text()}",
                {
                    "suggestion": self.suggestion.id,
                    "action": found.action,
                    "reasons": list(found.reasons),
                    "based_on": found.based_on,
                },
            )

    def accept(self) -> None:
        """Do what the open suggestion says."""
        open_ = self.suggestion
        if open_ is None:
            return
        self._decide("accepted", open_.suggestion.action)
        self._perform(open_.suggestion.action, f"suggestion #{open_.id} accepted")

    def modify(self, action: str, why: str = "") -> None:
        """Do something else than the open suggestion says (raise, lower, hold or vary)."""
        open_ = self.suggestion
        if open_ is None:
            return
        self._decide("modified", action, why)
        self._perform(action, f"instead of suggestion #{open_.id}")

    def dismiss(self, why: str = "") -> None:
        open_ = self.suggestion
        if open_ is None:
            return
        self._dismissed[open_.suggestion.action] = self.model.clock()
        self._decide("dismissed", "", why)

    def _decide(self, response: str, action: str, why: str = "") -> None:
        open_ = self.suggestion
        if open_ is None:
            return
        self.suggestion = None
        said = f" ({why})" if why else ""
        did = f", did: {action}" if response == "modified" else ""
        self.model.note(
            "decision",
            "",
            f"suggestion #{open_.id} ({open_.suggestion.action}) {response}{did}{said}",
            {
                "suggestion": open_.id,
                "suggested": open_.suggestion.action,
                "response": response,
                "action": action,
                "why": why,
                "after_s": round(self.model.clock() - open_.at, 1),
            },
        )
        self.changed.emit()

    def _perform(self, action: str, why: str) -> None:
        if action == "raise":
            self.advance()
        elif action == "lower":
            self.back()
        elif action == "vary":
            self.vary(why)
        elif action != "hold":
            raise ValueError(f"unknown action {action!r}")

    # -- safety events -----------------------------------------------------------------
    def report_safety_event(self, kind: str, severity: str, note: str = "", make_safe: bool = False) -> None:
        """The quick form: cybersickness, dissociation, overload, an equipment fault..."""
        if kind not in SAFETY_EVENT_KINDS or severity not in SEVERITIES:
            raise ValueError(f"unknown safety event {kind!r} / {severity!r}")
        label = SAFETY_EVENT_KINDS[kind].split(" (")[0]
        self.model.note(
            "safety",
            "",
            f"{severity} {label.lower()}" + (f" — {note}" if note else ""),
            {"safety_event": kind, "severity": severity, "note": note},
        )
        self.model.mark(f"{label} ({severity})", "safety")
        if make_safe:
            self.model.make_safe(reason=f"{severity} {label.lower()}")

    def set_thresholds(self, thresholds: Thresholds) -> None:
        self.safety = SafetyMonitor(thresholds)
        self.model.note("safety", "", "safety thresholds set", {"thresholds": thresholds.to_dict()})
