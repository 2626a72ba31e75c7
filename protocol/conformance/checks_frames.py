"""The conformance checks of frames a client did not expect: malformed ones (each answered
with the right error, errors rate-limited, the link kept up) and those of a console of a newer
minor version (unknown fields and message types ignored, not refused).

Threads: a check runs entirely in the calling thread (see :mod:`protocol.conformance.harness`).
"""

from __future__ import annotations

from typing import Any

import msgpack

from protocol import codec, messages
from protocol.conformance.harness import LIMITS, PROTO, REPLY_S, Fail, Harness
from protocol.conformance.registry import _answers, _beat, _check, _close, _error, _fmt, _value_in
from protocol.timing import now

ERRORS_PER_S = 10  # SPEC §9.2: a bucket of 10, refilled at 10 a second
BURST_DONE_S = 1.0  # a client has read 60 garbage frames long before this


# Each check returns the reason it passed, or raises Fail with the reason it did not.


def _marker_frame(msg_id: int, **extra: Any) -> bytes:
    return msgpack.packb(
        {"type": "marker", "id": msg_id, "label": "conformance", "at": 0.0, **extra}, use_bin_type=True
    )


@_check(
    "malformed",
    "garbage, unknown types and fields, wrong, out-of-range and too long fields, too deep and too large frames → "
    "the right error, at most 10 a second; the link stays up",
)
def check_malformed(h: Harness) -> str:
    h.connect()
    h.allow_unattributed_errors = True
    route = h.route
    connected = len(h.frames)
    status_id = h.new_id()
    wrong_way = codec.encode(messages.SceneStatus(scene_id="x", state=messages.SceneState.RUNNING), status_id)
    deep: Any = [1]
    for _ in range(LIMITS.max_depth + 2):  # with the envelope map: max_depth + 4 levels
        deep = [deep]
    ids = {name: h.new_id() for name in ("unknown", "field", "type", "range", "long", "deep", "big", "error")}
    # Just over the control-message limit: a client's transport limit (e.g. ZMQ_MAXMSGSIZE) should
    # let it through so that the client can answer too_large; far bigger frames may be dropped.
    big = _marker_frame(ids["big"], note="x" * (LIMITS.max_control_frame_bytes + 16))
    label_max = next(f.max_len for f in PROTO.by_type["marker"].fields if f.name == "label")
    cases: list[tuple[str, bytes, str, int | None]] = [
        ("garbage bytes", b"\xc1 this is not msgpack \xff", "malformed", None),
        ("a msgpack array instead of a map", msgpack.packb([1, 2, 3]), "malformed", None),
        (
            "an unknown message type",
            msgpack.packb({"type": "conformance_teleport", "id": ids["unknown"]}),
            "unknown_type",
            ids["unknown"],
        ),
        (
            "a marker with a field protocol " + PROTO.version + " does not have",
            _marker_frame(ids["field"], colour="red"),
            "invalid_field",
            ids["field"],
        ),
        (
            "set_parameter with value 'loud'",
            msgpack.packb({"type": "set_parameter", "id": ids["type"], "name": "x", "value": "loud"}),
            "invalid_field",
            ids["type"],
        ),
        (
            "set_parameter with ramp_s -1 (its range is 0 … 600)",
            msgpack.packb({"type": "set_parameter", "id": ids["range"], "name": "x", "value": 1.0, "ramp_s": -1.0}),
            "out_of_range",
            ids["range"],
        ),
        (
            f"a marker label of {label_max + 1} bytes (its max_len is {label_max})",
            msgpack.packb({"type": "marker", "id": ids["long"], "label": "x" * (label_max + 1), "at": 0.0}),
            "too_large",
            ids["long"],
        ),
        ("scene_status (engine → console only)", wrong_way, "wrong_direction", status_id),
        (f"nesting {LIMITS.max_depth + 4} levels deep", _marker_frame(ids["deep"], note=deep), "too_deep", ids["deep"]),
        (f"a {len(big):,}-byte frame", big, "too_large", None),
    ]
    answered = []
    pace = 1.0 / ERRORS_PER_S  # one bad frame per refilled token: the rate limit must not hide an answer
    for what, frame, code, ref_id in cases:
        mark = len(h.frames)
        h.send_raw(frame, what, ref_id)
        sent_at = now()
        error_frame = h.wait_for(lambda f: f.type == "error", REPLY_S, mark)
        if error_frame is None:
            new_routes = {f.route for f in h.frames[mark:]} - {route}
            dropped = (
                " (its connection dropped and came back: a transport limit below the frame?)" if new_routes else ""
            )
            raise Fail(
                f"the client did not answer {what} with error {code} within {REPLY_S:g} s{dropped} (it sent: "
                f"{h.summary(mark)}); a receiver that cannot accept a frame answers with error and keeps the link "
                "up (SPEC §9)"
            )
        err = error_frame.message
        assert isinstance(err, messages.Error)
        h.note(f"{what}: error {err.code} ref {err.ref_type or '-'} id {err.ref_id} {err.text!r}")
        if err.code != code:
            raise Fail(f"the client answered {what} with error {err.code}, not {code} (SPEC §9.1)")
        if ref_id is not None and err.ref_id != ref_id:
            raise Fail(
                f"the error for {what} has ref_id {err.ref_id}, not {ref_id}; when the offending message's id can be "
                "read, the error carries it (SPEC §9)"
            )
        answered.append(code)
        h.pump(sent_at + pace)
    # An error the client cannot read is not answered: two peers would echo mistakes for ever.
    mark = len(h.frames)
    bad_error = msgpack.packb({"type": "error", "id": ids["error"], "code": "conformance_nonsense", "text": "x"})
    h.send_raw(bad_error, "an error with an unknown code", ids["error"])
    h.pump(now() + 0.5)
    echo = [f for f in h.of("error", mark) if _error(f).ref_id == ids["error"]]
    if echo:
        raise Fail(
            f"the client answered a broken error (code 'conformance_nonsense', id {ids['error']}) with error "
            f"{_error(echo[0]).code}; never answer an error with an error (SPEC §9.1)"
        )
    # A burst: at most ERRORS_PER_S answers at once, the rest dropped (not delayed).
    h.pump(now() + 1.0 + pace)  # a full bucket again
    burst, window = 60, 2.0
    mark = len(h.frames)
    for i in range(burst):
        h.send_raw(b"\xc1 burst %d" % i, "garbage (burst)")
    burst_at = now()
    h.pump(burst_at + window)
    errors = [f for f in h.of("error", mark) if _error(f).ref_id == -1]
    h.note(f"{burst} garbage frames at once: {len(errors)} errors in {window:g} s")
    if not errors:
        raise Fail(f"the client answered none of {burst} garbage frames sent at once; the first must get errors")
    # A bucket of ERRORS_PER_S refilled at ERRORS_PER_S a second: the k-th error cannot come
    # sooner than that allows (one of slack for timing), and none is held back for later.
    for k, frame in enumerate(errors, start=1):
        allowed = ERRORS_PER_S + ERRORS_PER_S * (frame.at - burst_at) + 1
        if k > allowed:
            raise Fail(
                f"the client answered {len(errors)} of {burst} garbage frames sent at once, {k} of them within "
                f"{(frame.at - burst_at) * 1000:.0f} ms; it must rate-limit its errors: {ERRORS_PER_S} at once, "
                f"{ERRORS_PER_S} a second after that, the rest dropped (SPEC §9.2)"
            )
    late = [f for f in errors if f.at > burst_at + BURST_DONE_S]
    if late:
        raise Fail(
            f"{len(late)} of the errors for {burst} garbage frames sent at once came more than "
            f"{BURST_DONE_S * 1000:.0f} ms after them; errors over the limit are dropped, not delayed (SPEC §9.2)"
        )
    # Still connected: same connection, no new hello, and our next heartbeat is echoed.
    mark = len(h.frames)
    first_seq = h.beat_seq
    echo_beat = h.wait_for(
        lambda f: f.type == "heartbeat" and f.route == route and _beat(f).echo_seq >= first_seq,
        max(REPLY_S, 5 * h.interval_s),
        mark,
    )
    moved = [f for f in h.frames[connected:] if f.route != route or f.type == "hello"]
    if moved:
        raise Fail(
            "after the bad frames the client reconnected (a new connection or hello); one bad message never "
            "ends a session (SPEC §9)"
        )
    if echo_beat is None:
        raise Fail(
            f"after the bad frames the client no longer echoes the console's heartbeats (it sent: {h.summary(mark)})"
        )
    return (
        f"answered every bad frame with the right error ({', '.join(answered)}), not the broken error, "
        f"{len(errors)} of {burst} garbage frames sent at once; still echoes heartbeats"
    )


@_check("newer_minor", "a console of a newer minor: unknown fields and message types are ignored, not refused")
def check_newer_minor(h: Harness) -> str:
    newer = PROTO.minor + 1
    h.connect(minor=newer)
    scene, p = h.stimulus()
    h.ensure_running(scene.id)
    current = {v.name: v.value for v in h.status.parameters} if h.status else {}
    target = _value_in(p, 0.25)
    if p.name in current and _close(current[p.name], target, p):
        target = _value_in(p, 0.75)
    req = h.new_id()
    body = msgpack.unpackb(codec.encode(messages.SetParameter(name=p.name, value=target), req))
    body.update(conformance_priority=3, conformance_note="a field of protocol " + f"{PROTO.major}.{newer}")
    mark = len(h.frames)
    h.send_raw(msgpack.packb(body, use_bin_type=True), "set_parameter with two newer fields", req, expect_error=False)
    answer = h.expect(
        lambda f: _answers(f, req),
        REPLY_S,
        f"set_parameter {p.name} = {_fmt(target)} with two fields of protocol {PROTO.major}.{newer} got no "
        f"parameter_applied with ref_id {req}; from a peer of a newer minor unknown fields are ignored (SPEC §3)",
        mark,
    )
    if answer.type == "error":
        raise Fail(
            f"the client refused a set_parameter from a console that announced protocol {PROTO.major}.{newer} "
            f"because of its newer fields ({_error(answer).code}: {_error(answer).text!r}); from a peer of a newer "
            "minor, unknown fields are ignored and the rest of the message is acted on (SPEC §3)"
        )
    unknown = h.new_id()
    mark = len(h.frames)
    h.send_raw(
        msgpack.packb({"type": "conformance_hologram", "id": unknown, "colour": "red"}),
        "a message type of a newer minor",
        unknown,
        expect_error=False,
    )
    h.pump(now() + 0.5)
    refused = [f for f in h.of("error", mark) if _error(f).ref_id == unknown]
    if refused:
        raise Fail(
            f"the client refused a message type it does not know from a console of protocol {PROTO.major}.{newer} "
            f"with error {_error(refused[0]).code}; from a newer minor it is ignored (SPEC §3)"
        )
    if not [f for f in h.of("heartbeat", mark)]:
        raise Fail("after the newer message type the client stopped sending heartbeats")
    return (
        f"with a console of protocol {PROTO.major}.{newer}: applied a set_parameter with two unknown fields, ignored "
        "an unknown message type, went on beating"
    )
