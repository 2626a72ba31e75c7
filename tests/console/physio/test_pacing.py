"""The plot pacer: the plots' frame rate, and fewer frames while the GUI thread is behind."""

from __future__ import annotations

from console.physio.pacing import FramePacer


def frames_in(pacer: FramePacer, start: float, seconds: float, tick_s: float) -> int:
    """Frames drawn when the timer ticks every ``tick_s`` from ``start`` for ``seconds``."""
    n, t = 0, start
    while t < start + seconds - 1e-9:
        n += pacer.due(t)
        t += tick_s
    return n


def test_a_loop_on_time_draws_at_the_rate_asked_for():
    pacer = FramePacer(60.0)
    assert 59 <= frames_in(pacer, 0.0, 1.0, 1 / 120) <= 61
    assert not pacer.busy(1.0) and pacer.busy_episodes == 0


def test_a_held_up_loop_draws_fewer_frames_for_a_while_then_catches_up_again():
    pacer = FramePacer(60.0, busy_hz=15.0, hold_s=2.0)
    frames_in(pacer, 0.0, 1.0, 1 / 120)
    # The event loop was held up for 300 ms (the next tick comes late): 15 frames a second...
    assert 14 <= frames_in(pacer, 1.3, 1.0, 1 / 120) <= 16
    assert pacer.busy(2.3) and pacer.busy_episodes == 1
    # ...until 2 s after the last late tick, then the full rate again.
    frames_in(pacer, 2.3, 1.0, 1 / 120)
    assert not pacer.busy(3.31)
    assert 59 <= frames_in(pacer, 3.31, 1.0, 1 / 120) <= 61
    assert pacer.busy_episodes == 1


def test_every_late_tick_keeps_it_slow():
    pacer = FramePacer(60.0, hold_s=2.0)
    t = 0.0
    for _ in range(10):  # a tick 200 ms late every second: a computer busy all along
        frames_in(pacer, t, 1.0, 1 / 120)
        t += 1.2
    assert pacer.busy(t) and pacer.busy_episodes == 1
