"""The Godot client for real: the generated Godot 3 addon running in headless Godot 3
(`godot3-server`) against the console's real link (protocol.link.ConsoleLink) and against
a bare pyzmq ROUTER, over TCP on loopback.

Godot runs on a copy of unity_bridge/godot/godot3_test_project (the addon copied in, not
linked) with a fresh HOME and XDG folders, so it reads no user settings and writes nothing
into the repository. The client is minimal_engine.gd, the same one the conformance suite
runs. No Godot 4 runtime is available here: the Godot 4 variant is syntax-checked only
(test_godot_addon.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import msgpack
import pytest
import zmq

from protocol import codec, messages
from protocol.link import ConsoleLink, HeadsetJoined, LinkConfig, MessageReceived, PeerProtocolError
from protocol.timing import now
from tests.conftest import Beater, Collector, free_port

GODOT = shutil.which("godot3-server")
PROJECT = Path(__file__).resolve().parents[2] / "unity_bridge" / "godot" / "godot3_test_project"
GOLDEN = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "golden.json"

pytestmark = [
    pytest.mark.slow,  # a Godot engine process per test
    pytest.mark.skipif(
        GODOT is None,
        reason="godot3-server (Debian package godot3-server, headless Godot 3) is not installed: "
        "the Godot client cannot be run (packaging/system-deps.sh, run by `make test`, installs it)",
    ),
]


@pytest.fixture
def godot(tmp_path):
    """Start the Godot client: godot(*user_args, env=...) -> Popen. Killed at the end."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, symlinks=False)  # the addon link becomes a copy
    home = tmp_path / "home"
    env_base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "LANG": "C.UTF-8",
    }
    for folder in ("data", "config", "cache"):
        (home / folder).mkdir(parents=True)
    started: list[subprocess.Popen] = []

    def start(*args: str, script: str | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
        cmd = [GODOT, "--path", str(project)]
        if script:
            cmd += ["-s", script]
        proc = subprocess.Popen(
            [*cmd, "--", *args],
            env={**env_base, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=5)


def received(message_type: type, /, **fields):
    def match(e) -> bool:
        if not isinstance(e, MessageReceived) or not isinstance(e.message, message_type):
            return False
        return all(getattr(e.message, k) == v for k, v in fields.items())

    return match


def test_golden_vectors_in_the_godot3_runtime(godot):
    """Every valid vector decodes to its value and re-encodes byte for byte; every invalid
    one is refused with its error code (vectors_check.gd, in Godot 3)."""
    proc = godot("--vectors", str(GOLDEN), script="res://vectors_check.gd")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "0 failed" in out and "35 valid, 16 invalid" in out, out


def test_session_with_the_real_console_link(godot):
    config = LinkConfig(bind="tcp://127.0.0.1:*", console_name="interop console", session_id="interop")
    link = ConsoleLink(config)
    beater = Beater(link)
    events = Collector(link)
    proc = None
    try:
        proc = godot("--console", link.endpoint, "--name", "godot-3", "--quit-after", "60")
        joined = events.wait(lambda e: isinstance(e, HeadsetJoined) and e.name == "godot-3", 15, "the Godot handshake")
        assert joined.hello.engine.startswith("Godot 3.")
        assert joined.hello.protocol_major == codec.PROTO.major and not joined.resumed

        # The declared scenes arrive as the catalogue, then the scene shown.
        catalogue = events.wait(received(messages.SceneCatalogue), 5, "the scene catalogue").message
        practice = next(s for s in catalogue.scenes if s.id == "practice")
        assert [p.name for p in practice.parameters] == ["distance", "intensity"]
        assert [s.id for s in catalogue.scenes if s.calm] == ["calm"]
        status = events.wait(received(messages.SceneStatus), 5, "the first scene status").message
        assert status.scene_id == "practice" and status.state == messages.SceneState.RUNNING
        assert {p.name: p.value for p in status.parameters} == {"distance": 3.0, "intensity": 2.0}

        # A parameter change is applied and reported with the request's id.
        msg_id = link.send("godot-3", messages.SetParameter(name="distance", value=1.5))
        applied = events.wait(received(messages.ParameterApplied, ref_id=msg_id), 5, "parameter_applied").message
        assert (applied.name, applied.value, applied.target, applied.ramping) == ("distance", 1.5, 1.5, False)
        # Outside the declared range: refused, never clamped.
        bad_id = link.send("godot-3", messages.SetParameter(name="distance", value=9.0))
        refusal = events.wait(received(messages.Error, ref_id=bad_id), 5, "the out-of-range refusal").message
        assert refusal.code == messages.ErrorCode.OUT_OF_RANGE and refusal.ref_type == "set_parameter"

        # A SUDS prompt (its text over 255 bytes: a long ZMTP frame) is answered.
        question = "How anxious are you right now, from 0 to 100? " * 7
        events.mark()
        link.send("godot-3", messages.Prompt(prompt_id=7, kind=messages.PromptKind.SUDS, text=question))
        answer = events.wait(received(messages.PromptAnswer, prompt_id=7), 5, "the prompt answer").message
        assert answer.answered and answer.kind == messages.PromptKind.SUDS and answer.value == 42

        # The console's control loop stops: the engine makes its scene safe by itself...
        events.mark()
        beater.pause()
        paused_at = now()
        safe = events.wait(
            lambda e: received(messages.SceneStatus)(e) and e.message.state == messages.SceneState.SAFE,
            5,
            "the watchdog's safe scene status",
        )
        assert safe.message.scene_id == "calm"
        # The last beat left up to one interval (100 ms) before the pause; 500 ms later it trips.
        assert 0.35 <= safe.received_at - paused_at <= 2.0, "made safe long before or after the 500 ms watchdog"
        # ... and says so once the console's heartbeats count again.
        beater.resume()
        watchdog = received(messages.SafetyEvent, kind=messages.SafetyKind.WATCHDOG)
        report = events.wait(watchdog, 5, "the watchdog report")
        assert "heartbeat" in report.message.text
        # It stays calm until told otherwise: a parameter change is refused as busy.
        busy_id = link.send("godot-3", messages.SetParameter(name="distance", value=2.0))
        busy = events.wait(received(messages.Error, ref_id=busy_id), 5, "the busy refusal").message
        assert busy.code == messages.ErrorCode.BUSY

        # resume brings the scene back; make_safe from the console fades and reports done.
        events.mark()
        link.send("godot-3", messages.Resume(fade_s=0.5))
        back = events.wait(received(messages.SceneStatus, state=messages.SceneState.RUNNING), 5, "the resumed scene")
        assert {p.name: p.value for p in back.message.parameters}["distance"] == 1.5
        link.send("godot-3", messages.MakeSafe(fade_s=0.3, reason="therapist pressed make safe"))
        events.wait(received(messages.SceneStatus, state=messages.SceneState.SAFE), 5, "make_safe's status")
        events.wait(received(messages.SafetyEvent, kind=messages.SafetyKind.MAKE_SAFE_DONE), 5, "make_safe_done")
        # The console's codec accepted every frame Godot sent.
        assert not events.of(PeerProtocolError), events.of(PeerProtocolError)
    finally:
        beater.stop()
        link.close()  # says bye: the client exits by itself
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    assert "the console said bye" in out, out
    assert "SCRIPT ERROR" not in out, out


class RawConsole:
    """A bare ROUTER speaking frames by hand: for what the real console never sends."""

    def __init__(self, port: int):
        self.port = port
        self.ctx = zmq.Context()
        self.ids = iter(range(1, 10**6))
        self.route = b""
        self.bind()

    def bind(self) -> None:
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(f"tcp://127.0.0.1:{self.port}")

    def unbind(self) -> None:
        self.sock.close(0)

    def recv(self, message_type: type, timeout: float = 5.0, /, **fields) -> messages.Message:
        """The next message of ``kind`` (others, like heartbeats, are skipped)."""
        deadline = now() + timeout
        while now() < deadline:
            if not self.sock.poll(max(1, int((deadline - now()) * 1000))):
                break
            route, frame = self.sock.recv_multipart()
            self.route = route
            got = codec.decode(frame, receiver="console")
            if isinstance(got.message, message_type) and all(getattr(got.message, k) == v for k, v in fields.items()):
                return got.message
        raise AssertionError(f"no {message_type.__name__} {fields} within {timeout} s")

    def send(self, message: messages.Message) -> int:
        msg_id = next(self.ids)
        self.sock.send_multipart([self.route, codec.encode(message, msg_id)])
        return msg_id

    def send_raw(self, *parts: bytes) -> None:
        self.sock.send_multipart([self.route, *parts])

    def welcome(self, hello: messages.Hello) -> None:
        t = now()
        self.send(
            messages.Welcome(
                protocol_major=codec.PROTO.major,
                protocol_minor=codec.PROTO.minor,
                console_name="raw",
                session_id="raw-session",
                heartbeat_interval_ms=100,
                watchdog_timeout_ms=10000,  # no heartbeats here: keep the watchdog out of the way
                sent_at=t,
                echo_sent_at=hello.sent_at,
                echo_received_at=t,
            )
        )

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


def test_bad_input_reconnection_and_bye_against_a_raw_router(godot):
    port = free_port()
    console = RawConsole(port)
    try:
        name = f"godot-env-{uuid.uuid4().hex[:6]}"
        # The conformance runner's way: the address and name in the environment.
        env = {"VRCLINIC_CONSOLE": f"tcp://127.0.0.1:{port}", "VRCLINIC_HEADSET": name}
        proc = godot("--quit-after", "60", env=env)
        hello = console.recv(messages.Hello, 15)
        assert hello.name == name and not hello.resumed
        console.welcome(hello)
        console.recv(messages.SceneCatalogue)
        console.recv(messages.SceneStatus)

        # Malformed input is answered with an error; the link stays up.
        console.send_raw(b"\x93\x01\x02\x03")
        assert console.recv(messages.Error).code == messages.ErrorCode.MALFORMED
        console.send_raw(bytes.fromhex("82a474797065a874656c65706f7274a2696407"))  # type "teleport"
        unknown = console.recv(messages.Error)
        assert (unknown.code, unknown.ref_type, unknown.ref_id) == (messages.ErrorCode.UNKNOWN_TYPE, "teleport", 7)
        bad_value = msgpack.packb({"type": "set_parameter", "id": 40, "name": "distance", "value": "near"})
        console.send_raw(bad_value)
        invalid = console.recv(messages.Error)
        assert invalid.code == messages.ErrorCode.INVALID_FIELD and invalid.ref_id == 40 and "value" in invalid.text
        console.send_raw(b"one", b"two")  # a two-part message
        assert "1 frame" in console.recv(messages.Error, code=messages.ErrorCode.MALFORMED).text
        wrong_way = msgpack.packb({"type": "scene_status", "id": 41, "scene_id": "x", "state": "running"})
        console.send_raw(wrong_way)
        assert console.recv(messages.Error).code == messages.ErrorCode.WRONG_DIRECTION
        applied_id = console.send(messages.SetParameter(name="intensity", value=4.0))
        assert console.recv(messages.ParameterApplied, ref_id=applied_id).value == 4.0

        # The console vanishes without a word and comes back on the same port: the client
        # reconnects and says hello again, as the same instance resuming its session.
        console.unbind()
        time.sleep(0.3)
        console.bind()
        again = console.recv(messages.Hello, 10)
        assert again.instance_id == hello.instance_id and again.resumed
        console.welcome(again)
        console.recv(messages.SceneCatalogue)

        # bye: the client (in conformance mode) exits cleanly.
        console.send(messages.Bye(reason=messages.ByeReason.SHUTDOWN, text="The console was closed."))
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0, out
        assert "SCRIPT ERROR" not in out, out
    finally:
        console.close()


def test_a_bad_console_address_is_refused_at_start(godot):
    proc = godot("--console", "not-an-address", "--name", "x")
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 2, out
    assert "not a console address" in out


def test_the_command_line_overrides_the_environment(godot):
    """Arguments win over VRCLINIC_CONSOLE / VRCLINIC_HEADSET."""
    port = free_port()
    console = RawConsole(port)
    try:
        proc = godot(
            "--console",
            f"tcp://127.0.0.1:{port}",
            "--name",
            "from-args",
            "--quit-after",
            "30",
            env={"VRCLINIC_CONSOLE": "tcp://127.0.0.1:1", "VRCLINIC_HEADSET": "from-env"},
        )
        assert console.recv(messages.Hello, 15).name == "from-args"
        assert proc.poll() is None
    finally:
        console.close()
