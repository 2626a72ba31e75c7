"""The conformance suite (``vrclinic conformance``): the Python reference client passes every
check, and deliberately broken clients fail the check for their fault, with a reason that
names the problem — so the suite can fail. Every MUST of SPEC.md has its broken client here.
Every run binds random loopback ports and makes its own keys."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import msgpack
import pytest
import zmq

from protocol import codec, conformance, messages, security
from protocol.conformance.harness import Harness, Options
from protocol.timing import now

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
    assert len(report["checks"]) >= 16
    # What each check saw is in the report, not just a verdict.
    by_name = {c["name"]: c for c in report["checks"]}
    assert "RTT" in by_name["heartbeat"]["reason"]
    assert "out_of_range" in by_name["parameters"]["reason"]
    assert "version_mismatch" in by_name["version_welcome"]["reason"]


# Each broken client, the check that must fail it, and words its reason must hold.
BROKEN_CASES = [
    ("no_curve", "handshake", ["without encryption", "requires CURVE"]),
    ("wrong_key", "handshake", ["not the key", "VRCLINIC_KEYS"]),
    ("bad_frames", "heartbeat", ["do not decode", "conformance_colour"]),
    ("wall_clock", "heartbeat", ["telemetry.at", "monotonic clock"]),
    ("one_hello", "handshake", ["hello was not repeated"]),
    ("talks_first", "handshake", ["before welcome the client sent telemetry"]),
    ("keeps_hello", "handshake", ["went on sending hello after the welcome"]),
    ("no_calm_scene", "handshake", ["calm = true", "exactly one must"]),
    ("fixed_interval", "heartbeat", ["every 100 ms", "heartbeat_interval_ms = 50"]),
    ("seq_continues", "lost", ["first heartbeat has seq", "not 0"]),
    ("keeps_console_seq", "lost", ["after a repeated welcome", "did not count the console's heartbeats"]),
    ("counts_stale_beats", "watchdog", ["only repeated and late beats came", "did not go safe"]),
    ("no_watchdog", "watchdog", ["heartbeats stopped", "did not go safe"]),
    ("returns_by_itself", "watchdog", ["went back to", "by itself"]),
    ("never_lost", "lost", ["did not start over with hello"]),
    ("ignores_not_connected", "reconnection", ["after the first error not_connected"]),
    ("ignore_version", "version_welcome", ["went on as if connected", "bye(version_mismatch)"]),
    ("retries_after_refusal", "version_bye", ["refused the client with bye(version_mismatch)", "it does not retry"]),
    ("retries_after_refusal", "refusals", ["bye not_paired", "stops until a person acts"]),
    ("ignores_bye", "bye", ["after bye shutdown the client went on as if still connected"]),
    ("lenient", "malformed", ["did not answer an unknown message type with error unknown_type"]),
    ("strict", "newer_minor", ["refused a set_parameter", "newer minor"]),
    ("silent_on_bad_input", "malformed", ["did not answer garbage bytes with error malformed"]),
    ("answers_errors", "malformed", ["never answer an error with an error"]),
    ("no_error_limit", "malformed", ["garbage frames sent at once", "rate-limit"]),
    ("delays_errors", "malformed", ["dropped, not delayed"]),
    ("refuses_pause", "make_safe", ["refused a valid pause"]),
    ("accept_out_of_range", "parameters", ["above the declared range", "was applied", "out_of_range"]),
    ("ignore_make_safe", "make_safe", ["make_safe while running was not obeyed", "no scene_status with state"]),
    ("load_undoes_safe", "make_safe", ["make_safe during loading was undone"]),
    ("running_at_fade_end", "make_safe", ["no scene_status running within 500 ms", "start of the fade back"]),
    ("mirror_flood", "mirror", ["never acknowledged", "at most one frame is unacknowledged"]),
    ("answers_unasked", "prompt", ["prompt_id 4242", "never asked"]),
    ("no_pairing", "pairing", ["no key_request on the pairing port"]),
]


@pytest.mark.parametrize(("fault", "check", "words"), BROKEN_CASES, ids=[f"{f}-{c}" for f, c, _ in BROKEN_CASES])
@pytest.mark.slow
def test_a_broken_client_fails_the_check_for_its_fault(fault, check, words):
    code, report = run_suite(broken(fault), check)
    assert code == 1 and not report["passed"]
    (result,) = report["checks"]
    assert result["name"] == check and not result["passed"]
    for word in words:
        assert word in result["reason"], result["reason"]
    assert any(f"[broken:{fault}]" in line for line in result["client_output"]), "the client's output is kept"


@pytest.mark.timeout(150)
@pytest.mark.slow
def test_a_client_that_keeps_the_spec_passes_every_check():
    """The broken clients' base, with no fault: the suite can be passed (whatever stage the
    reference client is at), so every broken client fails for its one fault alone."""
    code, report = run_suite(broken("none"))
    assert not failures(report), failures(report)
    assert code == 0 and [c["name"] for c in report["checks"]] == conformance.check_names()


def spec_requirements() -> list[tuple[str, list[str], list[str]]]:
    """The rows of SPEC.md's table of MUSTs: (requirement, checks, broken clients)."""
    text = (ROOT / "protocol" / "SPEC.md").read_text()
    table = text.split("Every MUST of this document, the check", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[3].startswith("`"):
            rows.append((cells[0], re.findall(r"`(\w+)`", cells[2]), re.findall(r"`(\w+)`", cells[3])))
    return rows


def test_every_must_of_the_spec_has_its_check_and_a_broken_client_that_fails_it():
    sys.path.insert(0, str(BROKEN.parent))
    import broken_client

    rows = spec_requirements()
    assert len(rows) >= 25
    cases = {(fault, check) for fault, check, _ in BROKEN_CASES}
    for requirement, checks, faults in rows:
        assert faults, f"no broken client for {requirement!r}"
        assert set(checks) <= set(conformance.check_names()), f"{checks} (for {requirement!r}) are not all checks"
        for fault in faults:
            assert fault in broken_client.FAULTS, f"{fault} (for {requirement!r}) is not in broken_client.py"
            if checks:
                assert any((fault, c) in cases for c in checks), f"{fault} is not tested against {checks}"
            else:  # "every check": a rule the harness holds in every check, tested against one of them
                assert any(f == fault for f, _ in cases), f"{fault} is not tested"
    in_table = {f for _, _, faults in rows for f in faults}
    assert set(broken_client.FAULTS) - {"none"} == in_table
    assert {f for f, _, _ in BROKEN_CASES} == in_table
    documented = set(re.findall(r"^\| `(\w+)` \| ", (ROOT / "protocol" / "SPEC.md").read_text(), re.M))
    assert set(conformance.check_names()) <= documented, "a check is missing from SPEC.md's table of checks"


def test_the_help_says_how_the_client_gets_its_keys():
    result = subprocess.run(
        [sys.executable, "-m", "console", "conformance", "--help"], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "VRCLINIC_KEYS" in text and "0600" in text and "CURVE" in text and "console_public" in text


def test_the_harness_hands_over_private_keys_and_admits_only_that_key():
    """A real CURVE handshake against the harness's ROUTER and ZAP handler, no client process."""
    h = Harness(Options(client="true"), now() + 20)
    try:
        mode = h.keys_path.stat().st_mode
        assert stat.S_IMODE(mode) == 0o600 and stat.S_IMODE(h.keys_dir.stat().st_mode) == 0o700
        keys = security.read_keys_file(h.keys_path)
        assert keys.own == h.client_keys and keys.console_public == h.console_keys.public
        ctx = zmq.Context.instance()
        stranger = security.EngineKeys(security.KeyPair.generate(), h.console_keys.public)
        for who, engine_keys in (("stranger", stranger), ("client", keys)):
            sock = ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            security.make_curve_client(sock, engine_keys)
            sock.connect(h.endpoint)
            hello = messages.Hello(
                name=who, instance_id=who, protocol_major=1, protocol_minor=1, engine="t", app_version="t", sent_at=0.0
            )
            sock.send(codec.encode(hello, 1))
            h.pump(now() + 0.5)
            sock.close(0)
        hellos = [f.message.name for f in h.of("hello")]
        assert hellos == ["client"], hellos
        assert h.user_ids == {keys.own.public}
        assert h.foreign_keys == {stranger.own.public}
        assert "not the key" in h.encryption_problem()
    finally:
        h.close()
    assert not h.keys_dir.exists(), "the keys file is removed with its folder"


def test_a_frame_over_the_transport_limit_drops_the_connection_and_one_within_it_gets_too_large():
    """SPEC §9.3 as the console's socket options make it (the harness sets the console's):
    a frame a little over its limit is read and refused, one over MAXMSGSIZE ends the
    connection without a word."""
    h = Harness(Options(client="true"), now() + 20)
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    security.make_curve_client(sock, security.read_keys_file(h.keys_path))
    monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    try:
        sock.connect(h.endpoint)
        hello = messages.Hello(
            name="t", instance_id="t", protocol_major=1, protocol_minor=1, engine="t", app_version="t", sent_at=0.0
        )
        sock.send(codec.encode(hello, 1))
        h.pump(now() + 0.5)
        pad = b"\0" * codec.LIMITS.max_control_frame_bytes  # bin: under its own limit, over the frame's
        frame = msgpack.packb({"type": "marker", "id": 2, "label": "x", "at": 0.0, "pad": pad}, use_bin_type=True)
        sock.send(frame)
        h.pump(now() + 0.5)
        assert [f.problem for f in h.invalid] == [
            f"marker: frame of {len(frame)} bytes exceeds the {codec.LIMITS.max_control_frame_bytes}-byte limit "
            "for control messages"
        ]
        assert not monitor.poll(0), "a frame within the transport limit keeps the connection"
        seen = len(h.frames)
        sock.send(b"\x81" + b"\0" * (codec.LIMITS.max_frame_bytes + 2048))
        give_up = now() + 3.0
        while not monitor.poll(0) and now() < give_up:
            h.pump(now() + 0.1)
        assert monitor.poll(0), "ZeroMQ (MAXMSGSIZE) closes the connection"
        assert len(h.frames) == seen, "and nothing of the frame reaches the application"
    finally:
        sock.disable_monitor()
        monitor.close(0)
        sock.close(0)
        h.close()


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
