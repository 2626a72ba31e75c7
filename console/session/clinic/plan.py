"""Exposure hierarchies and session plans: what the therapist prepares before a session.

A **hierarchy** belongs to a patient and lists their feared situations from least to most
feared. Each step is a scene with parameter values and the SUDS the patient expects it to
cause; a step may also allow *variability* (parameters that may move within bounds, which
never exceed the step's own values: the step is the ceiling).

A **session plan** picks steps of a hierarchy for one session, with the minimum and maximum
time to spend at each, how often to ask SUDS, and whether to ask expectancy before each step
and the outcome after it (inhibitory learning).

Both are stored per patient in the session store's ``plans`` table, as JSON with a ``kind``.
Plain data, no Qt; :func:`validate` says in words what is wrong with one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from protocol import messages


class PlanError(ValueError):
    """A hierarchy or plan that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Step:
    label: str
    scene_id: str
    values: dict[str, float]  # parameter -> value at this step; also each parameter's ceiling
    expected_suds: int | None = None
    vary: dict[str, tuple[float, float]] = field(default_factory=dict)  # parameter -> (low, high)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "scene_id": self.scene_id,
            "values": dict(self.values),
            "expected_suds": self.expected_suds,
            "vary": {k: [lo, hi] for k, (lo, hi) in self.vary.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Step:
        try:
            return cls(
                label=str(d["label"]),
                scene_id=str(d["scene_id"]),
                values={str(k): float(v) for k, v in dict(d.get("values") or {}).items()},
                expected_suds=None if d.get("expected_suds") is None else int(d["expected_suds"]),
                vary={str(k): (float(v[0]), float(v[1])) for k, v in dict(d.get("vary") or {}).items()},
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise PlanError(f"A hierarchy step is not readable ({exc!r}).") from exc


@dataclass(frozen=True)
class Hierarchy:
    name: str
    steps: tuple[Step, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "hierarchy", "steps": [s.to_dict() for s in self.steps]}

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any]) -> Hierarchy:
        if d.get("kind") != "hierarchy":
            raise PlanError(f"{name!r} is not an exposure hierarchy.")
        return cls(name, tuple(Step.from_dict(s) for s in d.get("steps") or []))


@dataclass(frozen=True)
class PlannedStep:
    step: int  # index into the hierarchy
    min_s: float = 120.0
    max_s: float = 600.0


@dataclass(frozen=True)
class SessionPlan:
    name: str
    hierarchy: Hierarchy
    steps: tuple[PlannedStep, ...]
    suds_every_s: float = 60.0  # 0: only when the therapist asks
    ask_expectancy: bool = True  # expectancy before each step, outcome after it
    vary_every_s: float = 0.0  # 0: vary only when the therapist asks

    def step(self, position: int) -> Step:
        return self.hierarchy.steps[self.steps[position].step]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "session_plan",
            "hierarchy": self.hierarchy.name,
            "steps": [{"step": p.step, "min_s": p.min_s, "max_s": p.max_s} for p in self.steps],
            "suds_every_s": self.suds_every_s,
            "ask_expectancy": self.ask_expectancy,
            "vary_every_s": self.vary_every_s,
        }

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any], hierarchy: Hierarchy) -> SessionPlan:
        if d.get("kind") != "session_plan":
            raise PlanError(f"{name!r} is not a session plan.")
        try:
            steps = tuple(
                PlannedStep(int(p["step"]), float(p.get("min_s", 120)), float(p.get("max_s", 600)))
                for p in d.get("steps") or []
            )
            return cls(
                name,
                hierarchy,
                steps,
                suds_every_s=float(d.get("suds_every_s", 60)),
                ask_expectancy=bool(d.get("ask_expectancy", True)),
                vary_every_s=float(d.get("vary_every_s", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanError(f"The session plan {name!r} is not readable ({exc!r}).") from exc

    @classmethod
    def whole(cls, hierarchy: Hierarchy, name: str = "", **kwargs: Any) -> SessionPlan:
        """Every step of the hierarchy, in order, with the default times."""
        steps = tuple(PlannedStep(i) for i in range(len(hierarchy.steps)))
        return cls(name or hierarchy.name, hierarchy, steps, **kwargs)


def clamp_vary(step: Step, increases: dict[str, bool] | None = None) -> Step:
    """The step with its variability bounds cut to the step's ceiling: never more intense
    than the step's own value. ``increases`` says, per parameter, whether a higher value is
    more intense (the scene's ``intensity_increases``; a spider's distance is not)."""
    bounds = {}
    for param, (lo, hi) in step.vary.items():
        ceiling = step.values.get(param)
        if ceiling is not None:
            if (increases or {}).get(param, True):
                hi = min(hi, ceiling)
                lo = min(lo, hi)
            else:
                lo = max(lo, ceiling)
                hi = max(hi, lo)
        bounds[param] = (lo, hi)
    return replace(step, vary=bounds)


def validate(hierarchy: Hierarchy, scenes: list[messages.SceneSpec] | None = None) -> list[str]:
    """What is wrong with the hierarchy, in words (empty when it can be run). With the
    headset's scene catalogue, also checks scenes, parameters and ranges against it."""
    problems = []
    if not hierarchy.name.strip():
        problems.append("The hierarchy needs a name.")
    if not hierarchy.steps:
        problems.append("The hierarchy has no steps: add at least one.")
    by_id = {s.id: s for s in scenes or []}
    for n, step in enumerate(hierarchy.steps, 1):
        where = f"Step {n} ({step.label or 'no label'})"
        if not step.label.strip():
            problems.append(f"{where} needs a label.")
        if step.expected_suds is not None and not 0 <= step.expected_suds <= 100:
            problems.append(f"{where}: expected SUDS must be 0 to 100, not {step.expected_suds}.")
        spec = by_id.get(step.scene_id)
        params = {p.name: p for p in spec.parameters} if spec else {}
        for param, (lo, hi) in step.vary.items():
            if param not in step.values:
                problems.append(f"{where}: {param} may vary but has no value at this step; give it one (its ceiling).")
                continue
            ceiling = step.values[param]
            if lo > hi:
                problems.append(f"{where}: {param} bounds {lo:g} … {hi:g} are the wrong way round.")
            elif param in params and clamp_vary(step, {param: params[param].intensity_increases}).vary[param] != (
                lo,
                hi,
            ):
                more = "above" if params[param].intensity_increases else "below"
                problems.append(
                    f"{where}: {param} may not vary {more} the step's value {ceiling:g} (it would be more "
                    f"intense than the step), not {lo:g} … {hi:g}."
                )
        if scenes is None:
            continue
        if spec is None:
            problems.append(f"{where}: the headset has no scene {step.scene_id!r}.")
            continue
        for param, value in step.values.items():
            p = params.get(param)
            if p is None:
                problems.append(f"{where}: scene {spec.label} has no parameter {param!r}.")
            elif not (math.isfinite(value) and p.min <= value <= p.max):
                problems.append(
                    f"{where}: {p.label} {value:g} is outside {p.min:g} … {p.max:g} {p.unit}".rstrip() + "."
                )
    return problems


def validate_plan(plan: SessionPlan) -> list[str]:
    problems = []
    if not plan.steps:
        problems.append("The session plan has no steps: pick at least one step of the hierarchy.")
    for n, p in enumerate(plan.steps, 1):
        if not 0 <= p.step < len(plan.hierarchy.steps):
            problems.append(f"Planned step {n} refers to a step the hierarchy does not have.")
        if p.min_s < 0 or p.max_s <= 0 or p.min_s > p.max_s:
            problems.append(f"Planned step {n}: the minimum time must be 0 or more and not above the maximum.")
    if plan.suds_every_s < 0 or plan.vary_every_s < 0:
        problems.append("Intervals must be 0 (off) or more seconds.")
    return problems


def parse_values(text: str) -> dict[str, float]:
    """``"distance_m=1.5, spiders=3"`` → ``{"distance_m": 1.5, "spiders": 3.0}`` (the editor's cells)."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise PlanError(f"{part!r}: write each value as name=number, e.g. distance_m=1.5")
        try:
            out[name.strip()] = float(value)
        except ValueError as exc:
            raise PlanError(f"{part!r}: {value.strip()!r} is not a number") from exc
    return out


def parse_bounds(text: str) -> dict[str, tuple[float, float]]:
    """``"distance_m=1..2.5"`` → ``{"distance_m": (1.0, 2.5)}``."""
    out: dict[str, tuple[float, float]] = {}
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        name, sep, span = part.partition("=")
        lo, dots, hi = span.partition("..")
        if not sep or not dots or not name.strip():
            raise PlanError(f"{part!r}: write each bound as name=low..high, e.g. distance_m=1..2.5")
        try:
            out[name.strip()] = (float(lo), float(hi))
        except ValueError as exc:
            raise PlanError(f"{part!r}: the bounds must be numbers") from exc
    return out


def values_text(values: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in values.items())


def bounds_text(bounds: dict[str, tuple[float, float]]) -> str:
    return ", ".join(f"{k}={lo:g}..{hi:g}" for k, (lo, hi) in bounds.items())
