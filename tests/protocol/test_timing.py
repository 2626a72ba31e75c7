"""Heartbeat bookkeeping: which beats count, and the NTP-style clock estimate."""

from __future__ import annotations

import pytest

from protocol import messages
from protocol.timing import PeerClock


def beat(seq: int, sent_at: float, **echo) -> messages.Heartbeat:
    return messages.Heartbeat(seq=seq, sent_at=sent_at, **echo)


def test_offset_and_rtt_from_a_symmetric_exchange():
    clock = PeerClock(late_after_s=0.5)
    # Peer clock is 100 s ahead; one-way delay 2 ms each way; the peer held our beat 30 ms.
    t1 = 10.000
    t2 = t1 + 0.002 + 100.0
    t3 = t2 + 0.030
    t4 = t3 - 100.0 + 0.002
    clock.add_sample(t1, t2, t3, t4)
    assert clock.rtt_s == pytest.approx(0.004)
    assert clock.offset_s == pytest.approx(100.0)
    assert clock.to_local(200.0) == pytest.approx(100.0)


def test_offset_comes_from_the_fastest_round_trip():
    clock = PeerClock(late_after_s=0.5)
    clock.add_sample(0.0, 50.010, 50.010, 0.050)  # slow, asymmetric: offset estimate 49.985
    clock.add_sample(1.0, 51.001, 51.001, 1.002)  # fast: offset 50.000
    assert clock.offset_s == pytest.approx(50.0, abs=1e-6)


def test_duplicate_and_out_of_order_beats_do_not_count():
    clock = PeerClock(late_after_s=0.5)
    assert clock.on_heartbeat(beat(5, 1.0), received_at=1.0)
    assert not clock.on_heartbeat(beat(5, 1.1), received_at=1.1)
    assert not clock.on_heartbeat(beat(4, 1.2), received_at=1.2)
    assert clock.last_counted_at == 1.0 and clock.duplicates == 2
    assert clock.on_heartbeat(beat(6, 1.3), received_at=1.3)


def test_late_beats_do_not_count():
    clock = PeerClock(late_after_s=0.5)
    clock.add_sample(0.0, 0.0005, 0.0005, 0.001)  # same clock, offset ~0
    assert clock.on_heartbeat(beat(1, 1.0), received_at=1.001)
    # Sent 0.8 s before it arrived (queued during a freeze): proves nothing about now.
    assert not clock.on_heartbeat(beat(2, 1.2), received_at=2.0)
    assert clock.late == 1 and clock.last_counted_at == 1.001


def test_the_echo_of_our_beat_gives_a_sample():
    clock = PeerClock(late_after_s=0.5)
    ours = clock.heartbeat(seq=0, sent_at=5.0)
    assert ours.echo_seq == -1
    clock.on_heartbeat(beat(1, 105.015, echo_seq=0, echo_sent_at=5.0, echo_received_at=105.005), received_at=5.02)
    assert clock.rtt_s == pytest.approx(0.01)
    assert clock.offset_s == pytest.approx(100.0)
    reply = clock.heartbeat(seq=1, sent_at=5.1)
    assert (reply.echo_seq, reply.echo_sent_at, reply.echo_received_at) == (1, 105.015, 5.02)
