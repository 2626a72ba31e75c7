"""What an installed copy says about itself: ``vrclinic --version``, and ``vrclinic protocol
check`` where the engine SDKs are not installed (they live in the source tree only).

The installed layout here is the three packages copied apart without the engine SDK folders,
as the wheel holds them (tests/packaging/test_wheel.py installs the real wheel)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def vrclinic(*args: str, cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)  # ahead of the checkout's editable install
    return subprocess.run(
        [sys.executable, "-m", "console", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def installed_layout(tmp_path) -> Path:
    site = tmp_path / "site-packages"
    skip = shutil.ignore_patterns("__pycache__", "unity", "godot")  # not in the wheel
    for package in ("console", "protocol", "unity_bridge"):
        shutil.copytree(REPO / package, site / package, ignore=skip)
    return site


def test_version_prints_the_projects_version(tmp_path):
    result = vrclinic("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"vrclinic {VERSION}"


def test_protocol_check_in_an_installed_copy_checks_what_is_there_and_says_what_is_not(installed_layout, tmp_path):
    result = vrclinic("protocol", "check", cwd=tmp_path, pythonpath=installed_layout)
    assert result.returncode == 0, result.stderr
    assert "current with the installed messages.toml" in result.stdout
    said = " ".join(result.stdout.split())
    assert "Not checked in this installed copy: the Unity package's C# (unity_bridge/unity/)" in said
    assert "the Godot addon's GDScript (unity_bridge/godot/)" in said
    assert "in a source checkout" in said


def test_protocol_check_in_an_installed_copy_still_finds_stale_generated_files(installed_layout, tmp_path):
    spec = installed_layout / "protocol" / "SPEC.md"
    spec.write_text(spec.read_text(encoding="utf-8").replace("ROUTER", "ROUTRE", 1), encoding="utf-8")
    result = vrclinic("protocol", "check", cwd=tmp_path, pythonpath=installed_layout)
    assert result.returncode == 1
    assert f"stale: {spec}" in result.stderr


def test_protocol_generate_refuses_to_write_into_an_installed_copy(installed_layout, tmp_path):
    before = {p: p.read_bytes() for p in (installed_layout / "protocol").rglob("*") if p.is_file()}
    result = vrclinic("protocol", "generate", cwd=tmp_path, pythonpath=installed_layout)
    assert result.returncode == 2
    assert "installed copy" in result.stderr and "source checkout" in result.stderr
    assert {p: p.read_bytes() for p in before} == before
