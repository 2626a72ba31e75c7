"""A simulated patient whose fear responds to the stimulus, for demos, rehearsal and tests.

The model, in three state variables (all dimensionless, updated with the stimulus
intensity I in 0..1 every tick):

- **V**, the fear association (Rescorla–Wagner, with no aversive outcome during exposure,
  so λ = 0): dV/dt = -α · I · V. It falls slowly with exposure and carries over: coming
  back to the same step later gives a lower peak (inhibitory learning, simplified).
- **H**, short-term habituation at the current step: dH/dt = k · I · (1 - H), recovering
  (dH/dt = -H / τ_recover) when the stimulus is low. Habituation to a weaker stimulus only
  partly covers a stronger one: on a step up, H shrinks by the ratio of the intensities.
- **distress**, the SUDS the patient feels: it follows the target 100 · V · I^γ · (1 - h·H)
  with a faster rise than fall (τ_rise < τ_fall), so it peaks after a step up and then
  declines while the stimulus stays the same (within-session habituation).

Answers add a little noise from a seeded generator, so a seed gives repeatable sessions.
Not thread-safe: the engine loop owns it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any


class SimulatedPatient:
    def __init__(
        self,
        *,
        seed: int | None = None,
        sensitivity: float = 1.0,
        habituation_rate: float = 1 / 45,  # k: per second of full-intensity exposure
        learning_rate: float = 1 / 900,  # α: per second of full-intensity exposure
        gamma: float = 0.7,
        habituation_depth: float = 0.65,  # h: how far habituation can lower distress
        rise_s: float = 4.0,
        fall_s: float = 10.0,
        recover_s: float = 240.0,
    ):
        self._rng = random.Random(seed)
        self.fear = min(1.0, 0.9 * sensitivity)  # V
        self.habituation = 0.0  # H
        self.habituated_to = 0.0  # the intensity H was built at
        self.distress = 0.0
        self.k = habituation_rate
        self.alpha = learning_rate
        self.gamma = gamma
        self.depth = habituation_depth
        self.rise_s = rise_s
        self.fall_s = fall_s
        self.recover_s = recover_s
        self.initial_fear = self.fear

    @property
    def arousal(self) -> float:
        """Physiological activation 0..1, following distress."""
        return min(1.0, self.distress / 100)

    def target(self, intensity: float) -> float:
        return 100 * self.fear * intensity**self.gamma * (1 - self.depth * self.habituation)

    def update(self, intensity: float, dt: float) -> None:
        """Advance the model by ``dt`` seconds at stimulus ``intensity`` (0..1)."""
        intensity = min(1.0, max(0.0, intensity))
        if intensity > self.habituated_to + 0.05:
            # A step up: habituation to a weaker stimulus covers a stronger one only in part.
            if self.habituated_to > 0:
                self.habituation *= self.habituated_to / intensity
            else:
                self.habituation = 0.0
            self.habituated_to = intensity
        if intensity > 0.05:
            self.habituation += self.k * intensity * (1 - self.habituation) * dt
            self.fear -= self.alpha * intensity * self.fear * dt
        else:
            self.habituation -= self.habituation / self.recover_s * dt
            self.habituated_to = min(self.habituated_to, intensity)
        goal = self.target(intensity)
        tau = self.rise_s if goal > self.distress else self.fall_s
        self.distress += (goal - self.distress) * (1 - math.exp(-dt / tau))

    def _noisy(self, value: float, spread: float) -> int:
        return round(min(100.0, max(0.0, value + self._rng.gauss(0, spread))))

    def answer_suds(self) -> int:
        """SUDS 0..100 now."""
        return self._noisy(self.distress, 3.0)

    def answer_expectancy(self) -> int:
        """How likely (0..100 %) the patient thinks the feared outcome is; falls as they learn."""
        return self._noisy(95 * self.fear, 4.0)

    def answer_outcome(self) -> int:
        """After a step: how bad it actually turned out (0..100); lower than expected."""
        return self._noisy(60 * self.fear * (1 - self.depth * self.habituation), 4.0)


def scene_intensity(parameters: Sequence[Mapping[str, Any]], values: Mapping[str, float]) -> float:
    """Stimulus strength 0..1 of a scene: each parameter normalised to 0..1 over its range
    (flipped where a lower value is scarier, like distance), then averaged. A calm scene,
    one without parameters, is 0."""
    if not parameters:
        return 0.0
    total = 0.0
    for p in parameters:
        lo, hi = float(p["min"]), float(p["max"])
        value = float(values.get(p["name"], p["default"]))
        norm = 0.0 if hi <= lo else min(1.0, max(0.0, (value - lo) / (hi - lo)))
        total += norm if p.get("intensity_increases", True) else 1.0 - norm
    return total / len(parameters)
