"""A simulated patient whose fear responds to the stimulus, so therapists can rehearse running
exposure (and tests can check a session end to end) without a person in the headset.

The model. I is the stimulus intensity 0..1 (see `scene_intensity`), F = min(1, s · I^γ) the
fear it drives for a patient of sensitivity s. Three slow states and two fast ones:

- V, fear association (Rescorla–Wagner): dV/dt = α · I · (λ - V). λ is how far the feared
  outcome ("I will lose control") actually happens: 0 unless distress exceeds the patient's
  tolerance. With nothing bad happening, V falls during exposure and stays fallen (learning
  that carries over to later trials), and expectancy follows V. Time spent past tolerance
  teaches less.
- H, short-term habituation: dH/dt = k · F · (h - H) - H / τ_recover. It builds while the
  stimulus lasts and fades at rest. Habituation to a weaker stimulus covers a stronger one
  only in part: on a step up from I₀ to I₁, H shrinks by I₀ / I₁.
- Distress (SUDS) follows its target b + (100 - b) · F · V · (1 - H) with a lag: τ_rise on the
  way up, the slower τ_fall on the way down. So at a constant step it peaks within seconds
  and then falls over minutes. Arousal (0..1, for simulated physiology) follows distress
  again, more slowly on the way down, as heart rate and skin conductance do.

A step is detected here, not told: the intensity moving by more than ``step_threshold``
from where the current step started. Answers add seeded noise and come in fives, as
patients give them. Not thread-safe: one thread (the headset's engine loop) owns it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from protocol.stimulus import intensity

_MAX_SUBSTEP_S = 0.1  # the model is integrated in steps no longer than this, whatever dt is


class SimulatedPatient:
    """One patient with a fear of the stimulus; see the module docstring for the model."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        sensitivity: float = 1.0,
        habituation_rate: float = 1 / 90,
        learning_rate: float = 1 / 900,
        gamma: float = 0.8,
        habituation_depth: float = 0.7,
        rise_s: float = 3.0,
        fall_s: float = 8.0,
        recover_s: float = 300.0,
        baseline: float = 5.0,
        tolerance: float = 80.0,
        noise: float = 3.0,
        step_threshold: float = 0.03,
    ):
        """``sensitivity`` scales how much fear a stimulus drives (1 = a typical phobic patient);
        ``habituation_rate`` (k) and ``learning_rate`` (α) are per second of full-intensity
        exposure; ``baseline`` is the SUDS at rest in the clinic; distress above ``tolerance``
        counts as the feared outcome happening in part; ``noise`` is the spread (SUDS points)
        of answers."""
        self._rng = random.Random(seed)
        self.sensitivity = max(0.0, sensitivity)
        self.k = habituation_rate
        self.alpha = learning_rate
        self.gamma = gamma
        self.depth = min(1.0, max(0.0, habituation_depth))
        self.rise_s, self.fall_s, self.recover_s = rise_s, fall_s, recover_s
        self.baseline = min(100.0, max(0.0, baseline))
        self.tolerance = min(99.0, max(0.0, tolerance))
        self.noise = max(0.0, noise)
        self.step_threshold = step_threshold
        self._v = 1.0  # fear association
        self._h = 0.0  # short-term habituation
        self._h_at = 0.0  # the strongest intensity the current habituation was built at
        self._distress = self.baseline
        self._arousal = self.baseline / 100
        self._step_intensity = 0.0  # where the current step started
        self._last_drive = min(1.0, self.sensitivity)  # drive of the latest trial (a stimulus yet unseen: the worst)
        self._trial_worst = 0.0  # largest λ in the latest trial

    # -- state -------------------------------------------------------------------------
    @property
    def distress(self) -> float:
        """The SUDS the patient feels now, 0..100."""
        return self._distress

    @property
    def arousal(self) -> float:
        """Physiological activation 0..1: lags distress, settles more slowly."""
        return self._arousal

    @property
    def fear(self) -> float:
        """The fear association V, 1 at the start; lower means the patient has learned."""
        return self._v

    @property
    def habituation(self) -> float:
        """Short-term habituation H, 0..``habituation_depth``."""
        return self._h

    def drive(self, intensity: float) -> float:
        """Fear a stimulus of this intensity drives in this patient, 0..1."""
        return min(1.0, self.sensitivity * max(0.0, intensity) ** self.gamma)

    def _overwhelm(self) -> float:
        """λ: how far the feared outcome is happening, from distress beyond tolerance."""
        return min(1.0, max(0.0, (self._distress - self.tolerance) / (100.0 - self.tolerance)))

    # -- time --------------------------------------------------------------------------
    def update(self, intensity: float, dt: float) -> None:
        """Advance ``dt`` seconds at stimulus ``intensity`` (0..1, clamped; not a number = 0).
        A negative or non-finite ``dt`` is ignored."""
        if not (math.isfinite(dt) and dt > 0):
            return
        i = min(1.0, max(0.0, intensity)) if math.isfinite(intensity) else 0.0
        if abs(i - self._step_intensity) > self.step_threshold:
            self._new_step(i)
        n = max(1, math.ceil(dt / _MAX_SUBSTEP_S))
        for _ in range(n):
            self._advance(i, dt / n)

    def _new_step(self, i: float) -> None:
        if i > self._h_at > 0:
            self._h *= self._h_at / i
        if i > 0:
            self._h_at = max(self._h_at, i)
            self._last_drive = self.drive(i)
            self._trial_worst = self._overwhelm()
        self._step_intensity = i

    def _advance(self, i: float, dt: float) -> None:
        f = self.drive(i)
        self._h += (self.k * f * (self.depth - self._h) - self._h / self.recover_s) * dt
        self._h = min(self.depth, max(0.0, self._h))
        lam = self._overwhelm()
        self._v += self.alpha * i * (lam - self._v) * dt
        self._v = min(1.0, max(0.0, self._v))
        target = self.baseline + (100.0 - self.baseline) * f * self._v * (1.0 - self._h)
        tau = self.rise_s if target > self._distress else self.fall_s
        self._distress += (target - self._distress) * (1.0 - math.exp(-dt / tau))
        goal = self._distress / 100.0
        tau_a = 2.0 if goal > self._arousal else 12.0
        self._arousal += (goal - self._arousal) * (1.0 - math.exp(-dt / tau_a))
        if i > 0:
            self._trial_worst = max(self._trial_worst, self._overwhelm())

    # -- answers -----------------------------------------------------------------------
    def _answer(self, value: float) -> int:
        noisy = value + self._rng.gauss(0.0, self.noise) if self.noise > 0 else value
        return int(min(100, max(0, 5 * round(noisy / 5))))

    def answer_suds(self) -> int:
        """ "How anxious are you right now, 0 to 100?": current distress, with noise, in fives."""
        return self._answer(self._distress)

    def answer_expectancy(self) -> int:
        """ "How likely is what you fear to happen, 0 to 100 %?" for the latest (or, before any
        exposure, the worst) stimulus: falls as the fear association V is unlearned."""
        return self._answer(100.0 * self._v * (0.35 + 0.5 * self._last_drive))

    def answer_outcome(self) -> int:
        """ "How far did what you feared actually happen, 0 to 100 %?" for the latest trial
        (the current or last step with a stimulus): 0 unless distress went past the patient's
        tolerance. Set against the expectancy, it shows how much the trial violated it."""
        return self._answer(100.0 * self._trial_worst)


def scene_intensity(scene_params: Sequence[Mapping[str, Any]], values: Mapping[str, float]) -> float:
    """Stimulus strength 0..1 of a scene at these values: each parameter normalised over its
    min..max (flipped where a lower value is scarier, like distance or railing height), then
    averaged. A missing or non-numeric value counts as the default; a scene without
    parameters (the calm scene) is 0."""

    def value_of(p: Mapping[str, Any]) -> float:
        try:
            value = float(values.get(p["name"], p["default"]))
        except (TypeError, ValueError):
            return float(p["default"])
        return value if math.isfinite(value) else float(p["default"])

    parts = ((float(p["min"]), float(p["max"]), p.get("intensity_increases", True), value_of(p)) for p in scene_params)
    return intensity(parts) or 0.0
