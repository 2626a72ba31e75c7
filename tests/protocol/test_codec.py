"""The codec against the golden vectors and every kind of malformed input."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import msgpack
import pytest

from protocol import codec, messages, schema, security
from protocol.codec import ProtocolError
from protocol.codegen import spec_md, vectors

GOLDEN = json.loads((Path(codec.__file__).parent / "vectors" / "golden.json").read_text())
PROTO = schema.load()


def receiver_of(msg_type: str) -> str:
    """A role that may receive this message type."""
    return "console" if PROTO.by_type[msg_type].may_travel("engine") else "engine"


def from_json(value):
    if isinstance(value, dict) and set(value) == {"$hex"}:
        return bytes.fromhex(value["$hex"])
    if isinstance(value, dict):
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def to_plain(obj):
    """A decoded message as plain JSON-like data, to compare with the vector's value."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return [to_plain(v) for v in obj]
    if isinstance(obj, str):
        return str.__str__(obj)
    return obj


def test_every_message_type_has_golden_vectors():
    covered = {v["type"] for v in GOLDEN["valid"]}
    assert covered == set(PROTO.by_type)
    assert GOLDEN["protocol"] == PROTO.version


@pytest.mark.parametrize("vector", GOLDEN["valid"], ids=lambda v: v["name"])
def test_golden_vector_decodes_to_its_value_and_reencodes(vector):
    frame = bytes.fromhex(vector["hex"])
    received = codec.decode(frame, receiver=receiver_of(vector["type"]))
    assert received is not None
    expected = from_json(vector["value"])
    assert received.id == expected.pop("id")
    assert received.message.TYPE == expected.pop("type")
    assert to_plain(received.message) == expected
    if vector["reencode"]:
        assert codec.encode(received.message, received.id) == frame


@pytest.mark.parametrize("vector", GOLDEN["invalid"], ids=lambda v: v["name"])
def test_invalid_vector_is_refused_with_its_code(vector):
    with pytest.raises(ProtocolError) as caught:
        codec.decode(bytes.fromhex(vector["hex"]), receiver=vector["receiver"])
    assert caught.value.code == vector["error"]
    # The error message for the peer is itself a valid message.
    error = caught.value.as_error()
    assert codec.decode(codec.encode(error, 1), receiver="console").message == error


def test_errors_name_the_message_and_the_field_and_refer_to_the_id():
    frame = msgpack.packb({"type": "set_parameter", "id": 41, "name": "distance", "value": "far"})
    with pytest.raises(ProtocolError) as caught:
        codec.decode(frame, receiver="engine")
    err = caught.value
    assert (err.msg_type, err.field, err.ref_id) == ("set_parameter", "value", 41)
    assert str(err) == "set_parameter.value: expected a number, got 'far'"
    assert err.as_error().ref_type == "set_parameter"


def test_nested_field_errors_give_the_path():
    spec = vectors.example_struct(PROTO, "SceneSpec")
    spec["parameters"][0]["min"] = "low"
    frame = vectors.pack({"type": "scene_catalogue", "id": 3, "scenes": [spec]})
    with pytest.raises(ProtocolError, match=r"scene_catalogue\.scenes\[0\]\.parameters\[0\]\.min: expected a number"):
        codec.decode(frame, receiver="console")


def test_control_frame_over_one_mebibyte_is_refused_but_a_mirror_frame_is_not():
    big_note = {"type": "marker", "id": 1, "label": "x", "at": 1.0, "note": "n", "pad": b"\0" * (1 << 20)}
    with pytest.raises(ProtocolError) as caught:
        codec.decode(vectors.pack(big_note), receiver="console")
    assert caught.value.code == "too_large"
    frame = messages.MirrorFrame(seq=1, captured_at=0.0, width=10, height=10, jpeg=b"\xff" * (2 << 20))
    assert codec.decode(codec.encode(frame, 5), receiver="console").message == frame


def test_frame_over_the_absolute_limit_is_refused_before_decoding():
    frame = b"\x81" + b"\0" * codec.LIMITS.max_frame_bytes
    with pytest.raises(ProtocolError, match="exceeds the limit") as caught:
        codec.decode(frame, receiver="console")
    assert caught.value.code == "too_large"


def test_huge_length_claims_allocate_nothing():
    # A 4-billion-item array header in a 11-byte frame: refused at the header.
    with pytest.raises(ProtocolError) as caught:
        codec.decode(bytes.fromhex("81a474797065ddffffffff"), receiver="console")
    assert caught.value.code == "too_large"
    # Strings and maps likewise.
    for header in ("dbffffffff", "dfffffffff"):
        with pytest.raises(ProtocolError):
            codec.decode(bytes.fromhex("81a474797065" + header), receiver="console")


def test_unknown_fields_and_types_are_ignored_and_counted_only_from_a_newer_peer():
    frame = vectors.pack({"type": "marker", "id": 2, "label": "a", "at": 1.0, "colour": "red"})
    strict = codec.Decoder("console")
    strict.peer_minor = PROTO.minor
    with pytest.raises(ProtocolError, match="unknown field"):
        strict.decode(frame)
    newer = codec.Decoder("console")
    newer.peer_minor = PROTO.minor + 1
    received = newer.decode(frame)
    assert received is not None and received.message == messages.Marker(label="a", at=1.0)
    assert received.ignored_fields == ("colour",)
    assert newer.ignored_fields == 1
    unknown = vectors.pack({"type": "hologram", "id": 3})
    assert newer.decode(unknown) is None
    assert newer.ignored_types == 1
    with pytest.raises(ProtocolError) as caught:
        strict.decode(unknown)
    assert caught.value.code == "unknown_type"


def test_hello_from_a_newer_minor_with_new_fields_is_understood_before_the_handshake():
    fields = {f.name: vectors.example_value(PROTO, f) for f in PROTO.by_type["hello"].fields}
    fields.update(protocol_minor=PROTO.minor + 3, eye_tracking=True)
    decoder = codec.Decoder("console")
    received = decoder.decode(vectors.pack({"type": "hello", "id": 1, **fields}))
    assert received is not None and received.message.protocol_minor == PROTO.minor + 3
    same = dict(fields, protocol_minor=PROTO.minor)
    with pytest.raises(ProtocolError, match="eye_tracking"):
        codec.Decoder("console").decode(vectors.pack({"type": "hello", "id": 1, **same}))


def test_encode_refuses_what_the_peer_would_refuse():
    with pytest.raises(ProtocolError, match=r"set_parameter\.ramp_s: -2\.0 is below the minimum"):
        codec.encode(messages.SetParameter(name="x", value=1.0, ramp_s=-2.0), 1)
    with pytest.raises(ProtocolError, match=r"telemetry\.head_position: expected 3 items"):
        codec.encode(messages.Telemetry(at=0.0, head_position=[0.0], head_rotation=[0, 0, 0, 1], fps=1.0), 1)
    with pytest.raises(ProtocolError, match="not a finite number"):
        codec.encode(messages.SetParameter(name="x", value=float("inf")), 1)


def test_enums_decode_to_their_python_type_and_accept_plain_strings_on_encode():
    status = messages.SceneStatus(scene_id="calm", state="safe")
    decoded = codec.decode(codec.encode(status, 9), receiver="console").message
    assert decoded.state is messages.SceneState.SAFE


def test_wrong_direction_is_refused():
    frame = codec.encode(
        messages.Welcome(
            protocol_major=1,
            protocol_minor=0,
            console_name="c",
            session_id="s",
            heartbeat_interval_ms=100,
            watchdog_timeout_ms=500,
            sent_at=0.0,
            echo_sent_at=0.0,
            echo_received_at=0.0,
        ),
        1,
    )
    with pytest.raises(ProtocolError) as caught:
        codec.decode(frame, receiver="console")
    assert caught.value.code == "wrong_direction"
    assert codec.decode(frame, receiver="engine") is not None


def test_unknown_fields_inside_structs_are_caught_too():
    spec = vectors.example_struct(PROTO, "SceneSpec")
    spec["parameters"][0]["colour"] = "red"
    frame = vectors.pack({"type": "scene_catalogue", "id": 3, "scenes": [spec]})
    with pytest.raises(ProtocolError, match=r"scenes\[0\]\.parameters\[0\]: unknown field\(s\) colour"):
        codec.decode(frame, receiver="console")


# -- what SPEC.md promises about codes, limits and pairing (issue 12) ----------------------------


def test_the_error_example_uses_the_code_a_value_above_its_maximum_gets():
    """The spec's own error example said invalid_field where §7 and the suite say out_of_range."""
    example = next(v for v in GOLDEN["valid"] if v["name"] == "error/full")["value"]
    assert example["code"] == "out_of_range" and "above the maximum" in example["text"]
    frame = msgpack.packb({"type": "set_parameter", "id": 3, "name": "d", "value": 1.0, "ramp_s": 601.0})
    with pytest.raises(ProtocolError) as caught:
        codec.decode(frame, receiver="engine")
    assert caught.value.code == example["code"]
    assert str(caught.value) == "set_parameter.ramp_s: 601.0 is above the maximum 600.0"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"name": "d" * 65, "value": 1.0}, "too_large"),  # a field's max_len
        ({"name": "d", "value": 1.0, "ramp_s": -0.5}, "out_of_range"),  # a field's min
        ({"name": "d", "value": True}, "invalid_field"),  # wrong type
        ({"name": "d"}, "invalid_field"),  # missing
        ({"name": "d", "value": 1.0, "colour": "red"}, "invalid_field"),  # unknown, same minor
        ({"name": "d" * 65, "value": "far"}, "too_large"),  # two faults: the first declared field's
    ],
)
def test_each_kind_of_field_fault_gets_the_code_the_spec_gives(fields, code):
    with pytest.raises(ProtocolError) as caught:
        codec.decode(msgpack.packb({"type": "set_parameter", "id": 4, **fields}), receiver="engine")
    assert caught.value.code == code
    assert caught.value.code in SPEC_LIMIT_CODES


SPEC_TEXT = (Path(codec.__file__).parent / "SPEC.md").read_text()
SPEC_LIMIT_CODES = set(re.findall(r"`(\w+)`", SPEC_TEXT.split("### 9.3 Limits", 1)[1].split("###", 1)[0]))


def test_the_pairing_codes_in_the_vectors_are_what_the_security_module_computes():
    codes = GOLDEN["pairing_codes"]
    for vector in codes:
        assert security.pairing_code(vector["console_public"], vector["engine_public"]) == vector["code"]
        assert f"`{vector['code']}`" in SPEC_TEXT
    assert len({v["code"] for v in codes}) == len(codes), "the order of the keys changes the code"


def test_link_states_come_in_order_for_every_setting_a_welcome_allows():
    """1.0's stale (3 intervals) came after its lost (2 s) for intervals over 667 ms."""
    welcome = {f.name: f for f in PROTO.by_type["welcome"].fields}
    intervals = range(int(welcome["heartbeat_interval_ms"].min), int(welcome["heartbeat_interval_ms"].max) + 1, 7)
    for interval in [*intervals, int(welcome["heartbeat_interval_ms"].max)]:
        for watchdog in (int(welcome["watchdog_timeout_ms"].min), 3 * interval, 5 * interval, 10_000):
            t = spec_md.link_thresholds(interval, watchdog)
            assert t.stale_s <= t.watchdog_s < t.lost_s, (interval, watchdog, t)
            assert t.watchdog_s >= 3 * interval / 1000 - 1e-9
    defaults = spec_md.link_thresholds(100, 500)
    assert (defaults.stale_s, defaults.watchdog_s, defaults.lost_s) == pytest.approx((0.3, 0.5, 2.0))


def test_the_spec_does_not_render_with_an_error_code_it_does_not_explain():
    enums = tuple(
        dataclasses.replace(e, values=(*e.values, "teleported")) if e.name == "ErrorCode" else e for e in PROTO.enums
    )
    with pytest.raises(schema.DeclarationError, match=r"no row for ErrorCode value.*teleported"):
        spec_md.render(dataclasses.replace(PROTO, enums=enums))


def test_the_spec_shows_the_frames_an_engine_writes_first_from_the_vectors():
    flat = SPEC_TEXT.replace("\n", "")
    for msg_type in spec_md.ENGINE_FIRST:
        full = next(v for v in GOLDEN["valid"] if v["name"] == f"{msg_type}/full")
        assert full["hex"] in flat, msg_type
    rows = vectors.annotate(bytes.fromhex(next(v["hex"] for v in GOLDEN["valid"] if v["name"] == "hello/full")))
    assert "".join(h for h, _ in rows) == next(v["hex"] for v in GOLDEN["valid"] if v["name"] == "hello/full")
