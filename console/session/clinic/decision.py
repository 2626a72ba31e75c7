"""Decision support: habituation within a step, and suggestions with their reasons.

Everything here is a pure function of what was measured, so a suggestion can be
reproduced from the numbers logged with it. The therapist decides; see
:class:`console.session.clinic.workflow.ClinicalSession` for accept / modify / dismiss and the audit.

Habituation (within-session, per step): self-reported anxiety falls clearly from its peak
at this step, and the body agrees where it is measured. The criterion is the one most
exposure protocols write down: SUDS at least 50 % below the step's peak (peak at least 20,
so a calm step does not "habituate"), confirmed by the latest rating; arousal, when
measured, at least 50 % below its peak at the step or back under 15 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.core.clock import minutes_text

SUDS_DROP = 0.5  # fraction of the peak
SUDS_MIN_PEAK = 20
AROUSAL_DROP = 0.5
AROUSAL_CALM_PCT = 15.0
HIGH_SUDS = 85  # "too much": suggest lowering
HIGH_AROUSAL_PCT = 80.0
LOW_SUDS = 30  # "too little": a step that never provoked more than this is easy for the patient
LOW_AROUSAL_PCT = 30.0


@dataclass(frozen=True)
class Habituation:
    detected: bool
    suds_peak: int | None
    suds_now: int | None
    arousal_peak: float | None
    arousal_now: float | None
    text: str  # in words, with the numbers

    def numbers(self) -> dict[str, Any]:
        return {
            "suds_peak": self.suds_peak,
            "suds_now": self.suds_now,
            "arousal_peak_pct": None if self.arousal_peak is None else round(self.arousal_peak, 1),
            "arousal_now_pct": None if self.arousal_now is None else round(self.arousal_now, 1),
        }


def habituation(suds: list[tuple[float, int]], arousal: list[tuple[float, float]]) -> Habituation:
    """From the step's SUDS ratings and arousal readings, each ``(time, value)`` in time order."""
    if not suds:
        return Habituation(False, None, None, _peak(arousal), _last(arousal), "no SUDS rating at this step yet")
    peak_i = max(range(len(suds)), key=lambda i: (suds[i][1], -i))  # the first of equal peaks
    peak, now = suds[peak_i][1], suds[-1][1]
    a_peak, a_now = _peak(arousal), _last(arousal)
    if peak < SUDS_MIN_PEAK:
        return Habituation(False, peak, now, a_peak, a_now, f"SUDS stayed low (peak {peak}): nothing to habituate")
    if len(suds) - 1 == peak_i:
        return Habituation(False, peak, now, a_peak, a_now, f"SUDS {now} is the step's peak so far")
    suds_ok = now <= peak * (1 - SUDS_DROP)
    words = f"SUDS {now}, down {peak - now} from its peak {peak} ({(peak - now) / peak:.0%})"
    arousal_ok = True
    if a_peak is not None and a_now is not None:
        arousal_ok = a_now <= a_peak * (1 - AROUSAL_DROP) or a_now <= AROUSAL_CALM_PCT
        words += f"; arousal {a_now:.0f} %, peak {a_peak:.0f} %"
    else:
        words += "; no arousal measured"
    if suds_ok and arousal_ok:
        return Habituation(True, peak, now, a_peak, a_now, "habituation: " + words)
    if suds_ok:
        return Habituation(False, peak, now, a_peak, a_now, "SUDS fell but arousal has not: " + words)
    return Habituation(False, peak, now, a_peak, a_now, "not yet: " + words)


def _peak(series: list[tuple[float, float]]) -> float | None:
    return max((v for _, v in series), default=None)


def _last(series: list[tuple[float, float]]) -> float | None:
    return series[-1][1] if series else None


@dataclass(frozen=True)
class StepContext:
    """What a suggestion is based on: the state of the step and the patient's readings."""

    step_label: str
    position: int  # in the session plan, 0-based
    steps: int  # in the session plan
    time_at_step_s: float
    min_s: float
    max_s: float
    habituation: Habituation
    suds_now: int | None
    arousal_now: float | None
    hr_now: float | None
    can_vary: bool

    def numbers(self) -> dict[str, Any]:
        return {
            "step": self.step_label,
            "position": self.position + 1,
            "of": self.steps,
            "time_at_step_s": round(self.time_at_step_s, 1),
            "min_s": self.min_s,
            "max_s": self.max_s,
            "suds_now": self.suds_now,
            "arousal_now_pct": None if self.arousal_now is None else round(self.arousal_now, 1),
            "hr_now_bpm": None if self.hr_now is None else round(self.hr_now, 1),
            "habituated": self.habituation.detected,
            **self.habituation.numbers(),
        }


@dataclass(frozen=True)
class Suggestion:
    action: str  # raise, hold, lower, vary
    reasons: tuple[str, ...]  # plain words, each with its numbers
    based_on: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        verbs = {
            "raise": "Move up to the next step",
            "lower": "Go back a step",
            "hold": "Stay at this step",
            "vary": "Vary the scene within its bounds",
        }
        return f"{verbs[self.action]}: " + "; ".join(self.reasons)


def suggest(ctx: StepContext) -> Suggestion | None:
    """The one suggestion the data supports now, or None when there is nothing to say."""
    based_on = ctx.numbers()
    too_much = []
    if ctx.suds_now is not None and ctx.suds_now >= HIGH_SUDS:
        too_much.append(f"SUDS {ctx.suds_now} is at or above {HIGH_SUDS}")
    if ctx.arousal_now is not None and ctx.arousal_now >= HIGH_AROUSAL_PCT:
        too_much.append(f"arousal {ctx.arousal_now:.0f} % is at or above {HIGH_AROUSAL_PCT:.0f} %")
    if too_much:
        if ctx.position > 0:
            return Suggestion("lower", (*tuple(too_much), "a lower step keeps the exposure tolerable"), based_on)
        return Suggestion("hold", (*tuple(too_much), "this is the first step: consider a pause"), based_on)
    at = f"{minutes_text(ctx.time_at_step_s)} at this step"
    if ctx.habituation.detected:
        if ctx.time_at_step_s < ctx.min_s:
            return None  # habituating, but the planned minimum is not reached: nothing to change yet
        if ctx.position + 1 < ctx.steps:
            return Suggestion(
                "raise", (ctx.habituation.text, f"{at} (planned minimum {minutes_text(ctx.min_s)})"), based_on
            )
        if ctx.can_vary:
            return Suggestion(
                "vary", (ctx.habituation.text, "this is the plan's last step", "variation deepens learning"), based_on
            )
        return None
    hab = ctx.habituation
    calm_body = ctx.arousal_now is None or ctx.arousal_now < LOW_AROUSAL_PCT
    if (
        hab.suds_peak is not None
        and hab.suds_peak <= LOW_SUDS
        and calm_body
        and ctx.time_at_step_s >= ctx.min_s
        and ctx.position + 1 < ctx.steps
    ):
        body = "" if ctx.arousal_now is None else f", arousal {ctx.arousal_now:.0f} %"
        return Suggestion(
            "raise",
            (
                f"SUDS has stayed low at this step (peak {hab.suds_peak}, now {hab.suds_now}{body})",
                f"{at} (planned minimum {minutes_text(ctx.min_s)})",
                "too little fear to learn from",
            ),
            based_on,
        )
    if ctx.time_at_step_s >= ctx.max_s:
        return Suggestion(
            "hold",
            (f"{at}, over the planned maximum {minutes_text(ctx.max_s)}", ctx.habituation.text, "no habituation yet"),
            based_on,
        )
    return None
