"""Run the fault trials and the soak, merge their figures into bench-results.json and print
a table (``make faults``). See :mod:`tests.faults` for what each part does.

    .venv/bin/python -m tests.faults                       # the issue's counts: 50, 50, 20, 20, 1800 s
    .venv/bin/python -m tests.faults --kills 5 --stops 5 --loss 3 --delay 3 --soak-s 120
    .venv/bin/python -m tests.faults --only soak           # one part (kill, stop, loss, delay, soak)

The network faults need root (``ip netns``); without it, or when ``ip netns`` fails, they are
skipped with the reason (and their figures say so). Exit status: 0 every part run met its
goals, 1 a goal was missed, 2 a part could not run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import sys
import time
from pathlib import Path

from tests.faults import procs

PARTS = ("kill", "stop", "loss", "delay", "soak")


def say(line: str) -> None:
    print(line, flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50, help="kill -9 trials (%(default)s)")
    parser.add_argument("--stops", type=int, default=50, help="SIGSTOP trials (%(default)s)")
    parser.add_argument("--loss", type=int, default=20, help="100 %% packet loss trials (%(default)s)")
    parser.add_argument("--delay", type=int, default=20, help="500 ms delay trials (%(default)s)")
    parser.add_argument(
        "--soak-s",
        type=float,
        default=float(os.environ.get("FAULTS_SOAK_S", "1800")),
        help="soak length in s (default: $FAULTS_SOAK_S or 1800; now %(default)s)",
    )
    parser.add_argument("--hog-nice", type=int, default=0, help="the CPU hog's nice value (default 0: normal priority)")
    parser.add_argument("--no-eeg", action="store_true", help="soak without the 32-channel EEG stream")
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts to run (%(default)s)")
    parser.add_argument("--out", default="bench-results.json", help="the results file to merge into (%(default)s)")
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part {', '.join(unknown)}: choose among {', '.join(PARTS)}")
    return args


def skipped(kind: str, why: str) -> dict[str, dict]:
    """The figures of a part that could not run: no number, the reason."""
    return {
        f"faults_{kind}_worst_ms_over_timeout": {"value": None, "unit": "ms", "goal": "<= 10", "skipped": why},
        f"faults_{kind}_p99_ms_over_timeout": {"value": None, "unit": "ms", "goal": "<= 10", "skipped": why},
        f"faults_{kind}_misses": {"value": None, "unit": "trials", "goal": "0", "skipped": why},
    }


def met(figure: dict) -> bool | None:
    """Whether a figure meets its goal (None: no goal or no value)."""
    goal, value = figure.get("goal"), figure.get("value")
    if goal is None or value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    words = str(goal).split()
    if len(words) == 2 and words[0] in ("<=", ">="):
        limit = float(words[1])
        return value <= limit if words[0] == "<=" else value >= limit
    return value == float(words[0])


def merge(out: Path, figures: dict[str, dict], run: dict) -> Path:
    """Merge into ``out`` (other figures kept); an unreadable file is left alone and the
    figures go next to it."""
    doc: dict = {}
    if out.exists():
        try:
            doc = json.loads(out.read_text(encoding="utf-8"))
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            aside = out.with_name(out.stem + ".faults.json")
            say(f"{out} is not readable JSON ({exc}): left as it is; the figures go to {aside}")
            out, doc = aside, {}
    doc.update(figures)
    doc["faults_run"] = run
    partial = out.with_name(out.name + ".partial")
    partial.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    partial.replace(out)
    return out


def table(figures: dict[str, dict]) -> str:
    rows = [("figure", "value", "goal", "met")]
    for name, f in figures.items():
        value = f.get("value")
        shown = "skipped" if value is None else f"{value:g} {f.get('unit', '')}".strip()
        ok = met(f)
        rows.append((name, shown, str(f.get("goal", "")), "—" if ok is None else ("yes" if ok else "NO")))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows)


def clean(figures: dict[str, dict]) -> dict[str, dict]:
    """NaN (no trial made safe) becomes null: JSON has no NaN."""
    for f in figures.values():
        if isinstance(f.get("value"), float) and math.isnan(f["value"]):
            f["value"] = None
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # SIGTERM and SIGHUP end the run as Ctrl+C does: the finally blocks end the processes and
    # delete the namespaces.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    from tests.faults import trials

    started = time.time()
    load = os.getloadavg()
    figures: dict[str, dict] = {}
    could_not: list[str] = []  # parts or trials that did not run, in words
    skipped_net: list[str] = []  # of those, the network faults skipped for want of root or ip netns
    tmp = procs.scratch_folder("vrclinic-faults-")
    keep = False
    try:
        home = tmp / "home"
        home.mkdir()
        env = procs.scratch_env(home, procs.lsl_config(tmp))
        name = "faults-headset"
        needs_headset = any(p in args.parts for p in ("kill", "stop", "loss", "delay"))
        keys = procs.pair(env, name, tmp / f"{name}.keys.json") if needs_headset else None
        for kind, count in (("kill", args.kills), ("stop", args.stops)):
            if kind in args.parts and count > 0:
                say(f"== {kind}: {count} trials")
                assert keys is not None
                series = trials.process_fault(kind, count, env, keys, name, say)
                figures.update(series.figures(f"faults_{'kill9' if kind == 'kill' else 'sigstop'}"))
                if text := series.not_run():
                    could_not.append(text)
        net_parts = [(k, c) for k, c in (("loss", args.loss), ("delay", args.delay)) if k in args.parts and c > 0]
        if net_parts:
            figures.update(network_parts(net_parts, env, keys, name, could_not, skipped_net))
        if "soak" in args.parts and args.soak_s > 0:
            from tests.faults import soak

            say(f"== soak: {args.soak_s:g} s")
            try:
                figures.update(soak.run(args.soak_s, say, tmp / "soak", hog_nice=args.hog_nice, eeg=not args.no_eeg))
            except RuntimeError as exc:
                could_not.append(f"soak: {exc}")
                say(f"the soak could not run to its end: {exc}")
                keep = True
    except BaseException:
        keep = True
        raise
    finally:
        if keep:
            say(f"scratch files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    clean(figures)
    run = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.time() - started, 1),
        "parts": args.parts,
        "counts": {"kill": args.kills, "stop": args.stops, "loss": args.loss, "delay": args.delay},
        "soak_s": args.soak_s,
        "load_average_at_start": [round(x, 2) for x in load],
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
        "could_not": could_not,
    }
    if figures:
        out = merge(Path(args.out), figures, run)
        say(f"\n{table(figures)}\n\nwrote {len(figures)} figures into {out.resolve()}")
    for line in could_not:
        say(f"NOT RUN: {line}")
    if any(met(f) is False for f in figures.values()):
        return 1
    return 2 if any(line not in skipped_net for line in could_not) else 0


def network_parts(
    parts: list[tuple[str, int]],
    env: dict[str, str],
    keys: Path | None,
    name: str,
    could_not: list[str],
    skipped_net: list[str],
) -> dict[str, dict]:
    """The loss and delay trials in network namespaces, or their figures marked skipped."""
    from tests.faults import netns, trials

    why = netns.why_not()
    link = None
    if why is None:
        try:
            netns.remove_leftovers(say)
            link = netns.Link(say, force=os.environ.get("FAULTS_NET") or None)
        except netns.Unavailable as exc:
            why = str(exc)
    if link is None:
        assert why is not None
        say(f"== loss, delay: SKIPPED: {why}")
        out: dict[str, dict] = {}
        for kind, _ in parts:
            could_not.append(f"{kind}: {why}")
            skipped_net.append(could_not[-1])
            out.update(skipped(kind, why))
        return out
    figures: dict[str, dict] = {}
    try:
        say(
            f"network namespaces {link.console_ns} (console, {link.console_address}) and {link.headset_ns} "
            f"(headset, {link.headset_address}): {link.method}"
        )
        for kind, count in parts:
            say(f"== {kind}: {count} trials")
            assert keys is not None
            try:
                series = trials.network_fault(kind, count, env, keys, name, link, say)
            except netns.Unavailable as exc:  # the wire ended, tc failed: said, and the next part tries
                could_not.append(f"{kind}: {exc}")
                say(f"{kind}: could not go on: {exc}")
                continue
            figures.update(series.figures(f"faults_{kind}"))
            if text := series.not_run():
                could_not.append(text)
        if link.wire is not None:
            say(f"wire: {link.stats()}")
    finally:
        link.close()
    return figures


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl+C, SIGTERM, SIGHUP: the finally blocks have cleaned up
        print("interrupted: its processes are ended and its network namespaces deleted", file=sys.stderr)
        sys.exit(130)
