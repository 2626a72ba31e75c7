"""``make lock``: pin every package vrclinic installs, then regenerate SOUP.md from the pins.

Resolves ``pyproject.toml``'s dependencies and its ``[dev]`` extra afresh, the way a user's
``pip install vrclinic`` would (PyPI only: this machine's pip configuration, local indexes and
constraints are left out), with ``pip install --dry-run --report``: pip's own resolver, so no
second tool (pip-tools, uv) has to be trusted and installed for it. The result is
``packaging/constraints.txt``: ``name==version`` for every package, the transitive ones
included, split into what the product installs (runtime) and what only development adds
(dev), each with the packages that bring it in. ``make`` installs with it
(``pip install -c packaging/constraints.txt -e '.[dev]'``), so the versions the tests run
with are the versions users get. Each run takes the newest releases the ranges in
pyproject.toml allow: the lock moves only when someone runs ``make lock`` and commits it,
and SOUP.md then names any library whose known anomalies were reviewed for another version.

The pins are for the interpreter that runs this script; the project locks for CPython 3.11
on Linux x86_64 (what CI and the clinic machines run), and the script refuses any other.

    python packaging/lock.py            # resolve, write constraints.txt and SOUP.md
    python packaging/lock.py --check    # exit 1 when the lock misses or contradicts pyproject.toml
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYPROJECT = REPO / "pyproject.toml"
CONSTRAINTS = HERE / "constraints.txt"
TARGET = ("3.11", "Linux", "x86_64")  # Python minor version, platform.system(), platform.machine()
PROJECT = "vrclinic"

RUNTIME_HEADING = "# runtime: installed with vrclinic (its [project] dependencies and what they bring in)"
DEV_HEADING = "# dev: installed by `make` for development only (the [dev] extra and what it brings in)"
RESOLVED_RE = re.compile(r"^# resolved for CPython (?P<python>\S+) on (?P<system>\S+) (?P<machine>\S+)")
PIN_RE = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)(?:\s+# via (?P<via>.+))?$")


@dataclass
class Pin:
    """One line of the lock: a package, its version, and who brings it in."""

    name: str  # canonical (lower case, hyphens), as pip matches constraints
    version: str
    via: list[str] = field(default_factory=list)  # canonical names; "vrclinic" for a direct dependency
    runtime: bool = True


@dataclass
class Lock:
    """``constraints.txt`` read back: the interpreter it was resolved for and its pins."""

    python: str
    system: str
    machine: str
    pins: dict[str, Pin]

    def version(self, name: str) -> str:
        return self.pins[canonicalize_name(name)].version


def read(path: Path = CONSTRAINTS) -> Lock:
    """Parse a lock written by ``render()``."""
    python = system = machine = ""
    pins: dict[str, Pin] = {}
    runtime = True
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := RESOLVED_RE.match(line):
            python, system, machine = m["python"], m["system"], m["machine"]
        elif line == RUNTIME_HEADING:
            runtime = True
        elif line == DEV_HEADING:
            runtime = False
        elif m := PIN_RE.match(line):
            via = [v.strip() for v in (m["via"] or "").split(",") if v.strip()]
            pins[canonicalize_name(m["name"])] = Pin(canonicalize_name(m["name"]), m["version"], via, runtime)
    if not python or not pins:
        raise ValueError(f"{path} is not a lock written by packaging/lock.py")
    return Lock(python, system, machine, pins)


def project_requirements() -> tuple[list[Requirement], list[Requirement]]:
    """pyproject.toml's runtime dependencies and its [dev] extra."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    dev = [Requirement(r) for r in project.get("optional-dependencies", {}).get("dev", [])]
    return runtime, dev


def problems(lock: Lock) -> list[str]:
    """Where the lock and pyproject.toml disagree, in words: a requirement with no pin, a pin
    outside the accepted range, a runtime requirement pinned only as a dev tool."""
    out = []
    runtime, dev = project_requirements()
    for req, is_runtime in [*((r, True) for r in runtime), *((r, False) for r in dev)]:
        pin = lock.pins.get(canonicalize_name(req.name))
        if pin is None:
            out.append(f"{req.name} ({req}) is in pyproject.toml but not pinned in {CONSTRAINTS.name}")
        elif not req.specifier.contains(pin.version, prereleases=True):
            out.append(f"{req.name} is pinned at {pin.version}, outside pyproject.toml's {req}")
        elif is_runtime and not pin.runtime:
            out.append(f"{req.name} is a runtime dependency but pinned under dev in {CONSTRAINTS.name}")
    return out


# -- resolving ---------------------------------------------------------------------------


def resolve() -> dict:
    """pip's resolution of ``.[dev]`` from PyPI as a fresh install would do it (its JSON report)."""
    python = ".".join(platform.python_version_tuple()[:2])
    here = (python, platform.system(), platform.machine())
    if here != TARGET:
        raise SystemExit(
            f"The lock is for CPython {TARGET[0]} on {TARGET[1]} {TARGET[2]}; this is {' '.join(here)}. "
            "Run it there (e.g. in CI's image) so that the pins are the ones CI and users get."
        )
    # Only PyPI and pip's defaults: no local find-links, extra indexes or machine-wide constraints,
    # which a user's machine does not have.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    with tempfile.TemporaryDirectory(prefix="vrclinic-lock-") as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
        command += ["--disable-pip-version-check", "--report", str(report), ".[dev]"]
        subprocess.run(command, cwd=REPO, env=env, check=True)
        return json.loads(report.read_text(encoding="utf-8"))


def pins_from_report(report: dict) -> dict[str, Pin]:
    """Every resolved package with its version, what brings it in, and whether the product
    needs it (reachable from vrclinic's own dependencies without the [dev] extra)."""
    environment = report["environment"]
    packages = {canonicalize_name(item["metadata"]["name"]): item["metadata"] for item in report["install"]}
    if PROJECT not in packages:
        raise SystemExit("pip's report does not contain vrclinic itself: was it run in the checkout?")

    def walk(root_extras: set[str]) -> dict[str, set[str]]:
        """name -> the packages that require it, following markers and extras from vrclinic."""
        via: dict[str, set[str]] = {}
        seen: set[tuple[str, str]] = set()
        todo = [(PROJECT, extra) for extra in {"", *root_extras}]
        while todo:
            name, extra = todo.pop()
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for text in packages[name].get("requires_dist") or []:
                req = Requirement(text)
                if req.marker is not None and not req.marker.evaluate({**environment, "extra": extra}):
                    continue
                child = canonicalize_name(req.name)
                if child not in packages:  # pip resolved it away: cannot happen for a true requirement
                    raise SystemExit(f"{name} requires {req}, which pip's resolution does not contain")
                via.setdefault(child, set()).add(name)
                todo += [(child, e) for e in {"", *req.extras}]
        return via

    runtime = walk(set())
    everything = walk({"dev"})
    missing = set(packages) - set(everything) - {PROJECT}
    if missing:  # our walk must explain every package pip chose, or the runtime split is wrong
        raise SystemExit(f"pip resolved packages nothing here requires: {', '.join(sorted(missing))}")
    # A runtime package names the runtime packages that bring it in; a dev one, any of them.
    return {
        name: Pin(name, packages[name]["version"], sorted(runtime.get(name, everything[name])), name in runtime)
        for name in sorted(everything)
        if name != PROJECT
    }


def render(pins: dict[str, Pin], report: dict) -> str:
    env = report["environment"]
    python = env["python_full_version"]
    lines = [
        "# The exact versions vrclinic is tested and installed with. Generated by `make lock`",
        "# (packaging/lock.py) from a fresh resolution of pyproject.toml on PyPI: do not edit by hand.",
        "# `make` installs with `pip install -c packaging/constraints.txt -e '.[dev]'`;",
        "# packaging/SOUP.md is generated from this file.",
        f"# resolved for CPython {python} on {env['platform_system']} {env['platform_machine']} "
        f"with pip {report['pip_version']}",
        "",
        RUNTIME_HEADING,
    ]
    for runtime in (True, False):
        if not runtime:
            lines += ["", DEV_HEADING]
        for pin in pins.values():
            if pin.runtime == runtime:
                lines.append(f"{pin.name}=={pin.version}  # via {', '.join(pin.via)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the lock against pyproject.toml")
    args = parser.parse_args(argv)
    if args.check:
        found = problems(read())
        for problem in found:
            print(problem, file=sys.stderr)
        if found:
            print("Run 'make lock' to resolve again.", file=sys.stderr)
        return 1 if found else 0
    report = resolve()
    pins = pins_from_report(report)
    text = render(pins, report)
    runtime = sum(p.runtime for p in pins.values())
    counts = f"{runtime} runtime and {len(pins) - runtime} dev packages"
    if CONSTRAINTS.exists() and CONSTRAINTS.read_text(encoding="utf-8") == text:
        print(f"{CONSTRAINTS.relative_to(REPO)} is current: {counts}")  # untouched: make need not reinstall
    else:
        CONSTRAINTS.write_text(text, encoding="utf-8")
        print(f"wrote {CONSTRAINTS.relative_to(REPO)}: {counts}")
    import soup  # beside this script

    soup.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
