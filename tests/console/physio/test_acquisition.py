"""The acquisition with real LSL outlets: ring buffers, the console's clock, measured rates
and quality flags as the technician reads them."""

from __future__ import annotations

import numpy as np
import pylsl
import pytest

from console.physio.acquisition import Acquisition, RingBuffer
from console.physio.quality import QualityConfig, Severity
from tests.conftest import wait_until
from tests.console.physio.lsl_helpers import described


def test_ring_buffer_keeps_the_newest_samples_in_order():
    ring = RingBuffer(capacity=10, channels=2)
    for start in range(0, 25, 4):
        ts = np.arange(start, start + 4, dtype=float)
        ring.append(ts, np.column_stack([ts, -ts]))
    ts, data = ring.tail(10)
    assert list(ts) == list(range(18, 28)) and list(data[:, 1]) == [-t for t in range(18, 28)]
    ts, _ = ring.since(25.0)
    assert list(ts) == [25.0, 26.0, 27.0]
    first, ts, _ = ring.from_index(20)
    assert first == 20 and list(ts) == [20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0]
    first, ts, _ = ring.from_index(3)  # long gone: starts at the oldest kept
    assert first == 18 and ts[0] == 18.0
    big = np.arange(100, 130, dtype=float)  # more than fits at once
    ring.append(big, np.column_stack([big, big]))
    assert list(ring.tail(3)[0]) == [127.0, 128.0, 129.0] and ring.count == 10 and ring.total == 58


@pytest.fixture
def acquisition():
    acq = Acquisition(quality=QualityConfig(lost_after_s=3.0))
    yield acq
    acq.close()


@pytest.mark.slow
def test_samples_arrive_on_the_console_clock_at_the_measured_rate(unique, pushers, acquisition):
    pusher = pushers(unique("ECG"), rate=500.0, labels=("ECG",))
    stream = described(pusher.name)
    acquisition.select(stream)
    wait_until(lambda: acquisition.status(stream.uid).samples_received > 1200, 10, "1200 samples")
    ts, data = acquisition.latest(stream.uid, 2.0)
    assert data.shape[1] == 1 and 900 <= len(ts) <= 1001
    # The pusher stamps sample k with t0 + k / rate on local_clock(): after LSL's time
    # correction the acquired timestamps are those times, to well under a millisecond
    # (liblsl's offset estimate wobbles by tens of microseconds).
    k = np.round((ts - pusher.t0) * 500)
    assert np.abs(ts - (pusher.t0 + k / 500)).max() < 1e-3
    assert np.allclose(data[:, 0], pusher.signal(pusher.t0 + k / 500)[:, 0], atol=1e-6)
    assert abs(ts[-1] - pylsl.local_clock()) < 0.2  # and recent
    assert np.allclose(np.diff(ts), 1 / 500, atol=1e-6)
    wait_until(lambda: abs((acquisition.status(stream.uid).measured_rate or 0) - 500) < 5, 10, "rate near 500 Hz")
    status = acquisition.status(stream.uid)
    assert status.state == "streaming" and status.summary == "OK"
    assert abs(status.clock_offset_s) < 0.005  # same machine: the clocks agree


@pytest.mark.slow
def test_a_stalled_stream_is_flagged_then_lost_and_recovers(unique, pushers, acquisition):
    pusher = pushers(unique("PPG"), stream_type="PPG", rate=100.0)
    stream = described(pusher.name)
    acquisition.select(stream)
    wait_until(lambda: acquisition.status(stream.uid).state == "streaming", 10, "streaming")
    pusher.stall()
    wait_until(lambda: any(f.kind == "dropout" for f in acquisition.status(stream.uid).flags), 4, "a dropout warning")
    assert "Dropout: no samples for" in acquisition.status(stream.uid).summary
    wait_until(lambda: acquisition.status(stream.uid).severity == Severity.LOST, 6, "the stream marked lost")
    status = acquisition.status(stream.uid)
    assert status.state == "lost" and status.measured_rate < 50
    pusher.resume()
    wait_until(lambda: acquisition.status(stream.uid).severity < Severity.LOST, 6, "the stream back")


@pytest.mark.slow
def test_a_flat_channel_is_flagged_by_name(unique, pushers, acquisition):
    pusher = pushers(
        unique("EDA"),
        stream_type="EDA",
        rate=32.0,
        channels=2,
        labels=("EDA", "SKT"),
        signal=lambda t: np.column_stack([5 + 0.3 * np.sin(t), np.full_like(t, 31.5)]),
    )
    stream = described(pusher.name)
    acquisition.select(stream)
    wait_until(lambda: any(f.kind == "flat" for f in acquisition.status(stream.uid).flags), 8, "a flat-line flag")
    flag = next(f for f in acquisition.status(stream.uid).flags if f.kind == "flat")
    assert flag.channels == (1,) and "Flat line on SKT" in flag.text


def test_reading_only_new_samples_by_running_number(unique, pushers, acquisition):
    pusher = pushers(unique("RESP"), stream_type="RESP", rate=50.0)
    stream = described(pusher.name)
    acquisition.select(stream)
    wait_until(lambda: acquisition.status(stream.uid).samples_received > 20, 10, "samples")
    first, ts, _ = acquisition.read_from(stream.uid, 0, 60.0)
    following = first + len(ts)
    wait_until(lambda: acquisition.status(stream.uid).samples_received > following + 10, 5, "more samples")
    nxt, more, _ = acquisition.read_from(stream.uid, following, 60.0)
    assert nxt == following and more[0] > ts[-1]
    assert abs(more[0] - ts[-1] - 1 / 50) < 1e-6  # nothing lost, nothing twice


def test_deselect_stops_and_marker_streams_are_refused(unique, pushers, acquisition):
    pusher = pushers(unique("ECG"), rate=100.0)
    stream = described(pusher.name)
    acquisition.set_selection([stream])
    wait_until(lambda: acquisition.status(stream.uid).samples_received > 0, 10, "samples")
    acquisition.set_selection([])
    assert acquisition.status(stream.uid) is None and acquisition.selected_uids() == []
    assert len(acquisition.latest(stream.uid, 1.0)[0]) == 0
    markers = pylsl.StreamInfo(unique("Markers"), "Markers", 1, 0, pylsl.cf_string, unique("Markers"))
    outlet = pylsl.StreamOutlet(markers)
    with pytest.raises(ValueError, match="text"):
        acquisition.select(described(markers.name()))
    del outlet
