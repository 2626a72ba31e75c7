"""What a session report says, from a recorded session folder (session.xdf and
events.jsonl): the summary, the steps with peak and end-of-step values, the plan and its
expectancy violations, the decision audit trail, safety events and the therapist's markers,
as HTML around a timeline image. No Qt: the timeline is drawn and the PDF printed by
:mod:`console.qt.report_render`, which ``vrclinic report`` calls. Runs in the caller's thread.
"""

from __future__ import annotations

import base64
import html
import time
from dataclasses import dataclass, field

import numpy as np

from console.records.recorded import RecordedSession, SessionFileError, Step, plan_entry

ReportError = SessionFileError  # the folder cannot be reported on; the text says why
END_WINDOW_S = 20.0  # "at the end of a step": the mean over its last seconds


@dataclass
class Physiology:
    """What the report says about the body: heart rate and skin conductance over the session."""

    hr: object | None = None  # console.physio.metrics.HeartRate
    hr_source: str = ""
    eda: object | None = None  # console.physio.metrics.SkinConductance
    notes: list[str] = field(default_factory=list)


def analyse(s: RecordedSession) -> Physiology:
    """Heart rate (from ECG, else PPG) and skin conductance, computed by console.physio.metrics."""
    from console.physio import metrics

    out = Physiology()
    for kind, compute in (("ECG", metrics.heart_rate_from_ecg), ("PPG", metrics.heart_rate_from_ppg)):
        sig = s.signal(kind)
        if sig is None or sig.measured_rate() <= 0 or len(sig.t) < sig.measured_rate() * 10:
            continue
        try:
            out.hr = compute(sig.data[:, 0], sig.rate or sig.measured_rate(), t0=float(sig.t[0]))
            out.hr_source = f"{kind} ({sig.name})"
            break
        except (ValueError, IndexError) as exc:  # too short or too noisy: say so, go on
            out.notes.append(f"heart rate from {sig.name} could not be computed: {exc}")
    sig = s.signal("EDA")
    if sig is not None and len(sig.t) > 10:
        try:
            out.eda = metrics.skin_conductance(sig.data[:, 0], sig.rate or sig.measured_rate(), t0=float(sig.t[0]))
        except (ValueError, IndexError) as exc:
            out.notes.append(f"skin conductance from {sig.name} could not be analysed: {exc}")
    return out


def _number(value: float | None, fmt: str = ".0f", unit: str = "") -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:{fmt}}{' ' + unit if unit else ''}"


def step_rows(s: RecordedSession, body: Physiology, steps: list[Step]) -> list[list[str]]:
    """Per step: its stimulus, peak and end-of-step SUDS, heart rate and skin conductance,
    and when habituation was seen in it."""
    rows = []
    habituated = [e["t"] for e in s.events if plan_entry(e) == "habituation"]
    for i, step in enumerate(steps, 1):
        suds = [r for r in s.ratings if r["kind"] == "suds" and step.start <= r["t"] < step.end]
        seen = [t for t in habituated if step.start <= t < step.end]
        end_from = max(step.start, step.end - END_WINDOW_S)
        hr_end = body.hr.bpm_at(step.end, window_s=step.end - end_from) if body.hr is not None else None
        # The end of the last step is the end of the session, which the EDA may not reach.
        scl_end = body.eda.scl_at(min(step.end, float(body.eda.t[-1]))) if body.eda is not None else None
        scrs = body.eda.scr_count(step.start, step.end) if body.eda is not None else None
        rows.append(
            [
                str(i),
                f"{mmss(step.start)}–{mmss(step.end)}",
                step.label(),
                str(max(r["value"] for r in suds)) if suds else "–",
                str(suds[-1]["value"]) if suds else "–",
                _number(hr_end, ".0f", "bpm"),
                _number(scl_end, ".2f", "µS"),
                "–" if scrs is None else str(scrs),
                f"at {mmss(seen[0])}" if seen else "–",
            ]
        )
    return rows


def _table(headers: list[str] | None, rows: list[list[str]]) -> str:
    head = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>" if headers else ""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>" if rows else "<p class='none'>None.</p>"


def mmss(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _started(s: RecordedSession) -> str:
    wall = s.manifest.get("started_wall")
    if wall:
        return wall.replace("T", " ")[:16]
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(s.folder.stat().st_mtime))


def plan_rows(s: RecordedSession) -> list[list[str]]:
    """The plan's steps as run: when each started, its expectancy, outcome and violation."""
    rows: list[list[str]] = []
    by_position: dict[int, list[str]] = {}
    expected: dict[int, str] = {}
    for e in s.events:
        entry, data = plan_entry(e), e.get("data") or {}
        if not entry or "position" not in data:
            continue
        position = int(data["position"])
        if entry == "started":  # its expectancy was asked just before
            values = ", ".join(f"{k}={v:g}" for k, v in (data.get("values") or {}).items())
            row = [mmss(e["t"]), f"{position}. {data['label']}", values, expected.pop(position, "–"), "–", "–"]
            rows.append(row)
            by_position[position] = row
        elif entry == "expectancy":
            expected[position] = f"{data['expectancy']} %"
        elif entry == "violation" and position in by_position:
            by_position[position][3] = f"{data['expected']} %"
            by_position[position][4] = f"{data['happened']} %"
            by_position[position][5] = f"{data['violation']:+d} points"
    return rows


def decision_rows(s: RecordedSession) -> list[list[str]]:
    """Every suggestion, the data it was based on, and what the therapist did with it."""
    made: dict[int, list[str]] = {}
    rows = []
    for e in s.events:
        data = e.get("data") or {}
        if e["kind"] != "decision" or "suggestion" not in data:
            continue
        n = int(data["suggestion"])
        if "reasons" in data:
            based = data.get("based_on") or {}
            formats = (
                ("suds_now", "SUDS {:.0f}"),
                ("suds_peak", "peak SUDS {:.0f}"),
                ("arousal_now_pct", "arousal {:.0f} %"),
                ("hr_now_bpm", "HR {:.0f} bpm"),
            )
            numbers = [fmt.format(based[key]) for key, fmt in formats if based.get(key) is not None]
            if based.get("time_at_step_s") is not None:
                numbers.append(f"{mmss(based['time_at_step_s'])} at step {based.get('position', '')}".rstrip())
            numbers = ", ".join(numbers)
            row = [f"#{n}", mmss(e["t"]), data["action"], "; ".join(data["reasons"]), numbers, "open", ""]
            made[n] = row
            rows.append(row)
        elif n in made:
            response = data.get("response", "")
            did = f" → {data['action']}" if response == "modified" else ""
            made[n][5] = f"{response}{did} after {data.get('after_s', 0):.0f} s"
            made[n][6] = data.get("why") or ""
    return rows


def incomplete_html(s: RecordedSession) -> str:
    """A red box at the top when the recording holds less than the session (a table: the PDF
    printer draws a table cell's background, not a div's); nothing when it is complete."""
    if not s.problems:
        return ""
    items = "".join(f"<li>{html.escape(p)}</li>" for p in s.problems)
    return (
        '<table class="incomplete" width="100%" cellpadding="8"><tr><td bgcolor="#fdecea">'
        "<b>This recording is incomplete or damaged.</b> The report shows only what the files hold:"
        f"<ul>{items}</ul></td></tr></table>"
    )


def render_html(s: RecordedSession, png: bytes, body: Physiology | None = None, steps: list[Step] = ()) -> str:
    suds = [r for r in s.ratings if r["kind"] == "suds"]
    peak = max(suds, key=lambda r: r["value"]) if suds else None
    safety = [e for e in s.events if e["kind"] == "safety"]
    markers = [e for e in s.events if e["kind"] == "marker"]
    headsets = sorted({e["headset"] for e in s.events if e["headset"] and e["headset"] != "all"})
    summary = [
        ["Session folder", str(s.folder)],
        ["Patient", s.patient or "–"],
        ["Recorded", _started(s)],
        ["Duration", mmss(s.end - s.start) + (" (the recording holds less: see above)" if s.problems else "")],
        ["Headsets", ", ".join(headsets) or "–"],
        ["SUDS ratings", str(len(suds))],
        ["Peak SUDS", f"{peak['value']} at {mmss(peak['t'])}" if peak else "–"],
        ["Last SUDS", f"{suds[-1]['value']} at {mmss(suds[-1]['t'])}" if suds else "–"],
        ["Safety events", str(len(safety))],
        ["Event log", s.log_check.text() if s.log_check else "–"],
    ]
    plan = plan_rows(s)
    decisions = decision_rows(s)
    if plan:
        summary.append(["Exposure plan", f"{len(plan)} step(s) started"])
    if decisions:
        responses = [r[5].split(" ")[0] for r in decisions]
        counted = ", ".join(
            f"{responses.count(w)} {w}" for w in ("accepted", "modified", "dismissed", "expired", "open")
        )
        summary.append(["Suggestions", f"{len(decisions)}: {counted}"])
    body = body or Physiology()
    if body.hr is not None:
        _t, bpm = body.hr.series(step_s=1.0)
        finite = bpm[np.isfinite(bpm)]
        span = f" (range {finite.min():.0f}–{finite.max():.0f})" if len(finite) else ""
        summary.append(
            [
                "Heart rate",
                f"mean {_number(body.hr.mean_bpm(), '.0f', 'bpm')}{span}, from {body.hr_source}; "
                f"signal quality {body.hr.quality}",
            ]
        )
    if body.eda is not None:
        count = body.eda.scr_count(0.0, s.duration)
        rate = body.eda.scr_per_min(0.0, s.duration)
        summary.append(["Skin conductance responses", f"{count} ({rate:.1f} per minute)"])
    if s.problems or body.notes:  # the recording's problems are listed in full at the top
        said = ["incomplete or damaged: see the box at the top"] if s.problems else []
        summary.append(["Recording", "; ".join([*said, *body.notes])])
    stim_rows = [
        [
            label,
            f"{pts[0][1]:.3g}",
            f"{max(v for _, v in pts):.3g}",
            f"{min(v for _, v in pts):.3g}",
            f"{pts[-1][1]:.3g}",
        ]
        for label, pts in sorted(s.stimulus.items())
    ]
    image = base64.b64encode(png).decode()
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Session report</title>
<style>
body {{ font-family: 'DejaVu Sans', Arial, sans-serif; color: #1e2328; margin: 28px; font-size: 10.5pt; }}
h1 {{ font-size: 17pt; margin-bottom: 2px; }} h2 {{ font-size: 12.5pt; margin-top: 22px; color: #3a4350; }}
table {{ border-collapse: collapse; margin-top: 6px; }}
td, th {{ border: 1px solid #d5d9de; padding: 4px 8px; text-align: left; }}
th {{ background: #eef1f4; }} .none {{ color: #7f8c8d; }} .sub {{ color: #5d6d7e; }}
table.incomplete td {{ border: 2px solid #c0392b; background: #fdecea; color: #7b241c; }}
</style></head><body>
<h1>Exposure session report</h1>
<div class="sub">vrclinic · generated {html.escape(time.strftime("%Y-%m-%d %H:%M"))}</div>
{incomplete_html(s)}
<h2>Summary</h2>{_table(None, summary)}
<h2>Timeline</h2>
<img src="data:image/png;base64,{image}" width="100%" alt="session timeline">
<div class="sub">Top: stimulus parameters, each scaled to its own range over the session (legend gives the
range), SUDS points; red lines safety events, purple lines markers, green lines habituation within a step,
dashed lines step changes. Below: heart
rate, then skin conductance.</div>
<h2>Steps</h2>{
        _table(
            [
                "step",
                "time",
                "stimulus (requested)",
                "peak SUDS",
                "SUDS at end",
                "heart rate at end",
                "skin conductance at end",
                "SCRs",
                "habituated",
            ],
            step_rows(s, body, list(steps)),
        )
    }
<div class="sub">Once a plan runs, a step is a step of the plan; before that (or without a plan) a step runs
from one change of the stimulus to the next. End-of-step heart rate and skin
conductance are means over the step's last {END_WINDOW_S:.0f} s (or the whole step if shorter).</div>
<h2>Exposure plan: steps, expectancy and its violation</h2>{
        _table(["started", "step", "values", "expected", "happened", "violation"], plan)
    }
<div class="sub">Expectancy asked before each step ("how likely is what you fear, 0–100 %"), the outcome after
it; a positive violation means the feared outcome happened less than expected.</div>
<h2>Decision support: audit trail</h2>{
        _table(["", "time", "suggested", "reasons", "based on", "therapist", "why"], decisions)
    }
<h2>Stimulus (applied values)</h2>{_table(["parameter", "first", "highest", "lowest", "last"], stim_rows)}
<h2>Ratings</h2>{_table(["time", "kind", "value"], [[mmss(r["t"]), r["kind"], str(r["value"])] for r in s.ratings])}
<h2>Safety events</h2>{
        _table(["time", "headset", "what happened"], [[mmss(e["t"]), e["headset"], e["text"]] for e in safety])
    }
<h2>Markers and notes</h2>{_table(["time", "note"], [[mmss(e["t"]), e["text"]] for e in markers])}
</body></html>
"""
