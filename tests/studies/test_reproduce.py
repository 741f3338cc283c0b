"""`make reproduce`: comparison rows, fidelity.md, the paper-values boundary, and (slow) the FAST run end to end."""

from __future__ import annotations

import ast
import csv
import io
import os
import subprocess
import sys

import pytest

from studies.reproduce import FIGURES
from studies.reproduce.core import compare, data_csv, fidelity_md
from studies.reproduce.paper_values import PAPER
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
HERE = os.path.join(REPO, "studies", "reproduce")


def test_compare_modes():
    ok = compare("allspark-table5", "reuse+sharing total MiB", 7.95)
    assert ok.within and ok.reason == "" and ok.rel_error == pytest.approx(-0.01 / 7.96)
    bad = compare("allspark-table5", "reuse+sharing total MiB", 8.2, "why")
    assert not bad.within and bad.reason == "why"
    assert compare("trex-fig11-12", "TReX-D-9 TB share of EDAP (%)", 0.5).within      # below the bound
    assert not compare("trex-fig11-12", "TReX-D-9 TB share of EDAP (%)", 5.0).within
    assert compare("allspark-fig12", "twins-svt-b 224 overall utilisation", 0.64).within   # >= 0.74 x 0.85
    assert not compare("allspark-fig12", "twins-svt-b 224 overall utilisation", 0.62).within
    assert not compare("allspark-table4", "stage 1 temporal layers", 2).within
    missing = compare("allspark-table4", "stage 1 temporal layers", None)
    assert not missing.within and missing.reason == "not measured"
    # a figure whose paper contradicts itself gets that paragraph as its reason
    assert "abstract" in compare("allspark-fig11", "ViTs average speed-up over B (x)", 90.0).reason


def test_data_csv_and_fidelity_md():
    rows = [compare("allspark-table5", "reuse+sharing total MiB", 7.95),
            compare("allspark-fig11", "ViTs average speed-up over AH (x)", 9.3)]
    table = list(csv.DictReader(io.StringIO(data_csv(rows))))
    assert [r["within"] for r in table] == ["yes", "no"]
    assert {"ours", "paper", "rel_error", "tolerance", "within", "reason"} <= set(table[0])
    md = fidelity_md({"allspark-table5": rows[:1], "allspark-fig11": rows[1:]}, {}, 12.5, True, {})
    assert "12.5 s" in md and "FAST=1" in md and "1 of 2 metrics within tolerance" in md
    assert "Why no reading reaches the paper here" in md and "24.0x" in md


def test_every_paper_value_is_cited_and_every_figure_has_a_module():
    assert all(ref.cite and ("Table" in ref.cite or "Fig" in ref.cite or "Sec" in ref.cite) for ref in PAPER.values())
    figures = {f for f, _ in PAPER}
    import importlib

    mods = {importlib.import_module(f"studies.reproduce.{m}").FIGURE for m in FIGURES}
    assert figures == mods


def test_measurement_never_reads_paper_values():
    """Paper values feed compare() only: measure.py and every points()/measure function are free of them."""
    tree = ast.parse(open(os.path.join(HERE, "measure.py")).read())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "studies.reproduce.paper_values" not in imported
    for name in FIGURES:
        tree = ast.parse(open(os.path.join(HERE, name + ".py")).read())
        for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name != "rows"):
            used = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
            assert not used & {"PAPER", "ALLSPARK_TABLE4", "ALLSPARK_TABLE5", "TREX_TABLE4_ROWS"}, (name, fn.name)


@pytest.mark.slow
def test_make_reproduce_fast_writes_every_folder(tmp_path):
    out = tmp_path / "reproduce"
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run([sys.executable, "-m", "studies.reproduce", "--fast", "--out", str(out), "--no-progress",
                           "--num-cpus", "2"], cwd=REPO, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "wall time" in proc.stdout
    import importlib

    for m in FIGURES:
        fig = importlib.import_module(f"studies.reproduce.{m}").FIGURE
        assert (out / fig / "data.csv").is_file() and (out / fig / f"{fig}.png").is_file(), fig
    md = (out / "fidelity.md").read_text()
    assert "measured wall time of this run" in md and "Points that failed" not in md
    rows = {(r["metric"]): r for r in csv.DictReader(open(out / "allspark-table5" / "data.csv"))}
    assert all(rows[f"reuse+sharing {k} MiB"]["within"] == "yes" for k in ("weights", "workspace", "total"))
    t4 = list(csv.DictReader(open(out / "trex-table4" / "data.csv")))
    assert t4 and all(r["within"] == "yes" for r in t4)
