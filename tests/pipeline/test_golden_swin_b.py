"""Golden files: Swin-B 224 on the default 16x16 mesh gives today's result.json byte for byte.

``tests/golden/swin-b-224/`` holds the files ``make sim MODEL=swin-b`` wrote before
the engine was sped up (issue 11), regenerated once when static energy and the
``fidelity:`` switches joined the hardware config (issue 13; the engine speed-up was
checked byte-identical against both versions): ``workload.json``, ``program.json`` (gzipped,
``gzip -9 -n``), ``result.json`` and their sha256 (``SHA256SUMS``). Any change to
the engine, the network model, the cost model or the summary that moves one
figure of this run fails here. Speed figures live in ``meta.json`` and are not
compared.

* fast: the golden program in block-reuse mode (exact, see tests/simulator/test_sim_engine.py)
  must give the golden result once the fields that name the mode are set to the
  full run's (mode, simulated repetitions, the SimPy event count);
* slow: full mode must write the golden ``result.json`` byte for byte, and tracing +
  scheduling must reproduce the golden workload and program.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys

import pytest

from contracts.atomic import write_json
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
GOLDEN = os.path.join(REPO, "tests", "golden", "swin-b-224")
HW = "pim-dram-16x16"


def _sums() -> dict[str, str]:
    with open(os.path.join(GOLDEN, "SHA256SUMS")) as f:
        return {name: digest for digest, name in (line.split() for line in f if line.strip())}


def _golden_program(tmp_path) -> str:
    path = str(tmp_path / "program.json")
    with gzip.open(os.path.join(GOLDEN, "program.json.gz"), "rb") as f, open(path, "wb") as out:
        out.write(f.read())
    assert _sha256(path) == _sums()["program.json"]
    return path


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _golden_result() -> dict:
    with open(os.path.join(GOLDEN, "result.json")) as f:
        return json.load(f)


def test_golden_files_are_consistent():
    sums = _sums()
    assert _sha256(os.path.join(GOLDEN, "result.json")) == sums["result.json"]
    assert _sha256(os.path.join(GOLDEN, "workload.json")) == sums["workload.json"]


def test_block_reuse_reproduces_the_golden_result(tmp_path):
    from simulator.runner import file_digest, simulate_files

    program = _golden_program(tmp_path)
    _, result, _, _ = simulate_files(program, HW, mode="block-reuse")
    golden = _golden_result()
    assert result["program_digest"] == file_digest(program)
    # the fields that say how the run was simulated, not what it simulated
    result["mode"] = golden["mode"]
    result["counts"]["sim_events"] = golden["counts"]["sim_events"]
    for seg, gseg in zip(result["segments"], golden["segments"]):
        seg["simulated_repetitions"] = gseg["simulated_repetitions"]
    write_json(str(tmp_path / "result.json"), result)
    assert _sha256(str(tmp_path / "result.json")) == _sums()["result.json"]


@pytest.mark.slow
def test_full_run_writes_the_golden_result_byte_for_byte(tmp_path):
    program = _golden_program(tmp_path)
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "simulator", "run", "--program", program, "--hw", HW,
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert _sha256(str(out / "result.json")) == _sums()["result.json"]


@pytest.mark.slow
def test_trace_and_schedule_reproduce_the_golden_workload_and_program(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pipeline", "schedule", "--model", "swin-b", "--img", "224",
                           "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert _sha256(str(tmp_path / "workload.json")) == _sums()["workload.json"]
    assert _sha256(str(tmp_path / "program.json")) == _sums()["program.json"]
