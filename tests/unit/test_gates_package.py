"""vaxclean.gates as a package: no import of vaxclean.build (the cycle it had), and a checks_version that
follows the code of every one of its modules."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import vaxclean
import vaxclean.gates
from vaxclean.gates.version import checks_version, gate_modules
from vaxclean.schemas import examples
from vaxclean.state import write_build_stamp

PACKAGE_DIR = Path(vaxclean.gates.__file__).parent

# Imports vaxclean.gates, then gates the staging and marts of the warehouse argv[1] (reading its build
# stamp and writing the validated build), and prints whether vaxclean.build was imported at each step.
GATE_WITHOUT_BUILD = """
import json, sys
from pathlib import Path
import vaxclean.gates
imported = {"after import": "vaxclean.build" in sys.modules}
for layer in ("staging", "marts"):
    vaxclean.gates.run_gate(layer, warehouse_dir=Path(sys.argv[1]), run_id="r1")
imported["after the staging and marts gates"] = "vaxclean.build" in sys.modules
print(json.dumps(imported))
"""


def test_the_gates_run_without_importing_vaxclean_build(tmp_path: Path) -> None:
    """A fresh interpreter: the gates read the build stamp through vaxclean.state, not vaxclean.build
    (which imports the gates)."""
    marts, sources = examples.consistent_marts()
    examples.write_warehouse(tmp_path / "warehouse.duckdb", {
        "marts": marts, "staging": {**examples.staging_frames(), **sources["staging"]},
        "intermediate": sources["intermediate"]})
    for layer in ("staging", "marts"):
        write_build_stamp(tmp_path, layer, {"build_id": f"{layer}-1", "previous_build_id": None, "full_refresh": True})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(vaxclean.__file__).parents[1]), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", GATE_WITHOUT_BUILD, str(tmp_path)], env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == {"after import": False,
                                                        "after the staging and marts gates": False}
    # the gates did read the stamps: each recorded the build it validated
    assert json.loads((tmp_path / "gate_reports" / "marts_validated.json").read_text())["build_id"] == "marts-1"


def _imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, at its top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", [*sorted(PACKAGE_DIR.glob("*.py")), Path(vaxclean.__file__).parent / "state.py"],
                         ids=lambda p: p.name)
def test_no_module_of_the_gates_or_the_state_imports_the_build(path: Path) -> None:
    """Not even lazily, on a path the test above does not take (the raw gate, publishing)."""
    assert not {m for m in _imported_modules(path) if m == "vaxclean.build" or m.startswith("vaxclean.build.")}


def test_checks_version_hashes_every_module_of_the_package() -> None:
    assert sorted(Path(str(m.__file__)).name for m in gate_modules()) == sorted(p.name for p in PACKAGE_DIR.glob("*.py"))


@pytest.mark.parametrize("module", gate_modules(), ids=lambda m: m.__name__)
def test_checks_version_changes_when_any_module_of_the_package_changes(
        module, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's code read from a copy: the same bytes give the same version, one byte more another."""
    before = {layer: checks_version(layer) for layer in ("raw", "staging", "marts")}
    copy = tmp_path / Path(str(module.__file__)).name
    shutil.copyfile(str(module.__file__), copy)
    monkeypatch.setattr(module, "__file__", str(copy))
    assert {layer: checks_version(layer) for layer in before} == before

    with copy.open("ab") as changed:
        changed.write(b"\n")
    after = {layer: checks_version(layer) for layer in before}
    assert all(after[layer] != before[layer] for layer in before), module.__name__
