"""Recordings that never claim more than they hold: a real short recording, cut in half or
with garbage written into its middle, read by every reader (review, report, export), which say
what is missing instead of "complete", without pyxdf's traceback on the terminal."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from console.records import completeness
from console.records.export import export_csv, export_xdf, readme_text
from console.records.recorded import load
from console.records.report import render_html
from tests.console.records.short_recording import ECG_HZ, cut_in_half, garbage_in_the_middle, short_recording

pyxdf = pytest.importorskip("pyxdf")


@pytest.fixture
def whole(tmp_path) -> Path:
    return short_recording(tmp_path / "whole")


def ecg_of(s) -> tuple[int, int | None]:
    (held,) = [h for h in s.completeness.streams if h.kind == "ECG"]
    return held.samples, held.expected


def test_a_whole_recording_is_complete_and_its_counts_match_the_rate(whole):
    s = load(whole)
    assert s.problems == [] and s.completeness.complete and s.state_text == "complete"
    samples, expected = ecg_of(s)
    assert samples == expected
    ecg = s.signal("ECG")
    assert len(ecg.t) == pytest.approx((ecg.t[-1] - ecg.t[0]) * ECG_HZ + 1, abs=2)
    assert "None found: the recording is complete" in readme_text(s, [])


def test_a_recording_cut_in_half_says_which_streams_lack_how_many_samples(whole, tmp_path):
    before = ecg_of(load(whole))[0]
    cut_in_half(whole)
    s = load(whole)
    samples, expected = ecg_of(s)
    assert 0.3 * before < samples < 0.7 * before
    # Without footers the count is estimated from the rate up to the manifest's end, which the
    # recorder's last chunk precedes by under a second.
    assert before <= expected <= before + ECG_HZ
    text = " ".join(s.problems)
    assert "session.xdf is cut off" in text and "none of its streams has a footer" in text
    name = s.signal("ECG").name
    found = re.search(rf"{name} \(ECG\) holds ([\d,]+) of about ([\d,]+) samples \(([\d.]+) s missing", text)
    assert found, text
    assert int(found.group(1).replace(",", "")) == samples
    assert float(found.group(3)) == pytest.approx((expected - samples) / ECG_HZ, abs=0.1)
    assert s.state_text.startswith("incomplete")

    # The export's README and the report say the same, never "the recording is complete".
    export_csv(whole, tmp_path / "csv")
    readme = (tmp_path / "csv" / "README.txt").read_text(encoding="utf-8")
    assert "None found" not in readme and "session.xdf is cut off" in readme and found.group(0) in readme
    assert "Recording state: incomplete" in readme
    html = render_html(s, b"")
    assert "This recording is incomplete or damaged." in html and "session.xdf is cut off" in html


def test_garbage_in_the_middle_is_skipped_and_said_without_a_traceback(whole, tmp_path, capsys, caplog):
    at = garbage_in_the_middle(whole)
    caplog.set_level(logging.DEBUG)
    s = load(whole)
    out, err = capsys.readouterr()
    assert out == "" and err == "", "the reader printed on the terminal"
    assert not [r for r in caplog.records if r.name.startswith("pyxdf")], "pyxdf's log reached the handlers"
    (damage,) = s.completeness.scans[0].damage
    # The damage found covers the garbage: it starts with the chunk the garbage begins in (or a
    # few bytes late, where garbage over the end of a chunk's samples reads as samples).
    assert at - 8192 <= damage.offset <= at + 256 and damage.offset + damage.length >= at + 4096 - 64
    text = " ".join(s.problems)
    assert f"session.xdf is damaged: {damage.length:,} bytes at" in text and "samples missing:" in text
    # Everything after the garbage was read: the streams go on to the end of the recording.
    whole_copy = short_recording(tmp_path / "again")
    assert s.signal("ECG").t[-1] == pytest.approx(load(whole_copy).signal("ECG").t[-1], abs=1e-6)
    export_xdf(whole, tmp_path / "xdf")
    readme = (tmp_path / "xdf" / "README.txt").read_text(encoding="utf-8")
    assert "None found" not in readme and "session.xdf is damaged" in readme


def test_xdf_parts_are_read_in_order_and_joined_stream_by_stream(whole, tmp_path):
    """A second part (what the recorder writes after the disk was full) holding the second half
    of the streams: the readers join them, and a part without its own end is checked against
    the manifest's end."""
    assert [p.name for p in completeness.xdf_parts(whole)] == ["session.xdf"]
    for name in ("session.part3.xdf", "session.part10.xdf", "session.part2.xdf", "session.partx.xdf"):
        (whole / name).write_bytes(b"")
    assert [p.name for p in completeness.xdf_parts(whole)] == [
        "session.xdf",
        "session.part2.xdf",
        "session.part3.xdf",
        "session.part10.xdf",
    ]


def test_malformed_metadata_gives_sentences_naming_the_file_and_the_key(whole, tmp_path):
    manifest_path = whole / "session.json"
    manifest = json.loads(manifest_path.read_text())
    manifest.update(patient=12345, started_wall=["2025", "03"], streams="ECG", ended_clock="soon")
    manifest_path.write_text(json.dumps(manifest))
    s = load(whole)
    assert s.patient == "" and s.manifest.get("started_wall") is None
    for key, holds in (("patient", "12345 (a number)"), ("started_wall", '["2025", "03"] (a list)')):
        assert any(p.startswith(f'{manifest_path}: the key "{key}" holds {holds} where') for p in s.problems), key
    assert any('the key "streams" holds "ECG" (text) where a list of stream names' in p for p in s.problems)
    html = render_html(s, b"")  # the report and the README read what is left
    assert "12345" in html and "Patient</td><td>–" in html
    readme = readme_text(s, [])
    assert "Patient code:    not recorded" in readme and 'the key "patient" holds 12345' in readme

    manifest_path.write_text("[1, 2]")
    s = load(whole)
    assert s.problems[0] == f"{manifest_path} holds a list, not a JSON object: the session's details are unknown"
    render_html(s, b"")
    readme_text(s, [])


def test_marker_entries_that_are_not_objects_are_counted_not_raised(whole):
    """An event's data or a marker stream's entry of the wrong shape (an older or a foreign
    writer): skipped and counted, the rest read."""
    log = whole / "events.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    rows[0]["data"] = "not an object"
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    s = load(whole)
    assert "1 entries of events.jsonl carry data that is not an object: their data was ignored" in s.problems
    assert "data" not in s.events[0] and len(s.events) == len(rows)


def test_the_review_windows_banner_says_what_a_cut_recording_misses(whole, qtbot):
    from console.qt.review_window import ReviewWindow
    from console.records.review import ReviewModel

    cut_in_half(whole)
    s = load(whole)
    window = ReviewWindow(ReviewModel(s))
    qtbot.addWidget(window)
    window.show()
    text = window.banner.text()
    assert window.banner.isVisible() and text.startswith("This recording is incomplete. session.xdf is cut off")
    samples, expected = ecg_of(s)
    assert f"ECG {samples:,} of about {expected:,} (" in text and "miss samples" in text
    assert all(p in window.banner.toolTip() for p in s.problems)  # every detail on hovering


def test_an_event_log_that_stopped_early_is_completed_from_the_recordings_events_stream(whole):
    """The journal's file can fail for good (a full disk) while the recorder goes on: the
    readers take the later entries from the XDF's own events stream, and say so."""
    log = whole / "events.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    marks = [json.loads(line)["text"] for line in lines if json.loads(line)["kind"] == "marker"]
    log.write_text("".join(lines[: len(lines) // 2]))
    s = load(whole)
    taken = [p for p in s.problems if "later entries were taken from the recording's events stream" in p]
    assert len(taken) == 1 and taken[0].startswith("events.jsonl ends at 0:00:")
    assert [e["text"] for e in s.events if e["kind"] == "marker"] == marks  # every marker, in order
    assert [e["at"] for e in s.events] == sorted(e["at"] for e in s.events)
