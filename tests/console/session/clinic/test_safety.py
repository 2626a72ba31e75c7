"""Safety thresholds: alerts, make-safe levels and re-arming."""

from __future__ import annotations

from console.session.clinic.safety import SafetyMonitor, Threshold, Thresholds


def test_crossing_a_threshold_alerts_once_until_the_value_comes_back_down():
    monitor = SafetyMonitor()
    assert monitor.check({"hr_bpm": 120.0}) == []
    first = monitor.check({"hr_bpm": 145.0})
    assert [(a.key, a.level) for a in first] == [("hr_bpm", "alert")]
    assert first[0].text == "heart rate 145 bpm ≥ alert limit 140 bpm"
    assert monitor.check({"hr_bpm": 150.0}) == []  # still over: said already
    assert monitor.check({"hr_bpm": 136.0}) == []  # inside the margin: not re-armed
    assert monitor.check({"hr_bpm": 130.0}) == []  # re-armed
    assert len(monitor.check({"hr_bpm": 141.0})) == 1


def test_a_make_safe_level_replaces_the_alert_of_the_same_reading_and_unmeasured_is_ignored():
    t = Thresholds(hr_bpm=Threshold("hr_bpm", "heart rate", "bpm", 140.0, 170.0))
    monitor = SafetyMonitor(t)
    alerts = monitor.check({"hr_bpm": 175.0, "suds": None, "temperature_c": 41.0})
    assert sorted((a.key, a.level) for a in alerts) == [("hr_bpm", "make_safe"), ("temperature_c", "alert")]


def test_thresholds_round_trip_as_the_store_keeps_them():
    t = Thresholds(suds=Threshold("suds", "SUDS", "", 80.0, 95.0))
    again = Thresholds.from_dict(t.to_dict())
    assert again == t
    assert Thresholds.from_dict({"kind": "thresholds"}) == Thresholds()
