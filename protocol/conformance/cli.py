"""``vrclinic conformance``: run the checks and print the table (or the JSON report).

Threads: the calling (main) thread only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from protocol.conformance.checks import CHECKS, run
from protocol.conformance.harness import PROTO, CheckResult, Options


def report_json(options: Options, results: Sequence[CheckResult]) -> dict[str, Any]:
    return {
        "protocol": PROTO.version,
        "client": options.client,
        "headset_name": options.name,
        "passed": bool(results) and all(r.passed for r in results),
        "checks": [asdict(r) for r in results],
    }


def format_row(result: CheckResult, verbose: bool = False, width: int | None = None) -> str:
    """One check as table rows: name, PASS/FAIL, time, the reason wrapped; evidence on failure."""
    width = width or max(80, shutil.get_terminal_size((120, 20)).columns)
    head = f"{result.name:<16} {'PASS' if result.passed else 'FAIL'}  {result.duration_s:5.1f} s  "
    lines = textwrap.wrap(result.reason, width - len(head)) or [""]
    out = [head + lines[0], *(" " * len(head) + line for line in lines[1:])]
    if verbose or not result.passed:
        out += [f"{'':<6}| {line}" for line in result.evidence]
        if not result.passed and result.client_output:
            out.append(f"{'':<6}| client output (last lines):")
            out += [f"{'':<6}|   {line}" for line in result.client_output]
    return "\n".join(out)


def main(args: argparse.Namespace) -> int:
    """``vrclinic conformance``: run, print the table (or JSON), exit 0 only if all passed."""
    if args.list:
        for spec in CHECKS:
            print(f"{spec.name:<16} {spec.title}")
        return 0
    if not args.client:
        print("conformance: --client CMD is required (e.g. --client 'vrclinic headset-sim')", file=sys.stderr)
        return 2
    only = [n.strip() for item in args.only or () for n in item.split(",") if n.strip()]
    options = Options(client=args.client, name=args.name, timeout_s=args.timeout, startup_s=args.startup)
    if not args.json:
        print(f"vrclinic conformance, protocol {PROTO.version}: {options.client}")
        print(f"{'check':<16} {'result':<6} {'time':>7}  reason")

    def show(result: CheckResult) -> None:
        if not args.json:
            print(format_row(result, args.verbose), flush=True)

    try:
        results = run(options, only, show)
    except ValueError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    passed = sum(r.passed for r in results)
    if args.json:
        print(json.dumps(report_json(options, results), indent=2))
    else:
        total = sum(r.duration_s for r in results)
        print(f"{passed} of {len(results)} checks passed in {total:.1f} s.")
    return 0 if results and passed == len(results) else 1
