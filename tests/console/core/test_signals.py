"""The models' signals: a broken view is logged and reported, the views after it still run,
and the model that emitted never sees the exception."""

from __future__ import annotations

import logging

from console.core.signals import Signal, view_failures
from console.session.model import SessionModel


class Model:
    changed = Signal(int)


class View:
    def __init__(self, model: Model):
        self.seen: list[int] = []
        model.changed.connect(self.on_changed)

    def on_changed(self, value: int) -> None:
        self.seen.append(value)


class BrokenView:
    def __init__(self, model: Model):
        model.changed.connect(self.on_changed)

    def on_changed(self, value: int) -> None:
        raise ValueError(f"cannot draw {value}")


def test_a_failing_view_is_logged_and_reported_and_the_others_still_run(view_failures, caplog):
    model = Model()
    broken = BrokenView(model)
    view = View(model)
    with caplog.at_level(logging.ERROR, logger="vrclinic.views"):
        model.changed.emit(7)  # does not raise into the model
    assert view.seen == [7]
    assert [f.text() for f in view_failures] == [
        "BrokenView.on_changed failed on Model.changed: ValueError: cannot draw 7"
    ]
    assert "cannot draw 7" in caplog.text and "Traceback" in caplog.text
    assert view_failures_total_grows_but_nothing_accumulates(model, broken)


def view_failures_total_grows_but_nothing_accumulates(model: Model, _broken: BrokenView) -> bool:
    before = view_failures.count
    for i in range(1000):
        model.changed.emit(i)
    return view_failures.count == before + 1000 and view_failures.last.error == "ValueError: cannot draw 999"


def test_each_model_instance_has_its_own_signals():
    a, b = Model(), Model()
    seen_a = View(a)
    b.changed.emit(1)
    assert seen_a.seen == []


def test_a_view_that_goes_away_is_no_longer_called():
    model = Model()
    view = View(model)
    model.changed.emit(1)
    del view  # psygnal holds bound methods weakly: a closed view does not linger
    model.changed.emit(2)
    assert len(model.changed) == 0


def test_the_session_models_signals_are_guarded(view_failures):
    class Link:
        def send(self, name, message):
            return 1

        def broadcast(self, message):
            return 1

        def headsets(self):
            return {}

    model = SessionModel(Link())
    seen = []
    model.logged.connect(lambda entry: 1 / 0)
    model.logged.connect(seen.append)
    entry = model.note("marker", "", "still logged")
    assert seen == [entry] and model.log == [entry]
    assert "ZeroDivisionError" in view_failures[0].error
