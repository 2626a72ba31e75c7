"""The clinical session over the session model: steps, expectancy, suggestions and the
therapist's decisions, safety thresholds, and the audit trail they leave in the log.

The model talks to a link that keeps what was sent (as in test_session); the end-to-end
safety test at the bottom runs over the real link with the simulated headset."""

from __future__ import annotations

import random

import pytest

from console.session.clinic.plan import Hierarchy, SessionPlan, Step
from console.session.clinic.safety import Threshold, Thresholds
from console.session.clinic.workflow import ClinicalSession
from console.session.model import SessionModel
from protocol import messages
from protocol.link import HeadsetJoined, MessageReceived
from tests.console.session.test_model import CALM, SPIDERS, RecordingLink, hello


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


HIERARCHY = Hierarchy(
    "spiders",
    (
        Step("Spider far away", "spiders", {"distance": 4.0}, 20),
        Step("Spider at 2 m", "spiders", {"distance": 2.0}, 45, {"distance": (1.0, 3.5)}),
        Step("Spider close", "spiders", {"distance": 0.5}, 80),
    ),
)


def session(**plan_kwargs):
    clock = Clock()
    link = RecordingLink()
    model = SessionModel(link, clock=clock)
    model.apply(HeadsetJoined("h1", hello(), resumed=False))
    model.apply(MessageReceived("h1", 1, messages.SceneCatalogue(scenes=[SPIDERS, CALM]), 0.0))
    status = messages.SceneStatus(
        scene_id="spiders", state="running", parameters=[messages.ParameterValue(name="distance", value=5.0)]
    )
    model.apply(MessageReceived("h1", 2, status, 0.0))
    clinic = ClinicalSession(model, rng=random.Random(3))
    plan = SessionPlan.whole(HIERARCHY, "today", **plan_kwargs)
    return clinic, model, link, clock, plan


def sent(link, kind):
    return [m for _, m in link.sent if isinstance(m, kind)]


def answer(model, link, value, at=None):
    """The patient answers the newest prompt."""
    prompt = sent(link, messages.Prompt)[-1]
    msg = messages.PromptAnswer(
        prompt_id=prompt.prompt_id, kind=prompt.kind, answered=True, value=value, shown_at=0.0, answered_at=2.0
    )
    model.apply(MessageReceived("h1", 9, msg, model.clock() if at is None else at))
    return prompt


def notes(model, kind):
    return [e for e in model.log if e.kind == kind]


def test_each_step_asks_expectancy_first_and_the_stimulus_follows_the_answer():
    clinic, model, link, clock, plan = session()
    clinic.begin(plan)
    prompt = sent(link, messages.Prompt)[-1]
    assert prompt.kind == "expectancy" and "Spider far away" in prompt.text
    assert sent(link, messages.SetParameter) == []  # nothing shown before the patient answered
    assert clinic.status().waiting_for == "the patient's expectancy rating"
    answer(model, link, 70)
    assert sent(link, messages.SetParameter)[-1] == messages.SetParameter(name="distance", value=4.0, ramp_s=3.0)
    status = clinic.status()
    assert (status.position, status.step.label, status.expectancy, status.next_label) == (
        0,
        "Spider far away",
        70,
        "Spider at 2 m",
    )
    clock.t += 75
    assert clinic.status().time_text() == "1:15 at step · minimum 2:00"


def test_moving_up_asks_the_outcome_then_the_next_expectancy_and_records_the_violation():
    clinic, model, link, clock, plan = session()
    clinic.begin(plan)
    answer(model, link, 80)  # expectancy before step 1
    clock.t += 200
    clinic.advance()
    outcome = sent(link, messages.Prompt)[-1]
    assert outcome.kind == "outcome" and "Spider far away" in outcome.text
    answer(model, link, 10)
    assert clinic.violations[0].points == 70
    violation = next(e for e in notes(model, "step") if e.data and "violation" in e.data)
    assert violation.text == "Spider far away: expected 80 %, happened 10 % → expectancy violated by +70 points"
    assert violation.data == {"position": 1, "expected": 80, "happened": 10, "violation": 70}
    nxt = sent(link, messages.Prompt)[-1]
    assert nxt.kind == "expectancy" and "Spider at 2 m" in nxt.text  # one question at a time
    answer(model, link, 60)
    assert sent(link, messages.SetParameter)[-1].value == 2.0
    assert clinic.status().position == 1
    clinic.back()  # going back: outcome of step 2; step 1's expectancy is known, so it applies at once
    assert sent(link, messages.SetParameter)[-1].value == 4.0
    assert [e.data["why"] for e in notes(model, "step") if e.data and "why" in e.data] == [
        "start of plan",
        "therapist moved up",
        "therapist moved back",
    ]


def test_without_expectancy_steps_apply_at_once_and_suds_is_asked_on_schedule():
    clinic, _model, link, clock, plan = session(ask_expectancy=False, suds_every_s=60)
    clinic.begin(plan)
    assert sent(link, messages.SetParameter)[-1].value == 4.0
    clinic.tick({})
    assert sent(link, messages.Prompt) == []
    clock.t += 61
    clinic.tick({})
    assert sent(link, messages.Prompt)[-1].kind == "suds"


def test_habituation_leads_to_a_suggestion_with_its_numbers_and_accepting_it_moves_up():
    clinic, model, link, clock, plan = session(ask_expectancy=False, suds_every_s=0)
    clinic.begin(plan)
    for dt, suds, arousal in ((10, 40, 30.0), (60, 70, 60.0), (60, 50, 45.0), (60, 30, 20.0)):
        clock.t += dt
        model.ask("suds")
        answer(model, link, suds)
        clinic.tick({"arousal_pct": arousal, "hr_bpm": 80.0})
    open_ = clinic.suggestion
    assert open_ is not None and open_.suggestion.action == "raise"
    # Habituation is said once, in the log with its numbers and on the timeline.
    (habituated,) = [e for e in notes(model, "step") if e.data and "habituation" in e.data]
    assert habituated.text.startswith("step 1 Spider far away: habituation: SUDS 30")
    assert habituated.data["habituation"]["suds_peak"] == 70
    assert [m.label for m in model.marks if m.kind == "habituation"] == ["habituation"]
    made = [e for e in notes(model, "decision")][-1]
    assert made.data["action"] == "raise"
    assert made.data["based_on"]["suds_peak"] == 70 and made.data["based_on"]["suds_now"] == 30
    assert made.data["based_on"]["arousal_now_pct"] == 20.0
    assert "SUDS 30, down 40 from its peak 70" in made.text
    clinic.accept()
    assert clinic.status().position == 1
    assert sent(link, messages.SetParameter)[-1].value == 2.0
    decided = notes(model, "decision")[-1]
    assert decided.data["suggestion"] == open_.id and decided.data["response"] == "accepted"
    assert clinic.suggestion is None  # a new step starts without advice


def test_dismissed_advice_is_not_repeated_for_a_minute_and_modifying_does_the_therapists_choice():
    clinic, model, link, clock, plan = session(ask_expectancy=False, suds_every_s=0)
    clinic.begin(plan)
    clock.t += 30
    model.ask("suds")
    answer(model, link, 60)
    clock.t += 30
    model.ask("suds")
    answer(model, link, 90)  # too much: lower (we are at the first step: hold)
    clinic.tick({})
    assert clinic.suggestion.suggestion.action == "hold"
    clinic.dismiss("patient wants to continue")
    clock.t += 20
    clinic.tick({})
    assert clinic.suggestion is None
    clock.t += 45
    clinic.tick({})
    assert clinic.suggestion is not None
    clinic.modify("vary", "try a different position")
    last = notes(model, "decision")[-1]
    assert last.data["response"] == "modified" and last.data["action"] == "vary"
    decided = [e.data for e in notes(model, "decision") if "response" in e.data]
    assert [(d["response"], d["why"]) for d in decided] == [
        ("dismissed", "patient wants to continue"),
        ("modified", "try a different position"),
    ]


def test_variation_stays_within_the_bounds_and_never_more_intense_than_the_step():
    clinic, model, _link, _clock, plan = session(ask_expectancy=False, suds_every_s=0)
    clinic.begin(plan)
    clinic.advance()  # step 2: distance 2.0 m, may vary 1.0..3.5, but closer than 2.0 is more intense
    for _ in range(30):
        chosen = clinic.vary()
        assert 2.0 <= chosen["distance"] <= 3.5
    varied = [e for e in notes(model, "step") if e.data and "vary" in e.data]
    assert len(varied) == 30 and varied[0].data["bounds"] == {"distance": [2.0, 3.5]}


def test_thresholds_alert_and_the_most_severe_make_the_scene_safe_by_themselves():
    clinic, model, link, _clock, _plan = session()
    clinic.set_thresholds(Thresholds(hr_bpm=Threshold("hr_bpm", "heart rate", "bpm", 140.0, 170.0)))
    alerts = []
    clinic.alerted.connect(alerts.append)
    clinic.tick({"hr_bpm": 150.0})
    assert [a.level for a in alerts] == ["alert"] and sent(link, messages.MakeSafe) == []
    assert notes(model, "safety")[-1].text == "ALERT: heart rate 150 bpm ≥ alert limit 140 bpm"
    clinic.tick({"hr_bpm": 172.0})
    assert alerts[-1].level == "make_safe"
    assert sent(link, messages.MakeSafe)[-1].reason == "automatic: heart rate 172 bpm ≥ make-safe limit 170 bpm"
    clinic.auto_make_safe = False
    model.apply(MessageReceived("h1", 5, telemetry(46.0), 0.0))  # default make-safe limit 45 °C
    assert alerts[-1].key == "temperature_c" and len(sent(link, messages.MakeSafe)) == 1


def telemetry(temperature):
    return messages.Telemetry(
        at=0.0, head_position=[0.0, 1.6, 0.0], head_rotation=[0.0, 0.0, 0.0, 1.0], fps=72.0, temperature_c=temperature
    )


def test_the_quick_safety_form_is_logged_with_its_fields_and_can_make_safe():
    clinic, model, link, _clock, _plan = session()
    clinic.report_safety_event("cybersickness", "moderate", "nausea after the turn", make_safe=True)
    entry = notes(model, "safety")[0]
    assert entry.text == "moderate cybersickness — nausea after the turn"
    assert entry.data == {"safety_event": "cybersickness", "severity": "moderate", "note": "nausea after the turn"}
    assert sent(link, messages.MakeSafe)[-1].reason == "moderate cybersickness"
    with pytest.raises(ValueError):
        clinic.report_safety_event("boredom", "mild")


def test_end_to_end_a_make_safe_threshold_calms_the_simulated_headset_over_the_real_link(link, beater, sims):
    """The simulated headset's temperature (about 33 °C) over a make-safe limit set low for
    the test: the console makes the scene safe by itself, and the headset says it is safe."""
    import queue

    from tests.conftest import wait_until

    model = SessionModel(link)
    limits = Thresholds(temperature_c=Threshold("temperature_c", "headset temperature", "°C", 25.0, 30.0))
    clinic = ClinicalSession(model, limits)
    alerts = []
    clinic.alerted.connect(alerts.append)
    sim = sims(link)

    def pumped() -> bool:
        try:
            while True:
                model.apply(link.events.get(timeout=0.02))
        except queue.Empty:
            pass
        h = model.headset()
        return h is not None and h.scene_state == "safe"

    wait_until(pumped, timeout=15, what="the headset to report its scene safe")
    assert [a.level for a in alerts] == ["make_safe"]
    assert any("automatic: headset temperature" in why for _, why in sim.sim.safe_events)
    # (A busy machine may add a "link STALE" safety note; the alert is what matters here.)
    safety = [e.text for e in model.log if e.kind == "safety" and not e.text.startswith("link ")]
    assert safety[0].startswith("ALERT: headset temperature 3") and "≥ make-safe limit 30 °C" in safety[0]
    assert any(t.startswith("MAKE SAFE sent to every headset (automatic: headset temperature") for t in safety)


def test_the_audit_trail_goes_through_the_event_log_into_the_report(tmp_path):
    """Steps, expectancy and its violation, every suggestion with its data and the
    therapist's response: written by the journal, read back by the report."""
    from console.recording.journal import EventJournal
    from console.records import recorded, report

    clinic, model, link, clock, plan = session(suds_every_s=0)
    journal = EventJournal(tmp_path / "events.jsonl", model.started_at)
    model.logged.connect(journal.write)
    clinic.begin(plan)
    answer(model, link, 80)  # expectancy before step 1
    for dt, suds in ((10, 40), (60, 70), (60, 30)):
        clock.t += dt
        model.ask("suds")
        answer(model, link, suds)
        clinic.tick({"arousal_pct": 10.0, "hr_bpm": 84.0})
    clock.t += 5  # the therapist reads the suggestion
    clinic.accept()  # raise: outcome of step 1 asked first
    answer(model, link, 20)  # outcome
    answer(model, link, 50)  # expectancy before step 2
    clock.t += 5
    clinic.report_safety_event("cybersickness", "mild", "slight nausea")
    journal.close()

    s = recorded.load(tmp_path)
    assert report.plan_rows(s) == [
        ["0:00", "1. Spider far away", "distance=4", "80 %", "20 %", "+60 points"],
        ["2:15", "2. Spider at 2 m", "distance=2", "50 %", "–", "–"],
    ]
    assert [(round(st.start), st.name, st.values) for st in recorded.session_steps(s)] == [
        (0, "1. Spider far away", {"distance": (4.0, "")}),
        (135, "2. Spider at 2 m", {"distance": (2.0, "")}),
    ]
    rows = report.step_rows(s, report.Physiology(), recorded.session_steps(s))
    assert [(r[3], r[4], r[-1]) for r in rows] == [("70", "30", "at 2:10"), ("–", "–", "–")]  # peak, end, habituated
    (decision,) = report.decision_rows(s)
    assert decision[:3] == ["#1", "2:10", "raise"]
    assert "SUDS 30, down 40 from its peak 70" in decision[3]
    assert decision[4] == "SUDS 30, peak SUDS 70, arousal 10 %, HR 84 bpm, 2:10 at step 1"
    assert decision[5] == "accepted after 5 s"
    text = report.render_html(s, b"")
    assert "Decision support: audit trail" in text and "mild cybersickness — slight nausea" in text
    assert " entries, intact (keyed, key " in text.split("<td>Event log</td>")[1].split("</tr>")[0]
    assert "<td>Suggestions</td><td>1: 1 accepted, 0 modified, 0 dismissed, 0 expired, 0 open</td>" in text
