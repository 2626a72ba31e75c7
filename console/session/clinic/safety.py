"""Safety thresholds per patient, and the quick safety-event report.

A threshold has an *alert* level (a clear alert for the therapist) and, optionally, a
*make-safe* level at which the console makes every scene calm by itself: the one thing the
console does without the therapist. Each is crossed once: it fires again only after the
value has come back below its level by a margin (hysteresis), so a heart rate hovering at the
ceiling does not flood the log.

No Qt. :class:`SafetyMonitor.check` is called by whoever holds the latest readings (the GUI
thread's tick in the console).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

REARM_MARGIN = 0.05  # fraction of the level the value must fall below it before firing again

SAFETY_EVENT_KINDS = {
    "cybersickness": "Cybersickness (nausea, dizziness, eye strain)",
    "dissociation": "Dissociation (detached, unreal, absent)",
    "overload": "Overload (panic, overwhelmed, wants to stop)",
    "equipment": "Equipment fault (headset, sensors, tracking)",
    "other": "Other",
}
SEVERITIES = ("mild", "moderate", "severe")


@dataclass(frozen=True)
class Threshold:
    key: str  # hr_bpm, suds, arousal_pct, temperature_c
    label: str
    unit: str
    alert_at: float | None
    make_safe_at: float | None = None  # None: never automatically


@dataclass(frozen=True)
class Thresholds:
    """Per patient; stored in the session store as the plan named :data:`STORE_NAME`."""

    hr_bpm: Threshold = field(default_factory=lambda: Threshold("hr_bpm", "heart rate", "bpm", 140.0, None))
    suds: Threshold = field(default_factory=lambda: Threshold("suds", "SUDS", "", 90.0, None))
    arousal_pct: Threshold = field(default_factory=lambda: Threshold("arousal_pct", "arousal", "%", 90.0, None))
    temperature_c: Threshold = field(
        default_factory=lambda: Threshold("temperature_c", "headset temperature", "°C", 40.0, 45.0)
    )

    STORE_NAME = "safety thresholds"

    def all(self) -> tuple[Threshold, ...]:
        return (self.hr_bpm, self.suds, self.arousal_pct, self.temperature_c)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "thresholds",
            **{t.key: {"alert_at": t.alert_at, "make_safe_at": t.make_safe_at} for t in self.all()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Thresholds:
        base = cls()
        kwargs = {}
        for t in base.all():
            v = d.get(t.key) or {}
            kwargs[t.key] = Threshold(
                t.key,
                t.label,
                t.unit,
                _num(v.get("alert_at", t.alert_at)),
                _num(v.get("make_safe_at", t.make_safe_at)),
            )
        return cls(**kwargs)


def _num(v: Any) -> float | None:
    return None if v is None or v == "" else float(v)


@dataclass(frozen=True)
class Alert:
    key: str
    level: str  # alert, make_safe
    value: float
    limit: float
    text: str

    def data(self) -> dict[str, Any]:
        return asdict(self)


class SafetyMonitor:
    """Crossings of the patient's thresholds. Called by one thread (the console's GUI thread)."""

    def __init__(self, thresholds: Thresholds | None = None):
        self.thresholds = thresholds or Thresholds()
        self._armed: dict[tuple[str, str], bool] = {}

    def check(self, values: dict[str, float | None]) -> list[Alert]:
        """New crossings among ``values`` (keys as the thresholds'; None = not measured)."""
        out = []
        for t in self.thresholds.all():
            value = values.get(t.key)
            for level, limit in (("make_safe", t.make_safe_at), ("alert", t.alert_at)):
                if limit is None or value is None:
                    continue
                armed = self._armed.setdefault((t.key, level), True)
                if armed and value >= limit:
                    self._armed[(t.key, level)] = False
                    unit = f" {t.unit}" if t.unit else ""
                    what = "make-safe limit" if level == "make_safe" else "alert limit"
                    out.append(
                        Alert(t.key, level, value, limit, f"{t.label} {value:.0f}{unit} ≥ {what} {limit:g}{unit}")
                    )
                elif not armed and value < limit * (1 - REARM_MARGIN):
                    self._armed[(t.key, level)] = True
        # A make-safe crossing says all there is: drop the alert of the same value.
        severe = {a.key for a in out if a.level == "make_safe"}
        return [a for a in out if a.level == "make_safe" or a.key not in severe]
