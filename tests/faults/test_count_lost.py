"""The soak's count of samples lost (tests/faults/soak.py): holes, changed values, duplicates
and a first chunk recorded with wrong timestamps (seen in a soak: the recorder's first EEG
samples stamped from 0) are counted; what was sent before the recording began is not."""

from __future__ import annotations

import numpy as np

from tests.faults.physio import fingerprint
from tests.faults.soak import count_lost

RATE = 100.0
T0 = 13_500.0  # the machine's clock hours after boot, as in a soak


def sent_stream(n: int = 1000, channels: int = 1, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.random.default_rng(seed).normal(size=(n, channels)).astype(np.float32)
    stamps = T0 + np.arange(n) / RATE
    return stamps, rows, fingerprint(rows)


def count(stamps: np.ndarray, rows: np.ndarray, prints: np.ndarray, r_stamps: np.ndarray, r_rows: np.ndarray):
    return count_lost({"s": [(r_stamps, r_rows)]}, {"s": (stamps, prints, RATE)})


def test_a_recording_that_began_late_but_holds_everything_after_loses_nothing():
    stamps, rows, prints = sent_stream()
    lost, expected, detail = count(stamps, rows, prints, stamps[100:], rows[100:])
    assert (lost, expected) == (0, 900)
    assert "the first 100 (1.0 s) were sent before the recording began" in detail["s"]


def test_holes_and_changed_values_are_lost_and_duplicates_said():
    stamps, rows, prints = sent_stream()
    keep = np.ones(1000, bool)
    keep[[300, 301, 302, 500, 999]] = False  # the last one too: the tail counts
    r_stamps, r_rows = stamps[keep], rows[keep].copy()
    r_rows[10] += 1e-3
    r_stamps = np.insert(r_stamps, 50, r_stamps[50])
    r_rows = np.insert(r_rows, 50, r_rows[50], axis=0)
    lost, expected, detail = count(stamps, rows, prints, r_stamps, r_rows)
    assert (lost, expected) == (6, 1000)
    assert "1 with other values, 1 twice, 0 never sent" in detail["s"]


def test_a_first_chunk_with_timestamps_from_zero_is_lost_and_said():
    stamps, rows, prints = sent_stream()
    r_stamps = stamps[100:].copy()
    r_stamps[:16] = 0.001 * np.arange(1, 17)  # deduced from no base, as the recorder did
    lost, expected, detail = count(stamps, rows, prints, r_stamps, rows[100:])
    assert (lost, expected) == (16, 900)
    assert "16 of them recorded with a wrong timestamp, up to 13501.134 s off" in detail["s"]


def test_a_stream_not_recorded_loses_everything_and_one_of_other_samples_too():
    stamps, rows, prints = sent_stream()
    assert count_lost({}, {"s": (stamps, prints, RATE)})[:2] == (1000, 1000)
    other = sent_stream(seed=2)
    lost, expected, _ = count(stamps, rows, prints, other[0] + 1000, other[1])
    assert (lost, expected) == (1000, 1000)


def test_the_fingerprint_sees_channels_swapped():
    rows = np.array([[1.0, 2.0, 3.0]], np.float32)
    assert fingerprint(rows)[0] != fingerprint(rows[:, ::-1])[0]
    assert fingerprint(rows)[0] == fingerprint(rows.copy())[0]
