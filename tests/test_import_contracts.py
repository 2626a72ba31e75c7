"""The import-linter contracts in pyproject.toml (run by `make test` as `lint-imports`) hold
on this tree, and a change that crosses a boundary fails them: shown on a copy of the tree
with one forbidden import added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    # PYTHONPATH first: the copy's packages, not the installed (editable) ones, are analysed.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def tree(tmp_path) -> Path:
    copy = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("console", "protocol", "unity_bridge"):
        shutil.copytree(ROOT / package, copy / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def add_import(path: Path, line: str) -> None:
    text = path.read_text(encoding="utf-8")
    marker = "from __future__ import annotations\n"
    assert marker in text, path
    path.write_text(text.replace(marker, marker + line + "\n", 1), encoding="utf-8")


def test_the_contracts_hold_on_this_tree(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("console/session/model.py", "from PySide6.QtCore import QObject  # noqa", "No Qt outside console.qt"),
        ("console/records/recorded.py", "import pyqtgraph  # noqa", "No Qt outside console.qt"),
        ("console/session/model.py", "from console.qt import bridge  # noqa", "Rooms are layered"),
        ("console/records/store.py", "from console.session import model  # noqa", "Rooms are layered"),
        ("console/core/clock.py", "from console.session import model  # noqa", "The shared core imports nothing"),
        ("unity_bridge/client.py", "from console.core import clock  # noqa", "The engine side"),
        ("protocol/link/console.py", "from console.core import clock  # noqa", "Rooms are layered"),
    ],
    ids=[
        "qt-in-session",
        "pyqtgraph-in-records",
        "session-imports-qt",
        "records-imports-session",
        "core-up",
        "engine-imports-console",
        "protocol-up",
    ],
)
def test_a_forbidden_import_fails_the_check(tree, module, line, contract):
    add_import(tree / module, line)
    result = lint_imports(tree)
    assert result.returncode != 0, f"{module}: `{line}` was let through\n{result.stdout}"
    broken = result.stdout[result.stdout.index("Broken contracts") :]
    assert contract in broken.replace("\n", " "), broken
