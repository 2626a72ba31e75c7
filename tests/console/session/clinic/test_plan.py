"""Hierarchies and session plans: what the editor saves, the store keeps and the runner reads."""

from __future__ import annotations

import pytest

from console.records.store import SessionStore
from console.session.clinic.plan import (
    Hierarchy,
    PlanError,
    SessionPlan,
    Step,
    clamp_vary,
    parse_bounds,
    parse_values,
    validate,
    validate_plan,
)
from tests.console.session.test_model import CALM, SPIDERS


def spiders_hierarchy() -> Hierarchy:
    return Hierarchy(
        "spiders",
        (
            Step("Spider far away", "spiders", {"distance": 4.0}, 20),
            Step("Spider at 2 m", "spiders", {"distance": 2.0}, 45, {"distance": (2.0, 3.5)}),
            Step("Spider close", "spiders", {"distance": 0.5}, 80),
        ),
    )


def test_a_hierarchy_and_its_plan_survive_the_store_unchanged(tmp_path):
    store = SessionStore(tmp_path / "s.sqlite3")
    h = spiders_hierarchy()
    plan = SessionPlan.whole(h, "today", suds_every_s=45, vary_every_s=0)
    store.save_plan("P-014", h.name, h.to_dict())
    store.save_plan("P-014", "today", plan.to_dict())
    saved = {p.name: p.body for p in store.plans("P-014")}
    again = Hierarchy.from_dict("spiders", saved["spiders"])
    assert again == h
    assert SessionPlan.from_dict("today", saved["today"], again) == plan


def test_a_hierarchy_is_checked_against_the_headsets_scenes_in_words():
    h = Hierarchy(
        "bad",
        (
            Step("", "spiders", {"distance": 9.0}, 120),
            Step("Heights", "heights", {}),
            Step("Spider", "spiders", {"legs": 8.0}, 10, {"distance": (1.0, 2.0)}),
        ),
    )
    problems = validate(h, [SPIDERS, CALM])
    text = "\n".join(problems)
    assert "Step 1 (no label) needs a label" in text
    assert "expected SUDS must be 0 to 100, not 120" in text
    assert "Distance 9 is outside 0.3 … 5 m" in text
    assert "the headset has no scene 'heights'" in text
    assert "scene Spiders has no parameter 'legs'" in text
    assert "distance may vary but has no value at this step" in text
    assert validate(spiders_hierarchy(), [SPIDERS, CALM]) == []


def test_variability_is_never_more_intense_than_the_step():
    # A spider closer than the step's 2 m would be more intense: the editor refuses it...
    step = Step("s", "spiders", {"distance": 2.0}, None, {"distance": (1.0, 3.5)})
    assert "may not vary below the step's value 2" in validate(Hierarchy("h", (step,)), [SPIDERS])[0]
    # ...and the runner cuts it anyway, by the direction of each parameter's intensity.
    assert clamp_vary(step, {"distance": False}).vary == {"distance": (2.0, 3.5)}
    assert clamp_vary(step, {"distance": True}).vary == {"distance": (1.0, 2.0)}


def test_plan_problems_are_said_and_the_editor_cells_parse_or_say_how():
    plan = SessionPlan.whole(spiders_hierarchy())
    assert validate_plan(plan) == []
    broken = SessionPlan("p", plan.hierarchy, ())
    assert "no steps" in validate_plan(broken)[0]
    assert parse_values("distance=1.5, spiders=3") == {"distance": 1.5, "spiders": 3.0}
    assert parse_bounds("distance=1..2.5") == {"distance": (1.0, 2.5)}
    with pytest.raises(PlanError, match="name=number"):
        parse_values("distance 1.5")
    with pytest.raises(PlanError, match=r"low\.\.high"):
        parse_bounds("distance=1-2")
