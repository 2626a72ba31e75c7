"""The fault trials: each one a console (``vrclinic console``, the window, offscreen) and a
fresh timed headset (:mod:`tests.faults.headset`) in processes of their own, connected and
beating for ``SETTLE_S``; then the fault, at ``fault_at`` on the protocol clock; then the
headset's report of the moment its scene was made safe (``safe_at``).

The figure of a trial is ``safe_at - fault_at - timeout`` (the watchdog timeout the console's
welcome set): at most 0 ms when the headset acts the moment its timeout ends (the last beat
before the fault came up to one heartbeat interval earlier, so it is usually negative), at
most ``GOAL_MS`` (10 ms) by the issue's goal. A trial whose scene was not made safe by the
watchdog within ``GIVE_UP_S`` is a miss (and so is one over the goal).

- ``kill`` / ``stop``: console and headset on loopback; ``kill -9`` / ``SIGSTOP`` of the
  console (a fresh console per trial; a stopped one gets SIGCONT and is ended after).
- ``loss`` / ``delay``: one console in its network namespace, a fresh headset per trial in
  another, joined by veth (:mod:`tests.faults.netns`); 100 % loss, or 500 ms of added delay,
  both ways, for ``HOLD_S`` (1 s), then the link is clear again and the headset must hear the
  console again (``back``, reported as context: TCP retransmits what was lost).

Threads: the run's main thread only (each child has its output reader).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from protocol.timing import now
from tests.faults import procs
from tests.faults.procs import Child

GOAL_MS = 10.0
SETTLE_S = 1.0  # connected and beating this long before the fault
CONNECT_TIMEOUT_S = 30.0  # console start-up (Qt, LSL) and the encrypted handshake, on a loaded machine
GIVE_UP_S = 3.0  # after the fault: no safe scene by then is a miss
HOLD_S = 1.0  # how long a network fault lasts
DELAY_S = 0.5
BACK_TIMEOUT_S = 15.0


@dataclass
class Trial:
    """One fault and what the headset did (times on the protocol clock)."""

    kind: str
    n: int
    fault_at: float | None = None
    timeout_s: float | None = None
    safe: dict | None = None  # the headset's ``safe`` report
    back_after_s: float | None = None  # network faults: link clear -> heartbeats count again
    problem: str = ""  # why the trial did not get to its fault, or missed, in words
    early_trips: int = 0  # watchdog trips before the fault: false trips

    @property
    def over_ms(self) -> float | None:
        """safe_at - fault_at - timeout, in ms (None: not made safe by the watchdog)."""
        if self.safe is None or self.fault_at is None or self.timeout_s is None or self.safe.get("safe_at") is None:
            return None
        return (self.safe["safe_at"] - self.fault_at - self.timeout_s) * 1000

    @property
    def missed(self) -> bool:
        return self.over_ms is None or self.over_ms > GOAL_MS


@dataclass
class Series:
    kind: str
    trials: list[Trial] = field(default_factory=list)
    how: str = ""  # what the fault was, in words (for the figures)

    def not_run(self) -> str | None:
        """Trials that never got to their fault (nothing connected), in words, or None."""
        lost = [t for t in self.trials if t.fault_at is None]
        if not lost:
            return None
        return f"{self.kind}: {len(lost)} of {len(self.trials)} trials did not get to their fault: " + "; ".join(
            sorted({t.problem for t in lost})
        )

    def figures(self, prefix: str) -> dict[str, dict]:
        """The figures of this series for bench-results.json."""
        from tests.bench.common import result

        over = np.array([t.over_ms for t in self.trials if t.over_ms is not None])
        ran = [t for t in self.trials if t.fault_at is not None]  # the others never got to their fault
        misses = sum(t.missed for t in ran)
        timeouts = sorted({round(t.timeout_s * 1000) for t in self.trials if t.timeout_s})
        beat_age = [
            (t.fault_at - t.safe["last_beat_at"]) * 1000
            for t in self.trials
            if t.safe and t.fault_at is not None and t.safe.get("last_beat_at") is not None
        ]
        trip_late = [
            (t.safe["safe_at"] - t.safe["last_beat_at"] - t.timeout_s) * 1000
            for t in self.trials
            if t.safe and t.timeout_s and t.safe.get("last_beat_at") is not None and t.safe.get("safe_at") is not None
        ]
        context = {
            "trials": len(ran),
            "not_run": len(self.trials) - len(ran),
            "made_safe": len(over),
            "fault": self.how,
            "watchdog_timeout_ms": timeouts[0] if len(timeouts) == 1 else timeouts,
            "measured": "safe_at - fault_at - watchdog timeout, safe_at by the headset (another process)",
            "last_beat_age_at_fault_max_ms": round(max(beat_age), 1) if beat_age else None,
            "trip_late_max_ms": round(max(trip_late), 2) if trip_late else None,
            "trip_late_meaning": "safe_at - (last heartbeat that counted + timeout): the headset's own lateness",
            "false_trips_before_fault": sum(t.early_trips for t in self.trials),
        }
        backs = [t.back_after_s for t in self.trials if t.back_after_s is not None]
        if self.kind in ("loss", "delay"):
            context["link_back_after_clear_max_s"] = round(max(backs), 2) if backs else None
        problems = sorted({t.problem for t in self.trials if t.problem})
        if problems:
            context["problems"] = problems[:5]
        if len(over) == 0:
            worst = p99 = float("nan")
        else:
            worst, p99 = float(over.max()), float(np.percentile(over, 99))
        return {
            f"{prefix}_worst_ms_over_timeout": result(worst, "ms", goal=f"<= {GOAL_MS:g}", **context),
            f"{prefix}_p99_ms_over_timeout": result(
                p99, "ms", goal=f"<= {GOAL_MS:g}", p50=round(float(np.median(over)), 2) if len(over) else None
            ),
            f"{prefix}_misses": result(
                misses,
                "trials",
                goal="0",
                of=len(ran),
                meaning=f"not made safe by the watchdog within timeout + {GOAL_MS:g} ms",
            ),
        }


def start_headset(
    env: dict[str, str], console: str, name: str, keys: Path, prefix: tuple[str, ...] = (), n: int = 0
) -> Child:
    return Child(
        procs.python("-m", "tests.faults.headset", "--console", console, "--name", name, "--keys", str(keys)),
        env,
        prefix=prefix,
        name=f"{name}#{n}",
    )


def start_console(env: dict[str, str], bind: str, prefix: tuple[str, ...] = (), n: int = 0) -> Child:
    return Child(procs.python("-m", "console", "console", "--bind", bind), env, prefix=prefix, name=f"console#{n}")


def wait_connected(headset: Child, console: Child) -> dict | None:
    """The headset's ``connected`` report, or None (then the console's last lines say why)."""
    deadline = now() + CONNECT_TIMEOUT_S
    while now() < deadline:
        found = headset.wait_report("connected", 0.25)
        if found is not None:
            return found
        if not console.alive() or not headset.alive():
            return None
    return None


def watchdog_trips(headset: Child) -> list[dict]:
    return [r for r in headset.events("safe") if r.get("kind") == "watchdog"]


def observe(trial: Trial, headset: Child) -> None:
    """After the fault: wait for the headset's watchdog to make its scene safe."""
    before = [r for r in watchdog_trips(headset) if r["safe_at"] < trial.fault_at]
    trial.early_trips = len(before)

    def tripped() -> bool:
        return any(
            r.get("event") == "safe" and r.get("kind") == "watchdog" and r.get("safe_at", 0) >= trial.fault_at
            for r in headset.reports
        )

    headset.wait_for(tripped, GIVE_UP_S)
    after = [r for r in watchdog_trips(headset) if r["safe_at"] >= trial.fault_at]
    if after:
        trial.safe = after[0]
        if trial.missed:
            trial.problem = f"made safe {trial.over_ms:.1f} ms after the timeout"
    else:
        byes = [r for r in headset.events("safe") if r.get("kind") == "bye"]
        trial.problem = f"not made safe within {GIVE_UP_S:g} s" + (f" (bye: {byes[-1]['why']})" if byes else "")


def process_fault(
    kind: str, count: int, env: dict[str, str], keys: Path, name: str, say: Callable[[str], None]
) -> Series:
    """``kill`` (SIGKILL) or ``stop`` (SIGSTOP) of the console, ``count`` times, on loopback."""
    sig = {"kill": signal.SIGKILL, "stop": signal.SIGSTOP}[kind]
    series = Series(kind, how={"kill": "kill -9 of the console", "stop": "SIGSTOP of the console"}[kind])
    for n in range(1, count + 1):
        trial = Trial(kind, n)
        series.trials.append(trial)
        port = procs.free_port()
        console = start_console(env, f"tcp://127.0.0.1:{port}", n=n)
        headset = start_headset(env, f"tcp://127.0.0.1:{port}", name, keys, n=n)
        try:
            connected = wait_connected(headset, console)
            if connected is None:
                trial.problem = "the headset did not connect"
                say(f"{kind} {n}: the headset did not connect; console said:\n{console.tail()}\n{headset.tail()}")
                continue
            trial.timeout_s = connected["timeout_s"]
            procs.sleep_until(now() + SETTLE_S)
            trial.fault_at = now()
            console.signal(sig)
            observe(trial, headset)
            say(_line(trial))
        finally:
            headset.stop()
            console.stop()
    return series


def network_fault(
    kind: str,
    count: int,
    env: dict[str, str],
    keys: Path,
    name: str,
    net: object,
    say: Callable[[str], None],
) -> Series:
    """``loss`` or ``delay`` on the link between the namespaces of ``net`` (a
    :class:`tests.faults.netns.Link`), ``count`` times, against one console."""
    from tests.faults.netns import Link

    assert isinstance(net, Link)
    how = {
        "loss": f"100 % packet loss both ways for {HOLD_S:g} s",
        "delay": f"{DELAY_S * 1000:g} ms added delay both ways for {HOLD_S:g} s",
    }[kind]
    series = Series(kind, how=f"{how} ({net.method})")
    port = 5555
    endpoint = f"tcp://{net.console_address}:{port}"
    console = start_console(env, endpoint, prefix=net.console_prefix(), n=0)
    try:
        for n in range(1, count + 1):
            trial = Trial(kind, n)
            series.trials.append(trial)
            if not console.alive():
                trial.problem = "the console ended"
                say(f"{kind} {n}: the console ended:\n{console.tail()}")
                break
            headset = start_headset(env, endpoint, name, keys, prefix=net.headset_prefix(), n=n)
            try:
                connected = wait_connected(headset, console)
                if connected is None:
                    trial.problem = "the headset did not connect"
                    say(f"{kind} {n}: the headset did not connect:\n{console.tail()}\n{headset.tail()}")
                    continue
                trial.timeout_s = connected["timeout_s"]
                procs.sleep_until(now() + SETTLE_S)
                reports_before = len(headset.reports)
                trial.fault_at = net.impair(kind, DELAY_S)
                try:
                    observe(trial, headset)
                    procs.sleep_until(trial.fault_at + HOLD_S)
                finally:
                    cleared_at = net.clear()
                back = headset.wait_report("back", BACK_TIMEOUT_S, after=reports_before)
                if back is not None:
                    trial.back_after_s = back["at"] - cleared_at
                elif not trial.problem:
                    trial.problem = f"the link did not come back within {BACK_TIMEOUT_S:g} s of clearing"
                say(_line(trial))
            finally:
                headset.stop()
    finally:
        console.stop()
    return series


def _line(t: Trial) -> str:
    over = "—" if t.over_ms is None else f"{t.over_ms:+.1f} ms"
    back = "" if t.back_after_s is None else f", link back {t.back_after_s:.2f} s after clearing"
    problem = "" if not t.missed else (f"  MISS: {t.problem}" if t.fault_at is not None else f"  NOT RUN: {t.problem}")
    return f"  {t.kind} {t.n}: safe at timeout {over}{back}{problem}"
