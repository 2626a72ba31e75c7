"""`vrclinic export` on a recorded session: the researcher's tables hold the recording's own
numbers, on the recording's own clock, and the XDF copy is the original byte for byte."""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import time
from pathlib import Path

import numpy as np
import pytest

from console.records.export import ExportError, add_arguments, export_csv, export_xdf, run
from console.records.recorded import RecordedSession, SessionFileError, Signal

pyxdf = pytest.importorskip("pyxdf")


@pytest.fixture
def recorded(recorded_demo) -> Path:
    folder, result = recorded_demo
    assert result.returncode == 0, result.stderr[-2000:]
    return folder


def read_table(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def numeric_streams(xdf: Path) -> list[dict]:
    streams, _ = pyxdf.load_xdf(str(xdf), dejitter_timestamps=False)
    return [s for s in streams if s["info"]["channel_format"][0] != "string"]


def channel_columns(stream: dict) -> list[str]:
    """The columns a stream's table should have, from the XDF header: "label [unit]"."""
    count = int(stream["info"]["channel_count"][0])
    try:
        channels = stream["info"]["desc"][0]["channels"][0]["channel"]
    except (KeyError, IndexError, TypeError):
        channels = []
    if len(channels) != count:
        return [f"ch{i + 1}" for i in range(count)]
    pairs = [((ch.get("label") or [""])[0], (ch.get("unit") or [""])[0]) for ch in channels]
    return [f"{label} [{unit}]" if unit else label for label, unit in pairs]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vrclinic export")
    add_arguments(parser)
    return parser.parse_args(argv)


def test_csv_tables_hold_every_sample_of_every_stream_on_the_xdf_clock(recorded, tmp_path):
    out = tmp_path / "csv"
    said: list[str] = []
    written = export_csv(recorded, out, progress=said.append)
    assert all(p.exists() and p.parent == out for p in written)

    streams = numeric_streams(recorded / "session.xdf")
    assert streams, "the demo records physiology"
    index = read_table(out / "streams.csv")
    # One table per numeric stream, in the XDF's order (streams.csv says which file is which).
    assert [row["stream"] for row in index] == [s["info"]["name"][0] for s in streams]
    assert len({row["file"] for row in index}) == len(index)
    offsets = []
    for stream, row in zip(streams, index, strict=True):
        assert any(row["file"] in text for text in said), f"no progress for {row['file']}"
        with open(out / row["file"], encoding="utf-8") as fh:
            header = next(csv.reader(fh))
            body = fh.read()
        assert header[:2] == ["lsl_time", "session_s"]
        assert header[2:] == channel_columns(stream)
        stamps, values = stream["time_stamps"], np.asarray(stream["time_series"])
        if not len(stamps):  # a stream that sent nothing while recording: the header alone
            assert body == "" and row["samples"] == "0" and row["first_lsl_time"] == ""
            continue
        table = np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)
        assert table.shape == (len(stamps), 2 + values.shape[1]) and int(row["samples"]) == len(stamps)
        assert table[0, 0] == pytest.approx(stamps[0], abs=1e-6)
        assert table[-1, 0] == pytest.approx(stamps[-1], abs=1e-6)
        np.testing.assert_allclose(table[:, 0], stamps, rtol=0, atol=1e-6)
        offsets.append(table[:, 0] - table[:, 1])
        # %.9g round-trips float32: the values are the recorded ones, bit for bit.
        np.testing.assert_array_equal(table[:, 2:].astype(np.float32), values.astype(np.float32))
    # session_s is lsl_time less the session's 0:00: one offset for every sample of every stream.
    assert np.ptp(np.concatenate(offsets)) < 2e-6
    ecg = [row["file"] for row in index if row["type"] == "ECG"]
    assert ecg and ecg[0] == "vrclinic-sim-ECG.csv"
    assert (out / ecg[0]).read_text(encoding="utf-8").startswith("lsl_time,session_s,ECG [mV]\n")


def test_csv_tables_of_events_ratings_and_the_readme(recorded, tmp_path):
    out = tmp_path / "csv"
    export_csv(recorded, out)
    log = [json.loads(line) for line in (recorded / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    events = read_table(out / "events.csv")
    assert len(events) == len(log)
    # Text with commas ("offers Spiders in a living room, Balcony …") comes back whole.
    assert [e["text"] for e in events] == [e["text"] for e in log]
    assert any("," in e["text"] for e in events)
    np.testing.assert_allclose([float(e["lsl_time"]) for e in events], [e["at"] for e in log], rtol=0, atol=1e-6)

    suds = [int(e["text"].split()[1]) for e in log if e["kind"] == "answer" and e["text"].startswith("SUDS")]
    assert suds, "the demo asked SUDS"
    ratings = read_table(out / "ratings.csv")
    assert [int(r["value"]) for r in ratings if r["kind"] == "suds"] == suds
    assert list(ratings[0]) == ["session_s", "lsl_time", "kind", "value", "headset", "prompt_id", "response_s"]
    assert read_table(out / "stimulus.csv") is not None

    index = recorded / "mirror" / "index.csv"
    if index.exists():  # the patient's view: one row per recorded frame, each file there
        frames = read_table(out / "mirror.csv")
        assert [f["file"] for f in frames] == ["mirror/" + row["file"] for row in read_table(index)]
        assert all((recorded / f["file"]).is_file() for f in frames)

    readme = (out / "README.txt").read_text(encoding="utf-8")
    manifest = json.loads((recorded / "session.json").read_text()) if (recorded / "session.json").exists() else {}
    assert str(manifest.get("session_id") or recorded.name) in readme
    assert readme.startswith("vrclinic export")
    assert "one clock" in readme and "session_s is seconds since the session's 0:00" in readme
    for name in ("events.csv", "ratings.csv", "stimulus.csv", "streams.csv", "vrclinic-sim-ECG.csv"):
        assert name in readme


def test_xdf_copy_is_the_original_and_its_checksums_hold(recorded, tmp_path):
    out = tmp_path / "xdf"
    copy = export_xdf(recorded, out)
    assert copy == out / "session.xdf"
    assert copy.read_bytes() == (recorded / "session.xdf").read_bytes()
    original, _ = pyxdf.load_xdf(str(recorded / "session.xdf"), dejitter_timestamps=False)
    copied, _ = pyxdf.load_xdf(str(copy), dejitter_timestamps=False)
    assert [(s["info"]["name"][0], len(s["time_stamps"])) for s in copied] == [
        (s["info"]["name"][0], len(s["time_stamps"])) for s in original
    ]
    sums = {}
    for line in (out / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    assert {"session.xdf", "events.jsonl", "README.txt"} <= set(sums)
    for name, digest in sums.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    assert sums["session.xdf"] == hashlib.sha256((recorded / "session.xdf").read_bytes()).hexdigest()
    assert (out / "events.jsonl").read_bytes() == (recorded / "events.jsonl").read_bytes()
    assert not list(out.glob("*.part"))


def test_a_non_empty_folder_is_refused_unless_overwrite_replaces_the_earlier_export(recorded, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("the researcher's own notes")
    with pytest.raises(ExportError, match="is not empty; choose a new or empty folder, or pass --overwrite"):
        export_csv(recorded, out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]

    again = tmp_path / "again"
    first = export_csv(recorded, again)
    (again / "stale-stream.csv").write_text("lsl_time\n")  # as if from an earlier export of another session
    (again / "mine.txt").write_text("keep")
    second = export_csv(recorded, again, overwrite=True)
    assert sorted(p.name for p in second) == sorted(p.name for p in first)
    assert not (again / "stale-stream.csv").exists() and (again / "mine.txt").read_text() == "keep"


def test_a_folder_that_is_not_a_session_is_refused_in_words(tmp_path):
    with pytest.raises(SessionFileError, match="holds no recorded session"):
        export_csv(tmp_path, tmp_path / "out")
    with pytest.raises(SessionFileError, match="holds no recorded session"):
        export_xdf(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_session_without_xdf_exports_csv_with_quoting_and_refuses_xdf(tmp_path, capsys):
    session = tmp_path / "session"
    session.mkdir()
    texts = ['note: patient said "stop, please"', "two\nlines", "plain"]
    rows = [
        {"at": 100.0 + i, "session_s": i, "kind": "marker", "headset": "h1", "text": t} for i, t in enumerate(texts)
    ]
    rows.append({"at": 104.0, "session_s": 4, "kind": "answer", "headset": "h1", "text": "SUDS 35 (answered in 2 s)"})
    (session / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    out = tmp_path / "out"
    export_csv(session, out)
    events = read_table(out / "events.csv")
    assert [e["text"] for e in events] == [r["text"] for r in rows]
    assert [float(e["session_s"]) for e in events] == [0.0, 1.0, 2.0, 4.0]
    assert [(r["kind"], r["value"], r["prompt_id"]) for r in read_table(out / "ratings.csv")] == [("suds", "35", "")]
    assert "no session.xdf" in (out / "README.txt").read_text(encoding="utf-8")

    with pytest.raises(ExportError, match=r"has no session.xdf .*--format csv"):
        export_xdf(session, tmp_path / "xdf")
    assert run(parse([str(session), "--out", str(tmp_path / "both")])) == 2
    assert "--format csv" in capsys.readouterr().err


def test_precision_and_speed_of_a_large_stream(tmp_path):
    """64 channels at 1 kHz for 20 s in a few seconds; double and integer streams keep every digit."""
    n = 20_000
    rng = np.random.default_rng(1)
    t = np.arange(n) / 1000.0 + 5.0
    eeg = rng.standard_normal((n, 64)).astype(np.float32).astype(np.float64)
    fine = np.column_stack([rng.standard_normal(n) * 1e-7 + 1 / 3, rng.integers(-(2**31), 2**31 - 1, n)])
    s = RecordedSession(tmp_path, start=12345.678901234, end=12345.678901234 + 25)
    s.signals = [
        Signal("EEG, 64 ch/amp #1", "EEG", 1000.0, [f"C{i}" for i in range(64)], ["µV"] * 64, t, eeg),
        Signal("fine", "Misc", 0.0, ["ratio", "count"], ["", ""], t, fine.astype(np.float64)),
    ]
    began = time.perf_counter()
    written = export_csv(tmp_path, tmp_path / "out", session=s)
    assert time.perf_counter() - began < 10
    names = [p.name for p in written]
    assert names[:2] == ["EEG_64_ch_amp_1.csv", "fine.csv"]
    table = np.loadtxt(tmp_path / "out" / names[0], delimiter=",", skiprows=1)
    np.testing.assert_array_equal(table[:, 2:].astype(np.float32), eeg.astype(np.float32))  # float32 exactly
    np.testing.assert_allclose(table[:, 0], t + s.start, rtol=0, atol=1e-6)
    table = np.loadtxt(tmp_path / "out" / names[1], delimiter=",", skiprows=1)
    np.testing.assert_array_equal(table[:, 2:], fine)
    with open(tmp_path / "out" / names[0], encoding="utf-8") as fh:
        assert next(csv.reader(fh))[2:4] == ["C0 [µV]", "C1 [µV]"]


def test_the_command_writes_both_forms_and_says_where(recorded, tmp_path, capsys):
    out = tmp_path / "export"
    assert run(parse([str(recorded), "--out", str(out)])) == 0
    said = capsys.readouterr().out
    files = [p for p in out.rglob("*") if p.is_file()]
    assert f"wrote {len(files)} files into {out}" in said
    assert (out / "vrclinic-sim-ECG.csv").exists() and (out / "README.txt").exists()
    assert (out / "xdf" / "session.xdf").read_bytes() == (recorded / "session.xdf").read_bytes()
    assert (out / "xdf" / "SHA256SUMS").exists()

    assert run(parse([str(recorded), "--out", str(out)])) == 2
    assert "not empty" in capsys.readouterr().err
    assert run(parse([str(recorded), "--out", str(out), "--format", "csv", "--overwrite"])) == 0
    assert not (out / "xdf").exists(), "an earlier export's XDF copy is not left beside a CSV-only export"
    assert run(parse([str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")])) == 2
    assert "holds no recorded session" in capsys.readouterr().err
