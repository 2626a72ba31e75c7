"""Render the Godot addon (``unity_bridge/godot/``) for Godot 4 and for Godot 3.

Two kinds of source go in:

- ``messages.gd`` is built here from the declaration: protocol version, limits, enums,
  one field table per struct and message (which the addon's codec validates against) and
  one constructor function per struct and message.
- Everything hand-written (msgpack, ZMTP with CURVE, the cryptography, the client state
  machine, the node) lives in ``unity_bridge/godot/templates/*.in``. A template is
  GDScript with two kinds of marks, so that both Godot versions come from the same text:

  - ``@@NAME@@`` is replaced by the Godot 4 or Godot 3 spelling (``_WORDS`` below);
  - lines ``#@ if godot4`` / ``#@ if godot3``, ``#@ else``, ``#@ end`` keep a block for
    one version only (for the few places where the APIs differ by more than a word).

- One block of ``nacl.gd`` is written here rather than by hand: the arithmetic modulo
  2^255 - 19 of X25519, unrolled (``@@FIELD_ARITHMETIC@@``, see :func:`field_arithmetic`).

``files(proto)`` returns every output, keyed by path; the registry in ``__init__`` makes
``vrclinic protocol check`` fail when any of them is stale.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from protocol import schema

REPO_DIR = Path(__file__).resolve().parent.parent.parent
GODOT_DIR = REPO_DIR / "unity_bridge" / "godot"
TEMPLATE_DIR = GODOT_DIR / "templates"
OUT_DIRS = {
    4: GODOT_DIR / "addons" / "vrclinic",
    3: GODOT_DIR / "godot3" / "addons" / "vrclinic",
}

# Files rendered from templates, in the order they appear in the addon.
TEMPLATES = (
    "plugin.cfg",
    "plugin.gd",
    "msgpack.gd",
    "codec.gd",
    "nacl.gd",
    "zmtp.gd",
    "keys.gd",
    "peer_clock.gd",
    "client.gd",
    "vrclinic_link.gd",
    "minimal_engine.gd",
)

_WORDS: dict[str, dict[int, str]] = {
    "REF": {4: "RefCounted", 3: "Reference"},
    "BYTES": {4: "PackedByteArray", 3: "PoolByteArray"},
    "TYPE_FLOAT": {4: "TYPE_FLOAT", 3: "TYPE_REAL"},
    "TYPE_BYTES": {4: "TYPE_PACKED_BYTE_ARRAY", 3: "TYPE_RAW_ARRAY"},
    "TOOL": {4: "@tool", 3: "tool"},
    "EXPORT": {4: "@export", 3: "export"},
    "TICKS_USEC": {4: "Time.get_ticks_usec()", 3: "OS.get_ticks_usec()"},
    "TO_UTF8": {4: "to_utf8_buffer", 3: "to_utf8"},
    "ARRAY_REMOVE_AT": {4: "remove_at", 3: "remove"},
    "GODOT_MAJOR": {4: "4", 3: "3"},
}
_TOKEN = re.compile(r"@@([A-Z0-9_]+)@@")
_DIRECTIVE = re.compile(r"^\s*#@\s*(if godot[34]|else|end)\s*$")


class TemplateError(ValueError):
    """A template uses an unknown word or has unbalanced ``#@`` blocks."""


def render_template(text: str, godot: int, where: str, extra: dict[str, str] | None = None) -> str:
    """Keep the blocks for ``godot`` (3 or 4) and replace every ``@@WORD@@``."""
    words = {name: spellings[godot] for name, spellings in _WORDS.items()}
    words.update(extra or {})
    out: list[str] = []
    stack: list[bool] = []  # per open block: is this branch kept?
    for number, line in enumerate(text.splitlines(), 1):
        match = _DIRECTIVE.match(line)
        if match:
            word = match.group(1)
            if word.startswith("if "):
                stack.append(word == f"if godot{godot}")
            elif not stack:
                raise TemplateError(f"{where}:{number}: #@ {word} without #@ if")
            elif word == "else":
                stack[-1] = not stack[-1]
            else:
                stack.pop()
            continue
        if not all(stack):
            continue

        def word_for(m: re.Match[str], number: int = number) -> str:
            if m.group(1) not in words:
                raise TemplateError(f"{where}:{number}: unknown template word @@{m.group(1)}@@")
            return words[m.group(1)]

        out.append(_TOKEN.sub(word_for, line))
    if stack:
        raise TemplateError(f"{where}: {len(stack)} #@ if block(s) not closed")
    return "\n".join(out) + "\n"


# -- messages.gd ----------------------------------------------------------------------


def _literal(value: Any) -> str:
    """A GDScript literal for a declaration value (numbers, text, bools, lists, None)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise schema.DeclarationError(f"{value!r} cannot be written in GDScript")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    raise schema.DeclarationError(f"no GDScript literal for {value!r}")


def _number(value: Any, kind: str) -> str:
    if value is None:
        return "null"
    return _literal(float(value) if kind == "float" else value)


def _type_literal(t: schema.TypeRef) -> str:
    if t.kind == "list":
        assert t.item is not None
        return '{"kind": "list", "item": ' + _type_literal(t.item) + "}"
    if t.kind in ("struct", "enum"):
        return f'{{"kind": "{t.kind}", "name": "{t.name}"}}'
    return f'{{"kind": "{t.kind}"}}'


def _default(f: schema.FieldSpec) -> str:
    if not f.optional:
        return "null"
    if f.type.kind == "float":
        return _literal(float(f.default))
    return _literal(f.default)


def _field_literal(f: schema.FieldSpec) -> str:
    number_kind = f.type.item.kind if f.type.kind == "list" and f.type.item else f.type.kind
    parts = [
        f'"name": "{f.name}"',
        f'"type": {_type_literal(f.type)}',
        f'"optional": {_literal(f.optional)}',
        f'"default": {_default(f)}',
        f'"min": {_number(f.min, number_kind)}',
        f'"max": {_number(f.max, number_kind)}',
        f'"max_len": {_literal(f.max_len)}',
        f'"len": {_literal(f.length)}',
    ]
    return "{" + ", ".join(parts) + "},"


_GD_TYPES = {"bool": "bool", "int": "int", "float": "float", "str": "String", "enum": "String"}


def _param(f: schema.FieldSpec, godot: int) -> str:
    if f.type.kind == "list":
        hint = "Array"
    elif f.type.kind == "struct":
        hint = "Dictionary"
    elif f.type.kind == "bytes":
        hint = _WORDS["BYTES"][godot]
    else:
        hint = _GD_TYPES[f.type.kind]
    text = f"p_{f.name}: {hint}"
    if f.optional:
        text += f" = {_default(f)}"
    return text


def _constructor(
    name: str, type_key: str | None, fields: tuple[schema.FieldSpec, ...], doc: str, godot: int
) -> list[str]:
    """A function returning the message (or struct) as a Dictionary in declared order.
    GDScript wants parameters with defaults last, so required fields come first."""
    ordered = [f for f in fields if not f.optional] + [f for f in fields if f.optional]
    params = ", ".join(_param(f, godot) for f in ordered)
    lines = [f"# {doc}", f"static func {name}({params}) -> Dictionary:"]
    body = [f'"type": "{type_key}"'] if type_key else []
    body += [f'"{f.name}": p_{f.name}' for f in fields]
    if body:
        lines.append("\treturn {")
        lines += [f"\t\t{entry}," for entry in body]
        lines.append("\t}")
    else:
        lines.append("\treturn {}")
    return lines


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def render_messages(proto: schema.Protocol, godot: int) -> str:
    from protocol.codegen import GENERATED_HEADER

    lim = proto.limits
    out = [
        f"# {GENERATED_HEADER}",
        f"# {proto.name} protocol {proto.version} for Godot {godot}: the message declaration as data",
        "# (the addon's codec validates every frame against these tables) and one constructor",
        "# per message and struct, returning the message as a Dictionary in canonical order.",
        f"extends {_WORDS['REF'][godot]}",
        "",
        f'const PROTOCOL_NAME = "{proto.name}"',
        f"const PROTOCOL_MAJOR = {proto.major}",
        f"const PROTOCOL_MINOR = {proto.minor}",
        f'const PROTOCOL_VERSION = "{proto.version}"',
        "",
        "# Limits (SPEC.md section 9), enforced before decoding allocates anything.",
        f"const MAX_FRAME_BYTES = {lim.max_frame_bytes}",
        f"const MAX_CONTROL_FRAME_BYTES = {lim.max_control_frame_bytes}",
        f"const MAX_JPEG_BYTES = {lim.max_jpeg_bytes}",
        f"const MAX_DEPTH = {lim.max_depth}",
        f"const MAX_STR_BYTES = {lim.max_str_bytes}",
        f"const MAX_LIST_LEN = {lim.max_list_len}",
        f"const MAX_MAP_LEN = {lim.max_map_len}",
        "",
        "# Enums travel as their string value.",
    ]
    for e in proto.enums:
        prefix = _snake(e.name).upper()
        out.append(f"# {e.description}")
        out += [f'const {prefix}_{v.upper()} = "{v}"' for v in e.values]
    out += ["", "const ENUMS = {"]
    out += [f'\t"{e.name}": {_literal(list(e.values))},' for e in proto.enums]
    out += ["}", "", "# Field tables: name, type, optional, default, min, max, max_len, len.", "const STRUCTS = {"]
    for s in proto.structs:
        out.append(f'\t"{s.name}": [')
        out += ["\t\t" + _field_literal(f) for f in s.fields]
        out.append("\t],")
    out += ["}", "", "const MESSAGES = {"]
    for m in proto.messages:
        out.append(f'\t"{m.type}": {{')
        out.append(f'\t\t"direction": "{m.direction}",')
        out.append('\t\t"fields": [')
        out += ["\t\t\t" + _field_literal(f) for f in m.fields]
        out.append("\t\t],")
        out.append("\t},")
    out += ["}", "", "", "# -- structs " + "-" * 70]
    for s in proto.structs:
        out += ["", *_constructor(_snake(s.name), None, s.fields, s.description, godot)]
    out += ["", "", "# -- messages " + "-" * 69]
    for m in proto.messages:
        doc = f"{m.description} ({m.direction.replace('_', ' ')})"
        out += ["", *_constructor(m.type, m.type, m.fields, doc, godot)]
    return "\n".join(out) + "\n"


# -- nacl.gd's field arithmetic --------------------------------------------------------
#
# X25519 works modulo p = 2^255 - 19. GDScript has one integer type, 64-bit signed, so a
# field element is 16 limbs of 16 bits (TweetNaCl's representation): a limb product is at
# most ~2^44 and a column of 16 of them, folded by 38 (2^256 = 38 mod p), stays far below
# 2^63. In GDScript a loop costs about as much as the arithmetic it runs, so the functions
# the Montgomery ladder spends its time in are written out here, without loops (about
# 3.5x faster in Godot 3 than the same sums in loops).
#
# Limb bounds (why nothing overflows): fe_mul/fe_sqr/fe_mul_a24 return limbs in [0, 2^16),
# limb 1 a little above after the last partial carry (limb 0's carry into it, as ref10
# does); fe_add/fe_sub of two such results are a few times 2^16 in magnitude; a column of
# 16 products of those, folded by 38, stays near 2^43. tests/unity_bridge/test_godot_curve.py
# runs this very code in Python and checks that the largest intermediate stays below 2^58.

LIMBS = 16
LIMB_BITS = 16
A24 = 121665  # (486662 - 2) / 4, the curve constant of the ladder's doubling (RFC 7748)


def _carry_lines(names: list[str]) -> list[str]:
    """One carry pass over ``names`` (limb variables), the top carry folded into limb 0 by
    38, then limb 0's carry into limb 1 once more."""
    lines = []
    for i, name in enumerate(names):
        if i < LIMBS - 1:
            lines.append(f"\t{names[i + 1]} += {name} >> {LIMB_BITS}")
        else:
            lines.append(f"\t{names[0]} += 38 * ({name} >> {LIMB_BITS})")
        lines.append(f"\t{name} &= 0xffff")
    lines.append(f"\t{names[1]} += {names[0]} >> {LIMB_BITS}")
    lines.append(f"\t{names[0]} &= 0xffff")
    return lines


def _columns(product: dict[int, list[str]]) -> list[str]:
    """Fold the 31 product columns into 16 limbs (r_k = t_k + 38 t_(k+16)) and carry."""
    lines = []
    for k in range(2 * LIMBS - 1):
        lines.append(f"\tvar t{k}: int = " + " + ".join(product[k]))
    names = [f"t{k}" for k in range(LIMBS)]
    for k in range(LIMBS - 1):
        lines.append(f"\tt{k} += 38 * t{k + LIMBS}")
    lines += _carry_lines(names)
    lines.append("\treturn [" + ", ".join(names) + "]")
    return lines


def _load(name: str, var: str) -> list[str]:
    return [f"\tvar {var}{i}: int = {name}[{i}]" for i in range(LIMBS)]


def field_arithmetic() -> str:
    """GDScript for nacl.gd: fe_add, fe_sub, fe_mul, fe_sqr, fe_mul_a24 and fe_cswap on
    16-limb field elements (Arrays of ints), without loops."""
    out = ["# (generated by protocol/codegen/gdscript.py: field_arithmetic)", ""]
    for name, op in (("fe_add", "+"), ("fe_sub", "-")):
        out.append(f"static func {name}(a: Array, b: Array) -> Array:")
        out.append("\treturn [" + ", ".join(f"a[{i}] {op} b[{i}]" for i in range(LIMBS)) + "]")
        out.append("")
        out.append("")
    out.append("static func fe_mul(a: Array, b: Array) -> Array:")
    out += _load("a", "a") + _load("b", "b")
    columns: dict[int, list[str]] = {k: [] for k in range(2 * LIMBS - 1)}
    for i in range(LIMBS):
        for j in range(LIMBS):
            columns[i + j].append(f"a{i} * b{j}")
    out += _columns(columns)
    out += ["", ""]
    out.append("static func fe_sqr(a: Array) -> Array:")
    out += _load("a", "a")
    out += [f"\tvar d{i}: int = a{i} << 1" for i in range(LIMBS)]
    columns = {k: [] for k in range(2 * LIMBS - 1)}
    for i in range(LIMBS):
        columns[2 * i].append(f"a{i} * a{i}")
        for j in range(i + 1, LIMBS):
            columns[i + j].append(f"d{i} * a{j}")
    out += _columns(columns)
    out += ["", ""]
    out.append(f"# a * {A24}")
    out.append("static func fe_mul_a24(a: Array) -> Array:")
    names = [f"t{i}" for i in range(LIMBS)]
    out += [f"\tvar t{i}: int = a[{i}] * {A24}" for i in range(LIMBS)]
    out += _carry_lines(names)
    out.append("\treturn [" + ", ".join(names) + "]")
    out += ["", ""]
    out.append("# Swap a and b in place when mask is -1, leave them when it is 0, by the same operations.")
    out.append("static func fe_cswap(a: Array, b: Array, mask: int) -> void:")
    out.append("\tvar t := 0")
    for i in range(LIMBS):
        out.append(f"\tt = mask & (a[{i}] ^ b[{i}])")
        out.append(f"\ta[{i}] ^= t")
        out.append(f"\tb[{i}] ^= t")
    return "\n".join(out)


# -- all outputs ----------------------------------------------------------------------


def files(proto: schema.Protocol) -> dict[Path, str]:
    """Every generated file of both addon variants, keyed by path."""
    from protocol.codegen import GENERATED_HEADER

    out: dict[Path, str] = {}
    arithmetic = field_arithmetic()
    for godot, folder in OUT_DIRS.items():
        for name in TEMPLATES:
            source = TEMPLATE_DIR / (name + ".in")
            comment = ";" if name.endswith(".cfg") else "#"
            origin = f"unity_bridge/godot/templates/{source.name}"
            note = f"Godot {godot} variant of {origin}: edit that, then regenerate."
            header = f"{comment} {GENERATED_HEADER}\n{comment} {note}"
            extra = {"HEADER": header, "PROTOCOL_VERSION": proto.version, "FIELD_ARITHMETIC": arithmetic}
            out[folder / name] = render_template(source.read_text(encoding="utf-8"), godot, str(source), extra)
        out[folder / "messages.gd"] = render_messages(proto, godot)
    return out
