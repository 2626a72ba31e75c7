"""Generators: every file derived from ``messages.toml``.

``outputs()`` renders all of them in memory; ``write()`` puts them on disk and ``stale()``
names the ones on disk that differ, which is what ``vrclinic protocol check`` and the
test suite use to fail when someone edited the declaration but not the generated files.
"""

from __future__ import annotations

from pathlib import Path

from protocol import schema
from protocol.codegen import csharp, gdscript, python_types, spec_md, vectors

PROTOCOL_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = PROTOCOL_DIR.parent

# One entry per engine SDK (Unity C#, Godot GDScript): a function proto -> {path: text}.
ENGINE_GENERATORS: list = [csharp.files, gdscript.files]
GENERATED_HEADER = "Generated from protocol/messages.toml by `vrclinic protocol generate`. Do not edit."


def outputs(proto: schema.Protocol | None = None) -> dict[Path, str]:
    """Every generated file, keyed by its path, rendered from the declaration."""
    proto = proto or schema.load()
    files = {
        PROTOCOL_DIR / "messages.py": python_types.render(proto),
        PROTOCOL_DIR / "SPEC.md": spec_md.render(proto),
        PROTOCOL_DIR / "vectors" / "golden.json": vectors.render(proto),
    }
    # Engine SDK generators: each returns {path: text} for the files it owns.
    for engine_files in ENGINE_GENERATORS:
        files.update(engine_files(proto))
    return files


def stale(proto: schema.Protocol | None = None) -> list[Path]:
    """Generated files whose content on disk differs from what the declaration gives."""
    out = []
    for path, text in outputs(proto).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            out.append(path)
    return out


def write(proto: schema.Protocol | None = None) -> list[Path]:
    """Regenerate; returns the files that changed."""
    changed = []
    for path, text in outputs(proto).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
