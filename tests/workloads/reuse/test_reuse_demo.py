"""The whole ``make trex-demo`` flow (slow: several minutes on a 2-core CPU)."""

import json
import os
import subprocess
import sys

import pytest
from repo_paths import REPO_ROOT

REPO = REPO_ROOT


@pytest.mark.slow
def test_trex_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "workloads.reuse", "demo", "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["rows"]
    assert [r["n_reuse"] for r in rows] == [0, 2, 2, 2]
    # acceptance: the reuse model keeps its ideal accuracy within 3 points of the baseline (N_reuse = N_enc / 4)
    assert summary["checks"]["reuse_ideal_within_3_points_of_baseline"]
    assert summary["checks"]["fefet_aware_beats_untuned_on_fefet"]
    assert (out / "cka.png").is_file() and (out / "table.md").is_file()
    assert "| TReX, FeFET-aware fine-tuning | 2 |" in proc.stdout
