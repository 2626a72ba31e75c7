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

import hashlib
import json
import math
import struct
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
    return _wire(proto, f.type, value)


def example_struct(proto: schema.Protocol, name: str) -> dict[str, Any]:
    return {f.name: example_value(proto, f) for f in proto.struct(name).fields}


def _wire(proto: schema.Protocol, t: schema.TypeRef, value: Any) -> Any:
    """Coerce a TOML example to its wire form (floats as float, bytes from hex, a struct's
    fields in declared order with its optional fields filled in, as canonical encoding has them)."""
    if t.kind == "float":
        return float(value)
    if t.kind == "bytes":
        return bytes.fromhex(value) if isinstance(value, str) else bytes(value)
    if t.kind == "list":
        assert t.item is not None
        return [_wire(proto, t.item, v) for v in value]
    if t.kind == "struct" and isinstance(value, dict):
        out = {}
        for f in proto.struct(t.name).fields:
            if f.name in value:
                out[f.name] = _wire(proto, f.type, value[f.name])
            elif f.optional:
                out[f.name] = _wire(proto, f.type, f.default)
            else:
                raise schema.DeclarationError(f"the example {t.name} {value!r} lacks its required field {f.name!r}")
        return out
    return value


def _minimal(proto: schema.Protocol, m: schema.MessageSpec, full: dict[str, Any]) -> tuple[dict, dict]:
    """(what is sent, what it decodes to) with every optional field left out."""
    sent = {k: v for k, v in full.items() if k in ("type", "id")}
    decoded = dict(sent)
    for f in m.fields:
        if f.optional:
            decoded[f.name] = _wire(proto, f.type, f.default) if f.default != [] else []
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
        ("out_of_range", variant(ramp_s=-1.0), "out_of_range", "ramp_s below its minimum 0"),
        ("above_maximum", variant(ramp_s=601.0), "out_of_range", "ramp_s above its maximum 600"),
        ("float_for_int", _frame_for_int_field(), "invalid_field", _INT_NOTE),
        ("string_too_long", variant(name="d" * 65), "too_large", "name of 65 bytes, its max_len is 64"),
        (
            "list_too_long",
            pack({"type": "load_scene", "id": 7, "scene_id": "spiders", "parameters": _values(65)}),
            "too_large",
            "load_scene.parameters with 65 items, its max_len is 64",
        ),
        ("unknown_enum_value", _status(state="dancing"), "invalid_field", "scene_status.state is no SceneState"),
        ("wrong_list_length", _telemetry(head_position=[0.0, 1.6]), "invalid_field", "head_position of 2 items, not 3"),
        ("negative_id", variant(id=-1), "malformed", "envelope id below 0"),
        (
            "non_text_key",
            pack({"type": "set_parameter", "id": 7, 1: "distance"}),
            "malformed",
            "a map key that is not text",
        ),
        ("invalid_utf8", bytes.fromhex("82a474797065a3ff00ffa26964") + b"\x07", "malformed", "type is not valid UTF-8"),
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
        receiver = "console" if name in _TO_CONSOLE else "engine"
        out.append({"name": name, "receiver": receiver, "hex": frame.hex(), "error": code, "note": note})
    return out


class _Drop:
    pass


_DROP = _Drop()
_TO_CONSOLE = {"wrong_direction", "unknown_enum_value", "wrong_list_length"}
_INT_NOTE = "mirror_settings.max_width (an int field) given 640.0: a float is never read as an integer"


def _frame_for_int_field() -> bytes:
    return pack({"type": "mirror_settings", "id": 7, "enabled": True, "max_width": 640.0})


def _values(n: int) -> list[dict[str, Any]]:
    return [{"name": f"p{i}", "value": 1.0} for i in range(n)]


def _status(**changes: Any) -> bytes:
    return pack({"type": "scene_status", "id": 7, "scene_id": "spiders", "state": "running", **changes})


def _telemetry(**changes: Any) -> bytes:
    frame = {"type": "telemetry", "id": 7, "at": 1.0, "head_position": [0.0, 1.6, 0.0]}
    frame.update(head_rotation=[0.0, 0.0, 0.0, 1.0], fps=72.0, **changes)
    return pack(frame)


# -- pairing codes (SPEC, "Security") ---------------------------------------------------

PAIRING_SALT = b"vrclinic pairing v1"


def pairing_code(console_public: str, engine_public: str) -> str:
    """The six-digit code of SPEC "Security", worked out here from its formula alone (not
    with protocol.security, so that the vector checks that module rather than copies it)."""
    from zmq.utils import z85  # Z85 is ZeroMQ RFC 32; pyzmq's codec is only the decoding

    raw = z85.decode(console_public.encode("ascii")) + z85.decode(engine_public.encode("ascii"))
    number = int.from_bytes(hashlib.sha256(PAIRING_SALT + raw).digest()[:4], "big") % 1_000_000
    return f"{number // 1000:03d} {number % 1000:03d}"


def pairing_vectors(proto: schema.Protocol) -> list[dict[str, str]]:
    """Codes for the example keys of key_request and console_key, both ways round (the
    order matters: console key first)."""
    engine = proto.by_type["key_request"]
    console = proto.by_type["console_key"]
    engine_key = next(f.example for f in engine.fields if f.name == "public_key")
    console_key = next(f.example for f in console.fields if f.name == "public_key")
    return [
        {"console_public": console_key, "engine_public": engine_key, "code": pairing_code(console_key, engine_key)},
        {"console_public": engine_key, "engine_public": console_key, "code": pairing_code(engine_key, console_key)},
    ]


# -- example frames for SPEC.md ----------------------------------------------------------


def example_frame(proto: schema.Protocol, msg_type: str) -> tuple[dict[str, Any], bytes]:
    """A message's "full" golden vector: (the decoded map, its canonical bytes)."""
    number = next(i for i, m in enumerate(proto.messages, start=1) if m.type == msg_type)
    full: dict[str, Any] = {"type": msg_type, "id": number}
    full.update({f.name: example_value(proto, f) for f in proto.by_type[msg_type].fields})
    return full, pack(full)


def annotate(frame: bytes) -> list[tuple[str, str]]:
    """The frame's bytes as (hex, what they are) rows, one per msgpack header or value, for
    a reader writing an encoder by hand. Covers the forms canonical encoding uses."""
    rows: list[tuple[str, str]] = []
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        chunk = frame[pos : pos + n]
        pos += n
        return chunk

    def item(label: str) -> None:
        head = take(1)
        b = head[0]
        if b <= 0x7F:
            rows.append((head.hex(), f"{label}positive fixint {b}"))
        elif 0x80 <= b <= 0x8F:
            rows.append((head.hex(), f"{label}fixmap, {b & 0x0F} entries"))
            for _ in range(b & 0x0F):
                item("key: ")
                key = rows[-1][1].rsplit(" ", 1)[-1]  # keys are short strings: the row ends with the text
                item(f"  {key} = ")
        elif 0x90 <= b <= 0x9F:
            rows.append((head.hex(), f"{label}fixarray, {b & 0x0F} items"))
            for i in range(b & 0x0F):
                item(f"  [{i}] = ")
        elif 0xA0 <= b <= 0xBF:
            text = take(b & 0x1F)
            rows.append((head.hex() + text.hex(), f"{label}fixstr ({b & 0x1F} bytes) {text.decode()}"))
        elif b in (0xC2, 0xC3):
            rows.append((head.hex(), f"{label}{'true' if b == 0xC3 else 'false'}"))
        elif b == 0xC4:
            n = take(1)
            data = take(n[0])
            rows.append((head.hex() + n.hex() + data.hex(), f"{label}bin 8 ({n[0]} bytes)"))
        elif b == 0xCB:
            data = take(8)
            rows.append((head.hex() + data.hex(), f"{label}float 64 {struct.unpack('>d', data)[0]!r}"))
        elif b in (0xCC, 0xCD, 0xCE):
            size = {0xCC: 1, 0xCD: 2, 0xCE: 4}[b]
            data = take(size)
            rows.append((head.hex() + data.hex(), f"{label}uint {8 * size} {int.from_bytes(data, 'big')}"))
        elif b == 0xD9:
            n = take(1)
            text = take(n[0])
            rows.append((head.hex() + n.hex() + text.hex(), f"{label}str 8 ({n[0]} bytes) {text.decode()}"))
        elif b >= 0xE0:
            rows.append((head.hex(), f"{label}negative fixint {b - 0x100}"))
        else:
            raise ValueError(f"annotate() does not cover msgpack type byte {b:#04x}")

    item("")
    if pos != len(frame):
        raise ValueError("annotate() left bytes over")
    return rows


def render(proto: schema.Protocol) -> str:
    from protocol.codegen import GENERATED_HEADER

    doc = {
        "generated": GENERATED_HEADER,
        "protocol": proto.version,
        "encoding": "msgpack map: type, id, then every field in declared order; floats as float64; "
        "smallest int and length forms; bytes as bin",
        "valid": valid_vectors(proto),
        "invalid": invalid_vectors(proto),
        "pairing_codes": pairing_vectors(proto),
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
