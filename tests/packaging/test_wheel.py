"""The wheel, installed as a user installs it: built from the source tree, put into a fresh
virtual environment with the lock (packaging/constraints.txt), and run from a folder outside
the checkout. Its runtime dependencies must be complete (review, report and export read
recordings with pyxdf), its package data must hold what the code reads, and `vrclinic
protocol check` must work without the source tree.

Slow: installing PySide6, NeuroKit2 and their company into a new environment, and recording a
short demo session with the installed copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import lock  # packaging/lock.py, found through conftest.py
import pytest
from packaging.utils import canonicalize_name

from tests.conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
# Not part of the source a wheel is built from; a stale build/ would leak deleted modules into it.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "tests", "*.png"
)


class Installed:
    """A fresh virtual environment with the wheel installed, and a working folder outside the checkout."""

    def __init__(self, root: Path, venv: Path, wheel: Path) -> None:
        self.root, self.venv, self.wheel = root, venv, wheel
        self.cwd = root / "elsewhere"
        self.cwd.mkdir()
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        self.env["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"

    def run(self, *command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        program = str(self.venv / "bin" / command[0])
        return subprocess.run(
            [program, *command[1:]], cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )


def install_wheel(root: Path) -> Installed:
    """Build the wheel from a clean copy of the source and install it, with the lock, into a new venv."""
    source, dist, venv = root / "source", root / "dist", root / "venv"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--quiet", "--no-deps", str(source), "-w", str(dist)], check=True, timeout=300)
    (wheel,) = dist.glob("vrclinic-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    constraints = str(REPO / "packaging" / "constraints.txt")
    # --no-compile: byte-compiling all of SciPy, pandas and PySide6 up front took 30 s of this
    # fixture's 50 here; Python compiles what the commands import when they import it.
    install = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile"]
    subprocess.run([*install, "--disable-pip-version-check", "-c", constraints, str(wheel)], check=True, timeout=600)
    return Installed(root, venv, wheel)


def the_wheel_holds_the_data_the_code_reads(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for data in (
        "protocol/messages.toml",
        "protocol/spec_template.md",
        "protocol/SPEC.md",
        "protocol/vectors/golden.json",
        "unity_bridge/sim/data/bio_resting_8min_100hz.csv",
        "unity_bridge/sim/data/bio_eventrelated_100hz.csv",
    ):
        assert data in names, f"{data} is not in the wheel"
    metadata = zipfile.ZipFile(installed.wheel).read(f"vrclinic-{VERSION}.dist-info/METADATA").decode()
    assert "License-Expression: LicenseRef-Proprietary" in metadata


def it_runs_from_the_new_environment_with_the_locked_versions(installed: Installed) -> None:
    where = installed.run("python", "-c", "import console, protocol, unity_bridge; print(console.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.venv), "the checkout leaked into the test"
    listed = installed.run("python", "-m", "pip", "list", "--format", "json", "--disable-pip-version-check")
    versions = {canonicalize_name(p["name"]): p["version"] for p in json.loads(listed.stdout)}
    pins = lock.read().pins
    assert {name: versions.get(name) for name, pin in pins.items() if pin.runtime} == {
        name: pin.version for name, pin in pins.items() if pin.runtime
    }
    assert not [name for name, pin in pins.items() if not pin.runtime and name in versions], "dev tools installed"
    check = installed.run("python", "-m", "pip", "check", "--disable-pip-version-check")
    assert check.returncode == 0, check.stdout + check.stderr


def version_and_protocol_check_work(installed: Installed) -> None:
    result = installed.run("vrclinic", "--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"vrclinic {VERSION}"), result.stderr

    result = installed.run("vrclinic", "protocol", "check")
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())
    assert "current with the installed messages.toml" in said
    assert "Not checked in this installed copy" in said and "Unity" in said and "Godot" in said

    result = installed.run("vrclinic", "review", "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: vrclinic review" in result.stdout


def it_records(installed: Installed) -> None:
    """The installed copy records a session (its recorder runs as a process of that copy). On a
    busy machine the recorder of a fresh install can take longer to open its streams than the
    session lasts (seen: 12-15 s beside the running suite): then the folder must say so in
    words, never hold an empty XDF as if it were a recording."""
    session = installed.cwd / "session"
    result = installed.run(
        "vrclinic", "demo", "--duration", "12", "--record", str(session), "--port", str(free_port()), timeout=180
    )
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((session / "session.json").read_text(encoding="utf-8"))
    assert manifest["state"] == "complete" and (session / "events.jsonl").stat().st_size > 0
    xdf = session / "session.xdf"
    if not xdf.exists() or xdf.stat().st_size == 0:
        assert any("recorder could not start" in p for p in manifest.get("problems", [])), manifest


def it_reviews_reports_and_exports(installed: Installed, recorded: Path) -> None:
    """The reading side of the installed copy, on the suite's recorded demo (a real XDF)."""
    session = installed.cwd / "recorded"
    shutil.copytree(recorded, session)
    html, pdf = installed.cwd / "report.html", installed.cwd / "report.pdf"
    result = installed.run("vrclinic", "report", str(session), "--out", str(html), "--pdf", str(pdf))
    assert result.returncode == 0, result.stderr
    assert "Exposure session report" in html.read_text(encoding="utf-8")
    assert pdf.read_bytes().startswith(b"%PDF")

    out = installed.cwd / "export"
    result = installed.run("vrclinic", "export", str(session), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "streams.csv" in {p.name for p in out.iterdir()}
    assert (out / "xdf" / "session.xdf").read_bytes() == (session / "session.xdf").read_bytes()

    picture = installed.cwd / "review.png"
    result = installed.run("vrclinic", "review", str(session), "--duration", "1", "--screenshot", str(picture))
    assert result.returncode == 0, result.stderr
    assert picture.read_bytes().startswith(b"\x89PNG")


def test_the_installed_wheel_works_from_outside_the_checkout(tmp_path, recorded_demo):
    # One test, not four sharing a fixture: under pytest-xdist each worker would build and
    # install its own copy.
    installed = install_wheel(tmp_path)
    the_wheel_holds_the_data_the_code_reads(installed)
    it_runs_from_the_new_environment_with_the_locked_versions(installed)
    version_and_protocol_check_work(installed)
    it_records(installed)
    folder, demo = recorded_demo
    assert demo.returncode == 0, demo.stderr[-2000:]
    it_reviews_reports_and_exports(installed, folder)
