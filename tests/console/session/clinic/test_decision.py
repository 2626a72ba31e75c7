"""Habituation and suggestions on scripted rating and arousal sequences."""

from __future__ import annotations

from console.session.clinic.decision import StepContext, habituation, suggest


def series(values, every=30.0):
    return [(i * every, v) for i, v in enumerate(values)]


def test_suds_falling_by_half_from_its_peak_with_arousal_agreeing_is_habituation():
    h = habituation(series([40, 70, 60, 45, 30]), series([20.0, 60.0, 55.0, 30.0, 25.0]))
    assert h.detected
    assert (h.suds_peak, h.suds_now, h.arousal_peak, h.arousal_now) == (70, 30, 60.0, 25.0)
    assert "SUDS 30, down 40 from its peak 70 (57%)" in h.text
    assert "arousal 25 %, peak 60 %" in h.text


def test_no_habituation_while_rising_when_low_or_when_the_body_disagrees():
    assert not habituation(series([30, 50, 70]), []).detected  # still rising: 70 is the peak
    assert "peak so far" in habituation(series([30, 50, 70]), []).text
    low = habituation(series([15, 10, 5]), [])
    assert not low.detected and "stayed low" in low.text
    body = habituation(series([70, 30]), series([70.0, 60.0]))
    assert not body.detected and body.text.startswith("SUDS fell but arousal has not")
    not_yet = habituation(series([70, 50]), [])
    assert not not_yet.detected and "not yet" in not_yet.text
    # Arousal back near baseline counts even if its own drop is under half.
    assert habituation(series([70, 30]), series([20.0, 12.0])).detected
    assert not habituation([], []).detected


def ctx(suds, arousal=None, *, t=300.0, position=1, steps=3, can_vary=False, min_s=120.0, max_s=600.0):
    hab = habituation(series(suds), series(arousal or []))
    return StepContext(
        "Spider at 2 m",
        position,
        steps,
        t,
        min_s,
        max_s,
        hab,
        suds[-1] if suds else None,
        arousal[-1] if arousal else None,
        90.0,
        can_vary,
    )


def test_habituated_after_the_minimum_time_suggests_raising_with_the_numbers():
    s = suggest(ctx([40, 70, 30], [50.0, 20.0]))
    assert s.action == "raise"
    assert s.reasons[0].startswith("habituation: SUDS 30, down 40 from its peak 70")
    assert "5:00 at this step (planned minimum 2:00)" in s.reasons[1]
    assert s.based_on["suds_peak"] == 70 and s.based_on["suds_now"] == 30 and s.based_on["habituated"]
    assert s.text().startswith("Move up to the next step: habituation")


def test_before_the_minimum_time_nothing_is_suggested_even_when_habituating():
    assert suggest(ctx([70, 30], t=60.0)) is None


def test_too_much_suggests_lowering_or_holding_on_the_first_step():
    s = suggest(ctx([60, 90], [85.0, 88.0]))
    assert s.action == "lower"
    assert "SUDS 90 is at or above 85" in s.reasons and "arousal 88 % is at or above 80 %" in s.reasons
    first = suggest(ctx([60, 90], position=0))
    assert first.action == "hold" and "first step" in first.reasons[-1]


def test_at_the_last_step_habituation_suggests_varying_when_allowed():
    assert suggest(ctx([70, 30], position=2, can_vary=True)).action == "vary"
    assert suggest(ctx([70, 30], position=2, can_vary=False)) is None


def test_over_the_maximum_without_habituation_suggests_holding_and_says_why():
    s = suggest(ctx([60, 65, 60], t=660.0))
    assert s.action == "hold"
    assert s.reasons[0] == "11:00 at this step, over the planned maximum 10:00"
    assert s.reasons[-1] == "no habituation yet"


def test_a_step_that_stays_easy_suggests_moving_up_once_its_minimum_time_is_reached():
    s = suggest(ctx([25, 20], [5.0, 4.0]))
    assert s.action == "raise"
    assert s.reasons[0] == "SUDS has stayed low at this step (peak 25, now 20, arousal 4 %)"
    assert s.reasons[-1] == "too little fear to learn from"
    assert suggest(ctx([25, 20], t=60.0)) is None  # before the minimum
    assert suggest(ctx([25, 20], [5.0, 40.0])) is None  # the body says otherwise
    assert suggest(ctx([25, 20], position=2)) is None  # nothing to move up to
