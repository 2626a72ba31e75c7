"""Shared fixtures: fresh loopback endpoints, a console link with a beating control loop,
and an event collector that waits for what a user would see. Nothing reads the developer's
own settings: every link binds an ephemeral port on 127.0.0.1."""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


# Lab Streaming Layer: discovery limited to this machine, so tests never see (or disturb)
# streams elsewhere on the network. liblsl reads this file when it first starts, so it
# is set before anything imports pylsl.
def lsl_config() -> str:
    """An LSL configuration file: this machine only, and a discovery port of its own, so that
    processes using it see none of the streams of other test runs, demos or benches."""
    port = 20000 + 64 * random.randrange(300)
    path = os.path.join(tempfile.mkdtemp(prefix="vrclinic-lsl-"), "lsl_api.cfg")
    with open(path, "w") as fh:
        fh.write(
            f"[ports]\nIPv6 = disable\nMulticastPort = {port}\nBasePort = {port + 1}\n"
            "[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {127.0.0.1}\n"
        )
    return path


os.environ["LSLAPICFG"] = lsl_config()
# Qt widgets are real but drawn offscreen; the console's own files go to a throwaway home.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["VRCLINIC_HOME"] = tempfile.mkdtemp(prefix="vrclinic-home-")
# Secrets (the audit key, link keys) in 0600 files under that home, never the developer's own keyring.
os.environ["VRCLINIC_SECRETS"] = "files"

from protocol.link import ConsoleLink, LinkConfig  # noqa: E402
from protocol.security import EngineKeys, KeyPair  # noqa: E402
from protocol.timing import now  # noqa: E402


@pytest.fixture(autouse=True)
def no_view_failures(request) -> Iterator[list]:
    """Every test fails if a view's callback failed during it (the console logs such a failure
    and goes on; a test must not). A test that breaks a view on purpose asks for
    ``view_failures`` instead and looks at them itself."""
    from console.core.signals import view_failures

    seen: list = []
    stop = view_failures.listen(seen.append)
    try:
        yield seen
    finally:
        stop()
    if "view_failures" not in request.fixturenames:
        assert not seen, "a view failed while handling a model event: " + "; ".join(f.text() for f in seen)


@pytest.fixture
def view_failures(no_view_failures) -> list:
    """The view failures reported during this test (the test checks them itself)."""
    return no_view_failures


class Collector:
    """Drains a ConsoleLink's event queue into a list; tests wait on predicates."""

    def __init__(self, link: ConsoleLink):
        self.link = link
        self.seen: list[Any] = []
        self.since = 0  # wait() looks at events from here on; mark() moves it

    def mark(self) -> None:
        """From now on, wait() only matches events that arrive after this call."""
        self.pump()
        self.since = len(self.seen)

    def pump(self, timeout: float = 0.0) -> None:
        deadline = now() + timeout
        while True:
            try:
                self.seen.append(self.link.events.get(timeout=max(0.0, deadline - now())))
            except queue.Empty:
                return

    def wait(self, predicate: Callable[[Any], bool], timeout: float = 5.0, what: str = "event") -> Any:
        deadline = now() + timeout
        checked = self.since
        while True:
            for event in self.seen[checked:]:
                if predicate(event):
                    return event
            checked = len(self.seen)
            if now() >= deadline:
                kinds = [type(e).__name__ for e in self.seen[-15:]]
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; last events: {kinds}")
            self.pump(min(0.05, max(0.0, deadline - now())))

    def of(self, kind: type) -> list[Any]:
        self.pump()
        return [e for e in self.seen if isinstance(e, kind)]


class Beater:
    """Plays the console's control loop: calls link.beat() every interval until paused."""

    def __init__(self, link: ConsoleLink):
        self.link = link
        self.running = threading.Event()
        self.running.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-control-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        interval = self.link.config.heartbeat_interval_s
        while not self._stop.wait(interval):
            if self.running.is_set():
                self.link.beat()

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def free_port() -> int:
    """A loopback port nobody listens on right now (for processes that need a fixed --port)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the recorded demo: recorded once per run, in the background from the run's first test ------
# A 25 s demo session runs in real time (it waits, it does not compute). The first xdist worker
# to start a test starts it in a thread of its own and goes on with its tests; every test that
# reads it (on any worker) waits for the same recording. Tests that ask for it are marked slow.
RECORDED_DEMO_S = 25

# The watchdog of a test's headset when the headset is a simulator in the test's own process
# beside a console window: a loaded 2-core machine pauses the whole process for 0.2-0.5 s
# (seen with the other workers running), which a 500 ms watchdog takes for a frozen console.
# Timing belongs to make bench and make faults; these tests assert behaviour.
LOADED_MACHINE_WATCHDOG_S = 1.5


def _run_shared_folder(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder all the processes of this test run share (pytest-xdist workers have one base
    temp folder each, inside the run's own)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if hasattr(config, "workerinput") else base


class RecordedDemo:
    """One demo session recorded into ``<shared>/recorded-demo/session``. Whichever process
    creates the folder first records it; the others wait for ``result.json``."""

    def __init__(self, shared: Path):
        self.root = shared / "recorded-demo"
        self.folder = self.root / "session"
        self.result_path = self.root / "result.json"
        self._thread: threading.Thread | None = None

    def start_if_first(self) -> None:
        """Start the recording unless a process of this run already did (the calling thread;
        the demo runs in a thread of its own)."""
        try:
            self.root.mkdir()  # atomic: exactly one process of the run gets here first
        except FileExistsError:
            return
        self._thread = threading.Thread(target=self._record, name="recorded-demo", daemon=True)
        self._thread.start()

    def _record(self) -> None:
        """The recording thread: runs the demo, then writes result.json (atomically)."""
        argv = [sys.executable, "-m", "console", "demo", "--duration", str(RECORDED_DEMO_S)]
        argv += ["--record", str(self.folder), "--port", str(free_port())]
        # Its own LSL session: what it records is the demo's streams, not other tests' leftovers.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LSLAPICFG": lsl_config(), "VRCLINIC_HOME": str(self.root)}
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
            result = {"args": argv, "returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
        except Exception as exc:  # the waiting tests fail with this reason instead of a timeout
            result = {"args": argv, "returncode": -1, "stdout": "", "stderr": f"the demo did not run: {exc!r}"}
        partial = self.result_path.with_suffix(".partial")
        partial.write_text(json.dumps(result), encoding="utf-8")
        partial.replace(self.result_path)

    def result(self, timeout: float = 240.0) -> subprocess.CompletedProcess:
        """Wait for the recording (whichever process makes it) and return how the demo ran."""
        wait_until(self.result_path.exists, timeout, "the recorded demo", interval=0.2)
        data = json.loads(self.result_path.read_text(encoding="utf-8"))
        return subprocess.CompletedProcess(data["args"], data["returncode"], data["stdout"], data["stderr"])

    def join(self) -> None:
        """Wait for a recording this process started: another worker may still need it."""
        if self._thread is not None:
            self._thread.join()


@pytest.fixture(scope="session")
def _recorded_demo_holder(request, tmp_path_factory) -> Iterator[RecordedDemo]:
    demo = RecordedDemo(_run_shared_folder(request.config, tmp_path_factory))
    yield demo
    demo.join()


@pytest.fixture(scope="session", autouse=True)
def _start_the_recorded_demo_early(request) -> None:
    """At this process's first test: start the recorded demo if any collected test reads it."""
    if any("recorded_demo" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("_recorded_demo_holder").start_if_first()


@pytest.fixture(scope="session")
def recorded_demo(_recorded_demo_holder: RecordedDemo) -> tuple[Path, subprocess.CompletedProcess]:
    """One recorded demo session for every test that reads recordings: (folder, process result)."""
    _recorded_demo_holder.start_if_first()  # normally done already, at the first test
    return _recorded_demo_holder.folder, _recorded_demo_holder.result()


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that reads the recorded demo waits for a real-time session: it is slow.

    Then the order: modules with slow tests first, so that on several workers the long ones
    start early instead of finishing last; modules that read the recorded demo at the end,
    by when it is recorded. A module's tests stay together and in order (module fixtures)."""
    for item in items:
        if "recorded_demo" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    slow, demo = set(), set()
    for item in items:
        module = item.nodeid.split("::")[0]
        if "recorded_demo" in getattr(item, "fixturenames", ()):
            demo.add(module)
        elif item.get_closest_marker("slow") is not None:
            slow.add(module)

    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::")[0]
        return 2 if module in demo else 0 if module in slow else 1

    items.sort(key=rank)  # stable: the order within each rank is pytest's


def wait_until(
    predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition", interval: float = 0.01
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class VrclinicProcess:
    """A `vrclinic` command in a process of its own, as a real console or headset is (its
    timing is then its own, not this process's thread scheduling); the lines it writes are
    collected as they come. Output is unbuffered; ``stderr`` as for :class:`subprocess.Popen`."""

    def __init__(self, *args: str, stderr: int = subprocess.STDOUT):
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "console", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = threading.Thread(target=self._read, name="test-process-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def close(self) -> None:
        """Ends it (also when a test stopped it with SIGSTOP), then reads its output to the end."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)  # it reads to the end of the output, then the pipe can close
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def pair_local(name: str) -> Path:
    """Pair a headset named ``name`` with the console processes a test starts (they read this
    process's VRCLINIC_HOME): returns its keys file, for ``headset-sim --keys``."""
    from console.core.paths import data_dir
    from console.session.devices import link_identity, pair_local_headset

    keys, devices = link_identity(data_dir())
    path = data_dir() / "headsets" / f"{name}-{os.getpid()}-{random.randrange(10**9)}.keys.json"
    pair_local_headset(devices, keys, name, path)
    return path


def pair_engine(link: ConsoleLink, name: str) -> EngineKeys:
    """Keys for an engine that ``link`` admits as ``name``: what pairing leaves behind."""
    keys = EngineKeys(KeyPair.generate(), link.public_key)
    link.pair(keys.own.public, name)
    return keys


class SimThread:
    """The simulated headset, run by its own engine-loop thread in this process."""

    def __init__(self, endpoint: str, name: str = "patient-room", answer_delay_s: float = 0.1, *, keys: EngineKeys):
        from unity_bridge.sim.headset import SimulatedHeadset

        self.log: list[str] = []
        self.sim = SimulatedHeadset(
            endpoint, name, answer_delay_s=answer_delay_s, seed=1, log=self.log.append, keys=keys
        )
        self.thread = threading.Thread(target=self.sim.run, name=f"sim-{name}", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.sim.stop()
        self.thread.join(5)


@pytest.fixture
def sims() -> Iterator[Callable[..., SimThread]]:
    started: list[SimThread] = []

    def start(link: ConsoleLink, name: str = "patient-room", **kwargs: Any) -> SimThread:
        """A simulated headset paired with ``link`` and connected to it."""
        sim = SimThread(link.endpoint, name, keys=pair_engine(link, name), **kwargs)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.close()


@pytest.fixture
def link_config() -> LinkConfig:
    return LinkConfig(bind="tcp://127.0.0.1:*", console_name="test console", session_id="test-session")


@pytest.fixture
def link(link_config: LinkConfig) -> Iterator[ConsoleLink]:
    console = ConsoleLink(link_config)
    yield console
    console.close()


@pytest.fixture
def events(link: ConsoleLink) -> Collector:
    return Collector(link)


@pytest.fixture
def beater(link: ConsoleLink) -> Iterator[Beater]:
    b = Beater(link)
    yield b
    b.stop()
