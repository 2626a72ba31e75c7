"""A short exposure session the demo plays by itself, through the same model commands a
therapist's clicks use, so that everything it does shows in the window, the event log and
the timeline. The therapist can take over at any moment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console.session import SessionModel


@dataclass(frozen=True)
class Step:
    at_s: float  # after the first headset has its scene running
    say: str
    act: Callable[[SessionModel], object]


def demo_script() -> list[Step]:
    return [
        Step(0.5, "load the spiders scene", lambda m: m.load_scene("spiders")),
        Step(2.0, "spider to 2.5 m over 3 s", lambda m: m.set_parameter("distance", 2.5, 3.0)),
        Step(5.0, "ask SUDS", lambda m: m.ask("suds")),
        Step(7.0, "three spiders", lambda m: m.set_parameter("count", 3)),
        Step(9.0, "closer: 1.2 m over 4 s", lambda m: m.set_parameter("distance", 1.2, 4.0)),
        Step(14.0, "ask SUDS", lambda m: m.ask("suds")),
        Step(17.0, "marker", lambda m: m.add_marker("patient looked away")),
        Step(20.0, "more movement", lambda m: m.set_parameter("movement", 0.6, 2.0)),
        Step(25.0, "ask SUDS", lambda m: m.ask("suds")),
        Step(32.0, "ask SUDS", lambda m: m.ask("suds")),
        Step(38.0, "ask expectancy", lambda m: m.ask("expectancy")),
        Step(42.0, "MAKE SAFE", lambda m: m.make_safe("demo: therapist pressed make safe")),
        Step(47.0, "resume", lambda m: m.resume(fade_s=2.0)),
        Step(50.0, "ask SUDS", lambda m: m.ask("suds")),
    ]


class ScriptPlayer:
    """Plays steps against the model; ``tick()`` is called by the control loop (GUI timer)."""

    def __init__(self, model: SessionModel, steps: list[Step], on_step: Callable[[Step], None] | None = None):
        self.model = model
        self.steps = sorted(steps, key=lambda s: s.at_s)
        self.on_step = on_step
        self.started: float | None = None

    def tick(self) -> None:
        if self.started is None:
            h = self.model.headset()
            if h is None or h.scene_state != "running":
                return
            self.started = self.model.clock()
        while self.steps and self.model.clock() - self.started >= self.steps[0].at_s:
            step = self.steps.pop(0)
            if self.on_step:
                self.on_step(step)
            step.act(self.model)
