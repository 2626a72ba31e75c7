"""Property-based: whatever bytes arrive, the decoder raises ProtocolError or returns a message."""

from __future__ import annotations

import json
from pathlib import Path

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import codec

VALID = [
    bytes.fromhex(v["hex"])
    for v in json.loads((Path(codec.__file__).parent / "vectors" / "golden.json").read_text())["valid"]
]


def decode_or_refuse(frame: bytes, receiver: str) -> None:
    try:
        codec.decode(frame, receiver=receiver)
    except codec.ProtocolError as exc:
        assert exc.code in {e for e in codec.messages.ErrorCode}
        assert str(exc)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=512), st.sampled_from(["console", "engine"]))
def test_random_bytes(frame, receiver):
    decode_or_refuse(frame, receiver)


@st.composite
def mutated(draw):
    frame = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        pos = draw(st.integers(0, max(0, len(frame) - 1)))
        if op == "flip" and frame:
            frame[pos] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del frame[pos : pos + draw(st.integers(1, 8))]
        elif op == "insert":
            frame[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            frame[pos:pos] = frame[pos : pos + draw(st.integers(1, 16))]
    return bytes(frame)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.sampled_from(["console", "engine"]))
def test_mutated_valid_frames(frame, receiver):
    decode_or_refuse(frame, receiver)


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(codec.PROTO.by_type)), st.dictionaries(st.text(max_size=12), json_like, max_size=6))
def test_right_type_wrong_fields(msg_type, fields):
    frame = msgpack.packb({"type": msg_type, "id": 1, **fields}, use_bin_type=True)
    decode_or_refuse(frame, "console")
    decode_or_refuse(frame, "engine")
