"""`vrclinic metrics` on input no analysis can use exits non-zero (2) with the reason in words,
instead of a table of dashes with exit status 0."""

from __future__ import annotations

import numpy as np
import pytest

from console.apps.cli import main


@pytest.fixture
def files(tmp_path):
    t = np.arange(0, 30, 1 / 250)
    np.savetxt(
        tmp_path / "good.csv",
        np.c_[np.sin(2 * np.pi * 1.2 * t) ** 20, 2 + 0.1 * np.sin(t)],
        delimiter=",",
        header="ECG,EDA",
        comments="",
    )
    (tmp_path / "header.csv").write_text("ECG,EDA\n")
    (tmp_path / "one.csv").write_text("ECG,EDA\n0.1,2.0\n")
    (tmp_path / "text.csv").write_text("ECG,EDA\n" + "x,y\n" * 1000)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["header.csv", "--rate", "250"], "header.csv has a header but no rows of numbers below it"),
        (
            ["one.csv", "--rate", "250"],
            "one.csv holds 1 row, 0.004 s at 250 Hz; the analysis asked for needs at least 4 s",
        ),
        (
            ["good.csv", "--rate", "250", "--start", "100", "--end", "110"],
            "the window --start 100 --end 110 holds no rows: good.csv has 7,500 rows (30 s at 250 Hz)",
        ),
        (["good.csv", "--rate", "250", "--start", "5", "--end", "5"], "the window --start 5 --end 5 holds no rows"),
        (["good.csv", "--rate", "250", "--start", "10", "--end", "11"], "the window holds 250 rows, 1 s at 250 Hz"),
        (["good.csv", "--rate", "1e12"], "--rate 1e+12 is not a sampling rate a physiological recording has"),
        (["good.csv", "--rate", "0.001"], "--rate 0.001 is not a sampling rate"),
        (["good.csv", "--rate", "inf"], "--rate inf is not a sampling rate"),
        (["text.csv", "--rate", "250", "--ecg", "ECG"], "no numbers in column 'ECG' of"),
    ],
)
def test_unusable_input_exits_2_with_the_reason(files, monkeypatch, capsys, args, reason):
    monkeypatch.chdir(files)
    assert main(["metrics", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("vrclinic metrics: ") and reason in err, err
    assert "Traceback" not in err


def test_usable_input_still_gives_its_table(files, monkeypatch, capsys):
    monkeypatch.chdir(files)
    assert main(["metrics", "good.csv", "--rate", "250"]) == 0
    out, _err = capsys.readouterr()
    assert "heart rate, mean" in out and "EDA quality" in out
