"""The Unity package (unity_bridge/unity) outside Unity.

The engine-independent part (generated message types and codec, msgpack, the client state
machine, stimulus semantics, keys and pairing) is compiled with Mono's C# compiler and its
NUnit-style tests run: every golden vector decodes and re-encodes byte for byte, every invalid
one is refused with its code, and the client does handshake, heartbeats, clock offset, watchdog,
reconnection, error replies, refusals (not paired, revoked, a refused handshake) and per-connection
heartbeat numbers over the in-memory transport. Z85, X25519 public keys, pairing codes and keys
files are checked against values the Python implementation (pyzmq, libsodium,
protocol/security.py) computes here at test time, and keys files travel both ways. The tests
run with the small NUnit-compatible runner in Tests/MonoRunner~ (Debian's nunit-console does
not bring nunit.framework.dll).

The MonoBehaviours and the NetMQ transport need UnityEngine and NetMQ, which are not here:
they are checked as files only (asmdefs, metas, the CURVE options the transport sets), as the
package README says.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import zmq
from nacl.bindings import crypto_scalarmult
from zmq.utils import z85

from protocol import codegen, schema, security
from protocol.codegen import csharp
from protocol.security import EngineKeys, KeyPair, KeyProblem

PACKAGE = csharp.PACKAGE_DIR
GOLDEN = json.loads((codegen.PROTOCOL_DIR / "vectors" / "golden.json").read_text(encoding="utf-8"))
SKIP_TEXT = "mono-mcs not installed: sudo apt-get install mono-mcs"


def sources(*folders: str) -> list[str]:
    out = []
    for folder in folders:
        out += sorted(str(p) for p in (PACKAGE / folder).rglob("*.cs"))
    return out


@pytest.fixture(scope="module")
def mono(tmp_path_factory) -> dict[str, Path]:
    mcs, runtime = shutil.which("mcs"), shutil.which("mono")
    if not mcs or not runtime:
        pytest.skip(SKIP_TEXT)
    out = tmp_path_factory.mktemp("unity-csharp")
    core = out / "Vrclinic.Bridge.Core.dll"
    # The core alone, as its asmdef builds it: noEngineReferences, so no UnityEngine here.
    build = subprocess.run(
        [mcs, "-target:library", "-warnaserror+", f"-out:{core}", "-r:System.Numerics.dll", *sources("Runtime/Core")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert build.returncode == 0, f"the core does not compile:\n{build.stdout}\n{build.stderr}"
    tests = out / "Vrclinic.Bridge.Tests.exe"
    build = subprocess.run(
        [
            mcs,
            "-target:exe",
            "-warnaserror+",
            f"-out:{tests}",
            f"-r:{core}",
            "-r:System.Core.dll",
            *sources("Tests/Runtime", "Tests/MonoRunner~"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert build.returncode == 0, f"the tests do not compile:\n{build.stdout}\n{build.stderr}"
    return {"mono": Path(runtime), "tests": tests}


# -- known answers from the Python implementation, handed to the C# tests ----------------


def _pairing_with_leading_zero() -> tuple[str, str]:
    """Two public keys whose pairing code starts with 0 (the padding must show)."""
    while True:
        a, b = KeyPair.generate().public, KeyPair.generate().public
        if security.pairing_code(a, b).startswith("0"):
            return a, b


def security_vectors(folder: Path) -> dict[str, list[list[str]]]:
    """Vectors computed here by pyzmq (Z85, zmq.curve_public), PyNaCl (X25519; both are
    libsodium) and protocol/security.py (pairing codes, keys files): kind -> rows of
    [name, fields...]. Random each run, plus edge cases."""
    out: dict[str, list[list[str]]] = {}
    blobs = [b"", bytes(4), b"\xff" * 4, b"\xff" * 32, bytes(32)] + [os.urandom(4 * n) for n in range(1, 17)]
    out["z85"] = [[f"z85-{i}-{len(b)}B", b.hex(), z85.encode(b).decode()] for i, b in enumerate(blobs)]
    secrets = [bytes(32), b"\xff" * 32] + [os.urandom(32) for _ in range(14)]
    out["curve_public"] = []
    for i, raw in enumerate(secrets):
        secret = z85.encode(raw).decode()
        out["curve_public"].append([f"public-{i}", secret, zmq.curve_public(secret.encode()).decode()])
    out["x25519"] = []
    for i in range(8):
        k, u = os.urandom(32), os.urandom(32)
        shared = crypto_scalarmult(k, u)  # libsodium's X25519
        out["x25519"].append([f"x25519-{i}", k.hex(), u.hex(), shared.hex()])
    pairs = [(KeyPair.generate().public, KeyPair.generate().public) for _ in range(12)]
    pairs.append(_pairing_with_leading_zero())
    out["pairing"] = [[f"pairing-{i}", c, e, security.pairing_code(c, e)] for i, (c, e) in enumerate(pairs)]
    out["fingerprint"] = [[f"fingerprint-{i}", c, security.fingerprint(c)] for i, (c, _) in enumerate(pairs[:4])]
    bad = {
        "39-chars": "a" * 39,
        "41-chars": "a" * 41,
        "tilde": "~" + "a" * 39,
        "space": " " + "a" * 39,
        "overflow": "#" * 40,
        "not-ascii": "\u00e9" * 40,
    }
    for text in bad.values():
        with pytest.raises(KeyProblem):  # the Python side refuses each: so must the C# side
            security.check_key(text)
    out["bad_key"] = [[f"bad-{name}", text] for name, text in bad.items()]
    # keys files written by Python, to be read by C#
    paired = EngineKeys(KeyPair.generate(), KeyPair.generate().public)
    unpaired = EngineKeys(KeyPair.generate())
    out["keys_file"] = []
    for name, keys in (("paired", paired), ("unpaired", unpaired)):
        path = folder / f"python-{name}.json"
        security.write_keys_file(path, keys)
        out["keys_file"].append(
            [f"python-{name}", str(path), keys.own.public, keys.own.secret, keys.console_public or "-"]
        )
    refused = []
    shared_mode = folder / "python-shared.json"
    security.write_keys_file(shared_mode, paired)
    shared_mode.chmod(0o644)
    refused.append(("readable-by-others", shared_mode, "chmod 600"))
    mismatch = folder / "python-mismatch.json"
    security.write_keys_file(mismatch, paired)
    data = json.loads(mismatch.read_text())
    data["public"] = unpaired.own.public
    mismatch.write_text(json.dumps(data))
    refused.append(("public-of-another-secret", mismatch, "its public key does not belong to its secret key"))
    garbage = folder / "python-garbage.json"
    garbage.write_text("{public: 1")
    garbage.chmod(0o600)
    refused.append(("not-json", garbage, "is not readable JSON"))
    out["refused_keys_file"] = []
    for name, path, words in refused:
        with pytest.raises(KeyProblem, match=re.escape(words)):
            security.read_keys_file(path)
        out["refused_keys_file"].append([f"refused-{name}", str(path), words])
    out["console_key"] = [["console-key", paired.console_public]]
    return out


@pytest.fixture(scope="module")
def vectors(mono) -> dict[str, list[list[str]]]:
    folder = mono["tests"].parent / "vectors"
    folder.mkdir(exist_ok=True)
    found = security_vectors(folder)
    lines = ["\t".join([kind, *row]) for kind, rows in found.items() for row in rows]
    assert not any("\n" in line or line.count("\t") < 2 for line in lines)
    (folder / "security.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return found


@pytest.fixture(scope="module")
def run(mono, vectors) -> subprocess.CompletedProcess:
    folder = mono["tests"].parent / "vectors"
    env = os.environ | {"VRCLINIC_TEST_VECTORS": str(folder / "security.tsv"), "VRCLINIC_TEST_OUT": str(folder)}
    env.pop("VRCLINIC_KEYS", None)
    return subprocess.run(
        [str(mono["mono"]), str(mono["tests"])],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=mono["tests"].parent,
        env=env,
    )


@pytest.mark.slow
def test_the_csharp_tests_pass(run):
    assert run.returncode == 0, f"C# tests failed:\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}"
    summary = re.search(r"^(\d+) passed, (\d+) failed$", run.stdout, re.M)
    assert summary, run.stdout[-2000:]
    assert int(summary.group(2)) == 0
    assert int(summary.group(1)) >= 150


@pytest.mark.slow
def test_every_golden_vector_is_checked_in_csharp(run):
    passed = set(re.findall(r"^PASS (\S+?)\((.+)\)$", run.stdout, re.M))
    for vector in GOLDEN["valid"]:
        assert ("GoldenVectorTests.ValidVectorDecodesToItsValueAndReencodes", vector["name"]) in passed, vector["name"]
    for vector in GOLDEN["invalid"]:
        assert ("GoldenVectorTests.InvalidVectorIsRefusedWithItsCode", vector["name"]) in passed, vector["name"]


@pytest.mark.slow
def test_every_python_known_answer_is_checked_in_csharp(run, vectors):
    """Z85, X25519, pairing codes and keys files: each value Python computed passed in C#."""
    passed = set(re.findall(r"^PASS (\S+?)\((.+)\)$", run.stdout, re.M))
    tests = {
        "z85": "SecurityTests.Z85MatchesPython",
        "curve_public": "SecurityTests.ThePublicKeyOfASecretKeyMatchesLibzmq",
        "x25519": "SecurityTests.X25519MatchesLibsodium",
        "pairing": "SecurityTests.PairingCodeMatchesPython",
        "fingerprint": "SecurityTests.FingerprintMatchesPython",
        "bad_key": "SecurityTests.AKeyPythonRefusesIsRefused",
        "keys_file": "KeysFileTests.AFileWrittenByPythonIsRead",
        "refused_keys_file": "KeysFileTests.AFilePythonRefusesIsRefused",
    }
    for kind, test in tests.items():
        assert vectors[kind], kind
        for row in vectors[kind]:
            assert (test, row[0]) in passed, f"{test}({row[0]}) did not pass"
    golden = GOLDEN["pairing_codes"]
    assert golden
    for vector in golden:
        assert ("SecurityTests.PairingCodeOfTheSpecsExamples", vector["code"]) in passed, vector


@pytest.mark.slow
def test_keys_files_written_in_csharp_are_read_by_python(run, vectors, mono):
    """The C# writer's files pass protocol/security.py's reader: owner-only mode, valid keys,
    and a public key that libsodium derives from the secret (so C#'s X25519 made it right)."""
    assert run.returncode == 0, run.stdout[-5000:]
    folder = mono["tests"].parent / "vectors"
    paired = security.read_keys_file(folder / "csharp-keys.json")
    assert paired.console_public == vectors["console_key"][0][1]
    assert zmq.curve_public(paired.own.secret.encode()).decode() == paired.own.public
    unpaired = security.read_keys_file(folder / "csharp-unpaired.json")
    assert unpaired.console_public is None
    assert "console_public" not in json.loads((folder / "csharp-unpaired.json").read_text())
    for name in ("csharp-keys.json", "csharp-unpaired.json"):
        assert (folder / name).stat().st_mode & 0o777 == 0o600, name


@pytest.mark.parametrize(
    "fixture",
    [
        "GoldenVectorTests",
        "MsgPackTests",
        "EngineClientTests",
        "EngineClientSecurityTests",
        "StimulusControllerTests",
        "SecurityTests",
        "KeysFileTests",
        "ConsoleKeyRequestTests",
    ],
)
@pytest.mark.slow
def test_each_fixture_ran(run, fixture):
    assert re.search(rf"^PASS {fixture}\.", run.stdout, re.M), f"no test of {fixture} ran"


@pytest.mark.slow
def test_a_failing_csharp_test_fails_the_run(mono, tmp_path):
    """The runner's exit code reflects failures (so the checks above can fail)."""
    probe = tmp_path / "Probe.cs"
    probe.write_text(
        "using NUnit.Framework;\n[TestFixture] public class Probe {\n"
        "  [Test] public void Fails() { Assert.AreEqual(1, 2); }\n"
        "  [Test] public void Passes() { Assert.AreEqual(1.0, 1L); }\n}\n",
        encoding="utf-8",
    )
    exe = tmp_path / "probe.exe"
    build = subprocess.run(
        ["mcs", "-target:exe", f"-out:{exe}", "-r:System.Core.dll", str(probe), *sources("Tests/MonoRunner~")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    result = subprocess.run([str(mono["mono"]), str(exe)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "FAIL Probe.Fails" in result.stdout and "PASS Probe.Passes" in result.stdout


# -- the package as files ---------------------------------------------------------------------


def test_generated_csharp_is_current_and_registered():
    assert csharp.files in codegen.ENGINE_GENERATORS
    outputs = csharp.files(schema.load())
    for path, text in outputs.items():
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run vrclinic protocol generate"
    assert not [p for p in codegen.stale() if PACKAGE in p.parents]


def test_a_changed_declaration_makes_the_generated_csharp_stale():
    bumped = dataclasses.replace(schema.load(), minor=schema.load().minor + 1)
    outputs = csharp.files(bumped)
    messages = csharp.GENERATED_DIR / "Messages.g.cs"
    assert outputs[messages] != messages.read_text(encoding="utf-8")


def test_package_json_has_what_the_package_manager_needs():
    manifest = json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))
    assert re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+){2,}", manifest["name"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["unity"] == "2021.3"
    assert manifest["displayName"] and manifest["description"]
    for sample in manifest["samples"]:
        assert (PACKAGE / sample["path"]).is_dir()


def asmdefs() -> dict[str, dict]:
    out = {}
    for path in PACKAGE.rglob("*.asmdef"):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[data["name"]] = data | {"_dir": path.parent.relative_to(PACKAGE).as_posix()}
    return out


def test_assembly_definitions_split_the_package_as_documented():
    defs = asmdefs()
    assert set(defs) == {
        "Vrclinic.Bridge.Core",
        "Vrclinic.Bridge.NetMQ",
        "Vrclinic.Bridge.Unity",
        "Vrclinic.Bridge.Editor",
        "Vrclinic.Bridge.Tests",
    }
    assert defs["Vrclinic.Bridge.Core"]["noEngineReferences"] is True
    assert defs["Vrclinic.Bridge.Core"]["references"] == []
    netmq = defs["Vrclinic.Bridge.NetMQ"]
    assert netmq["overrideReferences"] and {"NetMQ.dll", "AsyncIO.dll"} <= set(netmq["precompiledReferences"])
    assert defs["Vrclinic.Bridge.Editor"]["includePlatforms"] == ["Editor"]
    tests = defs["Vrclinic.Bridge.Tests"]
    assert "UNITY_INCLUDE_TESTS" in tests["defineConstraints"]
    assert "nunit.framework.dll" in tests["precompiledReferences"]
    for name, data in defs.items():
        for ref in data["references"]:
            assert ref in defs or ref.startswith(("UnityEngine.", "UnityEditor.")), f"{name} references {ref}"
    # Nothing UnityEngine-dependent in the core's folder (its asmdef would refuse it).
    for path in (PACKAGE / "Runtime" / "Core").rglob("*.cs"):
        assert not re.search(r"using UnityEngine|UnityEngine\.", path.read_text(encoding="utf-8")), path


def test_every_asset_has_a_meta_with_a_unique_guid():
    """An immutable (git URL) package's files without .meta are ignored by Unity."""
    guids: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*")):
        rel = path.relative_to(PACKAGE)
        if any(part.endswith("~") or part.startswith(".") for part in rel.parts):
            continue
        if path.suffix == ".meta":
            assert path.with_suffix("").exists(), f"orphan {rel}"
            guid = re.search(r"^guid: ([0-9a-f]{32})$", path.read_text(encoding="utf-8"), re.M)
            assert guid, f"{rel} has no guid"
            assert guid.group(1) not in guids, f"{rel} and {guids.get(guid.group(1))} share a guid"
            guids[guid.group(1)] = rel
        else:
            assert path.with_name(path.name + ".meta").exists(), f"{rel} has no .meta"


def test_readme_covers_install_and_what_is_verified():
    text = (PACKAGE / "README.md").read_text(encoding="utf-8")
    for needle in (
        "AsyncIO.ForceDotNet.Force()",
        "NetMQConfig.Cleanup(false)",
        "link.xml",
        "NuGetForUnity",
        "IL2CPP",
        "Verified here",
        "Not verified here",
        "MessagePack-CSharp",
        "## Security",
        "VRCLINIC_KEYS",
        "chmod 600",
        "NaCl.Net",
        "onPairingCode",
        "not_admitted",
    ):
        assert needle in text, needle
    security_section = text.split("## Security", 1)[1].split("\n## ", 1)[0]
    assert "**Verified here**" in security_section and "**Not verified here**" in security_section
    assert "not compiled" in security_section  # the NetMQ CURVE client, said plainly


def test_the_netmq_transport_is_a_curve_client_before_it_connects():
    """Checked as text (NetMQ.dll is not here): the encrypted transport sets the console's key
    and its own certificate, as NetMQ names them, before Connect; the pairing port is a
    second, unencrypted DEALER with the pairing port's frame limit."""
    text = (PACKAGE / "Runtime" / "NetMQ" / "NetMqTransport.cs").read_text(encoding="utf-8")
    connect = text.index("socket.Connect(address)")
    server_key = text.index("socket.Options.CurveServerKey = CurveKeys.Raw(keys.ConsolePublic")
    certificate = text.index("socket.Options.CurveCertificate = new NetMQCertificate(")
    assert server_key < connect and certificate < connect
    assert "not paired with a console yet" in text  # no console key: refused in words, never NULL
    assert re.search(r"public static NetMqTransport ForPairingPort\(string pairingEndpoint\)", text)
    assert "MaxMsgSize = PairingMaxFrameBytes" in text and "PairingMaxFrameBytes = 4096" in text
