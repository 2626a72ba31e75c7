"""`vrclinic review/report/export` on a damaged recording: the output is written and says
what is missing, and the exit status tells a script (3), with the words on stderr and no
traceback; a whole recording exits 0."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.console.records.short_recording import cut_in_half, garbage_in_the_middle, short_recording

pytest.importorskip("pyxdf")


def vrclinic(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "QT_QPA_PLATFORM": "offscreen"},
    )


@pytest.mark.slow
def test_report_export_and_review_exit_3_on_a_damaged_recording_and_0_on_a_whole_one(tmp_path):
    whole = short_recording(tmp_path / "whole")
    cut = short_recording(tmp_path / "cut")
    cut_in_half(cut)
    damaged = short_recording(tmp_path / "garbage")
    garbage_in_the_middle(damaged)
    for folder, status, words in ((whole, 0, None), (cut, 3, "is cut off"), (damaged, 3, "is damaged")):
        html, pdf = tmp_path / f"{folder.name}.html", tmp_path / f"{folder.name}.pdf"
        runs = {
            "report": vrclinic("report", str(folder), "--out", str(html), "--pdf", str(pdf)),
            "export": vrclinic("export", str(folder), "--out", str(tmp_path / f"export-{folder.name}")),
            "review": vrclinic("review", str(folder), "--duration", "0.5"),
        }
        for command, done in runs.items():
            assert done.returncode == status, f"{command} {folder.name}: {done.returncode}\n{done.stderr[-2000:]}"
            assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr[-2000:]
            if words is None:
                assert "incomplete" not in done.stderr
            else:
                assert f"The recording in {folder} is incomplete or damaged:" in done.stderr
                assert words in done.stderr and "samples missing:" in done.stderr
        assert pdf.read_bytes()[:5] == b"%PDF-"
        readme = (tmp_path / f"export-{folder.name}" / "README.txt").read_text(encoding="utf-8")
        assert ("None found: the recording is complete" in readme) == (words is None)


def test_the_help_of_each_reader_documents_its_exit_statuses():
    for command in ("report", "export", "review"):
        done = vrclinic(command, "--help")
        assert done.returncode == 0
        assert "exit status:" in done.stdout and "3  " in done.stdout and "incomplete or damaged" in done.stdout
