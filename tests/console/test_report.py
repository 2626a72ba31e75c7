"""`vrclinic report` on a recorded session: the numbers in it are the session's."""

from __future__ import annotations

import json

import pytest

from console.report import ReportError, load, make_report

pytest.importorskip("pyxdf")


@pytest.fixture
def recorded(recorded_demo):
    folder, result = recorded_demo
    assert result.returncode == 0, result.stderr[-2000:]
    return folder


def test_report_contains_the_sessions_numbers_in_html_and_pdf(recorded, tmp_path):
    out, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    make_report(recorded, out, pdf)
    text = out.read_text()
    log = [json.loads(line) for line in (recorded / "events.jsonl").read_text().splitlines()]
    suds = [int(e["text"].split()[1]) for e in log if e["kind"] == "answer" and e["text"].startswith("SUDS")]
    assert suds, "the demo asked SUDS"
    assert f"<td>Peak SUDS</td><td>{max(suds)} at" in text
    assert f"<td>Last SUDS</td><td>{suds[-1]} at" in text
    assert "data:image/png;base64," in text and "distance (m)" in text
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000


def test_a_folder_without_a_session_is_refused_in_words(tmp_path):
    with pytest.raises(ReportError, match="holds no recorded session"):
        load(tmp_path)
