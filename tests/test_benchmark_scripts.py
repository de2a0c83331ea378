"""Every benchmarks/*.py still imports, resolves its project imports and answers --help.

The scripts are not run by the suite (they time things); this catches a helper moved or removed
under them (benchmarks/bench_agcn.py once was, leaving two scripts broken).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys

import pytest
from conftest import ROOT

SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))
WORKERS = {"mmaction2_heatmap_worker", "mmaction2_posec3d_worker"}  # run under MMAction2's python


def project_imports(path) -> list[tuple[str, list[str]]]:
    """``from <project module> import names`` anywhere in the file, function bodies included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top = node.module.split(".")[0]
            if (ROOT / top).is_dir() or (ROOT / f"{top}.py").is_file():
                found.append((node.module, [alias.name for alias in node.names]))
    return found


def test_every_script_is_covered():
    assert {p.stem for p in SCRIPTS} >= {"bench_models", "bench_mmaction_gcn", "bench_posec3d"} | WORKERS


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_project_imports_resolve(path):
    for module_name, names in project_imports(path):
        module = importlib.import_module(module_name)
        missing = [n for n in names if not hasattr(module, n) and n != "*"]
        missing = [n for n in missing if importlib.util.find_spec(f"{module_name}.{n}") is None]
        assert not missing, f"{path.name}: {module_name} has no {missing}"


@pytest.mark.parametrize("path", [p for p in SCRIPTS if p.stem not in WORKERS], ids=lambda p: p.stem)
def test_script_answers_help(path, monkeypatch, capsys):
    module = importlib.import_module(f"benchmarks.{path.stem}")
    if not hasattr(module, "main"):
        return  # a library of baselines (reference_agcn, reference_sgn): importing it is the check
    monkeypatch.setattr(sys, "argv", [str(path), "--help"])
    with pytest.raises(SystemExit) as exit_info:
        module.main()
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage:")
