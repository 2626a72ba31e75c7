"""Every third-party module the product imports comes with the product: it belongs to a
runtime package of the lock, never to a dev tool only (pyxdf was once a dev dependency while
review, report and export imported it, so an installed `vrclinic review` failed)."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from pathlib import Path

import lock  # packaging/lock.py, found through conftest.py
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]

OURS = {"console", "protocol", "unity_bridge"}


def imported_modules(package: str) -> dict[str, set[str]]:
    """Top-level module name -> the files of ``package`` that import it (anywhere in the file)."""
    found: dict[str, set[str]] = {}
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(REPO)))
    return found


def owners_by_files(module: str) -> set[str]:
    """The distributions that install ``module`` as a top-level file: Python 3.11's
    packages_distributions() infers from .py files only, and labrecorder is a lone .so."""
    return {
        canonicalize_name(dist.metadata["Name"])
        for dist in importlib.metadata.distributions()
        if any(len(f.parts) == 1 and f.name.split(".")[0] == module for f in dist.files or [])
    }


def not_shipped_imports(pins: lock.Lock) -> list[str]:
    """Third-party modules the product imports whose package is not a runtime pin, in words."""
    runtime = {name for name, pin in pins.pins.items() if pin.runtime}
    distributions = importlib.metadata.packages_distributions()
    wrong = []
    for package in sorted(OURS):
        for module, files in imported_modules(package).items():
            if module in OURS or module in sys.stdlib_module_names:
                continue
            owners = {canonicalize_name(d) for d in distributions.get(module, [])} or owners_by_files(module)
            if not owners & runtime:
                where = ", ".join(sorted(files)[:3])
                wrong.append(f"{module} (from {sorted(owners) or 'no installed package'}) imported by {where}")
    return wrong


def test_every_third_party_import_of_the_product_is_a_runtime_dependency():
    wrong = not_shipped_imports(lock.read())
    assert not wrong, "imported at run time but not installed with vrclinic: " + "; ".join(wrong)


def test_a_dev_only_package_imported_by_the_product_is_named():
    pins = lock.read()
    pins.pins["pyxdf"].runtime = False  # as it was: a dev dependency that review, report and export import
    (named,) = not_shipped_imports(pins)
    assert named.startswith("pyxdf (from ['pyxdf']) imported by") and "console/records/completeness.py" in named


def test_the_check_sees_the_imports_that_matter():
    imports = imported_modules("console")
    assert "console/records/completeness.py" in imports["pyxdf"]
    assert "console/physio/metrics.py" in imports["neurokit2"]
