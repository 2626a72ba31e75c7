"""What the conformance check modules share: :class:`CheckSpec` and the ``_check`` decorator
that registers a check under its name, the constant and the small helpers more than one
check module uses (reading a frame's message as its type, choosing and comparing parameter
values). The order the suite runs the checks in is :data:`protocol.conformance.checks.ORDER`.

Threads: a check runs entirely in the calling thread (see :mod:`protocol.conformance.harness`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from protocol import messages
from protocol.conformance.harness import Frame, Harness, Setup

RESUME_FADE_S = 2.0  # longer than "at once": running must be reported when the fade back starts


def _fmt(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class CheckSpec:
    name: str
    title: str
    run: Callable[[Harness], str]
    setup: Setup = field(default_factory=Setup)


# Every check, by name, as the check modules register them; checks.CHECKS puts them in order.
REGISTERED: dict[str, CheckSpec] = {}


def _check(
    name: str, title: str, setup: Setup | None = None
) -> Callable[[Callable[[Harness], str]], Callable[[Harness], str]]:
    def register(fn: Callable[[Harness], str]) -> Callable[[Harness], str]:
        if name in REGISTERED:  # a copied check would otherwise silently replace the first
            raise ValueError(
                f"two conformance checks are named {name!r}: {REGISTERED[name].run.__name__}, {fn.__name__}"
            )
        REGISTERED[name] = CheckSpec(name, title, fn, setup or Setup())
        return fn

    return register


def _beat(frame: Frame) -> messages.Heartbeat:
    assert isinstance(frame.message, messages.Heartbeat)
    return frame.message


def _error(frame: Frame) -> messages.Error:
    assert isinstance(frame.message, messages.Error)
    return frame.message


def _applied(frame: Frame) -> messages.ParameterApplied:
    assert isinstance(frame.message, messages.ParameterApplied)
    return frame.message


def _value_in(p: messages.ParameterSpec, fraction: float) -> float:
    value = p.min + (p.max - p.min) * fraction
    if p.step > 0:
        value = p.min + round((value - p.min) / p.step) * p.step
    return min(p.max, max(p.min, value))


def _close(a: float, b: float, p: messages.ParameterSpec) -> bool:
    return abs(a - b) <= max(1e-6 * max(1.0, abs(b)), p.step / 2)


def _answers(frame: Frame, request_id: int) -> bool:
    """True for a parameter_applied or error that refers to request ``request_id``."""
    if frame.type == "parameter_applied":
        return _applied(frame).ref_id == request_id
    return frame.type == "error" and _error(frame).ref_id == request_id
