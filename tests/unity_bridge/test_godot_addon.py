"""The Godot addon as files: both variants are current with the declaration and the
templates, the Godot 4 scripts parse (gdtoolkit's Godot 4 parser), plugin.cfg is what
Godot's plugin list reads, and the two variants differ only in Godot 3/4 spelling.

Runtime behaviour is tested in the Godot 3 runtime by test_godot_interop.py and
test_godot_curve.py; here every Godot 3 script is also compiled by Godot 3 itself
(`--check-only`), which finds in a second what those find only as a client that never
connects. No Godot 4 runtime is available here, so Godot 4 is checked for syntax only."""

from __future__ import annotations

import configparser
import dataclasses
import os
import re
import shutil
import subprocess

import pytest

from protocol import codegen, schema
from protocol.codegen import gdscript

GODOT = shutil.which("godot3-server")
PROJECT = gdscript.GODOT_DIR / "godot3_test_project"
GODOT4 = gdscript.OUT_DIRS[4]
GODOT3 = gdscript.OUT_DIRS[3]
SCRIPTS = [name for name in gdscript.TEMPLATES if name.endswith(".gd")] + ["messages.gd"]


def test_both_variants_are_generated_and_current():
    outputs = gdscript.files(schema.load())
    for folder in (GODOT4, GODOT3):
        for name in [*gdscript.TEMPLATES, "messages.gd"]:
            path = folder / name
            assert path in outputs, f"{path} is not generated"
            assert path.read_text(encoding="utf-8") == outputs[path], f"{path} is stale: run vrclinic protocol generate"
    assert not [p for p in codegen.stale() if gdscript.GODOT_DIR in p.parents]
    assert gdscript.files in codegen.ENGINE_GENERATORS


def test_a_changed_declaration_makes_the_generated_messages_stale():
    proto = schema.load()
    bumped = dataclasses.replace(proto, minor=proto.minor + 1)
    outputs = gdscript.files(bumped)
    for folder in (GODOT4, GODOT3):
        assert outputs[folder / "messages.gd"] != (folder / "messages.gd").read_text(encoding="utf-8")
        assert f"const PROTOCOL_MINOR = {proto.minor + 1}" in outputs[folder / "messages.gd"]


def _parser():
    try:
        from gdtoolkit.parser import parser
    except ImportError:
        pytest.skip(
            "gdtoolkit is not installed, so the Godot 4 scripts cannot be syntax-checked: "
            "pip install 'gdtoolkit>=4.3,<5' (it is in the dev extras)"
        )
    return parser


@pytest.mark.parametrize("name", SCRIPTS)
def test_godot4_script_parses(name):
    parser = _parser()
    source = (GODOT4 / name).read_text(encoding="utf-8")
    parser.parse(source)  # raises lark's UnexpectedInput with the line on a syntax error


def test_the_godot4_parser_rejects_godot3_syntax():
    """The syntax check is a real one: the Godot 3 variant's own spellings do not parse as Godot 4."""
    parser = _parser()
    from lark.exceptions import UnexpectedInput  # gdtoolkit's parser is built on lark

    with pytest.raises(UnexpectedInput):
        parser.parse((GODOT3 / "plugin.gd").read_text(encoding="utf-8"))  # `tool` is `@tool` in Godot 4
    with pytest.raises(UnexpectedInput):
        parser.parse((GODOT3 / "vrclinic_link.gd").read_text(encoding="utf-8"))  # `export var`


def test_plugin_cfg_names_the_plugin_script():
    for folder in (GODOT4, GODOT3):
        cfg = configparser.ConfigParser(comment_prefixes=(";",))
        cfg.read(folder / "plugin.cfg", encoding="utf-8")
        plugin = cfg["plugin"]
        for key in ("name", "description", "author", "version", "script"):
            assert plugin.get(key, "").strip('"'), f"plugin.cfg has no {key}"
        assert plugin["name"].strip('"') == "vrclinic"
        assert plugin["version"].strip('"') == schema.load().version
        script = folder / plugin["script"].strip('"')
        text = script.read_text(encoding="utf-8")
        assert "extends EditorPlugin" in text and 'add_custom_type("VrclinicLink", "Node"' in text


# Spellings that exist in one Godot version only.
GODOT4_ONLY = [r"@export\b", r"@tool\b", r"\bPackedByteArray\b", r"\bRefCounted\b", r"\bTime\.get_ticks", r"Callable\("]
GODOT3_ONLY = [r"^export var", r"^tool$", r"\bPoolByteArray\b", r"\bReference\b", r"\bOS\.get_ticks", r"\bTYPE_REAL\b"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_variant_uses_its_own_godot_api(name):
    four = (GODOT4 / name).read_text(encoding="utf-8")
    three = (GODOT3 / name).read_text(encoding="utf-8")
    for pattern in GODOT3_ONLY:
        assert not re.search(pattern, four, re.M), f"Godot 4 {name} uses Godot 3's {pattern}"
    for pattern in GODOT4_ONLY:
        assert not re.search(pattern, three, re.M), f"Godot 3 {name} uses Godot 4's {pattern}"


def test_templates_fail_loudly_on_mistakes():
    with pytest.raises(gdscript.TemplateError, match="unknown template word"):
        gdscript.render_template("var x: @@NO_SUCH_WORD@@\n", 4, "t.gd.in")
    with pytest.raises(gdscript.TemplateError, match="not closed"):
        gdscript.render_template("#@ if godot4\nvar x = 1\n", 4, "t.gd.in")
    with pytest.raises(gdscript.TemplateError, match="without"):
        gdscript.render_template("#@ end\n", 3, "t.gd.in")
    text = "#@ if godot4\nfour()\n#@ else\nthree()\n#@ end\nvar b: @@BYTES@@\n"
    assert gdscript.render_template(text, 4, "t") == "four()\nvar b: PackedByteArray\n"
    assert gdscript.render_template(text, 3, "t") == "three()\nvar b: PoolByteArray\n"


def test_generated_constructors_follow_the_declaration():
    text = (GODOT4 / "messages.gd").read_text(encoding="utf-8")
    proto = schema.load()
    for spec in proto.messages:
        match = re.search(rf"^static func {spec.type}\((.*)\) -> Dictionary:$", text, re.M)
        assert match, f"no constructor for {spec.type}"
        params = [p.split(":")[0].strip() for p in match.group(1).split(",") if p.strip()]
        required = [f"p_{f.name}" for f in spec.fields if not f.optional]
        optional = [f"p_{f.name}" for f in spec.fields if f.optional]
        assert params == required + optional
        assert f'\t"{spec.type}": {{' in text


@pytest.fixture(scope="module")
def godot3_project(tmp_path_factory):
    if GODOT is None:
        pytest.skip(
            "godot3-server (Debian package godot3-server, headless Godot 3) is not installed: the Godot 3 "
            "scripts cannot be compiled (packaging/system-deps.sh, run by `make test`, installs it)"
        )
    folder = tmp_path_factory.mktemp("godot3")
    shutil.copytree(PROJECT, folder / "project", symlinks=False)  # the addon link becomes a copy
    (folder / "home").mkdir()
    return folder


@pytest.mark.parametrize("name", [*SCRIPTS, "../../nacl_check.gd", "../../curve_check.gd", "../../vectors_check.gd"])
def test_godot3_compiles_each_script(godot3_project, name):
    script = os.path.normpath(f"addons/vrclinic/{name}")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(godot3_project / "home"), "LANG": "C.UTF-8"}
    run = subprocess.run(
        [GODOT, "--path", str(godot3_project / "project"), "--check-only", "-s", f"res://{script}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    errors = [line for line in (run.stdout + run.stderr).splitlines() if "SCRIPT ERROR" in line or "At: res://" in line]
    assert run.returncode == 0 and not errors, "\n".join(errors) or run.stdout + run.stderr
