"""The versions we test with are the versions users get: packaging/constraints.txt pins every
package pyproject.toml asks for, this environment runs exactly those pins, and SOUP.md says
what the pins are (generated from them; stale as soon as the lock moves)."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path

import lock  # packaging/lock.py, found through conftest.py
import pytest
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"

PINNED = lock.read()


def run_script(script: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def packaging_copy(tmp_path) -> Path:
    """The packaging folder and pyproject.toml copied apart, as the scripts find them (../pyproject.toml)."""
    shutil.copytree(PACKAGING, tmp_path / "packaging", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_soup_md_is_current_with_the_lock():
    result = run_script(PACKAGING / "soup.py", "--check")
    assert result.returncode == 0, result.stderr


def test_soup_md_names_the_locked_versions_of_what_the_product_installs():
    text = (PACKAGING / "SOUP.md").read_text(encoding="utf-8")
    runtime = [pin for pin in PINNED.pins.values() if pin.runtime]
    assert {"neurokit2", "pandas", "pyside6-essentials", "pyxdf", "psygnal"} <= {pin.name for pin in runtime}
    for pin in runtime:
        assert re.search(rf"\| {re.escape(pin.version)} \|", text), f"{pin.name} {pin.version} not in SOUP.md"
    assert f"CPython {PINNED.python}" in text
    assert Version(PINNED.version("pyside6-essentials")) < Version("6.12")  # BRIEF §6b: 6.12.0 aborts Python 3.11


def test_a_moved_pin_makes_soup_md_stale_and_asks_for_a_review(packaging_copy):
    constraints = packaging_copy / "packaging" / "constraints.txt"
    text = constraints.read_text(encoding="utf-8")
    neurokit = PINNED.version("neurokit2")
    constraints.write_text(text.replace(f"neurokit2=={neurokit}", "neurokit2==99.0.0"), encoding="utf-8")
    result = run_script(packaging_copy / "packaging" / "soup.py", "--check")
    assert result.returncode == 1
    assert "SOUP.md is stale" in result.stderr and "make lock" in result.stderr

    result = run_script(packaging_copy / "packaging" / "soup.py")  # what `make lock` runs after resolving
    assert result.returncode == 0, result.stderr
    soup = (packaging_copy / "packaging" / "SOUP.md").read_text(encoding="utf-8")
    assert "| NeuroKit2 | 99.0.0 |" in soup
    assert f"- NeuroKit2 99.0.0: anomalies reviewed for {neurokit}; review them for 99.0.0" in soup
    assert "## Review pending" not in (PACKAGING / "SOUP.md").read_text(encoding="utf-8")
    assert run_script(packaging_copy / "packaging" / "soup.py", "--check").returncode == 0


def test_the_lock_pins_every_dependency_within_its_range():
    result = run_script(PACKAGING / "lock.py", "--check")
    assert result.returncode == 0, result.stderr


def test_a_dependency_added_without_locking_is_named(packaging_copy):
    pyproject = packaging_copy / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text.replace("dependencies = [\n", 'dependencies = [\n    "tomli-w>=1",\n', 1))
    result = run_script(packaging_copy / "packaging" / "lock.py", "--check")
    assert result.returncode == 1
    assert "tomli-w" in result.stderr and "not pinned" in result.stderr and "make lock" in result.stderr
    # SOUP.md refuses to be written from such a lock, and says why.
    result = run_script(packaging_copy / "packaging" / "soup.py", "--check")
    assert result.returncode == 1 and "tomli-w" in result.stderr


def test_this_environment_runs_the_locked_versions():
    """`make` installs with the lock; an environment that drifted from it tests other versions."""
    drifted = []
    for pin in PINNED.pins.values():
        try:
            installed = importlib.metadata.version(pin.name)
        except importlib.metadata.PackageNotFoundError:
            drifted.append(f"{pin.name} not installed (locked {pin.version})")
            continue
        if installed != pin.version:
            drifted.append(f"{pin.name} {installed} installed, {pin.version} locked")
    assert not drifted, "run `make` to install the locked versions: " + "; ".join(drifted)


def test_soup_md_names_the_native_libraries_inside_the_installed_wheels():
    import pylsl
    import zmq

    text = (PACKAGING / "SOUP.md").read_text(encoding="utf-8")
    assert f"bundles libzmq {zmq.zmq_version()})" in text
    liblsl = pylsl.library_version()  # 118 for 1.18
    assert f"bundles liblsl {liblsl // 100}.{liblsl % 100})" in text
