"""The `vrclinic` command as a user runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from console.apps.cli import build_parser
from tests.conftest import free_port


def vrclinic(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.slow
def test_demo_runs_and_writes_a_screenshot_of_a_busy_window(tmp_path):
    shot = tmp_path / "demo.png"
    result = vrclinic("demo", "--duration", "12", "--screenshot", str(shot), "--port", str(free_port()), timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    # The headset process came up, took part, and was stopped with the demo.
    assert "[demo-headset] connected to console" in result.stdout
    assert "[demo-headset] stopped" in result.stdout
    # ...and the console saw it: its event log (echoed to the terminal) has the session.
    for expected in (
        "demo-headset: connected",
        "demo-headset: scene spiders running",
        "Distance → 2.5 m over 3 s",
        "demo-headset: SUDS",
    ):
        assert expected in result.stdout, f"{expected!r} missing:\n{result.stdout[-3000:]}"
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert image.width() >= 1200 and image.height() >= 800
    colours = {image.pixel(x, y) for x in range(0, image.width(), 8) for y in range(0, image.height(), 8)}
    assert len(colours) > 200, "the screenshot looks empty"


@pytest.mark.slow
def test_console_alone_starts_listens_and_closes(tmp_path):
    shot = tmp_path / "console.png"
    port = free_port()
    result = vrclinic("console", "--bind", f"tcp://127.0.0.1:{port}", "--duration", "2", "--screenshot", str(shot))
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.exists()


def test_monitor_refuses_a_port_in_use_with_advice():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = vrclinic("monitor", "--bind", f"tcp://127.0.0.1:{port}", "--duration", "1")
    assert result.returncode == 2
    assert "in use" in result.stderr and "another vrclinic console" in result.stderr


@pytest.mark.parametrize("command", ["demo", "console", "monitor", "headset-sim", "protocol"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: vrclinic" in capsys.readouterr().out


def test_sessions_lists_the_store_with_each_sessions_suds(recorded_demo, tmp_path, monkeypatch, capsys):
    import json

    from console.apps.cli import main
    from console.records.store import SessionStore, default_path

    folder, result = recorded_demo
    assert result.returncode == 0, result.stderr[-2000:]
    monkeypatch.setenv("VRCLINIC_HOME", str(tmp_path))
    assert main(["sessions"]) == 0
    assert "No session store yet" in capsys.readouterr().out
    with SessionStore(default_path(tmp_path)) as store:
        store.import_session_folder(folder, patient_code="P-001")
    log = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    suds = [int(e["text"].split()[1]) for e in log if e["kind"] == "answer" and e["text"].startswith("SUDS")]
    assert main(["sessions", "--patient", "P-001"]) == 0
    out = capsys.readouterr().out
    assert f"{max(suds)}/{suds[-1]} ({len(suds)})" in out and "P-001" in out and "complete" in out
    assert main(["sessions", "--patient", "P-999"]) == 2  # unknown patient: said, not an empty list
