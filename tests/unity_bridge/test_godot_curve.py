"""The Godot addon's CURVE cryptography (nacl.gd, keys.gd: X25519, HSalsa20, XSalsa20,
Poly1305, crypto_box, Z85, the pairing code), written in GDScript because neither Godot 3
nor Godot 4 has these primitives, against libsodium's answers: PyNaCl (libsodium's Python
binding, in the dev extra for exactly this) and pyzmq (libzmq's own key functions).

The known-answer tests run the generated Godot 3 addon in headless Godot 3 once for the
module (nacl_check.gd in the test project) on inputs made here, mostly random, and compare
every answer. The generated field arithmetic is also run here in Python, operation for
operation, to show that no intermediate value comes near GDScript's 64-bit limit (an
overflow there would wrap silently). The handshake itself, with libzmq's CURVE server, is
in test_godot_interop.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nacl.bindings as sodium
import pytest
import zmq
from zmq.utils import z85

from protocol import security
from protocol.codegen import gdscript

GODOT = shutil.which("godot3-server")
PROJECT = Path(__file__).resolve().parents[2] / "unity_bridge" / "godot" / "godot3_test_project"
P25519 = 2**255 - 19

needs_godot = pytest.mark.skipif(
    GODOT is None,
    reason="godot3-server (Debian package godot3-server, headless Godot 3) is not installed: "
    "the GDScript cryptography cannot be run (packaging/system-deps.sh, run by `make test`, installs it)",
)


def _x25519_cases() -> list[tuple[bytes, bytes]]:
    """Scalars and u-coordinates: random public keys, the base point, and the inputs
    RFC 7748 says to accept as they are: the top bit set, u >= p (not reduced)."""
    cases = [(os.urandom(32), sodium.crypto_scalarmult_base(os.urandom(32))) for _ in range(6)]
    cases.append((os.urandom(32), (9).to_bytes(32, "little")))
    cases.append((b"\xff" * 32, sodium.crypto_scalarmult_base(os.urandom(32))))
    top = bytearray(sodium.crypto_scalarmult_base(os.urandom(32)))
    top[31] |= 0x80
    cases.append((os.urandom(32), bytes(top)))
    for u in (P25519 + 9, 2**255 - 1 - 2**200):
        cases.append((os.urandom(32), u.to_bytes(32, "little")))
    return cases


def _x25519_expected(n: bytes, p: bytes) -> str:
    return sodium.crypto_scalarmult(n, p).hex()


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """(what the Godot 3 runtime answered, what libsodium answers), by operation."""
    if GODOT is None:
        pytest.skip("no godot3-server")
    folder = tmp_path_factory.mktemp("nacl")
    cases: dict[str, Any] = {}
    expected: dict[str, list[Any]] = {}

    def add(op: str, case: dict[str, Any], answer: Any) -> None:
        cases.setdefault(op, []).append(case)
        expected.setdefault(op, []).append(answer)

    for n, p in _x25519_cases():
        add("x25519", {"n": n.hex(), "p": p.hex()}, _x25519_expected(n, p))
    for _ in range(3):
        public, secret = zmq.curve_keypair()
        add("public", {"secret": secret.decode()}, public.decode())
    n, p = os.urandom(32), sodium.crypto_scalarmult_base(os.urandom(32))
    add("x25519_job", {"n": n.hex(), "p": p.hex()}, _x25519_expected(n, p))
    for _ in range(3):
        pk, sk = sodium.crypto_scalarmult_base(os.urandom(32)), os.urandom(32)
        add("beforenm", {"pk": pk.hex(), "sk": sk.hex()}, sodium.crypto_box_beforenm(pk, sk).hex())
    # Every length around the 16-byte Poly1305 blocks and the 64-byte Salsa20 blocks (the
    # first block's last 32 bytes, then whole ones).
    for size in (0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 96, 97, 100, 1000, 4097):
        m, n24, k = os.urandom(size), os.urandom(24), os.urandom(32)
        add("secretbox", {"m": m.hex(), "n": n24.hex(), "k": k.hex()}, sodium.crypto_secretbox(m, n24, k).hex())
    for size in (0, 40_000):
        m, n24, k = os.urandom(size), os.urandom(24), os.urandom(32)
        add("seal_job", {"m": m.hex(), "n": n24.hex(), "k": k.hex()}, sodium.crypto_secretbox(m, n24, k).hex())
    m, n24, k = os.urandom(200), os.urandom(24), os.urandom(32)
    boxed = sodium.crypto_secretbox(m, n24, k)
    add("secretbox_open", {"c": boxed.hex(), "n": n24.hex(), "k": k.hex()}, m.hex())
    for where in (0, 15, 16, 150):  # the tag's first and last byte, the ciphertext's
        bad = bytearray(boxed)
        bad[where] ^= 0x01
        add("secretbox_open", {"c": bytes(bad).hex(), "n": n24.hex(), "k": k.hex()}, "")
    add("secretbox_open", {"c": boxed.hex(), "n": n24.hex(), "k": os.urandom(32).hex()}, "")  # another key
    add("secretbox_open", {"c": boxed[:15].hex(), "n": n24.hex(), "k": k.hex()}, "")  # shorter than a tag
    for size in (64, 300):
        m, n24 = os.urandom(size), os.urandom(24)
        pk, sk = sodium.crypto_scalarmult_base(os.urandom(32)), os.urandom(32)
        add(
            "box",
            {"m": m.hex(), "n": n24.hex(), "pk": pk.hex(), "sk": sk.hex()},
            sodium.crypto_box(m, n24, pk, sk).hex(),
        )
        # ... and Godot opens what libsodium boxed (the other side's keys).
        other_pk, other_sk = sodium.crypto_box_keypair()
        made = sodium.crypto_box(m, n24, other_pk, sk)
        pk_of_sk = sodium.crypto_scalarmult_base(sk)
        add("box_open", {"c": made.hex(), "n": n24.hex(), "pk": pk_of_sk.hex(), "sk": other_sk.hex()}, m.hex())
    # RFC 8439, 2.5.2: Poly1305 on its own.
    add(
        "poly1305",
        {
            "m": b"Cryptographic Forum Research Group".hex(),
            "k": "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b",
        },
        "a8061dc1305136c6c22b8baf0c0127a9",
    )
    for _ in range(3):
        public, _secret = zmq.curve_keypair()
        add("z85_decode", {"text": public.decode()}, z85.decode(public).hex())
        raw = os.urandom(32)
        add("z85_encode", {"hex": raw.hex()}, z85.encode(raw).decode())
    for text in ("abcd", "0000~", "#####"):  # not a multiple of 5; outside the alphabet; over 2^32 - 1
        add("z85_decode", {"text": text}, None)
    for _ in range(3):
        console, engine = security.KeyPair.generate().public, security.KeyPair.generate().public
        add("pairing_code", {"console": console, "engine": engine}, security.pairing_code(console, engine))
    cases["bench"] = {"repeat": 3, "sizes": [60, 100_000]}

    project = folder / "project"
    shutil.copytree(PROJECT, project, symlinks=False)
    (folder / "in.json").write_text(json.dumps(cases))
    home = folder / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home),
        "LANG": "C.UTF-8",
    }
    run = subprocess.run(
        [
            GODOT,
            "--path",
            str(project),
            "-s",
            "res://nacl_check.gd",
            "--",
            "--cases",
            str(folder / "in.json"),
            "--out",
            str(folder / "out.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and "SCRIPT ERROR" not in run.stdout + run.stderr, run.stdout + run.stderr
    return json.loads((folder / "out.json").read_text()), expected


def _compare(answers, op: str) -> None:
    got, expected = answers
    assert len(got[op]) == len(expected[op])
    wrong = [(i, g, e) for i, (g, e) in enumerate(zip(got[op], expected[op], strict=True)) if (g or "") != (e or "")]
    assert not wrong, f"{op}: {len(wrong)} of {len(expected[op])} differ from libsodium, first: {wrong[0]}"


@needs_godot
@pytest.mark.slow
@pytest.mark.parametrize(
    "op",
    [
        "x25519",
        "public",
        "beforenm",
        "secretbox",
        "secretbox_open",
        "box",
        "box_open",
        "poly1305",
        "z85_decode",
        "z85_encode",
        "pairing_code",
    ],
)
def test_gdscript_matches_libsodium(answers, op):
    _compare(answers, op)


@needs_godot
@pytest.mark.slow
def test_x25519_in_slices_gives_the_same_key(answers):
    """The handshake runs X25519 a slice per frame (1 ms here): same answer, many slices,
    and no slice much longer than asked."""
    got, expected = answers
    job = got["x25519_job"][0]
    assert job["result"] == expected["x25519_job"][0]
    assert job["slices"] >= 5, job
    assert job["median_slice_usec"] < 3000, job


@needs_godot
@pytest.mark.slow
def test_a_big_message_sealed_in_slices_is_libsodiums_box(answers):
    """send_later's sealing in slices (1 ms here) gives crypto_secretbox's bytes exactly."""
    got, expected = answers
    assert [g["result"] for g in got["seal_job"]] == expected["seal_job"]
    assert got["seal_job"][0]["slices"] == 1  # the empty message
    assert got["seal_job"][1]["slices"] >= 5, got["seal_job"][1]["slices"]  # 40 kB: ~40 ms of work


@needs_godot
@pytest.mark.slow
def test_a_heartbeat_costs_little_to_seal_and_open(answers):
    """A 10 Hz heartbeat (~60 bytes) must not eat the frame: sealing and opening one takes
    about 0.1 ms in Godot 3 here; the bound is 20 times that."""
    bench = answers[0]["bench"]
    assert bench["seal_60_usec"] + bench["open_60_usec"] < 5000, bench
    print("\nGodot 3 cryptography costs (microseconds, median of 3):", json.dumps(bench, sort_keys=True))


# -- the field arithmetic, run in Python ---------------------------------------------------

_INT64 = 2**63


def _field_module() -> tuple[dict[str, Any], list[int]]:
    """nacl.gd's generated field functions, translated line by line to Python (the same
    operations on unbounded ints), each assignment followed by a record of its magnitude."""
    largest = [0]

    def seen(value: int) -> None:
        largest[0] = max(largest[0], abs(value))

    lines = []
    for line in gdscript.field_arithmetic().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("static func"):
            head = re.match(r"static func (\w+)\((.*)\) -> \w+:", line)
            assert head, line
            params = ", ".join(p.split(":")[0].strip() for p in head.group(2).split(","))
            lines.append(f"def {head.group(1)}({params}):")
            continue
        body = line.strip()
        body = re.sub(r"^var (\w+)(: int)? :?= ", r"\1 = ", body)
        lines.append("\t" + body)
        target = re.match(r"^([\w\[\]]+) ?[-+&^|]?= ", body)
        if target:
            lines.append(f"\t_seen({target.group(1)})")
    namespace: dict[str, Any] = {"_seen": seen}
    exec("\n".join(lines), namespace)  # the generated GDScript subset is valid Python once retyped
    return namespace, largest


def _ladder(fe: dict[str, Any], n: bytes, u: bytes) -> int:
    """X25519 as nacl.gd's job does it (same steps, same functions), returning the value."""
    k = bytearray(n)
    k[0] &= 248
    k[31] = (k[31] & 127) | 64
    x1 = [u[2 * i] | (u[2 * i + 1] << 8) for i in range(16)]
    x1[15] &= 0x7FFF
    x2, z2, x3, z3 = [1] + [0] * 15, [0] * 16, list(x1), [1] + [0] * 15
    swap = 0
    for t in range(254, -1, -1):
        bit = (k[t >> 3] >> (t & 7)) & 1
        swap ^= bit
        fe["fe_cswap"](x2, x3, -swap)
        fe["fe_cswap"](z2, z3, -swap)
        swap = bit
        a, b = fe["fe_add"](x2, z2), fe["fe_sub"](x2, z2)
        aa, bb = fe["fe_sqr"](a), fe["fe_sqr"](b)
        e = fe["fe_sub"](aa, bb)
        c, d = fe["fe_add"](x3, z3), fe["fe_sub"](x3, z3)
        da, cb = fe["fe_mul"](d, a), fe["fe_mul"](c, b)
        x3 = fe["fe_sqr"](fe["fe_add"](da, cb))
        z3 = fe["fe_mul"](x1, fe["fe_sqr"](fe["fe_sub"](da, cb)))
        x2 = fe["fe_mul"](aa, bb)
        z2 = fe["fe_mul"](e, fe["fe_add"](aa, fe["fe_mul_a24"](e)))
    fe["fe_cswap"](x2, x3, -swap)
    fe["fe_cswap"](z2, z3, -swap)
    # The inversion chain's products go through fe_mul/fe_sqr too; Fermat's little theorem
    # in Python stands in for its order here, the limb bounds are the same.
    inv = z2
    for bit in bin(P25519 - 2)[3:]:
        inv = fe["fe_sqr"](inv)
        if bit == "1":
            inv = fe["fe_mul"](inv, z2)
    result = fe["fe_mul"](x2, inv)
    return sum(limb << (16 * i) for i, limb in enumerate(result)) % P25519


def test_the_field_arithmetic_stays_far_from_64_bits():
    """The unrolled limb arithmetic, run in Python on unbounded ints, gives libsodium's
    X25519, and its largest intermediate value stays below 2^58: GDScript's 64-bit ints
    never wrap, with room to spare. Inputs include the extremes (all-ones scalar and
    u-coordinates with every limb at its maximum)."""
    fe, largest = _field_module()
    inputs = [
        (b"\xff" * 32, b"\xff" * 32),
        (os.urandom(32), (P25519 + 9).to_bytes(32, "little")),
        (os.urandom(32), sodium.crypto_scalarmult_base(os.urandom(32))),
    ]
    for n, u in inputs:
        expected = int.from_bytes(sodium.crypto_scalarmult(n, u), "little")
        assert _ladder(fe, n, u) == expected
    assert 2**40 < largest[0] < 2**58, f"largest intermediate {largest[0]:#x} (2^{largest[0].bit_length()})"
    assert largest[0] < _INT64
