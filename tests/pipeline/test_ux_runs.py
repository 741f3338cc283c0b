"""Run folders never overwrite each other: named by the resolved inputs, printed, and no stray folder on failure."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
TINY = ("--model", "vit-tiny-digits", "--img", "8", "--hw", "pim-dram-8x8")


def _pipeline(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=REPO, capture_output=True, text=True)


def _run_dir(*args: str) -> str:
    proc = _pipeline(*args, "--print-run-dir")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_folder_names_carry_a_digest_of_the_resolved_inputs():
    base = _run_dir("sim", *TINY)
    assert re.fullmatch(r"runs/vit-tiny-digits-8-pim-dram-8x8-[0-9a-f]{8}", base), base
    assert _run_dir("sim", *TINY) == base  # same inputs, same folder
    wide = _run_dir("sim", *TINY, "--set", "noc.flit_bits=128")
    assert wide != base and "flit_bits-128" in wide
    assert _run_dir("sim", *TINY, "--set", "noc.flit_bits=32") != wide
    assert _run_dir("sim", *TINY, "--method", "P") != base
    assert _run_dir("sim", *TINY, "--batch", "2") != base


def test_two_custom_hw_files_with_one_basename_get_two_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    text = open(os.path.join(REPO, "hw_configs", "pim-dram-8x8.yaml")).read()
    (a / "mine.yaml").write_text(text)
    (b / "mine.yaml").write_text(text.replace("flit_bits: 64 ", "flit_bits: 128"))
    da = _run_dir("sim", "--model", "vit-tiny-digits", "--img", "8", "--hw", str(a / "mine.yaml"))
    db = _run_dir("sim", "--model", "vit-tiny-digits", "--img", "8", "--hw", str(b / "mine.yaml"))
    assert da != db


def test_replays_of_one_program_land_in_separate_folders(tmp_path):
    prog = tmp_path / "program.json"
    prog.write_text("{}")
    one = _run_dir("replay", "--program", str(prog), "--hw", "pim-dram-8x8", "--set", "noc.flit_bits=32")
    two = _run_dir("replay", "--program", str(prog), "--hw", "pim-dram-8x8", "--set", "noc.flit_bits=128")
    assert one != two and one.startswith("runs/replay-")


def test_a_failed_run_leaves_no_stray_folder():
    runs = os.path.join(REPO, "runs")
    before = set(os.listdir(runs))
    for args in (("sim", *TINY, "--method", "nosuch"),              # fails in the scheduler, after the trace
                 ("sim", *TINY, "--set", "noc.flit_bits=zero")):    # fails resolving the config
        proc = _pipeline(*args)
        assert proc.returncode == 2, (args, proc.stderr)
    assert set(os.listdir(runs)) == before


def test_a_run_prints_its_folder_and_its_report_states_the_override(tmp_path):
    from sim_helpers import write_small_program

    prog = write_small_program(tmp_path / "program.json", dram_write=False)
    args = ("replay", "--program", str(prog), "--hw", "pim-dram-8x8", "--set", "dram.t_rcd_cycles=7")
    proc = _pipeline(*args)
    assert proc.returncode == 0, proc.stderr
    folder = re.search(r"^run folder: (\S+)$", proc.stdout, re.M).group(1)
    assert folder == _run_dir(*args)
    path = os.path.join(REPO, folder)
    try:
        assert "dram.t_rcd_cycles=7" in open(os.path.join(path, "report.md")).read()
        assert os.path.isfile(os.path.join(path, "units.csv"))
        assert json.load(open(os.path.join(path, "meta.json")))["program"] == str(prog)
        assert not [n for n in os.listdir(os.path.dirname(path)) if n.startswith(".tmp-")]
    finally:
        shutil.rmtree(path, ignore_errors=True)
