"""Render ``protocol/messages.py``: one dataclass per message and struct, one StrEnum per enum."""

from __future__ import annotations

from protocol import schema

_PY = {"bool": "bool", "int": "int", "float": "float", "str": "str", "bytes": "bytes"}


def annotation(t: schema.TypeRef) -> str:
    if t.kind == "list":
        assert t.item is not None
        return f"list[{annotation(t.item)}]"
    if t.kind in ("struct", "enum"):
        return t.name
    return _PY[t.kind]


def default_code(f: schema.FieldSpec) -> str:
    if f.type.kind == "list":
        if f.default:
            raise schema.DeclarationError(f"{f.name}: only empty list defaults are supported")
        return "field(default_factory=list)"
    if f.type.kind == "enum":
        return f"{f.type.name}.{f.default.upper()}"
    if f.type.kind == "float":
        return repr(float(f.default))
    return repr(f.default)


def _doc(text: str, indent: str) -> str:
    return f'{indent}"""{text}"""'


def _field_lines(fields: tuple[schema.FieldSpec, ...]) -> list[str]:
    lines = []
    for f in fields:
        ann = annotation(f.type)
        if f.optional:
            lines.append(f"    {f.name}: {ann} = {default_code(f)}")
        else:
            lines.append(f"    {f.name}: {ann}")
        unit = f" [{f.unit}]" if f.unit else ""
        lines.append(_doc(f.description + unit, "    "))
    return lines


def render(proto: schema.Protocol) -> str:
    from protocol.codegen import GENERATED_HEADER

    out = [
        f"# {GENERATED_HEADER}",
        f'"""{proto.name} protocol {proto.version}: the message types.',
        "",
        'Build a message with keyword arguments (``SetParameter(name="distance", value=1.5)``)',
        "and hand it to a link; the codec (protocol.codec) validates and encodes it.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass, field",
        "from enum import StrEnum",
        "from typing import ClassVar",
        "",
        f"PROTOCOL_NAME = {proto.name!r}",
        f"PROTOCOL_MAJOR = {proto.major}",
        f"PROTOCOL_MINOR = {proto.minor}",
        "",
        "",
        "class Message:",
        '    """Base of every message type: TYPE is the wire name, DIRECTION who may send it."""',
        "",
        "    __slots__ = ()",
        "    TYPE: ClassVar[str]",
        "    DIRECTION: ClassVar[str]",
        "",
    ]
    for e in proto.enums:
        out += ["", f"class {e.name}(StrEnum):", _doc(e.description, "    "), ""]
        out += [f"    {v.upper()} = {v!r}" for v in e.values]
        out.append("")
    for s in proto.structs:
        out += ["", "@dataclass(kw_only=True, slots=True)", f"class {s.name}:", _doc(s.description, "    "), ""]
        out += _field_lines(s.fields)
        out.append("")
    for m in proto.messages:
        out += [
            "",
            "@dataclass(kw_only=True, slots=True)",
            f"class {m.class_name}(Message):",
            _doc(f"{m.description} ({m.direction.replace('_', ' ')})", "    "),
            "",
            f"    TYPE: ClassVar[str] = {m.type!r}",
            f"    DIRECTION: ClassVar[str] = {m.direction!r}",
        ]
        out += _field_lines(m.fields)
        out.append("")
    out += ["", "MESSAGE_TYPES: dict[str, type[Message]] = {"]
    out += [f"    {m.type!r}: {m.class_name}," for m in proto.messages]
    out += ["}", "STRUCT_TYPES: dict[str, type] = {"]
    out += [f"    {s.name!r}: {s.name}," for s in proto.structs]
    out += ["}", "ENUM_TYPES: dict[str, type[StrEnum]] = {"]
    out += [f"    {e.name!r}: {e.name}," for e in proto.enums]
    out += ["}", ""]
    return "\n".join(out)
