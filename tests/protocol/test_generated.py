"""Generated files stay in step with the declaration, and the declaration checks itself."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib

import pytest

from protocol import codegen, messages, schema


def test_protocol_check_passes_on_the_committed_files():
    result = subprocess.run(
        [sys.executable, "-m", "console", "protocol", "check"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "generated files current" in result.stdout


def test_a_changed_declaration_makes_every_generated_file_stale():
    proto = schema.load()
    bumped = dataclasses.replace(proto, minor=proto.minor + 1)
    stale = {p.name for p in codegen.stale(bumped)}
    # Python, the spec and the vectors; the Unity package's C# and the Godot addons' GDScript.
    assert {"messages.py", "SPEC.md", "golden.json", "Messages.g.cs", "GoldenVectors.g.cs", "messages.gd"} <= stale


def test_generated_python_types_match_the_declaration():
    proto = schema.load()
    assert (messages.PROTOCOL_MAJOR, messages.PROTOCOL_MINOR) == (proto.major, proto.minor)
    for spec in proto.messages:
        cls = messages.MESSAGE_TYPES[spec.type]
        assert cls.TYPE == spec.type and cls.DIRECTION == spec.direction
        assert [f.name for f in dataclasses.fields(cls)] == [f.name for f in spec.fields]


def test_spec_documents_every_message_and_the_socket_choice():
    text = (codegen.PROTOCOL_DIR / "SPEC.md").read_text()
    for spec in schema.load().messages:
        assert f"#### `{spec.type}`" in text
    assert "ROUTER" in text and "DEALER" in text and "Why these patterns" in text


@pytest.mark.parametrize(
    "mutation, complaint",
    [
        (lambda raw: raw["message"][0]["field"].append({"name": "id", "type": "int", "description": "x"}), "reserved"),
        (lambda raw: raw["message"][0]["field"][0].update(type="colour"), "unknown type"),
        (lambda raw: raw["message"][0]["field"][0].update(optional=True), "needs a default"),
        (lambda raw: raw["message"][0].update(direction="sideways"), "direction"),
    ],
)
def test_declaration_mistakes_are_caught_when_loading(mutation, complaint):
    raw = tomllib.loads(schema.DECLARATION_PATH.read_text())
    mutation(raw)
    with pytest.raises(schema.DeclarationError, match=complaint):
        schema._build(raw)
