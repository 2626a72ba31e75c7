"""``vrclinic``: the one command. Subcommands import what they need only when run, so that
``vrclinic headset-sim`` on a headset-side machine never loads the console's GUI."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_BIND = "tcp://*:5555"


def _protocol(args: argparse.Namespace) -> int:
    from protocol import codegen

    if args.action == "generate":
        try:
            changed = codegen.write()
        except codegen.InstalledCopyError as exc:
            print(exc, file=sys.stderr)
            return 2
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
    unchecked = codegen.unchecked()
    if not unchecked:
        print(f"protocol {proto.version}: {len(proto.messages)} messages, generated files current")
        return 0
    # An installed wheel holds the Python package only: say what was and was not checked.
    print(
        f"protocol {proto.version}: {len(proto.messages)} messages; the installed messages.py, SPEC.md and "
        "golden vectors are current with the installed messages.toml"
    )
    print(
        f"Not checked in this installed copy: {' and '.join(unchecked)}, which live in the source tree and "
        "are not installed with vrclinic; run 'vrclinic protocol check' in a source checkout to check them."
    )
    return 0


def _headset_sim(args: argparse.Namespace) -> int:
    from unity_bridge.sim.headset import SimulatedHeadset

    def log(line: str) -> None:
        print(f"[{args.name}] {line}", flush=True)

    from protocol.security import KeyProblem

    try:
        keys_path = None if args.insecure else _headset_keys(args, log)
    except KeyProblem as exc:
        print(f"vrclinic headset-sim: {exc}", file=sys.stderr)
        return 2
    sim = SimulatedHeadset(
        args.console, args.name, answer_delay_s=args.answer_delay, seed=args.seed, log=log, keys_path=keys_path
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sim.request_stop())
    log(f"connecting to {args.console} (Ctrl+C to stop)")
    sim.run(args.duration)
    log("stopped")
    return 0


def _headset_keys(args: argparse.Namespace, log: Callable[[str], None]) -> Path:
    """The simulated headset's keys file, made on first use. Without a console key in it (or
    with --pair, which forgets the one it holds) the headset pairs: it asks the console's
    pairing port for the key, prints the code to compare and keeps the key once the console
    welcomes it (SPEC §10.6)."""
    from pathlib import Path

    from console.core.paths import data_dir
    from protocol import security

    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in args.name)
    path = Path(args.keys) if args.keys else data_dir() / "headsets" / f"{safe_name}.keys.json"
    if path.exists():
        keys = security.read_keys_file(path)
    else:
        keys = security.EngineKeys(security.KeyPair.generate())
        security.write_keys_file(path, keys)
        log(f"made a new key pair for this headset in {path}")
    if args.pair and keys.console_public:
        security.write_keys_file(path, security.EngineKeys(keys.own))
    if args.pair or not keys.console_public:
        log("pairing: asking the console for its key (on the console: Devices, Pair a headset)")
    return path


def _physio_sim(args: argparse.Namespace) -> int:
    from unity_bridge.sim import physio

    return physio.main(args)


def _monitor(args: argparse.Namespace) -> int:
    from console.apps.monitor import run_monitor
    from protocol.link import LinkError

    try:
        return run_monitor(args.bind, args.duration)
    except LinkError as exc:
        print(exc, file=sys.stderr)
        return 2


def _watchdog_ms(text: str) -> int:
    """--watchdog-ms: whole milliseconds from 300 to 5000, said in words otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of milliseconds") from None
    if not 300 <= value <= 5000:
        raise argparse.ArgumentTypeError(f"{value} ms is outside 300 to 5000 ms")
    return value


def _devices(args: argparse.Namespace) -> int:
    """``vrclinic devices``: the paired headsets, for a technician at a terminal."""
    from pathlib import Path

    from console.core.paths import data_dir
    from console.core.secrets import SecretError
    from console.session.devices import DeviceListError, link_identity, pair_local_headset
    from protocol.security import KeyProblem

    try:
        keys, devices = link_identity(data_dir())
        if args.action == "pair-local":
            if not args.name or not args.keys:
                print("vrclinic devices pair-local needs --name and --keys", file=sys.stderr)
                return 2
            device = pair_local_headset(devices, keys, args.name, Path(args.keys))
            print(f"paired {device.name} (key {device.fingerprint}); its keys file: {args.keys}")
            return 0
        if args.action == "revoke":
            match = [d for d in devices.all() if d.name == args.name and not d.revoked]
            if not match:
                print(f"no paired headset named {args.name!r}", file=sys.stderr)
                return 1
            devices.revoke(match[0].public_key)
            devices.save()
            print(f"revoked {args.name}: it cannot connect from the console's next start (or at once in Devices…)")
            return 0
    except (SecretError, DeviceListError, KeyProblem) as exc:
        print(f"vrclinic devices: {exc}", file=sys.stderr)
        return 2
    print(f"console key {keys.public} (kept in the secret store)")
    rows = devices.all()
    if not rows:
        print("no headsets paired yet: open Devices… in the console and Pair a headset")
    for d in rows:
        state = f"revoked {d.revoked_at}" if d.revoked else "paired"
        print(f"{d.name:<24} key {d.fingerprint}  paired {d.paired_at}  {state}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Console window + simulated headset (+ physiology), shut down together."""
    from console.apps.console_app import run_demo

    return run_demo(
        args.port,
        duration_s=args.duration,
        screenshot=args.screenshot,
        play_script=not args.no_script,
        record=args.record,
    )


def _console(args: argparse.Namespace) -> int:
    from console.apps.console_app import run_console

    return run_console(
        args.bind,
        duration_s=args.duration,
        screenshot=args.screenshot,
        record=args.record,
        allow_unpaired_engines=args.allow_unpaired_engines,
        watchdog_s=args.watchdog_ms / 1000,
    )


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from console.qt.report_render import make_report
    from console.records.recorded import EXIT_INCOMPLETE
    from console.records.report import ReportError

    try:
        session = make_report(Path(args.session), Path(args.out), Path(args.pdf) if args.pdf else None)
    except ReportError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"Cannot write {exc.filename or args.out}: {exc.strerror or exc}.", file=sys.stderr)
        return 2
    print(f"wrote {args.out}" + (f" and {args.pdf}" if args.pdf else ""))
    if session.problems:
        print(session.problems_text() + "The report says the same at its top.", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


def _review(args: argparse.Namespace) -> int:
    from console.qt.review_window import run_review

    return run_review(args.session, duration_s=args.duration, screenshot=args.screenshot, at_s=args.at)


def _export(args: argparse.Namespace) -> int:
    from console.records.export import run

    return run(args)


def _sessions(args: argparse.Namespace) -> int:
    """The session store, as a table: every session, or one patient's course with SUDS."""
    from console.core.clock import clock_text
    from console.core.paths import data_dir
    from console.records.store import SessionStore, StoreError, default_path

    path = default_path(data_dir())
    if not path.exists():
        print(f"No session store yet at {path}: record a session first.")
        return 0
    try:
        with SessionStore(path) as store:
            rows = store.sessions(args.patient)
            suds = {r.session_uid: [x.value for x in store.ratings(r.session_uid, "suds")] for r in rows}
    except StoreError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not rows:
        print("No sessions" + (f" for patient {args.patient}." if args.patient else "."))
        return 0
    print(f"{'started':<17} {'patient':<10} {'state':<11} {'length':>8}  {'SUDS peak/last (n)':<19} folder")
    for r in reversed(rows):  # oldest first: a course of therapy reads downwards
        values = suds[r.session_uid]
        rating = f"{max(values)}/{values[-1]} ({len(values)})" if values else "–"
        length = clock_text(r.duration_s) if r.duration_s is not None else "–"
        started = (r.started_at or "").replace("T", " ")[:16]
        print(f"{started:<17} {r.patient_code or '–':<10} {r.state:<11} {length:>8}  {rating:<19} {r.folder or ''}")
    return 0


def _conformance(args: argparse.Namespace) -> int:
    from protocol import conformance

    return conformance.main(args)


def _metrics(args: argparse.Namespace) -> int:
    from console.physio.metrics import run

    return run(args)


class _VersionAction(argparse.Action):
    """``vrclinic --version``: looks the version up only when asked (importlib.metadata costs
    ~40 ms, which every other command's start would pay)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from console.core.version import version

        print(f"vrclinic {version()}")
        parser.exit()


def _exit_status(done: str, cancelled: bool = False) -> str:
    """The exit statuses of the commands that read a recorded session, for their --help."""
    lines = [
        "exit status:",
        f"  0  {done}; the recording is complete",
        f"  2  the session could not be read{'' if cancelled else ', or the output not written'} (why, on stderr)",
        f"  3  {done}, but the recording is incomplete or damaged",
        "     (cut off, garbage inside, streams short of samples, stretches not recorded,",
        "     metadata of the wrong type): what is missing is printed on stderr and",
        "     shown in the output.",
    ]
    if cancelled:
        lines.insert(2, "  1  the opening was cancelled")
    return "\n".join(lines)


def build_parser(running: str | None = None) -> argparse.ArgumentParser:
    """Every subcommand; with ``running``, the one about to run: the others' options (whose
    modules import numpy and more, ~80 ms of every start) are then left out."""
    parser = argparse.ArgumentParser(prog="vrclinic", description="Console for VR exposure therapy.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("protocol", help="check or regenerate the files generated from protocol/messages.toml")
    p.add_argument("action", choices=["check", "generate"])
    p.set_defaults(func=_protocol)

    p = sub.add_parser("headset-sim", help="run a simulated headset (engine client) against a console")
    # Defaults from the environment, as every engine client takes them (e.g. `vrclinic conformance`).
    p.add_argument(
        "--console",
        default=os.environ.get("VRCLINIC_CONSOLE", "tcp://127.0.0.1:5555"),
        help="console address (default: $VRCLINIC_CONSOLE or tcp://127.0.0.1:5555; now %(default)s)",
    )
    p.add_argument(
        "--name",
        default=os.environ.get("VRCLINIC_HEADSET", "simulated-headset"),
        help="headset name shown in the console (default: $VRCLINIC_HEADSET or simulated-headset)",
    )
    p.add_argument("--answer-delay", type=float, default=2.0, help="seconds the patient takes to answer a prompt")
    p.add_argument("--seed", type=int, default=None, help="seed of the simulated patient")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument(
        "--keys",
        default=os.environ.get("VRCLINIC_KEYS"),
        help="this headset's keys file (JSON, readable by you only): its key pair and the console's pinned key "
        "(default: $VRCLINIC_KEYS or NAME.keys.json in the data folder's headsets/)",
    )
    p.add_argument(
        "--pair",
        action="store_true",
        help="pair with the console first: fetch its key from its pairing port (port + 1), print the code to "
        "compare, and wait until a technician accepts it on the console",
    )
    p.add_argument(
        "--insecure",
        action="store_true",
        help="connect without encryption (protocol 1.0 style): only a console's lab-bench port accepts it",
    )
    p.set_defaults(func=_headset_sim)

    p = sub.add_parser("physio-sim", help="simulated physiology: LSL streams of a simulated patient's body")
    if running in (None, "physio-sim"):
        from unity_bridge.sim.physio import add_arguments as add_physio_arguments  # no Qt

        add_physio_arguments(p)
    p.set_defaults(func=_physio_sim)

    p = sub.add_parser(
        "report",
        help="write a session report (HTML, optionally PDF) from a recorded session",
        epilog=_exit_status("the report was written"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("session", help="the session folder (from --record)")
    p.add_argument("--out", required=True, help="the HTML file to write")
    p.add_argument("--pdf", default=None, help="also write this PDF")
    p.set_defaults(func=_report)

    p = sub.add_parser(
        "review",
        help="open a recorded session in the review window and scrub through it",
        epilog=_exit_status("the window was shown and closed", cancelled=True),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("session", help="the session folder")
    p.add_argument("--at", type=float, default=None, help="start with the cursor at this session time (s)")
    p.add_argument("--duration", type=float, default=None, help="close after this many seconds")
    p.add_argument("--screenshot", default=None, help="with --duration: save a PNG of the window before closing")
    p.set_defaults(func=_review)

    p = sub.add_parser(
        "export",
        help="export a recorded session for researchers (CSV files and/or the XDF)",
        epilog=_exit_status("the files were written"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if running in (None, "export"):
        from console.records.export import add_arguments as add_export_arguments  # no Qt

        add_export_arguments(p)
    p.set_defaults(func=_export)

    p = sub.add_parser("sessions", help="the session store: recorded sessions, with each one's SUDS peak and last")
    p.add_argument("--patient", default=None, help="only this patient's sessions (pseudonymous code)")
    p.set_defaults(func=_sessions)

    p = sub.add_parser("metrics", help="heart rate, RR, skin conductance and breathing metrics from a CSV recording")
    if running in (None, "metrics"):
        from console.physio.metrics import add_arguments as add_metrics_arguments  # NeuroKit loads only when run

        add_metrics_arguments(p)
    p.set_defaults(func=_metrics)

    p = sub.add_parser("monitor", help="text console: listen for headsets and print what they say")
    p.add_argument("--bind", default=DEFAULT_BIND, help="address to listen on (default %(default)s)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.set_defaults(func=_monitor)

    p = sub.add_parser("devices", help="the headsets paired with this console (list, pair-local, revoke)")
    p.add_argument("action", nargs="?", choices=("list", "pair-local", "revoke"), default="list")
    p.add_argument("--name", default=None, help="the headset's name (pair-local, revoke)")
    p.add_argument("--keys", default=None, help="pair-local: the headset's keys file on this computer (made if new)")
    p.set_defaults(func=_devices)

    p = sub.add_parser("console", help="the console window, listening for real headsets")
    p.add_argument("--bind", default=DEFAULT_BIND, help="address to listen on (default %(default)s)")
    p.add_argument("--duration", type=float, default=None, help="close after this many seconds")
    p.add_argument("--screenshot", default=None, help="with --duration: save a PNG of the window before closing")
    p.add_argument("--record", metavar="DIR", default=None, help="record the session (XDF) into this folder")
    p.add_argument(
        "--watchdog-ms",
        type=_watchdog_ms,
        metavar="MS",
        default=500,
        help="how long a headset waits for this console's heartbeats before it calms the scene by itself "
        "(300 to 5000 ms; default %(default)s)",
    )
    p.add_argument(
        "--allow-unpaired-engines",
        action="store_true",
        help="LAB BENCH ONLY: also open an UNENCRYPTED port (the main port + 2) where engines without encryption "
        "(protocol 1.0) connect without pairing; logged, and shown in red in the window",
    )
    p.set_defaults(func=_console)

    p = sub.add_parser("demo", help="the console with a simulated headset and physiology, playing a short session")
    p.add_argument("--duration", type=float, default=None, help="close after this many seconds (default: when closed)")
    p.add_argument("--screenshot", default=None, help="with --duration: save a PNG of the window before closing")
    p.add_argument("--port", type=int, default=5555, help="loopback port for the link (default %(default)s)")
    p.add_argument("--no-script", action="store_true", help="do not play the demo session; you drive")
    p.add_argument("--record", metavar="DIR", default=None, help="record the session (XDF) into this folder")
    p.set_defaults(func=_demo)

    p = sub.add_parser(
        "conformance",
        help="check an engine client against the protocol (plays the console)",
        description=(
            "Plays the console against an engine client, one fresh client process per check, and judges what it "
            "does against protocol/SPEC.md. The client is started with VRCLINIC_CONSOLE (the console's encrypted "
            "port on loopback), VRCLINIC_HEADSET (its name) and VRCLINIC_KEYS: the path of its keys file (JSON, "
            'mode 0600, in a private temporary folder: {"public", "secret", "console_public"}), made afresh for '
            "each check. The client must connect with CURVE using exactly those keys; the suite's ZAP handler "
            "admits no other key, and a client without encryption (protocol 1.0) fails by name. The pairing "
            "check hands it a keys file without console_public (it must pair on the port above the console's)."
        ),
    )
    p.add_argument("--client", default=None, help='the client command, e.g. "vrclinic headset-sim" (shell-split)')
    p.add_argument("--only", action="append", metavar="NAME", help="run only this check (repeat, or comma-separate)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    p.add_argument("--timeout", type=float, default=30.0, help="hard limit per check in s (default %(default)s)")
    p.add_argument("--startup", type=float, default=10.0, help="s allowed until the first hello (default %(default)s)")
    p.add_argument("--name", default="conformance-headset", help="VRCLINIC_HEADSET for the client (%(default)s)")
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="show the evidence of passed checks too")
    p.set_defaults(func=_conformance)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    running = next((word for word in words if not word.startswith("-")), None)  # the subcommand
    args = build_parser(running).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
