"""`vrclinic report` on a recorded session: the numbers in it are the session's."""

from __future__ import annotations

import json

import pytest

from console.qt.report_render import make_report
from console.records.recorded import load
from console.records.report import ReportError

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


def test_report_has_heart_rate_and_the_end_of_each_step(recorded, tmp_path):
    from console.physio.metrics import heart_rate_from_ecg
    from console.records.recorded import load as load_session
    from console.records.recorded import stimulus_steps

    out = tmp_path / "report.html"
    make_report(recorded, out)
    text = out.read_text()
    session = load_session(recorded)
    ecg = session.signal("ECG")
    expected = heart_rate_from_ecg(ecg.data[:, 0], ecg.rate, t0=float(ecg.t[0])).mean_bpm()
    assert 40 < expected < 150
    assert f"<td>Heart rate</td><td>mean {expected:.0f} bpm" in text
    steps = stimulus_steps(session)
    assert len(steps) >= 2, "the demo changes the stimulus several times"
    suds = [(r["t"], r["value"]) for r in session.ratings if r["kind"] == "suds"]
    for i, step in enumerate(steps, 1):
        inside = [v for t, v in suds if step.start <= t < step.end]
        end_suds = str(inside[-1]) if inside else "–"
        row = text.split(f"<tr><td>{i}</td>", 1)[1].split("</tr>", 1)[0]
        cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
        assert cells[1] == step.label().replace("·", "&middot;") or cells[1] == step.label()
        assert cells[3] == end_suds  # SUDS at the end of the step
        assert cells[4].endswith("bpm") or cells[4] == "–"


def test_a_folder_without_a_session_is_refused_in_words(tmp_path):
    with pytest.raises(ReportError, match="holds no recorded session"):
        load(tmp_path)
