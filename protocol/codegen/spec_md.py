"""Render ``protocol/SPEC.md``: the prose of ``spec_template.md`` with the message tables."""

from __future__ import annotations

from pathlib import Path

from protocol import schema
from protocol.codegen import vectors

TEMPLATE = Path(__file__).resolve().parent.parent / "spec_template.md"
GROUP_TITLES = {
    "link": "Link",
    "pairing": "Pairing (on the pairing port)",
    "stimulus": "Scenes and stimulus",
    "self_report": "Self-report",
    "events": "Markers and safety events",
    "telemetry": "Telemetry",
    "mirror": "Mirror",
}
ARROWS = {"console_to_engine": "console → engine", "engine_to_console": "engine → console", "both": "both ways"}


def _number(value: float) -> str:
    """Whole numbers in full (a heartbeat's 2**53 - 1 must not read 9.0072e+15)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _range(f: schema.FieldSpec) -> str:
    parts = []
    if f.min is not None or f.max is not None:
        lo = "" if f.min is None else _number(f.min)
        hi = "" if f.max is None else _number(f.max)
        parts.append(f"{lo} … {hi}")
    if f.length is not None:
        parts.append(f"exactly {f.length} items")
    if f.max_len is not None:
        what = {"str": "bytes", "bytes": "bytes", "list": "items"}[f.type.kind]
        parts.append(f"≤ {f.max_len:,} {what}")
    if f.type.kind == "enum":
        parts.append(" \\| ".join(f"`{v}`" for v in f.type.values))
    return "; ".join(parts)


def _presence(f: schema.FieldSpec) -> str:
    if not f.optional:
        return "required"
    default = f.default
    if isinstance(default, bool):
        default = str(default).lower()
    elif isinstance(default, str):
        default = f'"{default}"'
    return f"optional, default `{default}`"


def _table(fields: tuple[schema.FieldSpec, ...]) -> list[str]:
    if not fields:
        return ["No fields besides the envelope.", ""]
    rows = ["| field | type | unit | range | presence | meaning |", "|---|---|---|---|---|---|"]
    for f in fields:
        rows.append(
            f"| `{f.name}` | `{f.type.spelled()}` | {f.unit} | {_range(f)} | {_presence(f)} | {f.description} |"
        )
    return [*rows, ""]


def _messages(proto: schema.Protocol) -> str:
    out = []
    numbering = {m.type: i for i, m in enumerate(proto.messages, start=1)}
    for group, title in GROUP_TITLES.items():
        members = [m for m in proto.messages if m.group == group]
        if not members:
            continue
        out += [f"### {title}", ""]
        for m in members:
            out += [f"#### `{m.type}` ({ARROWS[m.direction]})", "", m.description, ""]
            out += _table(m.fields)
            full = {"type": m.type, "id": numbering[m.type]}
            full.update({f.name: vectors.example_value(proto, f) for f in m.fields})
            frame = vectors.pack(full)
            if len(frame) <= 160:
                out += [f"Example ({len(frame)} bytes): `{frame.hex()}`", ""]
    return "\n".join(out).rstrip() + "\n"


def _structs(proto: schema.Protocol) -> str:
    out = []
    for s in proto.structs:
        out += [f"### `{s.name}`", "", s.description, ""]
        out += _table(s.fields)
    return "\n".join(out).rstrip() + "\n"


def _enums(proto: schema.Protocol) -> str:
    out = ["| enum | values | meaning |", "|---|---|---|"]
    for e in proto.enums:
        out.append(f"| `{e.name}` | {', '.join(f'`{v}`' for v in e.values)} | {e.description} |")
    return "\n".join(out) + "\n"


def _limits(proto: schema.Protocol) -> str:
    lim = proto.limits
    rows = [
        ("whole frame (only `mirror_frame` may be this long)", f"{lim.max_frame_bytes:,} bytes"),
        ("any other message", f"{lim.max_control_frame_bytes:,} bytes"),
        ("JPEG in `mirror_frame`", f"{lim.max_jpeg_bytes:,} bytes"),
        ("nesting of maps and arrays (the envelope is level 1)", f"{lim.max_depth}"),
        ("any string", f"{lim.max_str_bytes:,} bytes (most fields allow less, see the tables)"),
        ("any array", f"{lim.max_list_len:,} items"),
        ("any map", f"{lim.max_map_len} entries"),
    ]
    return "\n".join(["| what | at most |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]) + "\n"


def render(proto: schema.Protocol) -> str:
    from protocol.codegen import GENERATED_HEADER

    text = TEMPLATE.read_text(encoding="utf-8")
    replacements = {
        "{{header}}": f"<!-- {GENERATED_HEADER} The prose lives in protocol/spec_template.md. -->",
        "{{version}}": proto.version,
        "{{major}}": str(proto.major),
        "{{limits}}": _limits(proto),
        "{{enums}}": _enums(proto),
        "{{structs}}": _structs(proto),
        "{{messages}}": _messages(proto),
    }
    for key, value in replacements.items():
        text = text.replace(key, value)
    return text
