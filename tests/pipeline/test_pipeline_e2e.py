"""End to end through files: trace -> schedule -> simulate -> report, on both hardware families.

Uses the small registered ViT (vit-tiny-digits, 8x8 inputs) so the whole chain
runs in seconds; whole-model runs (Swin-B) are in the slow tests and `make bench`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from repo_paths import REPO_ROOT

REPO = REPO_ROOT


def _pipeline(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=REPO, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"pipeline {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def pim_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pim")
    _pipeline("sim", "--model", "vit-tiny-digits", "--img", "8", "--hw", "pim-dram-8x8", "--out", str(out))
    return out


def test_pim_run_writes_every_artefact(pim_run):
    for name in ("workload.json", "program.json", "result.json", "meta.json", "report.md"):
        assert (pim_run / name).is_file(), name
    result = json.loads((pim_run / "result.json").read_text())
    assert result["latency"]["cycles"] > 0 and result["invariants_checked"]
    assert any(p.suffix == ".png" for p in pim_run.iterdir())


def test_pim_rerun_is_byte_identical(pim_run, tmp_path):
    _pipeline("sim", "--model", "vit-tiny-digits", "--img", "8", "--hw", "pim-dram-8x8", "--out", str(tmp_path))
    for name in ("workload.json", "program.json", "result.json"):
        assert (tmp_path / name).read_bytes() == (pim_run / name).read_bytes(), name


def test_crossbar_run(tmp_path):
    proc = _pipeline("sim", "--model", "vit-tiny-digits", "--img", "8", "--hw", "fefet-64", "--out", str(tmp_path))
    assert "allspark" not in proc.stdout and "--method trex" in proc.stdout  # make's METHOD default is not logged
    assert (tmp_path / "units.csv").is_file()
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["totals"]["delay_ms"] > 0 and result["totals"]["energy_mj"] > 0
    assert result["des_matches_closed_form"]
    assert (tmp_path / "report.md").is_file()


def test_replay_on_another_config(pim_run, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "simulator", "run", "--program", str(pim_run / "program.json"), "--hw", "pim-dram-8x8",
         "--set", "noc.flit_bits=32", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    slow = json.loads((tmp_path / "result.json").read_text())["latency"]["cycles"]
    fast = json.loads((pim_run / "result.json").read_text())["latency"]["cycles"]
    assert slow > fast  # half the link width cannot be faster


def test_bad_inputs_end_in_one_sentence_and_keep_earlier_results(pim_run, tmp_path):
    before = (pim_run / "result.json").read_bytes()
    cases = [
        ("sim", "--model", "swin-bb", "--out", str(pim_run)),
        ("sim", "--model", "vit-tiny-digits", "--img", "8", "--hw", "pim-dram-8x8", "--set", "noc.flit_bits=zero", "--out", str(pim_run)),
        ("sim", "--model", "vit-tiny-digits", "--img", "8", "--hw", "no-such-config", "--out", str(pim_run)),
    ]
    for args in cases:
        proc = _pipeline(*args, check=False)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    bad = tmp_path / "corrupt.json"
    bad.write_text('{"schema_version": 1, "kind": "pim_mesh", "segments": [')
    proc = subprocess.run([sys.executable, "-m", "simulator", "run", "--program", str(bad), "--hw", "pim-dram-8x8",
                           "--out", str(pim_run)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr and "Traceback" not in proc.stderr
    assert (pim_run / "result.json").read_bytes() == before
