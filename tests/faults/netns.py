"""Network namespaces for the network faults: the console in one, the headset in another,
joined by veth, addresses 10.99.0.1 (console) and 10.99.0.2 (headset) that exist only
inside them. Nothing of the host's own network is touched: every link is created inside
a namespace made here (``ip -n NS link add … peer … netns OTHER``), and the namespaces are
deleted at the end, also after a failure (and those a killed earlier run left behind, whose
process is gone, at the next start).

The faults themselves:

- ``tc netem`` on both ends of the one veth pair, where the kernel has netem (the issue's
  method): ``loss 100%`` or ``delay 500ms``, then ``delay 0ms``;
- where it does not (``CONFIG_NET_SCH_NETEM`` not set, e.g. this project's CI VM), a
  user-space wire (:mod:`tests.faults.wire`) in a third namespace between two veth pairs
  does the same to every frame. ``FAULTS_NET=netem`` or ``wire`` chooses; by default netem
  when it works.

Needs root (``ip netns``). Threads: the run's main thread.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from protocol.timing import now

CONSOLE_ADDRESS = "10.99.0.1"
HEADSET_ADDRESS = "10.99.0.2"
PREFIX = "vrcfaults"  # namespaces are PREFIX<pid><role>
REPO = Path(__file__).resolve().parents[2]


class Unavailable(Exception):
    """The namespaces cannot be made here; the message says why and what to do."""


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise Unavailable(f"`{' '.join(argv)}` failed: {(done.stderr or done.stdout).strip()}")
    return done


def why_not() -> str | None:
    """Why the namespace faults cannot run here, or None."""
    if os.geteuid() != 0:
        return "not root: network namespaces need root (run `sudo make faults`)"
    try:
        done = _run("ip", "netns", "list", check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`ip netns` is not usable ({exc}); install iproute2"
    if done.returncode != 0:
        return f"`ip netns list` failed: {(done.stderr or done.stdout).strip()}"
    return None


def remove_leftovers(say: Callable[[str], None]) -> None:
    """Delete the namespaces of earlier runs whose process is gone (a run killed by -9)."""
    listed = _run("ip", "netns", "list", check=False).stdout
    for name in re.findall(rf"^({PREFIX}(\d+)[chw])\b", listed, flags=re.M):
        ns, pid = name
        if not Path(f"/proc/{pid}").exists():
            _run("ip", "netns", "del", ns, check=False)
            say(f"removed namespace {ns}, left behind by an earlier run")


class Link:
    """The two (or three) namespaces and the fault on the link between them."""

    def __init__(self, say: Callable[[str], None], force: str | None = None):
        self.say = say
        tag = f"{PREFIX}{os.getpid()}"
        self.console_ns, self.headset_ns, self.wire_ns = f"{tag}c", f"{tag}h", f"{tag}w"
        self.console_address, self.headset_address = CONSOLE_ADDRESS, HEADSET_ADDRESS
        self.made: list[str] = []
        self.wire: subprocess.Popen | None = None
        self.method = ""
        self._netem = False
        try:
            self._make(force)
        except BaseException:
            self.close()
            raise

    # -- setting up -------------------------------------------------------------------
    def _ns(self, name: str) -> None:
        _run("ip", "netns", "add", name)
        self.made.append(name)
        _run("ip", "-n", name, "link", "set", "lo", "up")

    def _veth(self, ns: str, dev: str, peer_ns: str, peer: str) -> None:
        """A veth pair: ``dev`` in namespace ``ns``, its other end ``peer`` in ``peer_ns``."""
        _run("ip", "-n", ns, "link", "add", dev, "type", "veth", "peer", "name", peer, "netns", peer_ns)

    def _end(self, ns: str, dev: str, address: str | None) -> None:
        if address:
            _run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", dev)
        _run("ip", "-n", ns, "link", "set", dev, "up")

    def _make(self, force: str | None) -> None:
        self._ns(self.console_ns)
        self._ns(self.headset_ns)
        if force != "wire":
            self._veth(self.console_ns, "vfc", self.headset_ns, "vfh")
            self._end(self.console_ns, "vfc", CONSOLE_ADDRESS)
            self._end(self.headset_ns, "vfh", HEADSET_ADDRESS)
            probe = [self._tc(ns, dev, "add", "delay", "0ms", check=False) for ns, dev in self._ends()]
            if all(p.returncode == 0 for p in probe):
                self._netem = True
                self.method = "tc netem on both ends of the veth pair"
                return
            if force == "netem":
                raise Unavailable(f"tc netem does not work here: {probe[0].stderr.strip()}")
            self.say(
                "this kernel has no netem (tc: "
                + (probe[0].stderr.strip() or "failed")
                + "): a user-space wire between two veth pairs applies the loss and the delay instead"
            )
            _run("ip", "-n", self.console_ns, "link", "del", "vfc")
        self._ns(self.wire_ns)
        for ns in (self.wire_ns,):  # the wire's namespace has no addresses: no IPv6 chatter of its own either
            _run(
                "ip", "netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6", check=False
            )
        self._veth(self.console_ns, "vfc", self.wire_ns, "wc")
        self._veth(self.headset_ns, "vfh", self.wire_ns, "wh")
        self._end(self.console_ns, "vfc", CONSOLE_ADDRESS)
        self._end(self.headset_ns, "vfh", HEADSET_ADDRESS)
        for dev in ("wc", "wh"):
            self._end(self.wire_ns, dev, None)
            _run("ip", "-n", self.wire_ns, "link", "set", dev, "promisc", "on")
        self.wire = subprocess.Popen(
            ["ip", "netns", "exec", self.wire_ns, sys.executable, "-m", "tests.faults.wire", "wc", "wh"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
        )
        self._answer("pass")  # it says when it is ready
        self.method = "user-space wire between two veth pairs (no netem in this kernel)"

    def _ends(self) -> list[tuple[str, str]]:
        return [(self.console_ns, "vfc"), (self.headset_ns, "vfh")]

    def _tc(self, ns: str, dev: str, verb: str, *netem: str, check: bool = True) -> subprocess.CompletedProcess:
        return _run("tc", "-n", ns, "qdisc", verb, "dev", dev, "root", "netem", *netem, check=check)

    # -- the processes' places --------------------------------------------------------
    def console_prefix(self) -> tuple[str, ...]:
        return ("ip", "netns", "exec", self.console_ns)

    def headset_prefix(self) -> tuple[str, ...]:
        return ("ip", "netns", "exec", self.headset_ns)

    # -- faults -----------------------------------------------------------------------
    def _answer(self, mode: str, timeout: float = 10.0) -> float:
        """The wire's ``ok MODE T`` (its other lines are logged)."""
        assert self.wire is not None and self.wire.stdout is not None
        deadline = now() + timeout
        while now() < deadline:
            ready, _, _ = select.select([self.wire.stdout], [], [], max(0.0, deadline - now()))
            if not ready:
                break
            line = self.wire.stdout.readline()
            if not line:
                raise Unavailable("the wire process ended; its namespace's interfaces may be missing")
            words = line.split()
            if words[:2] == ["ok", mode]:
                return float(words[2]) if mode != "stats" else 0.0
            self.say(f"wire: {line.strip()}")
        raise Unavailable(f"the wire did not answer {mode!r} within {timeout:g} s")

    def _tell(self, command: str) -> float:
        assert self.wire is not None and self.wire.stdin is not None
        self.wire.stdin.write(command + "\n")
        self.wire.stdin.flush()
        return self._answer(command.split()[0])

    def impair(self, kind: str, delay_s: float) -> float:
        """Begin ``loss`` or ``delay`` both ways; the moment it began (protocol clock)."""
        if self._netem:
            netem = ("loss", "100%") if kind == "loss" else ("delay", f"{round(delay_s * 1000)}ms")
            began = now()  # before the first tc: the fault cannot have begun earlier
            for ns, dev in self._ends():  # the console's side first: its heartbeats stop there
                self._tc(ns, dev, "change", *netem)
            return began
        return self._tell("loss" if kind == "loss" else f"delay {delay_s:g}")

    def clear(self) -> float:
        """The link clear again; the moment it was."""
        if self._netem:
            for ns, dev in self._ends():
                self._tc(ns, dev, "change", "delay", "0ms")
            return now()
        return self._tell("pass")

    def stats(self) -> str:
        if self.wire is None or self.wire.poll() is not None:
            return ""
        assert self.wire.stdin is not None and self.wire.stdout is not None
        self.wire.stdin.write("stats\n")
        self.wire.stdin.flush()
        line = self.wire.stdout.readline()
        return line.removeprefix("ok stats ").strip()

    def close(self) -> None:
        """End the wire and delete every namespace made here (processes still inside get
        their network taken away, so the callers end those first)."""
        if self.wire is not None and self.wire.poll() is None:
            try:
                assert self.wire.stdin is not None
                self.wire.stdin.write("quit\n")
                self.wire.stdin.flush()
                self.wire.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.wire.kill()
                self.wire.wait(5)
        for ns in reversed(self.made):
            _run("ip", "netns", "del", ns, check=False)
        self.made.clear()


def pids_in(namespaces: Sequence[str]) -> list[int]:
    """Processes still running in these namespaces (``ip netns pids``)."""
    out: list[int] = []
    for ns in namespaces:
        done = _run("ip", "netns", "pids", ns, check=False)
        out.extend(int(p) for p in done.stdout.split() if p.isdigit())
    return out
