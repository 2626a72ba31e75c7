"""Processes for the fault runs: a child whose output lines are read as they come, the
timed headset's reports, a scratch console home with paired headsets, an LSL configuration
of the run's own, the console's memory and the CPU hog.

Threads: each :class:`Child` has one reader thread (its output); everything else is
called by the run's main thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from protocol.timing import now

REPO = Path(__file__).resolve().parents[2]
REPORT_PREFIX = "FAULTS "  # lines of the timed headset (tests/faults/headset.py) that carry a JSON report


class Child:
    """A process whose stdout+stderr lines are collected by a thread of its own; ``reports``
    are the JSON reports among them (lines starting with ``FAULTS ``). ``prefix``: the
    command that runs the Python one (``ip netns exec NAME``, ``nice``)."""

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        prefix: Sequence[str] = (),
        name: str = "",
        echo: bool = False,
    ):
        self.name = name or Path(argv[0]).name
        self.lines: list[str] = []
        self.reports: list[dict] = []
        self._echo = echo
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            [*prefix, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**env, "PYTHONUNBUFFERED": "1"},
            cwd=REPO,
            preexec_fn=die_with_parent,
        )
        self._reader = threading.Thread(target=self._read, name=f"faults-read-{self.name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """The reader thread: every line, as it comes."""
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.rstrip("\n")
            report = None
            if line.startswith(REPORT_PREFIX):
                try:
                    report = json.loads(line[len(REPORT_PREFIX) :])
                except ValueError:
                    report = None
            with self._changed:
                self.lines.append(line)
                if report is not None:
                    self.reports.append(report)
                self._changed.notify_all()
            if self._echo:
                print(f"  [{self.name}] {line}", flush=True)
        with self._changed:
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def said(self, text: str) -> bool:
        with self._changed:
            return any(text in line for line in self.lines)

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` (called under the lines' lock, after each new line) is
        true, the process ended, or ``timeout`` s passed. Whether it became true."""
        deadline = now() + timeout
        with self._changed:
            while not predicate():
                left = deadline - now()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    return predicate()
                self._changed.wait(min(left, 0.05))
            return True

    def wait_report(self, event: str, timeout: float, after: int = 0) -> dict | None:
        """The first report of this ``event`` (from the ``after``-th report on), or None."""
        found: list[dict] = []

        def seen() -> bool:
            found[:] = [r for r in self.reports[after:] if r.get("event") == event][:1]
            return bool(found)

        self.wait_for(seen, timeout)
        return found[0] if found else None

    def events(self, event: str) -> list[dict]:
        with self._changed:
            return [r for r in self.reports if r.get("event") == event]

    def tail(self, n: int = 25) -> str:
        with self._changed:
            return "\n".join(self.lines[-n:])

    def signal(self, sig: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, sig)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (after SIGCONT, in case it was stopped), then SIGKILL if it does not end;
        then the rest of its output. Its exit status."""
        if self.alive():
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode


def die_with_parent() -> None:
    """In a child before it runs (Linux): SIGTERM when the run's process dies, even by kill -9,
    so that no console or headset outlives the run that started it."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def python(*args: str) -> list[str]:
    """This interpreter running ``args`` (``-m module ...``)."""
    return [sys.executable, *args]


def lsl_config(folder: Path) -> Path:
    """An LSL configuration of the run's own: this machine only, on ports no other run uses
    (as the tests' own), so that neither other programs' streams nor their recorders mix in."""
    port = 24000 + 64 * random.randrange(200)
    path = folder / "lsl_api.cfg"
    path.write_text(
        f"[ports]\nIPv6 = disable\nMulticastPort = {port}\nBasePort = {port + 1}\nPortRange = 48\n"
        "[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {127.0.0.1}\n",
        encoding="utf-8",
    )
    return path


def scratch_env(home: Path, lsl: Path) -> dict[str, str]:
    """The environment of every process of a run: a console home of its own, secrets in
    files there (never the developer's keyring), its own LSL ports, Qt offscreen."""
    env = dict(os.environ)
    env.update(
        VRCLINIC_HOME=str(home),
        VRCLINIC_SECRETS="files",
        LSLAPICFG=str(lsl),
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
    )
    env.pop("VRCLINIC_KEYS", None)
    return env


def pair(env: dict[str, str], name: str, keys: Path) -> Path:
    """Pair a headset named ``name`` with the consoles that will run with ``env``'s home, as a
    technician does on the command line (``vrclinic devices pair-local``). Its keys file."""
    done = subprocess.run(
        python("-m", "console", "devices", "pair-local", "--name", name, "--keys", str(keys)),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    if done.returncode != 0 or not keys.exists():
        raise RuntimeError(f"pairing {name} failed (exit {done.returncode}): {done.stdout}{done.stderr}")
    return keys


def free_port() -> int:
    """A loopback TCP port nobody listens on now, whose next one (the pairing port) is free too."""
    import socket

    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no two free consecutive TCP ports on 127.0.0.1")


def rss_kb(pid: int) -> int | None:
    """Resident memory of one process in kB (/proc), or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def children_of(pid: int) -> list[int]:
    """The process's direct children (/proc), e.g. the console's recorder process."""
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out.extend(int(p) for p in text)
    except OSError:
        pass
    return out


def cpu_hog(count: int, nice: int) -> list[subprocess.Popen]:
    """``count`` processes that each burn a core (a busy loop), at ``nice``."""

    def niced() -> None:
        die_with_parent()  # a hog left burning after the run would spoil the next one
        os.nice(nice)

    return [
        subprocess.Popen(
            [sys.executable, "-c", "while True: pass"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=niced,
        )
        for _ in range(count)
    ]


def end_all(procs: Sequence[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(5)


def scratch_folder(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def sleep_until(t: float) -> None:
    """Sleep until the protocol clock reads ``t``."""
    while (left := t - now()) > 0:
        time.sleep(min(left, 0.05))
