"""Boundaries that must hold as the code grows (napari checks the same with import-linter):
the protocol and the models know no Qt, and the engine side knows nothing of the console."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QT = ("PySide6", "shiboken6", "pyqtgraph")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    found |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return found


def python_files(*parts: str) -> list[Path]:
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


NO_QT = [
    *python_files("protocol"),
    ROOT / "console" / "session.py",
    ROOT / "console" / "demo.py",
    *(ROOT / "console" / f"{name}.py" for name in ("recorded", "recording", "recorder_proc", "recovery")),
    *(ROOT / "console" / f"{name}.py" for name in ("record_control", "store", "review", "export", "metrics")),
    *python_files("console", "physio"),
    *python_files("console", "clinic"),
    ROOT / "unity_bridge" / "client.py",
]


@pytest.mark.parametrize("path", [p for p in NO_QT if p.exists()], ids=lambda p: str(p.relative_to(ROOT)))
def test_models_and_protocol_import_no_qt(path):
    assert not {name for name in imports_of(path) if name.startswith(QT)}


@pytest.mark.parametrize("path", python_files("unity_bridge"), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_side_does_not_depend_on_the_console(path):
    assert not {name for name in imports_of(path) if name == "console" or name.startswith("console.")}
