"""The import boundaries of DESIGN.md, enforced on the source (AST scan) and on a fresh interpreter.

* contracts/ imports none of torch, timm, simpy, ortools or the other packages: every stage depends on it;
* simulator/ imports no torch, timm, ortools, scheduler, workloads or pipeline, and imports simpy only in
  its kernel (simulator/engine/), the network (simulator/noc/) and the families' unit models
  (simulator/families/<kind>/units.py);
* workloads/ imports neither simulator nor scheduler (what they share lives in contracts/);
* scheduler/ imports no torch, timm or simpy;
* only workloads/ imports torch/timm; only scheduler/ imports ortools;
* pipeline/ imports none of simulator, scheduler, workloads (it chains their command lines);
* ``import contracts, simulator, scheduler`` and the contract modules load neither torch nor simpy.

Every import statement counts, including lazy ones inside functions.
"""

from __future__ import annotations

import ast
import re
import os
import subprocess
import sys

import pytest
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
PACKAGES = ("contracts", "simulator", "scheduler", "workloads", "pipeline")
SIMPY_ALLOWED = re.compile(r"simulator/(engine/|noc/|families/\w+/units\.py$)")

# package -> top-level modules it must never import
FORBIDDEN = {
    "contracts": {"torch", "timm", "simpy", "ortools", "simulator", "scheduler", "workloads", "pipeline", "studies"},
    "simulator": {"torch", "timm", "ortools", "scheduler", "workloads", "pipeline", "studies"},
    "scheduler": {"torch", "timm", "simpy", "workloads", "pipeline", "studies"},
    "workloads": {"ortools", "simpy", "simulator", "scheduler", "pipeline", "studies"},
    "pipeline": {"torch", "timm", "ortools", "simpy", "simulator", "scheduler", "workloads"},
}


def python_files(package: str) -> list[str]:
    found = []
    for root, dirs, files in os.walk(os.path.join(REPO, package)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found.extend(os.path.relpath(os.path.join(root, f), REPO) for f in sorted(files) if f.endswith(".py"))
    return found


def imported_top_levels(path: str) -> list[tuple[str, int]]:
    """(top-level module, line) for every absolute import in a file."""
    with open(os.path.join(REPO, path)) as f:
        tree = ast.parse(f.read(), filename=path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
            "import_module", "__import__"
        ) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.append((node.args[0].value.split(".")[0], node.lineno))
    return found


def violations(package: str) -> list[str]:
    bad = []
    for path in python_files(package):
        for module, line in imported_top_levels(path):
            if module in FORBIDDEN[package]:
                bad.append(f"{path}:{line} imports {module}")
            elif module == "simpy" and package == "simulator" and not SIMPY_ALLOWED.match(path):
                bad.append(f"{path}:{line} imports simpy outside simulator/engine/, simulator/noc/, families/*/units.py")
    return bad


@pytest.mark.parametrize("package", PACKAGES)
def test_package_respects_its_import_boundary(package):
    assert violations(package) == []


def test_scanner_catches_a_forbidden_import(tmp_path, monkeypatch):
    """The scan itself can fail: a planted lazy torch import in a simulator file is reported."""
    fake_repo = tmp_path
    (fake_repo / "simulator" / "engine").mkdir(parents=True)
    (fake_repo / "simulator" / "model.py").write_text("def f():\n    import torch.nn as nn\n    import simpy\n")
    (fake_repo / "simulator" / "engine" / "core.py").write_text("import simpy\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", str(fake_repo))
    assert violations("simulator") == [
        "simulator/model.py:2 imports torch",
        "simulator/model.py:3 imports simpy outside simulator/engine/, simulator/noc/, families/*/units.py",
    ]


def test_fresh_interpreter_imports_no_torch_or_simpy():
    code = (
        "import sys, contracts, simulator, scheduler, contracts.workload, contracts.program, contracts.hardware\n"
        "print(sorted(m for m in ('torch', 'timm', 'simpy') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
