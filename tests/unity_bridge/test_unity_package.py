"""The Unity package (unity_bridge/unity) outside Unity.

The engine-independent part (generated message types and codec, msgpack, the client state
machine, stimulus semantics) is compiled with Mono's C# compiler and its NUnit-style tests
run: every golden vector decodes and re-encodes byte for byte, every invalid one is refused
with its code, and the client does handshake, heartbeats, clock offset, watchdog, reconnection
and error replies over the in-memory transport. The tests run with the small NUnit-compatible
runner in Tests/MonoRunner~ (Debian's nunit-console does not bring nunit.framework.dll).

The MonoBehaviours and the NetMQ transport need UnityEngine and NetMQ, which are not here:
they are checked as files only (asmdefs, metas), as the package README says.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from protocol import codegen, schema
from protocol.codegen import csharp

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
        [mcs, "-target:library", "-warnaserror+", f"-out:{core}", *sources("Runtime/Core")],
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


@pytest.fixture(scope="module")
def run(mono) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(mono["mono"]), str(mono["tests"])],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=mono["tests"].parent,
    )


@pytest.mark.slow
def test_the_csharp_tests_pass(run):
    assert run.returncode == 0, f"C# tests failed:\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}"
    summary = re.search(r"^(\d+) passed, (\d+) failed$", run.stdout, re.M)
    assert summary, run.stdout[-2000:]
    assert int(summary.group(2)) == 0
    assert int(summary.group(1)) >= 80


@pytest.mark.slow
def test_every_golden_vector_is_checked_in_csharp(run):
    passed = set(re.findall(r"^PASS (\S+?)\((.+)\)$", run.stdout, re.M))
    for vector in GOLDEN["valid"]:
        assert ("GoldenVectorTests.ValidVectorDecodesToItsValueAndReencodes", vector["name"]) in passed, vector["name"]
    for vector in GOLDEN["invalid"]:
        assert ("GoldenVectorTests.InvalidVectorIsRefusedWithItsCode", vector["name"]) in passed, vector["name"]


@pytest.mark.parametrize(
    "fixture",
    ["GoldenVectorTests", "MsgPackTests", "EngineClientTests", "StimulusControllerTests"],
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
    ):
        assert needle in text, needle
