"""``python -m workloads`` as a user runs it (subprocesses): list, trace, and user errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
TIMM_MODELS = [
    "vit-b", "vit-l", "vit-h", "deit-t", "deit-s", "deit-b", "swin-t", "swin-s", "swin-b", "swin-l",
    *[f"pvt-v2-b{i}" for i in range(6)],
    "twins-pcpvt-s", "twins-pcpvt-b", "twins-pcpvt-l", "twins-svt-s", "twins-svt-b", "twins-svt-l",
]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workloads", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_unknown_model_names_closest_and_exits_2(tmp_path):
    proc = run_cli("trace", "swin-bb", "--img", "224", "--out", str(tmp_path / "w.json"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "unknown model 'swin-bb'" in lines[0] and "swin-b" in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "w.json").exists()


def test_inadmissible_size_says_why_and_exits_2(tmp_path):
    proc = run_cli("trace", "swin-b", "--img", "1000", "--out", str(tmp_path / "w.json"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: model 'swin-b' cannot take 1000x1000: the side must be a multiple of 32 "
        "(patch size times total down-sampling)"
    )


def test_list_shows_every_timm_model(capsys):
    from workloads.__main__ import main

    main(["list"])  # in-process: the subprocess path is covered by the tests above
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    for name in TIMM_MODELS:
        assert name in rows
    assert rows["swin-b"][1:] == ["swin", "vision", "no", "224px"]
    assert rows["deit-s"][1:] == ["deit", "vision", "yes", "224px"]


def test_trace_writes_workload_and_prints_summary(tmp_path):
    out = tmp_path / "runs" / "swin-t-960" / "workload.json"
    proc = run_cli("trace", "swin-t", "--img", "960", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "4 stage(s), 12 blocks" in proc.stdout
    for stage, branches in zip(range(1, 5), (1225, 324, 81, 25)):
        assert f"stage {stage}:" in proc.stdout and f"branches per block {branches}," in proc.stdout
    data = json.loads(out.read_text())
    assert data["model"] == "swin-t" and data["img_size"] == 960 and data["schema_version"] == 1
    assert [len(s["blocks"]) for s in data["stages"]] == [2, 2, 6, 2]
    assert [f for f in os.listdir(out.parent) if f.startswith(".tmp-")] == []
