"""Interrupted and concurrent runs never damage a run folder (issue 12).

A run is killed (SIGINT, SIGKILL) at a seeded random point while it rewrites a
folder that holds a complete earlier run with other inputs. Afterwards every
file of the folder is either the old complete version or the new complete
version (``meta.json``, whose wall-clock figures differ run to run, must be
complete JSON), a rerun completes and matches an uninterrupted run, and no
temporary file survives the rerun. Two runs started at once into one folder
take turns (the folder lock), so the folder ends up holding one run's files,
all of them consistent. The fast tests kill ``python -m simulator run`` (a
replay); the slow ones kill ``make sim``, ``make schedule`` and the TReX demo.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from test_sim_runner import write_program
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
SKIP = {".vitsim.lock"}


def _start(cmd: list[str]) -> subprocess.Popen:
    # a session of its own: the kill reaches the command and every process it started, and nothing else
    return subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_after(proc: subprocess.Popen, seconds: float, sig: int) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.communicate(timeout=120)
    return proc.returncode


def _files(folder) -> dict[str, bytes]:
    return {n: open(os.path.join(folder, n), "rb").read() for n in sorted(os.listdir(folder))
            if n not in SKIP and os.path.isfile(os.path.join(folder, n))}


def _complete(name: str, data: bytes) -> bool:
    if name.endswith(".json"):
        try:
            json.loads(data)
            return True
        except ValueError:
            return False
    if name.endswith(".png"):
        return data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82")
    return True


def check_old_or_new(folder, old: dict[str, bytes], new: dict[str, bytes], volatile=("meta.json",)) -> None:
    for name, data in _files(folder).items():
        if name.startswith(".tmp-"):
            continue  # a killed writer's temporary: removed by the next write (checked after the rerun)
        if name in volatile or name.endswith(".meta.json"):
            assert _complete(name, data), f"{name} is not complete"
            continue
        assert data in (old.get(name), new.get(name)), f"{name} is neither the old nor the new complete version"


def _sim(prog: str, out, *sets: str) -> list[str]:
    cmd = [sys.executable, "-m", "simulator", "run", "--program", prog, "--hw", "pim-dram-8x8", "--out", str(out)]
    for s in sets:
        cmd += ["--set", s]
    return cmd


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """A program and two complete runs of it with different inputs (old: defaults, new: 32-bit flits)."""
    d = tmp_path_factory.mktemp("ref")
    prog = write_program(d)
    for name, sets in (("old", ()), ("new", ("noc.flit_bits=32",))):
        subprocess.run(_sim(prog, d / name, *sets), cwd=REPO, check=True, capture_output=True)
    old, new = _files(d / "old"), _files(d / "new")
    assert old["result.json"] != new["result.json"]
    return prog, d / "old", old, new


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_replay_leaves_old_or_new_files_and_a_rerun_completes(tmp_path, references, sig):
    prog, old_dir, old, new = references
    rng = random.Random(f"replay-{int(sig)}")
    for attempt in range(1):
        folder = tmp_path / f"run{attempt}"
        shutil.copytree(old_dir, folder)
        code = _kill_after(_start(_sim(prog, folder, "noc.flit_bits=32")), rng.uniform(0.3, 6.0), sig)
        assert code in (0, -sig, 130), code  # finished first, killed, or interrupted (exit 130 after SIGINT)
        check_old_or_new(folder, old, new)
        subprocess.run(_sim(prog, folder, "noc.flit_bits=32"), cwd=REPO, check=True, capture_output=True)
        after = _files(folder)
        assert not [n for n in after if n.startswith(".tmp-")], "a temporary file survived the rerun"
        for name, data in new.items():
            if name != "meta.json":
                assert after[name] == data, name


def test_two_runs_into_one_folder_take_turns(tmp_path, references):
    prog, _old_dir, _old, new = references
    folder = tmp_path / "shared"
    procs = [_start(_sim(prog, folder, s)) for s in ("noc.flit_bits=32", "noc.flit_bits=128")]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    files = _files(folder)
    meta = json.loads(files["meta.json"])
    flit = int(meta["overrides"][0].split("=")[1])
    assert f"flit_bits: {flit}" in files["hw.yaml"].decode()  # hw.yaml, meta.json and result.json of one run
    result = json.loads(files["result.json"])
    if flit == 32:
        assert files["result.json"] == new["result.json"] and files["report.md"] == new["report.md"]
    assert result["latency"]["cycles"] > 0
    assert not [n for n in files if n.startswith(".tmp-")]


def _make(target: str, out, *extra: str) -> list[str]:
    return ["make", "-s", target, "MODEL=vit-tiny-digits", "IMG=8", "HW=pim-dram-8x8", f"OUT={out}", *extra]


@pytest.mark.slow
@pytest.mark.parametrize("target", ["sim", "schedule"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_make_target_leaves_old_or_new_files(tmp_path, target, sig):
    ref_old, ref_new, folder = tmp_path / "old", tmp_path / "new", tmp_path / "run"
    subprocess.run(_make(target, ref_old), cwd=REPO, check=True, capture_output=True)
    subprocess.run(_make(target, ref_new, "SET=noc.flit_bits=32"), cwd=REPO, check=True, capture_output=True)
    old, new = _files(ref_old), _files(ref_new)
    rng = random.Random(f"{target}-{int(sig)}")
    shutil.copytree(ref_old, folder)
    _kill_after(_start(_make(target, folder, "SET=noc.flit_bits=32")), rng.uniform(1.0, 25.0), sig)
    check_old_or_new(folder, old, new)
    subprocess.run(_make(target, folder, "SET=noc.flit_bits=32"), cwd=REPO, check=True, capture_output=True)
    after = _files(folder)
    assert not [n for n in after if n.startswith(".tmp-")]
    for name in ("workload.json", "program.json", "result.json", "report.md"):
        if name in new:
            assert after[name] == new[name], name


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_trex_demo_leaves_complete_files_and_a_rerun_completes(tmp_path, sig):
    cmd = [sys.executable, "-m", "workloads.reuse", "demo", "--out", str(tmp_path / "demo"), "--baseline-epochs", "2",
           "--search-epochs", "1", "--finetune-epochs", "1", "--draws", "2"]
    _kill_after(_start(cmd), random.Random(int(sig)).uniform(2.0, 30.0), sig)
    if (tmp_path / "demo").is_dir():
        for name, data in _files(tmp_path / "demo").items():
            assert name.startswith(".tmp-") or _complete(name, data), name
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "demo" / "summary.json").read_text())["rows"]
    assert not [n for n in os.listdir(tmp_path / "demo") if n.startswith(".tmp-")]
