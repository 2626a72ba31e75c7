"""The conformance suite (``vrclinic conformance``): the Python reference client passes every
check, and deliberately broken clients fail the check for their fault, with a reason that
names the problem — so the suite can fail. Every run binds random loopback ports."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from protocol import conformance

ROOT = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).with_name("broken_client.py")
REFERENCE = shlex.join([sys.executable, "-m", "console", "headset-sim"])


def broken(fault: str) -> str:
    return shlex.join([sys.executable, str(BROKEN), fault])


def run_suite(client: str, *only: str, extra: tuple[str, ...] = (), timeout: float = 110) -> tuple[int, dict]:
    """Run `vrclinic conformance --json` as a user would; (exit code, the JSON report)."""
    argv = [sys.executable, "-m", "console", "conformance", "--client", client, "--json", *extra]
    for name in only:
        argv += ["--only", name]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert result.stdout.strip(), f"no report; stderr: {result.stderr[-2000:]}"
    return result.returncode, json.loads(result.stdout)


def failures(report: dict) -> dict[str, str]:
    return {c["name"]: c["reason"] + "\n" + "\n".join(c["evidence"]) for c in report["checks"] if not c["passed"]}


@pytest.mark.timeout(150)
@pytest.mark.slow
def test_the_reference_client_passes_every_check():
    code, report = run_suite(REFERENCE)
    assert not failures(report), failures(report)
    assert code == 0 and report["passed"]
    assert [c["name"] for c in report["checks"]] == conformance.check_names()
    assert len(report["checks"]) >= 9
    # What each check saw is in the report, not just a verdict.
    by_name = {c["name"]: c for c in report["checks"]}
    assert "RTT" in by_name["heartbeat"]["reason"]
    assert "out_of_range" in by_name["parameters"]["reason"]
    assert "version_mismatch" in by_name["version_welcome"]["reason"]


@pytest.mark.parametrize(
    ("fault", "check", "words"),
    [
        ("ignore_make_safe", "make_safe", ["make_safe while running was not obeyed", "no scene_status with state"]),
        ("silent_on_bad_input", "malformed", ["did not answer garbage bytes with error malformed"]),
        ("no_watchdog", "watchdog", ["heartbeats stopped", "did not go safe"]),
        ("accept_out_of_range", "parameters", ["above the declared range", "was applied", "out_of_range"]),
        ("ignore_version", "version_welcome", ["went on as if connected", "bye(version_mismatch)"]),
    ],
)
@pytest.mark.slow
def test_a_broken_client_fails_the_check_for_its_fault(fault, check, words):
    code, report = run_suite(broken(fault), check)
    assert code == 1 and not report["passed"]
    (result,) = report["checks"]
    assert result["name"] == check and not result["passed"]
    for word in words:
        assert word in result["reason"], result["reason"]
    assert any(f"[broken:{fault}]" in line for line in result["client_output"]), "the client's output is kept"


@pytest.mark.slow
def test_a_broken_client_fails_only_what_it_breaks():
    code, report = run_suite(broken("ignore_make_safe"), "make_safe", "watchdog", "parameters")
    verdicts = {c["name"]: c["passed"] for c in report["checks"]}
    assert verdicts == {"make_safe": False, "watchdog": True, "parameters": True}
    assert code == 1


@pytest.mark.slow
def test_a_hung_client_is_cut_off_and_killed_with_everything_it_started(tmp_path):
    pid_file = tmp_path / "child.pid"
    # A wrapper that starts a child and then hangs without ever saying hello.
    script = tmp_path / "hung.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import subprocess, sys, time
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
            open({str(pid_file)!r}, "w").write(str(child.pid))
            time.sleep(120)
            """
        )
    )
    code, report = run_suite(shlex.join([sys.executable, str(script)]), "handshake", extra=("--timeout", "3"))
    (result,) = report["checks"]
    assert code == 1 and not result["passed"]
    assert "did not finish within 3 s" in result["reason"]
    assert result["duration_s"] < 10
    child = int(pid_file.read_text())
    assert not alive(child), "the client's own child process must be killed with it"


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (killed, not yet reaped by init) counts as dead."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_client_command_that_does_not_exist_fails_with_a_reason():
    code, report = run_suite("/nonexistent/engine --headless", "handshake")
    assert code == 1
    assert "could not start the client" in report["checks"][0]["reason"]


def test_an_unknown_check_name_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "console", "conformance", "--client", "true", "--only", "handshak"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "unknown check(s) handshak" in result.stderr and "handshake" in result.stderr


def test_headset_sim_takes_its_address_and_name_from_the_environment(monkeypatch):
    from console.apps.cli import build_parser

    monkeypatch.setenv("VRCLINIC_CONSOLE", "tcp://10.0.0.7:6000")
    monkeypatch.setenv("VRCLINIC_HEADSET", "room-3")
    args = build_parser().parse_args(["headset-sim"])
    assert (args.console, args.name) == ("tcp://10.0.0.7:6000", "room-3")
    args = build_parser().parse_args(["headset-sim", "--console", "tcp://127.0.0.1:1", "--name", "x"])
    assert (args.console, args.name) == ("tcp://127.0.0.1:1", "x")
    monkeypatch.delenv("VRCLINIC_CONSOLE")
    monkeypatch.delenv("VRCLINIC_HEADSET")
    args = build_parser().parse_args(["headset-sim"])
    assert (args.console, args.name) == ("tcp://127.0.0.1:5555", "simulated-headset")


def test_the_table_shows_the_reason_and_on_failure_the_evidence():
    passed = conformance.CheckResult("handshake", True, "all good", 1.0, ["+0.1 s  hello"], [])
    failed = conformance.CheckResult("watchdog", False, "did not go safe " * 12, 2.0, ["+0.2 s  stopped"], ["log line"])
    text = conformance.format_row(passed, width=100)
    assert "PASS" in text and "all good" in text and "hello" not in text
    text = conformance.format_row(failed, width=100)
    assert "FAIL" in text and "stopped" in text and "log line" in text
    assert all(len(line) <= 100 for line in text.splitlines() if "|" not in line)


GODOT = shutil.which("godot3-server")
GODOT_PROJECT = ROOT / "unity_bridge" / "godot" / "godot3_test_project"


@pytest.mark.skipif(
    GODOT is None,
    reason="godot3-server (headless Godot 3) is not installed: sudo apt-get install godot3-server",
)
@pytest.mark.timeout(240)
@pytest.mark.slow
def test_the_godot_client_passes_every_check(tmp_path):
    """The Godot addon (its Godot 3 variant, run headless) is held to the same suite."""
    home = {name: str(tmp_path / name.lower()) for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    client = shlex.join(
        ["env", f"HOME={tmp_path}", *(f"{k}={v}" for k, v in home.items()), GODOT, "--path", str(GODOT_PROJECT)]
    )
    code, report = run_suite(client, timeout=220)
    assert not failures(report), failures(report)
    assert code == 0 and [c["name"] for c in report["checks"]] == conformance.check_names()
