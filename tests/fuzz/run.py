"""``make fuzz``: each harness of tests/fuzz/harnesses.py under atheris (libFuzzer, coverage-guided
on our own code: ``console`` and ``protocol`` are instrumented), for at least a million
executions each, one after the other; prints executions, executions per second and any crash.

    .venv/bin/python -m tests.fuzz.run                     # every harness, 1,000,000 runs each
    .venv/bin/python -m tests.fuzz.run codec --runs 20000  # one harness, fewer runs

Each harness runs in a process of its own (libFuzzer ends its process when done) with a
scratch ``VRCLINIC_HOME`` and a scratch copy of its committed corpus, where new inputs go:
the committed corpus in tests/fuzz/corpus/<harness>/ is only read. A crash's input is kept
in tests/fuzz/crashes/ (not committed); once the bug is fixed, copy it into the corpus so
that the replay test keeps it fixed. Exit status 1 when a harness crashed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORPUS = HERE / "corpus"
CRASHES = HERE / "crashes"
RUNS = 1_000_000
MAX_LEN = 16_384  # bytes per input: several frames, a session's log


def child(name: str, runs: int, work: Path) -> None:
    """In the harness's own process: set up atheris and fuzz (libFuzzer exits the process)."""
    import atheris

    home = Path(tempfile.mkdtemp(prefix="vrclinic-fuzz-home-"))
    os.environ["VRCLINIC_HOME"] = str(home)
    os.environ["VRCLINIC_SECRETS"] = "files"
    with atheris.instrument_imports(include=["console", "protocol"]):
        from tests.fuzz import harnesses
    harnesses.use_fuzz_key()
    harness = harnesses.HARNESSES[name]
    one = harness.one
    CRASHES.mkdir(exist_ok=True)
    args = [
        sys.argv[0],
        f"-runs={runs}",
        f"-max_len={MAX_LEN}",
        "-timeout=10",  # one input taking 10 s is a bug too (a hang)
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
        f"-artifact_prefix={CRASHES}/{name}-",
        str(work),  # new inputs go to the first folder: the scratch copy
    ]
    atheris.Setup(args, one)
    atheris.Fuzz()


def run_one(name: str, runs: int) -> dict:
    """Fuzz one harness in a child process; its figures, parsed from libFuzzer's output."""
    work = Path(tempfile.mkdtemp(prefix=f"vrclinic-fuzz-{name}-"))
    for seed in (CORPUS / name).iterdir():
        shutil.copy(seed, work / seed.name)
    log = work.parent / f"{work.name}.log"
    started = time.monotonic()
    command = [sys.executable, "-m", "tests.fuzz.run", "--child", name, "--runs", str(runs), "--work", str(work)]
    with open(log, "wb") as out:
        status = subprocess.run(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT).returncode
    elapsed = time.monotonic() - started
    text = log.read_text(encoding="utf-8", errors="replace")
    executed = _stat(text, "number_of_executed_units")
    per_s = round(executed / elapsed) if elapsed > 0 else 0  # the process's start included: < 2 s
    found = len(list(work.iterdir()))
    crash = None
    if status != 0:
        start = max(text.find("=== Uncaught Python exception"), text.find("==ERROR"), text.find("Traceback"))
        crash = text[start if start >= 0 else -3000 :][:4000]
    shutil.rmtree(work, ignore_errors=True)
    return {
        "harness": name,
        "executions": executed,
        "per_s": per_s,
        "seconds": elapsed,
        "corpus": found,
        "status": status,
        "crash": crash,
        "log": log,
    }


def _stat(text: str, name: str) -> int:
    m = re.search(rf"stat::{name}:\s+(\d+)", text)
    return int(m.group(1)) if m else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("harness", nargs="*", help="codec, handshake, event_log, session_import (default: all)")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"executions per harness (default {RUNS:,})")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.runs, args.work)
        return 0
    from tests.fuzz.harnesses import HARNESSES  # only here: the child imports it instrumented

    names = args.harness or list(HARNESSES)
    if unknown := [n for n in names if n not in HARNESSES]:
        parser.error(f"no harness named {', '.join(unknown)}: choose from {', '.join(HARNESSES)}")
    crashed = False
    print(f"fuzzing {', '.join(names)}: {args.runs:,} executions each", flush=True)
    for name in names:
        r = run_one(name, args.runs)
        line = (
            f"{name:15} {r['executions']:>10,} executions in {r['seconds']:7.1f} s "
            f"({r['per_s']:,}/s), corpus {len(list((CORPUS / name).iterdir()))} seeds -> {r['corpus']} inputs"
        )
        if r["status"] != 0 or r["executions"] < args.runs:
            crashed = True
            print(f"{line}\n  CRASH (exit status {r['status']}); input kept in {CRASHES}/, log {r['log']}:")
            print("  " + (r["crash"] or "(no output)").replace("\n", "\n  "), flush=True)
        else:
            print(f"{line}, no crash", flush=True)
            r["log"].unlink(missing_ok=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
