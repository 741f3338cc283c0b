"""Whole-model runs (slow): a real scheduled program, full vs block-reuse mode, prediction agreement."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sim_helpers import drop_mode_fields

from simulator.runner import simulate_files
from repo_paths import REPO_ROOT

REPO = REPO_ROOT


@pytest.mark.slow
def test_deit_t_block_reuse_equals_full_and_prediction_agrees(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pipeline", "schedule", "--model", "deit-t", "--img", "224",
                           "--out", str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    program = str(tmp_path / "program.json")
    _, full, _, _ = simulate_files(program, "pim-dram-16x16", mode="full")
    _, reuse, _, _ = simulate_files(program, "pim-dram-16x16", mode="block-reuse")
    drop_mode_fields(full, reuse)
    assert full == reuse
    assert abs(full["prediction"]["relative_error"]) <= 0.10
    assert full["counts"]["macs_executed"] == full["counts"]["macs_expected"]
