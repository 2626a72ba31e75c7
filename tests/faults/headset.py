"""The timed headset: the simulated headset of ``vrclinic headset-sim`` (the same class, the
same engine loop), in a process of its own, that also reports on stdout, as one JSON line
each (``FAULTS {...}``), the moments the fault runs measure, on the protocol clock
(``perf_counter``: CLOCK_MONOTONIC, the same in every process and network namespace):

- ``connected``: the welcome, with the watchdog timeout and heartbeat interval it set;
- ``safe``: the scene was made safe because the console went silent or said bye:
  ``safe_at`` (the scene's state became SAFE and its fade to the calm scene began),
  ``tripped_at`` (the client noticed), ``last_beat_at`` (the last heartbeat that counted),
  ``kind`` (``watchdog`` or ``bye``) and the reason in words;
- ``back``: heartbeats count again after a trip.

    python -m tests.faults.headset --console tcp://10.99.0.1:5555 --name h --keys h.keys.json

Threads: the engine loop is the main thread; reports are written from it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from protocol.security import KeyProblem, read_keys_file
from protocol.timing import now
from unity_bridge.client import Connected, ConsoleBack, ConsoleGone
from unity_bridge.sim.headset import SimulatedHeadset


def report(event: str, **fields: object) -> None:
    print("FAULTS " + json.dumps({"event": event, **fields}), flush=True)


class TimedHeadset(SimulatedHeadset):
    """The simulated headset, reporting its link events with their times (engine loop)."""

    def _on_event(self, event: object) -> None:
        if isinstance(event, ConsoleGone):
            client = self.client
            tripped_at = client._gone_at  # set by the client at the trip, before poll() returned
            last_beat = client._clock.last_counted_at
            before = len(self.safe_events)
            super()._on_event(event)  # makes the scene safe now (state SAFE, fade begins)
            safe_at = self.safe_events[-1][0] if len(self.safe_events) > before else None
            report(
                "safe",
                safe_at=safe_at,
                tripped_at=tripped_at,
                last_beat_at=last_beat,
                silent_s=event.silent_for_s,
                kind="watchdog" if event.silent_for_s is not None else "bye",
                why=event.reason,
                state=str(self._s.state),
            )
            return
        super()._on_event(event)
        if isinstance(event, Connected):
            report(
                "connected",
                at=now(),
                timeout_s=self.client.watchdog_timeout_s,
                interval_s=self.client.heartbeat_interval_s,
                resumed=event.resumed,
            )
        elif isinstance(event, ConsoleBack):
            report("back", at=now(), after_s=event.after_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.headset", description=__doc__.split("\n\n")[0])
    parser.add_argument("--console", required=True, help="the console's address, e.g. tcp://10.99.0.1:5555")
    parser.add_argument("--name", required=True, help="the headset's name (as paired)")
    parser.add_argument("--keys", required=True, help="its keys file (vrclinic devices pair-local --keys)")
    parser.add_argument("--patient", action="store_true", help="publish the simulated patient's LSL stream")
    parser.add_argument("--answer-delay", type=float, default=1.5, help="seconds the patient takes to answer")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        keys = read_keys_file(Path(args.keys))
    except KeyProblem as exc:
        print(f"timed headset: {exc}", file=sys.stderr)
        return 2
    sim = TimedHeadset(
        args.console,
        args.name,
        answer_delay_s=args.answer_delay,
        seed=args.seed,
        log=lambda line: print(f"[{args.name}] {line}", flush=True),
        publish_patient=args.patient,
        keys=keys,
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sim.request_stop())
    report("started", at=now())
    sim.run()
    report("stopped", at=now())
    return 0


if __name__ == "__main__":
    sys.exit(main())
