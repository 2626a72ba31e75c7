"""Render ``protocol/vectors/golden.json``: canonical frames other languages must match.

Each valid vector is a message's msgpack bytes (hex) and its decoded value (JSON; bytes as
``{"$hex": ...}``). "full" vectors carry every field and must re-encode byte for byte;
"minimal" vectors leave optional fields out and must decode to the defaults shown.
Invalid vectors are frames a receiver must refuse with the given error code.

Encoding is canonical: the map holds ``type``, ``id``, then every field in declared order;
float fields are always float64, ints and lengths use msgpack's smallest form.
This module encodes plain dicts with msgpack itself and does not use the codec, so a bug in
the codec cannot hide in its own reference data.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgpack

from protocol import schema


def example_value(proto: schema.Protocol, f: schema.FieldSpec) -> Any:
    """The example of a field: declared, else derived from its type and bounds."""
    if f.example is not None:
        value = f.example
    elif f.type.kind == "list" and f.type.item and f.type.item.kind == "struct":
        value = [example_struct(proto, f.type.item.name)]
    elif f.optional:
        value = f.default
    elif f.type.kind == "struct":
        value = example_struct(proto, f.type.name)
    else:
        value = {"bool": True, "int": 0, "float": 0.0, "str": "", "bytes": "", "enum": None}.get(f.type.kind)
        if f.type.kind == "enum":
            value = f.type.values[0]
        if f.min is not None and f.type.kind in ("int", "float"):
            value = f.min
    return _wire(f.type, value)


def example_struct(proto: schema.Protocol, name: str) -> dict[str, Any]:
    return {f.name: example_value(proto, f) for f in proto.struct(name).fields}


def _wire(t: schema.TypeRef, value: Any) -> Any:
    """Coerce a TOML example to its wire form (floats as float, bytes from hex)."""
    if t.kind == "float":
        return float(value)
    if t.kind == "bytes":
        return bytes.fromhex(value) if isinstance(value, str) else bytes(value)
    if t.kind == "list":
        assert t.item is not None
        return [_wire(t.item, v) for v in value]
    return value


def _minimal(proto: schema.Protocol, m: schema.MessageSpec, full: dict[str, Any]) -> tuple[dict, dict]:
    """(what is sent, what it decodes to) with every optional field left out."""
    sent = {k: v for k, v in full.items() if k in ("type", "id")}
    decoded = dict(sent)
    for f in m.fields:
        if f.optional:
            decoded[f.name] = _wire(f.type, f.default) if f.default != [] else []
        else:
            sent[f.name] = full[f.name]
            decoded[f.name] = full[f.name]
    return sent, decoded


def pack(value: dict[str, Any]) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$hex": value.hex()}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": repr(value)}
    return value


def valid_vectors(proto: schema.Protocol) -> list[dict[str, Any]]:
    out = []
    for number, m in enumerate(proto.messages, start=1):
        full = {"type": m.type, "id": number}
        full.update({f.name: example_value(proto, f) for f in m.fields})
        out.append(
            {
                "name": f"{m.type}/full",
                "type": m.type,
                "reencode": True,
                "hex": pack(full).hex(),
                "value": to_json(full),
            }
        )
        if any(f.optional for f in m.fields):
            sent, decoded = _minimal(proto, m, full)
            out.append(
                {
                    "name": f"{m.type}/minimal",
                    "type": m.type,
                    "reencode": False,
                    "hex": pack(sent).hex(),
                    "value": to_json(decoded),
                }
            )
    return out


def invalid_vectors(proto: schema.Protocol) -> list[dict[str, Any]]:
    """Frames every receiver must refuse; ``receiver`` is the role that reads the frame."""
    good = {"type": "set_parameter", "id": 7, "name": "distance", "value": 1.5, "ramp_s": 0.0}

    def variant(**changes: Any) -> bytes:
        frame = dict(good)
        for key, value in changes.items():
            if value is _DROP:
                frame.pop(key)
            else:
                frame[key] = value
        return pack(frame)

    deep: Any = 1
    for _ in range(proto.limits.max_depth + 4):
        deep = [deep]
    cases = [
        ("not_a_map", pack([1, 2, 3]), "malformed", "a msgpack array instead of a map"),
        ("empty", b"", "malformed", "zero bytes"),
        ("truncated", pack(good)[:-1], "malformed", "last byte cut off"),
        ("trailing_bytes", pack(good) + b"\xc0", "malformed", "a second object after the map"),
        ("no_type", variant(type=_DROP), "malformed", "no type key"),
        ("no_id", variant(id=_DROP), "malformed", "no id key"),
        ("unknown_type", pack({"type": "teleport", "id": 7}), "unknown_type", "type no version declares"),
        ("missing_field", variant(value=_DROP), "invalid_field", "set_parameter without value"),
        ("wrong_field_type", variant(value="far"), "invalid_field", "value is a string"),
        ("not_finite", variant(value=float("nan")), "invalid_field", "value is NaN"),
        ("out_of_range", variant(ramp_s=-1.0), "invalid_field", "ramp_s below its minimum 0"),
        (
            "unknown_field",
            variant(colour="red"),
            "invalid_field",
            "field no version declares, from a same-version peer",
        ),
        ("wrong_direction", variant(), "wrong_direction", "set_parameter sent to the console"),
        ("too_deep", variant(name=deep), "too_deep", f"nesting deeper than {proto.limits.max_depth}"),
        (
            "huge_bin_claim",
            bytes.fromhex("82a474797065ac6d6972726f725f6672616d65a46a706567c6ffffffff"),
            "malformed",
            "bin32 header claiming 4 GiB in a 29-byte frame: refused as truncated, nothing allocated",
        ),
        (
            "huge_array_claim",
            bytes.fromhex("81a474797065ddffffffff"),
            "too_large",
            "array32 header claiming 4 billion items",
        ),
    ]
    out = []
    for name, frame, code, note in cases:
        receiver = "console" if name == "wrong_direction" else "engine"
        out.append({"name": name, "receiver": receiver, "hex": frame.hex(), "error": code, "note": note})
    return out


class _Drop:
    pass


_DROP = _Drop()


def render(proto: schema.Protocol) -> str:
    from protocol.codegen import GENERATED_HEADER

    doc = {
        "generated": GENERATED_HEADER,
        "protocol": proto.version,
        "encoding": "msgpack map: type, id, then every field in declared order; floats as float64; "
        "smallest int and length forms; bytes as bin",
        "valid": valid_vectors(proto),
        "invalid": invalid_vectors(proto),
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
