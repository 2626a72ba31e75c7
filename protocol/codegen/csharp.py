"""Render the Unity package's generated C#: message types, their msgpack codec, the client's
typed events, and the golden vectors as test data (``unity_bridge/unity/``).

The C# encodes exactly like ``protocol.codec``: a map of ``type``, ``id``, then every field
in declared order; floats as float64, ints and lengths in msgpack's smallest form, ``str``
as UTF-8 strings, ``bytes`` as ``bin``. It checks what the Python codec checks (required
fields, types, bounds, lengths, enum values, unknown fields) with the same error codes.
The hand-written runtime it relies on (MsgPackWriter/Reader, Fields, Codec, EngineClient)
lives next to it in ``Runtime/Core``.

Unity ignores files without a ``.meta`` inside an immutable (git URL) package, so every
generated file and folder gets one, with a GUID derived from its path (stable across runs).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import msgpack

from protocol import schema
from protocol.codegen import vectors

PACKAGE_DIR = Path(__file__).resolve().parent.parent.parent / "unity_bridge" / "unity"
GENERATED_DIR = PACKAGE_DIR / "Runtime" / "Core" / "Generated"
TESTS_DIR = PACKAGE_DIR / "Tests" / "Runtime"

NAMESPACE = "Vrclinic.Protocol"
# Messages the engine client consumes itself (handshake, liveness, mirror flow control):
# they get no public event. Everything else an engine may receive is dispatched.
CLIENT_CONSUMED = frozenset({"welcome", "heartbeat", "mirror_ack"})
# Message groups that never travel on the encrypted link the EngineClient speaks: the pairing
# port's messages are handled by ConsoleKeyRequest (and console_key would clash with
# System.ConsoleKey in a file that says "using System").
OTHER_PORTS = frozenset({"pairing"})

# -- small helpers ---------------------------------------------------------------------


def pascal(snake: str) -> str:
    """``ramp_s`` -> ``RampS``."""
    return schema.camel(snake)  # C# keywords are lower case, so a PascalCase name never is one


def cs_string(text: str) -> str:
    """A C# string literal (ASCII only, so the file's encoding never matters)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif 32 <= code < 127:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def xml_doc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cs_double(value: float) -> str:
    text = repr(float(value))
    if "e" in text or "E" in text:
        return text + "d" if "." in text else text.replace("e", ".0e") + "d"
    return text if "." in text else text + ".0"


def cs_number(value: float | int, kind: str) -> str:
    """A bound or default as a C# literal of the field's kind (int fields are long)."""
    if kind == "int" and isinstance(value, int):
        return f"{value}L"
    return cs_double(float(value))


def meta_guid(path: Path) -> str:
    rel = path.relative_to(PACKAGE_DIR).as_posix()
    return hashlib.md5(f"vrclinic-unity:{rel}".encode()).hexdigest()


def script_meta(path: Path) -> str:
    return (
        f"fileFormatVersion: 2\nguid: {meta_guid(path)}\nMonoImporter:\n  externalObjects: {{}}\n"
        "  serializedVersion: 2\n  defaultReferences: []\n  executionOrder: 0\n  icon: {instanceID: 0}\n"
        "  userData: \n  assetBundleName: \n  assetBundleVariant: \n"
    )


def folder_meta(path: Path) -> str:
    return (
        f"fileFormatVersion: 2\nguid: {meta_guid(path)}\nfolderAsset: yes\nDefaultImporter:\n"
        "  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n"
    )


def header() -> list[str]:
    from protocol.codegen import GENERATED_HEADER

    return [f"// {GENERATED_HEADER}", "// Generator: protocol/codegen/csharp.py", ""]


# -- types -----------------------------------------------------------------------------


def cs_type(t: schema.TypeRef) -> str:
    if t.kind == "list":
        assert t.item is not None
        return f"List<{cs_type(t.item)}>"
    if t.kind in ("struct", "enum"):
        return t.name
    return {"bool": "bool", "int": "long", "float": "double", "str": "string", "bytes": "byte[]"}[t.kind]


def initial_value(f: schema.FieldSpec) -> str:
    """What a freshly constructed object holds: the default of an optional field, an empty
    value for a required text, list or struct (so nothing is ever null by accident)."""
    t = f.type
    if f.optional:
        if t.kind == "list":
            if f.default:
                raise schema.DeclarationError(f"{f.name}: only empty list defaults are supported")
            return f"new {cs_type(t)}()"
        if t.kind == "enum":
            return f"{t.name}.{pascal(f.default)}"
        if t.kind == "float":
            return cs_double(f.default)
        if t.kind == "int":
            return f"{int(f.default)}L"
        if t.kind == "bool":
            return "true" if f.default else "false"
        if t.kind == "str":
            return cs_string(f.default)
        if t.kind == "bytes":
            return "new byte[0]"
        raise schema.DeclarationError(f"{f.name}: no default for {t.spelled()}")
    if t.kind == "list":
        return f"new {cs_type(t)}()"
    if t.kind == "str":
        return '""'
    if t.kind == "bytes":
        return "new byte[0]"
    if t.kind == "struct":
        return f"new {t.name}()"
    return ""


def _members(fields: tuple[schema.FieldSpec, ...], owner: str) -> list[str]:
    lines = []
    for f in fields:
        prop = pascal(f.name)
        if prop == owner:
            raise schema.DeclarationError(f"{owner}.{f.name}: a C# member cannot be named like its class")
        unit = f" [{f.unit}]" if f.unit else ""
        lines.append(f"        /// <summary>{xml_doc(f.description + unit)}</summary>")
        init = initial_value(f)
        tail = f" = {init};" if init else ""
        lines.append(f"        public {cs_type(f.type)} {prop} {{ get; set; }}{tail}")
    return lines


def _direction(direction: str) -> str:
    return "Direction." + pascal(direction)


def render_messages(proto: schema.Protocol) -> str:
    lim = proto.limits
    out = [
        *header(),
        "using System;",
        "using System.Collections.Generic;",
        "",
        f"namespace {NAMESPACE}",
        "{",
        f"    /// <summary>The protocol this code speaks ({proto.name} {proto.version}).</summary>",
        "    public static class ProtocolVersion",
        "    {",
        f"        public const string Name = {cs_string(proto.name)};",
        f"        public const int Major = {proto.major};",
        f"        public const int Minor = {proto.minor};",
        f"        public const string Text = {cs_string(proto.version)};",
        "    }",
        "",
        "    /// <summary>Limits enforced before decoding allocates anything (SPEC.md, section 9).</summary>",
        "    public static class Limits",
        "    {",
        f"        public const int MaxFrameBytes = {lim.max_frame_bytes};",
        f"        public const int MaxControlFrameBytes = {lim.max_control_frame_bytes};",
        f"        public const int MaxJpegBytes = {lim.max_jpeg_bytes};",
        f"        public const int MaxDepth = {lim.max_depth};",
        f"        public const int MaxStrBytes = {lim.max_str_bytes};",
        f"        public const int MaxListLen = {lim.max_list_len};",
        f"        public const int MaxMapLen = {lim.max_map_len};",
        "    }",
        "",
        "    /// <summary>Who may send a message.</summary>",
        "    public enum Direction { " + ", ".join(pascal(d) for d in schema.DIRECTIONS) + " }",
        "",
    ]
    for e in proto.enums:
        out += [
            f"    /// <summary>{xml_doc(e.description)}</summary>",
            f"    public enum {e.name}",
            "    {",
        ]
        out += [f"        {pascal(v)}," for v in e.values]
        out += ["    }", ""]
    out += [
        "    /// <summary>Enum values as they travel on the wire (their snake_case names).</summary>",
        "    public static class EnumWire",
        "    {",
    ]
    for e in proto.enums:
        out += [
            f"        public static readonly string[] {e.name}Values = {{ "
            + ", ".join(cs_string(v) for v in e.values)
            + " };",
            "",
            f"        public static string ToWire({e.name} value)",
            "        {",
            "            switch (value)",
            "            {",
        ]
        out += [f"                case {e.name}.{pascal(v)}: return {cs_string(v)};" for v in e.values]
        out += [
            f'                default: throw new ArgumentOutOfRangeException("value", value, "not a {e.name}");',
            "            }",
            "        }",
            "",
            f"        public static bool TryParse(string wire, out {e.name} value)",
            "        {",
            "            switch (wire)",
            "            {",
        ]
        out += [f"                case {cs_string(v)}: value = {e.name}.{pascal(v)}; return true;" for v in e.values]
        out += [
            f"                default: value = default({e.name}); return false;",
            "            }",
            "        }",
            "",
        ]
    out[-1:] = ["    }", ""]
    for s in proto.structs:
        out += [f"    /// <summary>{xml_doc(s.description)}</summary>", f"    public sealed class {s.name}", "    {"]
        out += _members(s.fields, s.name)
        out += ["    }", ""]
    out += [
        '    /// <summary>Base of every message: <see cref="TypeName"/> is the wire type.</summary>',
        "    public abstract class ProtocolMessage",
        "    {",
        "        public abstract string TypeName { get; }",
        "        public abstract Direction Direction { get; }",
        "",
        "        public override string ToString() { return TypeName; }",
        "    }",
        "",
    ]
    for m in proto.messages:
        cls = m.class_name
        out += [
            f"    /// <summary>{xml_doc(m.description)} ({m.direction.replace('_', ' ')})</summary>",
            f"    public sealed class {cls} : ProtocolMessage",
            "    {",
            f"        public const string Type = {cs_string(m.type)};",
            "        public override string TypeName { get { return Type; } }",
            f"        public override Direction Direction {{ get {{ return {_direction(m.direction)}; }} }}",
        ]
        if m.fields:
            out.append("")
        out += _members(m.fields, cls)
        out += ["    }", ""]
    out += ["}", ""]
    return "\n".join(out)


# -- codec -----------------------------------------------------------------------------


class _Emitter:
    """Writes the decode and encode statements of one field (recursively for lists)."""

    def __init__(self, lim: schema.Limits):
        self.lim = lim
        self.counter = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def bounds(self, f: schema.FieldSpec, var: str, path: str, kind: str, indent: str) -> list[str]:
        lines = []
        if f.min is not None:
            lines.append(
                f"{indent}if ({var} < {cs_number(f.min, kind)}) throw Fields.BelowMin({path}, {var}, "
                f"{cs_string(repr(f.min))});"
            )
        if f.max is not None:
            lines.append(
                f"{indent}if ({var} > {cs_number(f.max, kind)}) throw Fields.AboveMax({path}, {var}, "
                f"{cs_string(repr(f.max))});"
            )
        return lines

    def str_limit(self, f: schema.FieldSpec, top: bool) -> int:
        if top:
            return min(f.max_len or self.lim.max_str_bytes, self.lim.max_str_bytes)
        return self.lim.max_str_bytes

    def decode(self, t: schema.TypeRef, f: schema.FieldSpec, top: bool, src: str, dst: str, path: str, ind: str):
        """Statements that read MsgValue ``src`` into the C# lvalue ``dst``."""
        k = t.kind
        if k == "bool":
            return [f"{ind}{dst} = Fields.Bool({src}, {path});"]
        if k in ("int", "float"):
            var = self.fresh("n")
            reader = "Int" if k == "int" else "Float"
            lines = [f"{ind}var {var} = Fields.{reader}({src}, {path});"]
            bounded = top or (f.min is not None or f.max is not None)
            if bounded:
                lines += self.bounds(f, var, path, k, ind)
            return [*lines, f"{ind}{dst} = {var};"]
        if k == "str":
            return [f"{ind}{dst} = Fields.Str({src}, {path}, {self.str_limit(f, top)});"]
        if k == "bytes":
            return [f"{ind}{dst} = Fields.Bytes({src}, {path}, {f.max_len or self.lim.max_jpeg_bytes});"]
        if k == "enum":
            var = self.fresh("e")
            return [
                f"{ind}{t.name} {var};",
                f"{ind}if ({src}.Kind != MsgKind.Str || !EnumWire.TryParse({src}.Str, out {var}))",
                f"{ind}    throw Fields.NotOneOf({src}, {path}, EnumWire.{t.name}Values);",
                f"{ind}{dst} = {var};",
            ]
        if k == "struct":
            return [f'{ind}{dst} = Decode{t.name}(Fields.Map({src}, {path}, {cs_string(t.name)}), {path} + ".", ctx);']
        if k == "list":
            assert t.item is not None
            exact = f.length if top else None
            longest = (f.max_len if top and f.max_len else None) or self.lim.max_list_len
            items, lst, i = self.fresh("items"), self.fresh("list"), self.fresh("i")
            item_path = f'{path} + "[" + {i} + "]"'
            item_field = f if (top and t.item.kind in ("int", "float")) else _unbounded(f)
            lines = [
                f"{ind}var {items} = Fields.List({src}, {path}, {exact if exact is not None else -1}, {longest});",
                f"{ind}var {lst} = new {cs_type(t)}({items}.Count);",
                f"{ind}for (int {i} = 0; {i} < {items}.Count; {i}++)",
                f"{ind}{{",
                f"{ind}    {cs_type(t.item)} item{i};",
            ]
            lines += self.decode(t.item, item_field, False, f"{items}[{i}]", f"item{i}", item_path, ind + "    ")
            lines += [f"{ind}    {lst}.Add(item{i});", f"{ind}}}", f"{ind}{dst} = {lst};"]
            return lines
        raise schema.DeclarationError(f"no C# decoder for {t.spelled()}")

    def encode(self, t: schema.TypeRef, f: schema.FieldSpec, top: bool, src: str, path: str, ind: str):
        """Statements that check C# value ``src`` and write it to ``w``."""
        k = t.kind
        if k == "bool":
            return [f"{ind}w.WriteBool({src});"]
        if k in ("int", "float"):
            lines = []
            if k == "float":
                lines.append(f"{ind}Fields.CheckFinite({src}, {path});")
            if top or (f.min is not None or f.max is not None):
                lines += self.bounds(f, src, path, k, ind)
            writer = "WriteInt" if k == "int" else "WriteFloat64"
            return [*lines, f"{ind}w.{writer}({src});"]
        if k == "str":
            return [f"{ind}w.WriteString(Fields.CheckStr({src}, {path}, {self.str_limit(f, top)}));"]
        if k == "bytes":
            return [f"{ind}w.WriteBinary(Fields.CheckBytes({src}, {path}, {f.max_len or self.lim.max_jpeg_bytes}));"]
        if k == "enum":
            return [f"{ind}w.WriteString(EnumWire.ToWire({src}));"]
        if k == "struct":
            return [f'{ind}Encode{t.name}(w, Fields.CheckNotNull({src}, {path}), {path} + ".");']
        if k == "list":
            assert t.item is not None
            exact = f.length if top else None
            longest = (f.max_len if top and f.max_len else None) or self.lim.max_list_len
            lst, i = self.fresh("list"), self.fresh("i")
            item_path = f'{path} + "[" + {i} + "]"'
            item_field = f if (top and t.item.kind in ("int", "float")) else _unbounded(f)
            lines = [
                f"{ind}var {lst} = Fields.CheckList({src}, {path}, {exact if exact is not None else -1}, {longest});",
                f"{ind}w.WriteArrayHeader({lst}.Count);",
                f"{ind}for (int {i} = 0; {i} < {lst}.Count; {i}++)",
                f"{ind}{{",
            ]
            lines += self.encode(t.item, item_field, False, f"{lst}[{i}]", item_path, ind + "    ")
            lines.append(f"{ind}}}")
            return lines
        raise schema.DeclarationError(f"no C# encoder for {t.spelled()}")


def _unbounded(f: schema.FieldSpec) -> schema.FieldSpec:
    return schema.FieldSpec(name=f.name, type=f.type, description=f.description)


def _path(prefix_var: str, name: str) -> str:
    return f"{prefix_var} + {cs_string(name)}"


def _codec_pair(em: _Emitter, name: str, cls: str, fields: tuple[schema.FieldSpec, ...], envelope: bool) -> list[str]:
    own = len(schema.ENVELOPE_KEYS) if envelope else 0
    known = ", ".join(cs_string(f.name) for f in fields)
    out = [
        f"        static readonly string[] Known{name} = {{ {known} }};",
        "",
        f"        static {cls} Decode{name}(MsgMap raw, string prefix, DecodeContext ctx)",
        "        {",
        f"            var m = new {cls}();",
    ]
    if fields:
        out += ["            int n = 0;", "            MsgValue v;"]
    for f in fields:
        path = _path("prefix", f.name)
        out.append(f"            if (raw.TryGet({cs_string(f.name)}, out v))")
        out.append("            {")
        out.append("                n++;")
        out += em.decode(f.type, f, True, "v", f"m.{pascal(f.name)}", path, "                ")
        out.append("            }")
        if not f.optional:
            out.append(f"            else throw Fields.Missing({path});")
    count = "n" if fields else "0"
    out += [
        f"            if (raw.Count > {count} + {own}) Fields.ExtraFields(raw, Known{name}, prefix, ctx);",
        "            return m;",
        "        }",
        "",
        f"        static void Encode{name}(MsgPackWriter w, {cls} m, string prefix)",
        "        {",
    ]
    if envelope:
        out.append("            // type and id were written by the caller, with a map header for both and the fields")
    else:
        out.append(f"            w.WriteMapHeader({len(fields)});")
    for f in fields:
        out.append(f"            w.WriteString({cs_string(f.name)});")
        out += em.encode(f.type, f, True, f"m.{pascal(f.name)}", _path("prefix", f.name), "            ")
    out += ["        }", ""]
    return out


def render_codec(proto: schema.Protocol) -> str:
    em = _Emitter(proto.limits)
    out = [
        *header(),
        "using System;",
        "using System.Collections.Generic;",
        "",
        f"namespace {NAMESPACE}",
        "{",
        "    /// <summary>Per-message field codecs; the envelope, limits and errors are in Codec.cs.</summary>",
        "    public static partial class Codec",
        "    {",
        "        /// <summary>The declared direction of a message type; false for a type this version",
        "        /// does not know.</summary>",
        "        public static bool TryGetDirection(string type, out Direction direction)",
        "        {",
        "            switch (type)",
        "            {",
    ]
    out += [
        f"                case {cs_string(m.type)}: direction = {_direction(m.direction)}; return true;"
        for m in proto.messages
    ]
    out += [
        "                default: direction = Direction.Both; return false;",
        "            }",
        "        }",
        "",
        "        /// <summary>Every message type of this protocol version, in declared order.</summary>",
        "        public static readonly string[] MessageTypes = { "
        + ", ".join(cs_string(m.type) for m in proto.messages)
        + " };",
        "",
        "        static ProtocolMessage DecodeBody(string type, MsgMap raw, DecodeContext ctx)",
        "        {",
        "            switch (type)",
        "            {",
    ]
    out += [
        f'                case {cs_string(m.type)}: return Decode{m.class_name}(raw, "", ctx);' for m in proto.messages
    ]
    out += [
        "                default: return null;",
        "            }",
        "        }",
        "",
        "        static int FieldCount(ProtocolMessage message)",
        "        {",
        "            switch (message.TypeName)",
        "            {",
    ]
    out += [f"                case {cs_string(m.type)}: return {len(m.fields)};" for m in proto.messages]
    out += [
        "                default:",
        '                    throw new ProtocolException(ErrorCode.UnknownType, "not a message of this protocol");',
        "            }",
        "        }",
        "",
        "        static void EncodeBody(MsgPackWriter w, ProtocolMessage message)",
        "        {",
        "            switch (message.TypeName)",
        "            {",
    ]
    out += [
        f'                case {cs_string(m.type)}: Encode{m.class_name}(w, ({m.class_name})message, ""); return;'
        for m in proto.messages
    ]
    out += [
        "                default:",
        '                    throw new ProtocolException(ErrorCode.UnknownType, "not a message of this protocol");',
        "            }",
        "        }",
        "",
    ]
    for s in proto.structs:
        out += _codec_pair(em, s.name, s.name, s.fields, envelope=False)
    for m in proto.messages:
        out += _codec_pair(em, m.class_name, m.class_name, m.fields, envelope=True)
    out[-1:] = ["    }", "}", ""]
    return "\n".join(out)


# -- the client's typed events -----------------------------------------------------------


def render_dispatch(proto: schema.Protocol) -> str:
    receivable = [
        m
        for m in proto.messages
        if m.may_travel("console") and m.type not in CLIENT_CONSUMED and m.group not in OTHER_PORTS
    ]
    out = [
        *header(),
        "using System;",
        f"using {NAMESPACE};",
        "",
        "namespace Vrclinic.Bridge",
        "{",
        "    public sealed partial class EngineClient",
        "    {",
    ]
    for m in receivable:
        out += [
            f"        /// <summary>A <c>{m.type}</c> arrived: {xml_doc(m.description)}",
            "        /// Arguments: the message, its envelope id.</summary>",
            f"        public event Action<{m.class_name}, long> {m.class_name}Received;",
        ]
    out += [
        "",
        "        void DispatchTyped(ProtocolMessage message, long id)",
        "        {",
        "            switch (message.TypeName)",
        "            {",
    ]
    for m in receivable:
        out.append(
            f"                case {m.class_name}.Type: "
            f"Invoke({m.class_name}Received, ({m.class_name})message, id); break;"
        )
    out += ["            }", "        }", "    }", "}", ""]
    return "\n".join(out)


# -- golden vectors as test data ---------------------------------------------------------


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$hex"}:
        return bytes.fromhex(value["$hex"])
    if isinstance(value, dict):
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def render_vectors(proto: schema.Protocol) -> str:
    """The golden vectors of ``protocol/vectors/golden.json`` (the very same document, parsed)
    as C# data, plus each valid vector's canonical encoding (its decoded value packed in
    declared order), so a test can check decoded values byte for byte without a JSON reader."""
    doc = json.loads(vectors.render(proto))
    out = [
        *header(),
        "namespace Vrclinic.Bridge.Tests",
        "{",
        "    public sealed class ValidVector",
        "    {",
        "        public string Name, Type, Receiver, Hex, CanonicalHex;",
        "        public bool Reencode;",
        "",
        "        public override string ToString() { return Name; }",
        "    }",
        "",
        "    public sealed class InvalidVector",
        "    {",
        "        public string Name, Receiver, Hex, Error, Note;",
        "",
        "        public override string ToString() { return Name; }",
        "    }",
        "",
        "    public sealed class PairingVector",
        "    {",
        "        public string ConsolePublic, EnginePublic, Code;",
        "",
        "        public override string ToString() { return Code; }",
        "    }",
        "",
        "    /// <summary>protocol/vectors/golden.json as data. CanonicalHex: the vector's decoded value",
        "    /// (defaults filled in) encoded canonically; equal to Hex for full vectors.</summary>",
        "    public static class GoldenVectors",
        "    {",
        f"        public const string Protocol = {cs_string(doc['protocol'])};",
        "",
        "        public static readonly ValidVector[] Valid =",
        "        {",
    ]
    for v in doc["valid"]:
        receiver = "console" if proto.by_type[v["type"]].may_travel("engine") else "engine"
        canonical = msgpack.packb(_from_json(v["value"]), use_bin_type=True).hex()
        out += [
            "            new ValidVector",
            "            {",
            f"                Name = {cs_string(v['name'])}, Type = {cs_string(v['type'])}, "
            f"Receiver = {cs_string(receiver)}, Reencode = {'true' if v['reencode'] else 'false'},",
            f"                Hex = {cs_string(v['hex'])},",
            f"                CanonicalHex = {cs_string(canonical)},",
            "            },",
        ]
    out += ["        };", "", "        public static readonly InvalidVector[] Invalid =", "        {"]
    for v in doc["invalid"]:
        out += [
            "            new InvalidVector",
            "            {",
            f"                Name = {cs_string(v['name'])}, Receiver = {cs_string(v['receiver'])}, "
            f"Error = {cs_string(v['error'])},",
            f"                Hex = {cs_string(v['hex'])},",
            f"                Note = {cs_string(v['note'])},",
            "            },",
        ]
    out += ["        };", "", "        public static readonly PairingVector[] PairingCodes =", "        {"]
    for v in doc.get("pairing_codes", []):
        out.append(
            f"            new PairingVector {{ ConsolePublic = {cs_string(v['console_public'])}, "
            f"EnginePublic = {cs_string(v['engine_public'])}, Code = {cs_string(v['code'])} }},"
        )
    out += ["        };", "    }", "}", ""]
    return "\n".join(out)


def files(proto: schema.Protocol) -> dict[Path, str]:
    """Every generated file of the Unity package, keyed by path (with its .meta)."""
    sources = {
        GENERATED_DIR / "Messages.g.cs": render_messages(proto),
        GENERATED_DIR / "Codec.g.cs": render_codec(proto),
        GENERATED_DIR / "EngineClient.Events.g.cs": render_dispatch(proto),
        TESTS_DIR / "GoldenVectors.g.cs": render_vectors(proto),
    }
    out: dict[Path, str] = {GENERATED_DIR.with_name("Generated.meta"): folder_meta(GENERATED_DIR)}
    for path, text in sources.items():
        out[path] = text
        out[path.with_name(path.name + ".meta")] = script_meta(path)
    return out
