"""``vrclinic``: the one command. Subcommands import what they need only when run, so that
``vrclinic headset-sim`` on a headset-side machine never loads the console's GUI."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

DEFAULT_BIND = "tcp://*:5555"


def _protocol(args: argparse.Namespace) -> int:
    from protocol import codegen

    if args.action == "generate":
        changed = codegen.write()
        for path in changed:
            print(f"wrote {path}")
        print("generated files are current" if not changed else f"{len(changed)} file(s) regenerated")
        return 0
    stale = codegen.stale()
    if stale:
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        print(
            "Generated protocol files do not match protocol/messages.toml: run 'vrclinic protocol generate' "
            "and commit the result.",
            file=sys.stderr,
        )
        return 1
    from protocol import schema

    proto = schema.load()
    print(f"protocol {proto.version}: {len(proto.messages)} messages, generated files current")
    return 0


def _headset_sim(args: argparse.Namespace) -> int:
    from unity_bridge.sim.headset import SimulatedHeadset

    def log(line: str) -> None:
        print(f"[{args.name}] {line}", flush=True)

    sim = SimulatedHeadset(args.console, args.name, answer_delay_s=args.answer_delay, seed=args.seed, log=log)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sim.stop())
    log(f"connecting to {args.console} (Ctrl+C to stop)")
    sim.run(args.duration)
    log("stopped")
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from console.monitor import run_monitor
    from protocol.link import LinkError

    try:
        return run_monitor(args.bind, args.duration)
    except LinkError as exc:
        print(exc, file=sys.stderr)
        return 2


def _demo(args: argparse.Namespace) -> int:
    """Console + simulated headset in one go, shut down together."""
    from console.monitor import demo_script, run_monitor
    from protocol.link import LinkError

    port = args.port
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console.cli",
            "headset-sim",
            "--console",
            f"tcp://127.0.0.1:{port}",
            "--name",
            "demo-headset",
            "--answer-delay",
            "1.5",
            "--seed",
            "7",
        ],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        return run_monitor(f"tcp://127.0.0.1:{port}", args.duration, demo_script())
    except LinkError as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        sim.send_signal(signal.SIGTERM)
        try:
            sim.wait(5)
        except subprocess.TimeoutExpired:
            sim.kill()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vrclinic", description="Console for VR exposure therapy.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("protocol", help="check or regenerate the files generated from protocol/messages.toml")
    p.add_argument("action", choices=["check", "generate"])
    p.set_defaults(func=_protocol)

    p = sub.add_parser("headset-sim", help="run a simulated headset (engine client) against a console")
    p.add_argument("--console", default="tcp://127.0.0.1:5555", help="console address (default %(default)s)")
    p.add_argument("--name", default="simulated-headset", help="headset name shown in the console")
    p.add_argument("--answer-delay", type=float, default=2.0, help="seconds the patient takes to answer a prompt")
    p.add_argument("--seed", type=int, default=None, help="seed of the simulated patient")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.set_defaults(func=_headset_sim)

    p = sub.add_parser("monitor", help="text console: listen for headsets and print what they say")
    p.add_argument("--bind", default=DEFAULT_BIND, help="address to listen on (default %(default)s)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.set_defaults(func=_monitor)

    p = sub.add_parser("demo", help="console and simulated headset together, with a scripted session")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: Ctrl+C)")
    p.add_argument("--port", type=int, default=5555, help="loopback port for the link (default %(default)s)")
    p.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
