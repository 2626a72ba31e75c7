"""Generators: every file derived from ``messages.toml``.

``outputs()`` renders all of them in memory; ``write()`` puts them on disk and ``stale()``
names the ones on disk that differ, which is what ``vrclinic protocol check`` and the
test suite use to fail when someone edited the declaration but not the generated files.

From a source checkout every generated file is checked. An installed copy (a wheel) holds
only the Python package: its ``messages.toml``, ``messages.py``, ``SPEC.md`` and golden
vectors are checked against each other, and ``unchecked()`` says in words what is not there
to check (the engine SDKs live in the source tree, not in the wheel).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from protocol import schema
from protocol.codegen import csharp, gdscript, python_types, spec_md, vectors

PROTOCOL_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = PROTOCOL_DIR.parent


class EngineSDK(NamedTuple):
    """An engine SDK whose files are generated from the declaration and live in the source tree."""

    name: str
    folder: Path  # its templates are read from here and its files written here
    files: Callable[[schema.Protocol], dict[Path, str]]


ENGINE_SDKS: list[EngineSDK] = [
    EngineSDK("the Unity package's C#", csharp.PACKAGE_DIR, csharp.files),
    EngineSDK("the Godot addon's GDScript", gdscript.GODOT_DIR, gdscript.files),
]
# One entry per engine SDK (Unity C#, Godot GDScript): a function proto -> {path: text}.
ENGINE_GENERATORS: list = [sdk.files for sdk in ENGINE_SDKS]
GENERATED_HEADER = "Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit."


class InstalledCopyError(RuntimeError):
    """Raised by ``write()`` outside a source checkout; its message says what to do."""


def in_checkout() -> bool:
    """True when this code runs from a source checkout (tests, an editable install), False when
    it runs from an installed wheel: only a checkout has ``pyproject.toml`` beside ``protocol/``."""
    return (REPO_DIR / "pyproject.toml").is_file()


def _engines_here() -> list[EngineSDK]:
    """The engine SDKs this copy can check: all in a checkout (a missing one is then stale)."""
    return ENGINE_SDKS if in_checkout() else [sdk for sdk in ENGINE_SDKS if sdk.folder.is_dir()]


def outputs(proto: schema.Protocol | None = None, engines: list[EngineSDK] | None = None) -> dict[Path, str]:
    """Every generated file, keyed by its path, rendered from the declaration (with the given
    engine SDKs' files; default all of them)."""
    proto = proto or schema.load()
    files = {
        PROTOCOL_DIR / "messages.py": python_types.render(proto),
        PROTOCOL_DIR / "SPEC.md": spec_md.render(proto),
        PROTOCOL_DIR / "vectors" / "golden.json": vectors.render(proto),
    }
    for sdk in ENGINE_SDKS if engines is None else engines:
        files.update(sdk.files(proto))
    return files


def stale(proto: schema.Protocol | None = None) -> list[Path]:
    """Generated files whose content on disk differs from what the declaration gives (of those
    this copy holds: see ``unchecked()``)."""
    out = []
    for path, text in outputs(proto, _engines_here()).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            out.append(path)
    return out


def unchecked() -> list[str]:
    """What ``stale()`` cannot check in this copy, in words; empty in a source checkout."""
    here = _engines_here()
    return [f"{sdk.name} (unity_bridge/{sdk.folder.name}/)" for sdk in ENGINE_SDKS if sdk not in here]


def write(proto: schema.Protocol | None = None) -> list[Path]:
    """Regenerate; returns the files that changed. Only in a source checkout: an installed copy
    has no engine SDKs to write, and its files belong to the installer."""
    if not in_checkout():
        raise InstalledCopyError(
            f"This vrclinic is an installed copy ({PROTOCOL_DIR}), not a source checkout: "
            "run 'vrclinic protocol generate' in the source tree, where the engine SDKs live."
        )
    changed = []
    for path, text in outputs(proto).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
