"""The protocol declaration (``messages.toml``) read into plain objects.

This module is the only reader of the declaration. The generators (Python types, SPEC.md,
golden vectors, and later C# and GDScript) and the codec's validators are all built from
the objects it returns, so nothing about a message is written down twice.

Pure functions, no threads, no Qt.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DECLARATION_PATH = Path(__file__).with_name("messages.toml")

PRIMITIVES = ("bool", "int", "float", "str", "bytes")
DIRECTIONS = ("console_to_engine", "engine_to_console", "both")
ENVELOPE_KEYS = ("type", "id")

_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
_CAMEL = re.compile(r"^[A-Z][A-Za-z0-9]*$")


class DeclarationError(ValueError):
    """The declaration file itself is inconsistent (raised when it is loaded)."""


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A field's type: a primitive, ``list`` of an item type, a struct or an enum."""

    kind: str  # one of PRIMITIVES, "list", "struct", "enum"
    item: TypeRef | None = None
    name: str = ""  # struct or enum name
    values: tuple[str, ...] = ()  # enum values

    def spelled(self) -> str:
        """The type as written in the declaration, e.g. ``list<ParameterSpec>``."""
        if self.kind == "list":
            assert self.item is not None
            return f"list<{self.item.spelled()}>"
        if self.kind in ("struct", "enum"):
            return self.name
        return self.kind


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type: TypeRef
    description: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    max_len: int | None = None
    length: int | None = None
    optional: bool = False
    default: Any = None
    example: Any = None


@dataclass(frozen=True, slots=True)
class StructSpec:
    name: str
    description: str
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True, slots=True)
class EnumSpec:
    name: str
    description: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MessageSpec:
    type: str
    direction: str
    group: str
    description: str
    fields: tuple[FieldSpec, ...]

    @property
    def class_name(self) -> str:
        return camel(self.type)

    def may_travel(self, from_role: str) -> bool:
        """True when a peer of ``from_role`` ("console" or "engine") may send this."""
        return self.direction == "both" or self.direction.startswith(from_role + "_")


@dataclass(frozen=True, slots=True)
class Limits:
    max_frame_bytes: int
    max_control_frame_bytes: int
    max_jpeg_bytes: int
    max_depth: int
    max_str_bytes: int
    max_list_len: int
    max_map_len: int


@dataclass(frozen=True, slots=True)
class Protocol:
    name: str
    major: int
    minor: int
    limits: Limits
    enums: tuple[EnumSpec, ...]
    structs: tuple[StructSpec, ...]
    messages: tuple[MessageSpec, ...]
    by_type: dict[str, MessageSpec] = field(default_factory=dict, compare=False)

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}"

    def struct(self, name: str) -> StructSpec:
        return next(s for s in self.structs if s.name == name)


def camel(snake: str) -> str:
    """``set_parameter`` -> ``SetParameter``."""
    return "".join(part.capitalize() for part in snake.split("_"))


@functools.cache
def load(path: Path = DECLARATION_PATH) -> Protocol:
    """Read and check the declaration. Raises DeclarationError naming the bad entry."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    return _build(raw)


def _build(raw: dict[str, Any]) -> Protocol:
    head = raw["protocol"]
    limits = Limits(**raw["limits"])
    enums = tuple(EnumSpec(e["name"], e["description"], tuple(e["values"])) for e in raw.get("enum", []))
    enum_by_name = {e.name: e for e in enums}
    struct_names = {s["name"] for s in raw.get("struct", [])}

    def resolve(spelled: str, where: str) -> TypeRef:
        if spelled in PRIMITIVES:
            return TypeRef(spelled)
        if spelled.startswith("list<") and spelled.endswith(">"):
            return TypeRef("list", item=resolve(spelled[5:-1], where))
        if spelled in struct_names:
            return TypeRef("struct", name=spelled)
        if spelled in enum_by_name:
            return TypeRef("enum", name=spelled, values=enum_by_name[spelled].values)
        raise DeclarationError(f"{where}: unknown type {spelled!r}")

    def fields(entries: list[dict[str, Any]], where: str, reserved: tuple[str, ...] = ()) -> tuple[FieldSpec, ...]:
        out = []
        seen = set()
        for entry in entries:
            name = entry["name"]
            here = f"{where}.{name}"
            if not _SNAKE.match(name):
                raise DeclarationError(f"{here}: field names are snake_case")
            if name in reserved or name in seen:
                raise DeclarationError(f"{here}: name is reserved for the envelope or used twice")
            seen.add(name)
            unknown = set(entry) - {
                "name",
                "type",
                "description",
                "unit",
                "min",
                "max",
                "max_len",
                "len",
                "optional",
                "default",
                "example",
            }
            if unknown:
                raise DeclarationError(f"{here}: unknown keys {sorted(unknown)}")
            if "default" in entry and not entry.get("optional"):
                raise DeclarationError(f"{here}: a default needs optional = true")
            if entry.get("optional") and "default" not in entry:
                raise DeclarationError(f"{here}: an optional field needs a default")
            ftype = resolve(entry["type"], here)
            if ftype.kind in ("str", "bytes", "list") and "max_len" not in entry and "len" not in entry:
                raise DeclarationError(f"{here}: {ftype.kind} fields need max_len or len")
            out.append(
                FieldSpec(
                    name=name,
                    type=ftype,
                    description=entry["description"],
                    unit=entry.get("unit", ""),
                    min=entry.get("min"),
                    max=entry.get("max"),
                    max_len=entry.get("max_len"),
                    length=entry.get("len"),
                    optional=bool(entry.get("optional", False)),
                    default=entry.get("default"),
                    example=entry.get("example"),
                )
            )
        return tuple(out)

    structs = []
    for s in raw.get("struct", []):
        if not _CAMEL.match(s["name"]):
            raise DeclarationError(f"struct {s['name']!r}: names are CamelCase")
        structs.append(StructSpec(s["name"], s["description"], fields(s.get("field", []), s["name"])))
    messages = []
    for m in raw.get("message", []):
        if not _SNAKE.match(m["type"]):
            raise DeclarationError(f"message {m['type']!r}: types are snake_case")
        if m["direction"] not in DIRECTIONS:
            raise DeclarationError(f"message {m['type']}: direction must be one of {DIRECTIONS}")
        messages.append(
            MessageSpec(
                m["type"],
                m["direction"],
                m["group"],
                m["description"],
                fields(m.get("field", []), m["type"], ENVELOPE_KEYS),
            )
        )
    by_type = {m.type: m for m in messages}
    if len(by_type) != len(messages):
        raise DeclarationError("two messages share a type name")
    return Protocol(
        name=head["name"],
        major=int(head["major"]),
        minor=int(head["minor"]),
        limits=limits,
        enums=enums,
        structs=tuple(structs),
        messages=tuple(messages),
        by_type=by_type,
    )
