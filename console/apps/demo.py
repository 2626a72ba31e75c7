"""A short exposure session the demo plays by itself, through the same model commands a
therapist's clicks use, so that everything it does shows in the window, the event log and
the timeline. The therapist can take over at any moment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console.session.clinic.plan import Hierarchy, SessionPlan
from console.session.clinic.plan import Step as HierarchyStep
from console.session.model import SessionModel


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


def demo_plan() -> SessionPlan:
    """A spider hierarchy for the demo patient, with short times so that a demo shows the
    steps, the expectancy questions and the suggestions within a few minutes."""
    steps = (
        HierarchyStep("One spider across the room", "spiders", {"distance": 4.0, "count": 1, "movement": 0.2}, 20),
        HierarchyStep(
            "Two spiders at 2.5 m",
            "spiders",
            {"distance": 2.5, "count": 2, "movement": 0.4},
            40,
            {"distance": (2.5, 4.0), "movement": (0.1, 0.4)},
        ),
        HierarchyStep("Three spiders at 1.2 m", "spiders", {"distance": 1.2, "count": 3, "movement": 0.6}, 60),
        HierarchyStep("Five spiders close, moving", "spiders", {"distance": 0.6, "count": 5, "movement": 0.9}, 85),
    )
    hierarchy = Hierarchy("Spiders (demo)", steps)
    plan = SessionPlan.whole(hierarchy, "Spiders (demo) · today", suds_every_s=15.0, ask_expectancy=True)
    return SessionPlan(
        plan.name,
        hierarchy,
        tuple(type(p)(p.step, min_s=20.0, max_s=90.0) for p in plan.steps),
        suds_every_s=15.0,
        ask_expectancy=True,
    )


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
