"""Encode and decode protocol frames, validating every field against the declaration.

A frame is one ZeroMQ message part holding one msgpack map: ``type``, ``id`` and the
message's fields (see SPEC.md, "Envelope"). Anything a peer sends that does not fit the
declaration becomes a :class:`ProtocolError` naming the message, the field and the problem;
nothing else escapes :func:`decode`, whatever the bytes (a property-based test holds us to
that). Limits are enforced before msgpack allocates: the frame length first, then msgpack's
own per-object limits, so a header claiming a huge length is refused unread.

Pure functions and small per-peer objects; no threads, no sockets, no Qt. ``encode`` may be
called from any thread; a :class:`Decoder` belongs to the thread that owns the socket.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack

from protocol import messages, schema

PROTO = schema.load()
LIMITS = PROTO.limits

Check = Callable[[Any, str, "Context"], Any]


class ProtocolError(ValueError):
    """A frame or message that does not fit the protocol.

    ``code`` is an ErrorCode value; ``msg_type`` and ``field`` say where, ``problem`` what.
    ``ref_id`` is the offending message's envelope id when it could be read, else -1.
    """

    def __init__(self, code: str, problem: str, *, msg_type: str = "", field: str = "", ref_id: int = -1):
        self.code = code
        self.problem = problem
        self.msg_type = msg_type
        self.field = field
        self.ref_id = ref_id
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ".".join(part for part in (self.msg_type, self.field) if part)
        return f"{where}: {self.problem}" if where else self.problem

    def as_error(self) -> messages.Error:
        """The ``error`` message that tells the peer what was wrong with what it sent."""
        return messages.Error(
            code=messages.ErrorCode(self.code),
            text=_clip(str(self), 1024),
            ref_type=_clip(self.msg_type, 64),
            ref_id=self.ref_id if self.ref_id >= 0 else -1,  # the reply must always be sendable
        )


@dataclass(slots=True)  # not frozen: one is made per message, and frozen __init__ costs more
class Received:
    """A decoded message with its envelope id and the unknown fields it ignored."""

    id: int
    message: messages.Message
    ignored_fields: tuple[str, ...] = ()


@dataclass(slots=True)
class Context:
    """Per-decode state: whether unknown fields are tolerated, and which were seen."""

    lenient: bool
    ignored: list[str]


def _clip(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode("utf-8", "ignore") + "..."


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------------------------------
# Validators compiled from the declaration: one (decode, encode) pair per field.
# ---------------------------------------------------------------------------------------


def _bounds(spec: schema.FieldSpec, value: float, path: str) -> None:
    # A number outside its declared min..max is out_of_range, the code set_parameter uses
    # for a parameter's own range (SPEC §9, "Limits"): one code for "too small or too big".
    if spec.min is not None and value < spec.min:
        raise ProtocolError("out_of_range", f"{value!r} is below the minimum {spec.min!r}", field=path)
    if spec.max is not None and value > spec.max:
        raise ProtocolError("out_of_range", f"{value!r} is above the maximum {spec.max!r}", field=path)


def _compile_type(t: schema.TypeRef, spec: schema.FieldSpec, top: bool) -> tuple[Check, Check]:
    """Decoder and encoder for one type; ``spec`` supplies bounds (only at the top level)."""
    kind = t.kind
    bounded = top and (spec.min is not None or spec.max is not None)

    if kind == "bool":

        def dec_bool(v: Any, path: str, ctx: Context) -> bool:
            if type(v) is not bool:
                raise ProtocolError("invalid_field", f"expected true/false, got {_describe(v)}", field=path)
            return v

        return dec_bool, dec_bool

    if kind == "int":

        def dec_int(v: Any, path: str, ctx: Context) -> int:
            if type(v) is not int:
                raise ProtocolError("invalid_field", f"expected an integer, got {_describe(v)}", field=path)
            if bounded:
                _bounds(spec, v, path)
            return v

        return dec_int, dec_int

    if kind == "float":

        def dec_float(v: Any, path: str, ctx: Context) -> float:
            tv = type(v)
            if tv is not float and tv is not int:
                raise ProtocolError("invalid_field", f"expected a number, got {_describe(v)}", field=path)
            v = float(v)
            if not math.isfinite(v):
                raise ProtocolError("invalid_field", f"{v!r} is not a finite number", field=path)
            if bounded:
                _bounds(spec, v, path)
            return v

        return dec_float, dec_float

    if kind == "str":
        limit = min(spec.max_len or LIMITS.max_str_bytes, LIMITS.max_str_bytes) if top else LIMITS.max_str_bytes

        def dec_str(v: Any, path: str, ctx: Context) -> str:
            if type(v) is not str:
                raise ProtocolError("invalid_field", f"expected text, got {_describe(v)}", field=path)
            if len(v) * 4 > limit and len(v.encode("utf-8")) > limit:
                raise ProtocolError("too_large", f"text of {len(v.encode('utf-8'))} bytes exceeds {limit}", field=path)
            return v

        def enc_str(v: Any, path: str, ctx: Context) -> str:
            if isinstance(v, str) and type(v) is not str:
                v = str.__str__(v)  # a StrEnum handed to a str field
            return dec_str(v, path, ctx)

        return dec_str, enc_str

    if kind == "bytes":
        limit = spec.max_len or LIMITS.max_jpeg_bytes

        def dec_bytes(v: Any, path: str, ctx: Context) -> bytes:
            if type(v) is not bytes:
                raise ProtocolError("invalid_field", f"expected binary data, got {_describe(v)}", field=path)
            if len(v) > limit:
                raise ProtocolError("too_large", f"{len(v)} bytes exceed the limit of {limit}", field=path)
            return v

        def enc_bytes(v: Any, path: str, ctx: Context) -> bytes:
            if isinstance(v, (bytearray, memoryview)):
                v = bytes(v)
            return dec_bytes(v, path, ctx)

        return dec_bytes, enc_bytes

    if kind == "enum":
        enum_cls = messages.ENUM_TYPES[t.name]
        allowed = frozenset(t.values)

        def dec_enum(v: Any, path: str, ctx: Context) -> Any:
            if not isinstance(v, str) or v not in allowed:
                raise ProtocolError("invalid_field", f"{_describe(v)} is not one of {', '.join(t.values)}", field=path)
            return enum_cls(v)

        def enc_enum(v: Any, path: str, ctx: Context) -> str:
            return str.__str__(dec_enum(v, path, ctx))

        return dec_enum, enc_enum

    if kind == "list":
        assert t.item is not None
        item_dec, item_enc = _compile_type(t.item, spec, top=False)
        exact = spec.length if top else None
        longest = (spec.max_len if top and spec.max_len else None) or LIMITS.max_list_len
        item_bounded = t.item.kind in ("int", "float") and top and (spec.min is not None or spec.max is not None)

        def make(item: Check) -> Check:
            def run(v: Any, path: str, ctx: Context) -> list[Any]:
                if type(v) is not list:
                    if isinstance(v, tuple):
                        v = list(v)
                    else:
                        raise ProtocolError("invalid_field", f"expected a list, got {_describe(v)}", field=path)
                if exact is not None and len(v) != exact:
                    raise ProtocolError("invalid_field", f"expected {exact} items, got {len(v)}", field=path)
                if len(v) > longest:
                    raise ProtocolError("too_large", f"{len(v)} items exceed the limit of {longest}", field=path)
                out = []
                for i, x in enumerate(v):
                    x = item(x, f"{path}[{i}]", ctx)
                    if item_bounded:
                        _bounds(spec, x, f"{path}[{i}]")
                    out.append(x)
                return out

            return run

        return make(item_dec), make(item_enc)

    if kind == "struct":
        return _compile_struct(t.name)

    raise schema.DeclarationError(f"no validator for type kind {kind!r}")


_STRUCT_CACHE: dict[str, tuple[Check, Check]] = {}


_MISSING = object()
_FLOAT_MAX = 1.7976931348623157e308


def _fast_test(spec: schema.FieldSpec) -> str | None:
    """A Python expression on ``v`` that is True only for values the field accepts as they
    are; None when the field has no such shortcut. Anything else goes through the field's
    full checker, which converts (int -> float) or raises the precise error."""
    kind = spec.type.kind
    bounds = ""
    if kind in ("int", "float"):
        if spec.min is not None:
            bounds += f" and {spec.min!r} <= v"
        if spec.max is not None:
            bounds += f" and v <= {spec.max!r}"
    if kind == "bool":
        return "type(v) is bool"
    if kind == "int":
        return "type(v) is int" + bounds
    if kind == "float":
        return f"type(v) is float and -{_FLOAT_MAX!r} <= v <= {_FLOAT_MAX!r}" + bounds  # NaN fails too
    if kind == "str":
        limit = min(spec.max_len or LIMITS.max_str_bytes, LIMITS.max_str_bytes)
        return f"type(v) is str and len(v) <= {limit // 4}"  # 4 bytes per character at most
    return None


def _compile_fields(
    fields: tuple[schema.FieldSpec, ...], cls: type, label: str, envelope: bool
) -> tuple[Callable[[dict, str, Context], Any], Callable[[Any, str, Context], dict]]:
    """Decoder (dict -> instance of cls) and encoder (instance -> dict) for a field list;
    ``envelope`` when the dict also holds the message's type and id.

    Both are generated as straight-line Python (as dataclasses does for __init__): this
    runs for every message on the link and engine threads, where a loop of per-field
    calls cost more than the network round trip. Each field takes a shortcut when its
    value is plainly valid and falls back to the general checker otherwise, so errors
    and conversions are those of the checkers."""
    own_keys = len(schema.ENVELOPE_KEYS) if envelope else 0
    names = frozenset(f.name for f in fields)
    env: dict[str, Any] = {"cls": cls, "M": _MISSING, "names": names, "own_keys": own_keys}

    def extra_fields(raw: dict, prefix: str, ctx: Context) -> None:
        extra = [k for k in raw if k not in names and k not in schema.ENVELOPE_KEYS]
        if not extra:
            return
        if not ctx.lenient:
            raise ProtocolError(
                "invalid_field",
                f"unknown field(s) {', '.join(sorted(map(str, extra)))} (not in protocol {PROTO.version})",
                field=prefix.rstrip("."),
            )
        ctx.ignored.extend(prefix + str(k) for k in extra)

    def missing(prefix: str, name: str) -> ProtocolError:
        return ProtocolError("invalid_field", "required field is missing", field=prefix + name)

    def wrong_class(obj: Any, prefix: str) -> ProtocolError:
        return ProtocolError("invalid_field", f"expected a {label}, got {_describe(obj)}", field=prefix.rstrip("."))

    env.update(extra_fields=extra_fields, missing=missing, wrong_class=wrong_class)
    dec_lines = ["def decode_fields(raw, prefix, ctx):", "    get = raw.get", "    n = 0"]
    enc_lines = [
        "def encode_fields(obj, prefix, ctx):",
        "    if obj.__class__ is not cls and not isinstance(obj, cls):",
        "        raise wrong_class(obj, prefix)",
    ]
    for i, f in enumerate(fields):
        dec, enc = _compile_type(f.type, f, top=True)
        env[f"dec{i}"], env[f"enc{i}"] = dec, enc
        path = f"(prefix + {f.name!r} if prefix else {f.name!r})"
        test = _fast_test(f)
        dec_lines.append(f"    v = get({f.name!r}, M)")
        if f.optional:
            env[f"default{i}"] = f.default
            fresh = "[]" if f.type.kind == "list" else f"default{i}"
            if f.type.kind == "enum":
                env[f"default{i}"] = messages.ENUM_TYPES[f.type.name](f.default)
            elif f.type.kind == "float":
                env[f"default{i}"] = float(f.default)
            dec_lines += ["    if v is M:", f"        a{i} = {fresh}", "    else:"]
        else:
            dec_lines += ["    if v is M:", f"        raise missing(prefix, {f.name!r})", "    else:"]
        dec_lines.append("        n += 1")
        if f.type.kind == "enum":
            members = {v: messages.ENUM_TYPES[f.type.name](v) for v in f.type.values}
            env[f"members{i}"] = members
            dec_lines += [
                f"        a{i} = members{i}.get(v) if type(v) is str else None",
                f"        if a{i} is None:",
                f"            a{i} = dec{i}(v, {path}, ctx)",
            ]
            enc_lines += [
                f"    v = obj.{f.name}",
                f"    e{i} = v._value_ if v.__class__ is members{i}.__class__ else None",
                f"    if e{i} is None:",
                f"        e{i} = enc{i}(v, {path}, ctx)",
            ]
            env[f"members{i}"] = members
            continue
        if test:
            dec_lines += [f"        a{i} = v if {test} else dec{i}(v, {path}, ctx)"]
            enc_lines += [f"    v = obj.{f.name}", f"    e{i} = v if {test} else enc{i}(v, {path}, ctx)"]
        else:
            dec_lines.append(f"        a{i} = dec{i}(v, {path}, ctx)")
            enc_lines.append(f"    e{i} = enc{i}(obj.{f.name}, {path}, ctx)")
    dec_lines += [
        "    if len(raw) > n + own_keys:",
        "        extra_fields(raw, prefix, ctx)",
        "    return cls(" + ", ".join(f"{f.name}=a{i}" for i, f in enumerate(fields)) + ")",
    ]
    enc_lines.append("    return {" + ", ".join(f"{f.name!r}: e{i}" for i, f in enumerate(fields)) + "}")
    exec("\n".join(dec_lines) + "\n\n" + "\n".join(enc_lines), env)
    return env["decode_fields"], env["encode_fields"]


def _compile_struct(name: str) -> tuple[Check, Check]:
    if name in _STRUCT_CACHE:
        return _STRUCT_CACHE[name]
    spec = PROTO.struct(name)
    cls = messages.STRUCT_TYPES[name]
    decode_fields, encode_fields = _compile_fields(spec.fields, cls, name, envelope=False)

    def dec(v: Any, path: str, ctx: Context) -> Any:
        if type(v) is not dict:
            raise ProtocolError("invalid_field", f"expected a map ({name}), got {_describe(v)}", field=path)
        return decode_fields(v, path + ".", ctx)

    def enc(v: Any, path: str, ctx: Context) -> dict:
        return encode_fields(v, path + ".", ctx)

    _STRUCT_CACHE[name] = (dec, enc)
    return dec, enc


@dataclass(frozen=True, slots=True)
class _MessageCodec:
    spec: schema.MessageSpec
    decode_fields: Callable[[dict, str, Context], Any]
    encode_fields: Callable[[Any, str, Context], dict]


_local = threading.local()
# Strict checking never records anything in its context (unknown fields raise), so one
# shared instance serves every strict encode and decode, in any thread.
_STRICT = Context(lenient=False, ignored=[])
# Each message type's code is generated the first time the type is encoded or decoded:
# generating all of them took ~25 ms of every program's start (the console's first paint
# waits for it), and an engine uses a handful of types.
_SPECS = {spec.type: spec for spec in PROTO.messages}
_BY_TYPE: dict[str, _MessageCodec] = {}
_generating = threading.Lock()


def _generate(msg_type: str) -> _MessageCodec | None:
    """The codec of ``msg_type`` (None for a type the protocol does not have), generated on
    first use; any thread (the lock keeps two threads from generating one type twice)."""
    spec = _SPECS.get(msg_type)
    if spec is None:
        return None
    with _generating:
        codec = _BY_TYPE.get(msg_type)
        if codec is None:
            dec, enc = _compile_fields(spec.fields, messages.MESSAGE_TYPES[msg_type], msg_type, envelope=True)
            codec = _BY_TYPE[msg_type] = _MessageCodec(spec, dec, enc)
        return codec


_ACCEPTED_BY = {
    "console": frozenset(m.type for m in PROTO.messages if m.may_travel("engine")),
    "engine": frozenset(m.type for m in PROTO.messages if m.may_travel("console")),
}

# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


def encode(message: messages.Message, msg_id: int) -> bytes:
    """Validate ``message`` and return its canonical frame. Any thread.

    Raises ProtocolError when a field is out of its declared range or of the wrong type,
    so that a bug on our side is caught here rather than by the peer.
    """
    msg_type = getattr(message, "TYPE", "")
    codec = _BY_TYPE.get(msg_type) or _generate(msg_type)
    if codec is None:
        raise ProtocolError("unknown_type", f"{_describe(message)} is not a protocol message")
    try:
        body = codec.encode_fields(message, "", _STRICT)
    except ProtocolError as exc:
        exc.msg_type = codec.spec.type
        exc.args = (str(exc),)
        raise
    packer = getattr(_local, "packer", None)
    if packer is None:  # msgpack.packb builds a Packer (and its buffer) per call; keep one per thread
        packer = _local.packer = msgpack.Packer(use_bin_type=True)
    frame = packer.pack({"type": codec.spec.type, "id": msg_id, **body})
    limit = LIMITS.max_frame_bytes if codec.spec.type == "mirror_frame" else LIMITS.max_control_frame_bytes
    if len(frame) > limit:
        raise ProtocolError("too_large", f"frame of {len(frame)} bytes exceeds {limit}", msg_type=codec.spec.type)
    return frame


def _unpack(frame: bytes) -> Any:
    if len(frame) > LIMITS.max_frame_bytes:
        raise ProtocolError("too_large", f"frame of {len(frame)} bytes exceeds the limit of {LIMITS.max_frame_bytes}")
    if not frame:
        raise ProtocolError("malformed", "empty frame")
    try:
        return msgpack.unpackb(
            frame,
            raw=False,
            strict_map_key=True,
            use_list=True,
            max_str_len=LIMITS.max_str_bytes,
            max_bin_len=LIMITS.max_jpeg_bytes,
            max_array_len=LIMITS.max_list_len,
            max_map_len=LIMITS.max_map_len,
            max_ext_len=0,
        )
    except msgpack.ExtraData:
        raise ProtocolError("malformed", "extra bytes after the message map") from None
    except msgpack.exceptions.StackError:
        raise ProtocolError("too_deep", "nesting too deep to decode") from None
    except ValueError as exc:
        text = str(exc)
        if "exceeds max_" in text:
            raise ProtocolError("too_large", f"a length header is over the limit ({text})") from None
        if "incomplete" in text.lower():
            raise ProtocolError(
                "malformed", "frame ends early (truncated, or a length header claims more bytes than sent)"
            ) from None
        raise ProtocolError("malformed", f"not valid msgpack ({text})") from None
    except Exception as exc:  # msgpack raises several types on garbage; all mean the same here
        raise ProtocolError("malformed", f"not valid msgpack ({type(exc).__name__}: {exc})") from None


def _too_deep(obj: Any, limit: int) -> bool:
    """Breadth-first over containers only: a flat map (most messages) costs one pass."""
    level, depth = [obj], 1
    while True:
        deeper = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                kind = type(child)
                if kind is dict or kind is list:
                    deeper.append(child)
        if not deeper:
            return False
        depth += 1
        if depth > limit:
            return True
        level = deeper


def peek_envelope(frame: bytes) -> tuple[str, int]:
    """(type, id) of a frame as far as they can be read, else ("", -1). Never raises."""
    try:
        raw = _unpack(frame)
    except ProtocolError:
        return "", -1
    if type(raw) is not dict:
        return "", -1
    t, i = raw.get("type"), raw.get("id")
    return (t if type(t) is str else ""), (i if type(i) is int else -1)


def decode(frame: bytes, *, receiver: str, lenient: bool = False) -> Received | None:
    """Decode and validate one frame received by ``receiver`` ("console" or "engine").

    ``lenient`` is for a peer that announced a newer minor version: its unknown fields are
    ignored (listed in ``Received.ignored_fields``) and its unknown message types give None.
    Otherwise both are errors. Raises ProtocolError only.
    """
    if type(frame) is not bytes:
        frame = bytes(frame)
    raw = _unpack(frame)
    if type(raw) is not dict:
        raise ProtocolError("malformed", f"expected a map with type and id, got a msgpack {type(raw).__name__}")
    msg_type, msg_id = raw.get("type"), raw.get("id")
    if type(msg_type) is not str or not msg_type:
        ref_id = msg_id if type(msg_id) is int and msg_id >= 0 else -1  # error.ref_id is at least -1
        raise ProtocolError("malformed", "the map has no text 'type'", ref_id=ref_id)
    if type(msg_id) is not int or msg_id < 0:
        raise ProtocolError("malformed", "the map has no non-negative integer 'id'", msg_type=msg_type)
    if _too_deep(raw, LIMITS.max_depth):
        raise ProtocolError("too_deep", f"nesting deeper than {LIMITS.max_depth}", msg_type=msg_type, ref_id=msg_id)
    codec = _BY_TYPE.get(msg_type) or _generate(msg_type)
    if codec is None:
        if lenient:
            return None
        raise ProtocolError(
            "unknown_type", f"unknown message type (not in protocol {PROTO.version})", msg_type=msg_type, ref_id=msg_id
        )
    if msg_type != "mirror_frame" and len(frame) > LIMITS.max_control_frame_bytes:
        raise ProtocolError(
            "too_large",
            f"frame of {len(frame)} bytes exceeds the {LIMITS.max_control_frame_bytes}-byte limit for control messages",
            msg_type=msg_type,
            ref_id=msg_id,
        )
    if msg_type not in _ACCEPTED_BY[receiver]:
        raise ProtocolError(
            "wrong_direction",
            f"only {codec.spec.direction.replace('_', ' ')}; a {receiver} does not accept it",
            msg_type=msg_type,
            ref_id=msg_id,
        )
    ctx = Context(lenient=True, ignored=[]) if lenient else _STRICT
    try:
        message = codec.decode_fields(raw, "", ctx)
    except ProtocolError as exc:
        exc.msg_type, exc.ref_id = msg_type, msg_id
        exc.args = (str(exc),)
        raise
    return Received(msg_id, message, tuple(ctx.ignored) if lenient else ())


class Decoder:
    """Decodes frames from one peer, knowing that peer's announced protocol version.

    Owned by the thread that owns the socket. Counts what it ignored from a newer peer.
    """

    def __init__(self, receiver: str):
        self.receiver = receiver
        self._peer_minor: int | None = None
        self.lenient = False  # the peer announced a newer minor version
        self.ignored_fields = 0
        self.ignored_types = 0

    @property
    def peer_minor(self) -> int | None:
        return self._peer_minor

    @peer_minor.setter
    def peer_minor(self, minor: int | None) -> None:
        self._peer_minor = minor
        self.lenient = minor is not None and minor > PROTO.minor

    def decode(self, frame: bytes) -> Received | None:
        """Decode one frame from this peer. Raises ProtocolError only.

        Before the peer's version is known (``peer_minor`` is None) the frame is read
        leniently, so that a hello or welcome from a newer peer can still be understood
        (and a peer of another major refused with a reason); unknown fields are then only
        tolerated when that message itself announces a newer minor version.
        """
        if self._peer_minor is None:
            received = decode(frame, receiver=self.receiver, lenient=True)
            if received is None:
                msg_type, msg_id = peek_envelope(frame)
                raise ProtocolError("unknown_type", "unknown message type", msg_type=msg_type, ref_id=msg_id)
            major = getattr(received.message, "protocol_major", None)
            minor = getattr(received.message, "protocol_minor", 0)
            # A hello/welcome from another major (to be refused with a reason) or a newer
            # minor may carry fields we do not know; from anyone else that is an error.
            other_version = major is not None and (major != PROTO.major or minor > PROTO.minor)
            if received.ignored_fields and not other_version:
                raise ProtocolError(
                    "invalid_field",
                    f"unknown field(s) {', '.join(received.ignored_fields)} (not in protocol {PROTO.version})",
                    msg_type=received.message.TYPE,
                    ref_id=received.id,
                )
            self.ignored_fields += len(received.ignored_fields)
            return received
        received = decode(frame, receiver=self.receiver, lenient=self.lenient)
        if received is None:
            self.ignored_types += 1
        elif received.ignored_fields:
            self.ignored_fields += len(received.ignored_fields)
        return received
