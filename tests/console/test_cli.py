"""The `vrclinic` command as a user runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from console.cli import build_parser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vrclinic(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_demo_runs_a_whole_scripted_session_and_shuts_down_cleanly():
    result = vrclinic("demo", "--duration", "17", "--port", str(free_port()))
    out = result.stdout
    assert result.returncode == 0, result.stderr
    for expected in (
        "demo-headset: connected",
        "offers spiders",
        "distance = 2.50",  # the ramp reached its target
        "patient answered SUDS",
        "MAKE SAFE",
        "scene calm SAFE",
        "SAFETY make_safe_done",
        "scene spiders RUNNING",  # resumed after make safe
        "mirror",
    ):
        assert expected in out, f"{expected!r} missing from the demo output:\n{out[-3000:]}"
    assert "Traceback" not in result.stderr and "Traceback" not in out
    # The headset process was stopped with the demo and said so.
    assert "[demo-headset] stopped" in out


def test_monitor_refuses_a_port_in_use_with_advice():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = vrclinic("monitor", "--bind", f"tcp://127.0.0.1:{port}", "--duration", "1")
    assert result.returncode == 2
    assert "in use" in result.stderr and "another vrclinic console" in result.stderr


@pytest.mark.parametrize("command", ["demo", "monitor", "headset-sim", "protocol"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: vrclinic" in capsys.readouterr().out
