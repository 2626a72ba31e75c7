"""Render ``protocol/SPEC.md``: the prose of ``spec_template.md`` with the message tables,
the limits, the example frames and the figures that come from the code (defaults, budgets).

Rendering fails (DeclarationError) when the template leaves a {{name}} field unfilled or an
ErrorCode or ByeReason value without its row: a new value needs its words before it ships.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

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


# -- link states (SPEC section 4.3): the one statement of the formula -------------------

STALE_INTERVALS = 3  # stale: no counted beat for more than 3 heartbeat intervals
MIN_WATCHDOG_INTERVALS = 3  # the watchdog timeout is at least 3 intervals
LOST_WATCHDOGS = 4  # lost: no counted beat for more than 4 watchdog timeouts


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """When a side sees its peer as stale, (engine) trips its watchdog, and sees it lost, in s."""

    stale_s: float
    watchdog_s: float
    lost_s: float


def link_thresholds(heartbeat_interval_ms: int, watchdog_timeout_ms: int) -> Thresholds:
    """The thresholds that follow from a welcome's values (SPEC section 4.3); a watchdog
    timeout below 3 intervals is raised to 3 intervals."""
    interval = heartbeat_interval_ms / 1000
    watchdog = max(watchdog_timeout_ms / 1000, MIN_WATCHDOG_INTERVALS * interval)
    return Thresholds(STALE_INTERVALS * interval, watchdog, LOST_WATCHDOGS * watchdog)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _thresholds(proto: schema.Protocol) -> str:
    welcome = {f.name: f for f in proto.by_type["welcome"].fields}
    i_lo, i_hi = int(welcome["heartbeat_interval_ms"].min), int(welcome["heartbeat_interval_ms"].max)
    w_lo, w_hi = int(welcome["watchdog_timeout_ms"].min), int(welcome["watchdog_timeout_ms"].max)
    defaults = _link_defaults()
    cases = [
        (i_lo, max(w_lo, MIN_WATCHDOG_INTERVALS * i_lo), "the shortest interval and watchdog"),
        (defaults["heartbeat_ms"], defaults["watchdog_ms"], "the defaults"),
        (i_hi, max(w_lo, MIN_WATCHDOG_INTERVALS * i_hi), "the longest interval, the shortest watchdog it allows"),
        (i_hi, w_hi, "the longest interval and watchdog"),
    ]
    rows = ["| *I* | *W* | stale after | watchdog trips after | lost after | |", "|---|---|---|---|---|---|"]
    for interval, watchdog, note in cases:
        t = link_thresholds(interval, watchdog)
        if not t.stale_s <= t.watchdog_s < t.lost_s:
            raise schema.DeclarationError(f"link states out of order for I={interval} ms, W={watchdog} ms: {t}")
        rows.append(
            f"| {interval:,} ms | {watchdog:,} ms | {_ms(t.stale_s)} | {_ms(t.watchdog_s)} | {_ms(t.lost_s)} | {note} |"
        )
    return "\n".join(rows) + "\n"


# -- figures that live in the code ------------------------------------------------------------


def _link_defaults() -> dict[str, Any]:
    """The console link's defaults and budgets, read from its configuration so that the
    spec states what the console does (protocol.link is imported here only, lazily)."""
    from protocol.link import types

    config = {f.name: f.default for f in dataclasses.fields(types.LinkConfig)}
    return {
        "heartbeat_ms": round(config["heartbeat_interval_s"] * 1000),
        "watchdog_ms": round(config["watchdog_timeout_s"] * 1000),
        "errors_per_s": f"{config['errors_per_second']:g}",
        "budget_msgs": f"{config['max_messages_per_s']:g}",
        "budget_mib": f"{config['max_bytes_per_s'] / (1 << 20):g}",
        "flood_grace_s": f"{config['flood_grace_s']:g}",
        "max_candidates": str(config["max_pairing_candidates"]),
        "ban_s": f"{types.BAN_S:g}",
        "pairing_open_s": f"{types.PAIRING_OPEN_S:g}",
        "candidate_gone_s": f"{types.CANDIDATE_GONE_S:g}",
    }


def _limits(proto: schema.Protocol) -> str:
    lim = proto.limits
    link = _link_defaults()
    budget = (
        f"{link['budget_msgs']} messages and {link['budget_mib']} MiB a second per connection "
        f"(a tenth before the handshake)"
    )
    rows = [
        ("`mirror_frame`", f"{lim.max_frame_bytes:,} bytes", "`too_large`"),
        ("any other message", f"{lim.max_control_frame_bytes:,} bytes", "`too_large`"),
        (
            "any frame, at the transport (`MAXMSGSIZE`)",
            f"{lim.max_control_frame_bytes + 1024:,} bytes at an engine, {lim.max_frame_bytes + 1024:,} at the console",
            "none: ZeroMQ closes the connection (see below)",
        ),
        ("JPEG in `mirror_frame`", f"{lim.max_jpeg_bytes:,} bytes", "`too_large`"),
        ("nesting of maps and arrays (the envelope is level 1)", f"{lim.max_depth} levels", "`too_deep`"),
        ("any string", f"{lim.max_str_bytes:,} bytes of UTF-8", "`too_large`"),
        ("a field's `max_len` (str: bytes of UTF-8; bytes; list: items)", "see the tables", "`too_large`"),
        ("a list field's fixed length (`exactly N items`)", "see the tables", "`invalid_field`"),
        ("any array", f"{lim.max_list_len:,} items", "`too_large`"),
        ("any map", f"{lim.max_map_len} entries", "`too_large`"),
        ("a number field's range (`min … max`)", "see the tables", "`out_of_range`"),
        ("a stimulus parameter's value", "the scene's `min` … `max` from the catalogue", "`out_of_range`"),
        ("envelope `id`", "0 … 2^53 − 1", "`malformed` (below 0)"),
        ("errors sent to one peer", f"{link['errors_per_s']} a second", "the excess is dropped (section 9.2)"),
        (
            "the console's input budget",
            budget,
            f"dropped unread, `rate_limited`; after {link['flood_grace_s']} s: `bye` `flooding` (section 9.4)",
        ),
        ("frames on the pairing port", "4,096 bytes", "none: ZeroMQ closes the connection"),
        ("answers on the pairing port", "20 a second, all engines together", "the excess is not answered"),
        (
            "engines waiting for the technician to accept pairing",
            f"{link['max_candidates']} at once",
            "more unknown keys are refused at the handshake",
        ),
        ("`parameter_applied` progress reports", "10 a second per parameter", "(a conformance failure)"),
        ("`mirror_frame`s in flight", "1", "(a conformance failure)"),
    ]
    head = ["| what | at most | breaking it gets |", "|---|---|---|"]
    return "\n".join(head + [f"| {a} | {b} | {c} |" for a, b, c in rows]) + "\n"


# -- example frames ---------------------------------------------------------------------------

ENGINE_FIRST = ("hello", "key_request", "scene_catalogue", "scene_status", "telemetry")


def _hex_lines(frame: bytes, width: int = 64) -> list[str]:
    text = frame.hex()
    return [text[i : i + width] for i in range(0, len(text), width)]


def _engine_examples(proto: schema.Protocol) -> str:
    out = []
    for msg_type in ENGINE_FIRST:
        value, frame = vectors.example_frame(proto, msg_type)
        out += [f"`{msg_type}` ({len(frame):,} bytes):", "", "```json"]
        out += json.dumps(vectors.to_json(value), indent=2, ensure_ascii=False).splitlines()
        out += ["```", "", "```", *_hex_lines(frame), "```", ""]
    return "\n".join(out)


def _hello_bytes(proto: schema.Protocol) -> str:
    _, frame = vectors.example_frame(proto, "hello")
    rows = ["| bytes (hex) | meaning |", "|---|---|"]
    for hexed, meaning in vectors.annotate(frame):
        rows.append(f"| `{hexed}` | {meaning} |")
    return "\n".join(rows) + "\n"


def _pairing_example(proto: schema.Protocol) -> str:
    lines = ["For example (these vectors are in `golden.json` too):", ""]
    lines += ["| console public key | engine public key | code |", "|---|---|---|"]
    for v in vectors.pairing_vectors(proto):
        lines.append(f"| `{v['console_public']}` | `{v['engine_public']}` | `{v['code']}` |")
    return "\n".join(lines) + "\n"


# -- checks on the template ---------------------------------------------------------------------


def _check_documented(proto: schema.Protocol, template: str) -> None:
    """Every ErrorCode and ByeReason value has its row in the template's tables."""
    for enum_name in ("ErrorCode", "ByeReason"):
        values = next(e.values for e in proto.enums if e.name == enum_name)
        missing = [v for v in values if f"| `{v}` |" not in template]
        if missing:
            raise schema.DeclarationError(
                f"protocol/spec_template.md has no row for {enum_name} value(s) {', '.join(missing)}: "
                "say when each is sent (and, for a bye, what the engine does)"
            )


def render(proto: schema.Protocol) -> str:
    from protocol.codegen import GENERATED_HEADER

    text = TEMPLATE.read_text(encoding="utf-8")
    _check_documented(proto, text)
    lim = proto.limits
    replacements = {
        "header": f"<!-- {GENERATED_HEADER} The prose lives in protocol/spec_template.md. -->",
        "version": proto.version,
        "major": str(proto.major),
        "minor": str(proto.minor),
        "limits": _limits(proto),
        "thresholds": _thresholds(proto),
        "engine_maxmsgsize": f"{lim.max_control_frame_bytes + 1024:,}",
        "console_maxmsgsize": f"{lim.max_frame_bytes + 1024:,}",
        "max_control_frame_bytes": f"{lim.max_control_frame_bytes:,}",
        "engine_examples": _engine_examples(proto),
        "hello_bytes": _hello_bytes(proto),
        "pairing_example": _pairing_example(proto),
        "enums": _enums(proto),
        "structs": _structs(proto),
        "messages": _messages(proto),
        **_link_defaults(),
    }
    for key, value in replacements.items():
        text = text.replace("{{" + key + "}}", str(value))
    text = re.sub(r"\n{3,}", "\n\n", text)  # a block's own trailing blank line and the template's
    left = sorted(set(re.findall(r"\{\{[a-z_]+\}\}", text)))
    if left:
        raise schema.DeclarationError(f"protocol/spec_template.md has {{name}} fields nothing fills: {', '.join(left)}")
    return text
