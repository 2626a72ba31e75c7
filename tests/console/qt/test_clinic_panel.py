"""The therapist's clinical controls: what the plan panel, the suggestion bar, the plan
editor and the safety form show and do. Real widgets (offscreen) over the real clinical
session; the model's link keeps what was sent (as in test_session)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from console.qt.clinic_panel import ClinicPanel
from console.records.store import SessionStore, StoreError
from console.records.store_worker import StoreWorker
from console.session.clinic.plan import SessionPlan
from console.session.clinic.safety import Thresholds
from protocol import messages
from tests.console.session.clinic.test_workflow import HIERARCHY, answer, sent, session


@pytest.fixture
def store(tmp_path):
    """The session store in its own thread, as the console has it."""
    worker = StoreWorker(tmp_path / "s.sqlite3")
    yield worker
    worker.close()


def stored(store: StoreWorker) -> SessionStore:
    """The same file opened apart, as another console would: what landed in the store."""
    return SessionStore(store.path)


def panel(qtbot, store, **plan_kwargs):
    clinic, model, link, clock, plan = session(**plan_kwargs)
    view = ClinicPanel(clinic, store, lambda: "P-014")
    qtbot.addWidget(view)
    # qtbot holds widgets weakly: keep the panel (and the dialogs it parents) until qtbot has
    # closed them, not only until the test function returns.
    qtbot.vrclinic_panels = [*getattr(qtbot, "vrclinic_panels", []), view]
    qtbot.addWidget(view.bar)
    view.show()
    view.bar.show()
    view.refresh()
    return view, clinic, model, link, clock, plan


def test_the_panel_shows_the_step_its_time_and_what_waits_and_the_buttons_move(qtbot, store):
    view, clinic, model, link, clock, plan = panel(qtbot, store)
    assert view.step_label.text().startswith("No plan running")
    assert not view.next_button.isEnabled()
    clinic.begin(plan)
    assert view.step_label.text() == "Step 1 of 3: Spider far away · expected SUDS 20"
    assert view.time_label.text().startswith("Waiting for the patient's expectancy rating")
    answer(model, link, 70)
    clock.t += 30
    clinic.tick({})
    assert view.time_label.text() == "0:30 at step · minimum 2:00 · next: Spider at 2 m · expectancy 70 %"
    assert not view.back_button.isEnabled() and view.next_button.isEnabled()
    qtbot.mouseClick(view.next_button, Qt.MouseButton.LeftButton)  # asks the outcome of step 1 first
    assert sent(link, messages.Prompt)[-1].kind == "outcome"


def test_a_suggestion_appears_with_its_reasons_and_accept_does_it(qtbot, store):
    view, clinic, model, link, clock, plan = panel(qtbot, store, ask_expectancy=False, suds_every_s=0)
    clinic.begin(plan)
    assert not view.suggestion_box.isVisible()
    for dt, suds in ((10, 40), (60, 70), (60, 30)):
        clock.t += dt
        model.ask("suds")
        answer(model, link, suds)
        clinic.tick({"arousal_pct": 10.0})
    assert view.suggestion_box.isVisible()
    text = view.suggestion_text.text()
    assert "Suggestion: move up a step" in text and "SUDS 30, down 40 from its peak 70" in text
    assert view.accept_button.text() == "Accept: move up a step"
    qtbot.mouseClick(view.accept_button, Qt.MouseButton.LeftButton)
    assert view.step_label.text().startswith("Step 2 of 3: Spider at 2 m")
    assert not view.suggestion_box.isVisible()
    assert [e.data["response"] for e in model.log if e.kind == "decision" and "response" in e.data] == ["accepted"]


def test_an_alert_is_shown_in_words_until_the_therapist_acknowledges_it(qtbot, store):
    view, clinic, model, _link, _clock, _plan = panel(qtbot, store)
    clinic.tick({"hr_bpm": 150.0})
    assert view.alert_box.isVisible()
    assert view.alert_label.text() == "⚠ heart rate 150 bpm ≥ alert limit 140 bpm."
    clinic.tick({"hr_bpm": 150.0, "arousal_pct": 95.0})
    assert view.alert_label.text() == "⚠ arousal 95 % ≥ alert limit 90 %. (and 1 earlier)"
    qtbot.mouseClick(view.acknowledge_button, Qt.MouseButton.LeftButton)
    assert not view.alert_box.isVisible() and not view.bar.isVisible()
    assert model.log[-1].text == (
        "alert acknowledged: heart rate 150 bpm ≥ alert limit 140 bpm; arousal 95 % ≥ alert limit 90 %"
    )


def test_the_plan_editor_saves_the_hierarchy_the_plan_and_the_thresholds_for_the_patient(qtbot, store):
    view, clinic, _model, _link, _clock, _plan = panel(qtbot, store)
    editor = view.edit_plan()
    qtbot.addWidget(editor)
    assert editor.patient.text() == "P-014" and editor.table.rowCount() == 0
    editor.name.setEditText("spiders")
    editor.show_plan(SessionPlan.whole(HIERARCHY))
    editor.table.item(1, 4).setText("distance=2..3.5")  # closer than 2 m would be more than the step
    editor.table.item(2, 5).setCheckState(Qt.CheckState.Unchecked)  # not today
    editor.table.item(0, 6).setText("60")
    editor.limits["hr_bpm"][1].setValue(170)  # make safe at 170 bpm
    saved = editor.save()
    assert editor.problems.text() == "Saving for P-014…"  # in the store's thread
    qtbot.waitUntil(lambda: editor.problems.text() == "Saved for P-014.")
    with stored(store) as reader:
        assert [p.name for p in reader.plans("P-014")] == ["safety thresholds", "spiders", "spiders · today"]
    assert [p.step for p in saved.steps] == [0, 1] and saved.steps[0].min_s == 60.0
    assert clinic.safety.thresholds.hr_bpm.make_safe_at == 170.0
    # Opened again, the patient's hierarchy and thresholds come back from the store.
    again = view.edit_plan()
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.table.rowCount() == 3) and again.table.item(1, 0).text() == "Spider at 2 m"
    assert again.table.item(2, 5).checkState() == Qt.CheckState.Unchecked
    assert again.thresholds().hr_bpm.make_safe_at == 170.0
    again.start_button.click()
    assert clinic.plan is not None and clinic.plan.name == "spiders · today"


def test_the_plan_editor_says_what_is_wrong_and_saves_nothing(qtbot, store):
    view, _clinic, _model, _link, _clock, _plan = panel(qtbot, store)
    editor = view.edit_plan()
    qtbot.addWidget(editor)
    editor.name.setEditText("spiders")
    editor.show_plan(SessionPlan.whole(HIERARCHY))
    editor.table.item(0, 2).setText("distance 9")
    editor.table.item(1, 2).setText("distance=9")
    assert editor.save() is None
    problems = editor.problems.text()
    assert "Step 1: 'distance 9': write each value as name=number" in problems
    assert "Distance 9 is outside 0.3 … 5 m" in problems
    qtbot.waitUntil(lambda: store.pending == 0)
    with stored(store) as reader, pytest.raises(StoreError, match="no patient 'P-014'"):
        reader.plans("P-014")  # nothing was saved, not even the patient


def test_add_step_from_the_current_scene_takes_what_the_headset_shows(qtbot, store):
    view, _clinic, model, _link, _clock, _plan = panel(qtbot, store)
    model.set_parameter("distance", 1.5)
    editor = view.edit_plan()
    qtbot.addWidget(editor)
    editor.add_current()
    assert [editor.table.item(0, c).text() for c in range(3)] == ["Spiders 1", "spiders", "distance=1.5"]


def test_the_safety_form_records_the_event_and_severe_proposes_make_safe(qtbot, store):
    view, _clinic, model, link, _clock, _plan = panel(qtbot, store)
    form = view.report_safety_event()
    qtbot.addWidget(form)
    form.kind.setCurrentIndex(form.kind.findData("dissociation"))
    form.severity.setCurrentText("severe")
    assert form.make_safe.isChecked()
    form.note.setText("stares, does not answer")
    form.accept()
    entry = [e for e in model.log if e.kind == "safety"][-2]
    assert entry.text == "severe dissociation — stares, does not answer"
    assert sent(link, messages.MakeSafe)[-1].reason == "severe dissociation"


def test_entering_a_patient_applies_their_stored_thresholds(qtbot, store):
    view, clinic, model, _link, _clock, _plan = panel(qtbot, store)
    defaults = clinic.safety.thresholds
    view.load_patient("P-099")  # not in the store: the defaults stand
    qtbot.waitUntil(lambda: store.pending == 0)
    qtbot.wait(50)
    assert clinic.safety.thresholds == defaults
    own = Thresholds.from_dict({"hr_bpm": {"alert_at": 120, "make_safe_at": 160}})
    with stored(store) as other_console:
        other_console.save_plan("P-014", Thresholds.STORE_NAME, own.to_dict())
    view.load_patient("P-014")
    qtbot.waitUntil(lambda: clinic.safety.thresholds == own)  # read in the store's thread, applied here
    assert clinic.safety.thresholds.hr_bpm.alert_at == 120.0
    assert model.log[-1].text == "safety thresholds set"
