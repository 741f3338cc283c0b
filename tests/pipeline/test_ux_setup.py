"""Set-up that does not trip a new user: the venv stamp is a content hash, progress bars behave in logs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
STAMPED = ("requirements.txt", "requirements-dev.txt", "setup.cfg", "pyproject.toml")


def _clone(tmp_path):
    """A fresh 'clone' of the files make needs, beside a venv whose stamp was written for the same requirements."""
    dst = tmp_path / "clone"
    dst.mkdir()
    for name in ("Makefile", *STAMPED):
        shutil.copy(os.path.join(REPO, name), dst / name)
    shutil.copytree(os.path.join(REPO, "tools"), dst / "tools")
    (dst / ".venv" / "bin").mkdir(parents=True)
    return dst


def _make_dry(dst) -> str:
    proc = subprocess.run(["make", "-n", "venv", f"PYTHON={sys.executable}"], cwd=dst, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_stamp_depends_on_requirement_contents_not_timestamps(tmp_path):
    dst = _clone(tmp_path)
    stamp = dst / ".venv" / ".installed"
    proc = subprocess.run([sys.executable, "tools/venv_stamp.py", "write", str(stamp)], cwd=dst)
    assert proc.returncode == 0
    later = time.time() + 60
    for name in STAMPED:  # a fresh clone: every file is newer than the stamp
        os.utime(dst / name, (later, later))
    assert "pip install" not in _make_dry(dst)
    with open(dst / "requirements-dev.txt", "a") as f:  # a changed pin does reinstall
        f.write("\n# changed\n")
    assert "pip install" in _make_dry(dst)


def test_noc_sweep_progress_bar_has_a_total(monkeypatch):
    import tqdm

    from studies.noc_synth.measure import mesh_config, sweep

    seen = []

    class Bar:
        def __init__(self, *a, **kw):
            seen.append(kw.get("total"))
            self.n = 0
            self.total = kw.get("total")

        def update(self, n=1):
            self.n += n

        def refresh(self):
            pass

        def close(self):
            pass

    monkeypatch.setattr(tqdm, "tqdm", Bar)
    hw = mesh_config("pim-dram-16x16", [])
    results, _ = sweep(hw, 4, "uniform", 4, "transfer", 400, 100, 1, 0.2, 0.6, progress=True)
    assert seen and seen[0] is not None and seen[0] >= len(results)


def test_study_writes_no_progress_escape_codes_into_logs(tmp_path):
    """stderr redirected to a file (a log) gets log lines only: no carriage returns or ANSI escapes."""
    from sim_helpers import write_small_program

    prog = write_small_program(tmp_path / "program.json")
    log = tmp_path / "study.log"
    with open(log, "w") as f:
        proc = subprocess.run([sys.executable, "studies/replay_sweep.py", "--out", str(tmp_path / "study"),
                               "--program", str(prog), "--hw", "pim-dram-8x8", "--flit-bits", "32,64",
                               "--dram-scale", "1,2"], cwd=REPO, stdout=f, stderr=subprocess.STDOUT)
    raw = log.read_bytes()  # bytes: text mode would turn carriage returns into newlines
    assert proc.returncode == 0, raw
    assert b"flit_bits=32" in raw
    assert b"\r" not in raw and b"\x1b[" not in raw, raw[:400]
