"""Sweeps on a local Ray instance: killed and resumed, failing points, byte-identical tables.

One module fixture does the expensive work once, on one local Ray instance
started by this process (with one CPU, so points run one after another):

1. ``python -m studies sweep smoke.yaml --address <that instance>`` in a
   subprocess (the cluster path: the checkout is shipped as the Ray
   working_dir), killed with SIGKILL as soon as one point has finished;
2. in this process: the same sweep resumed into the same folder, then run
   uninterrupted into a fresh folder, then rerun there.

The smoke spec (studies/specs/smoke.yaml) holds three feasible points and one
whose node memory (``dram.bank_capacity_bytes=1024``) fits no schedule.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
SMOKE = os.path.join(REPO, "studies", "specs", "smoke.yaml")
N_POINTS = 4


def _done(folder):
    return sorted(glob.glob(os.path.join(folder, "points", "*", "done.json")))


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    import ray

    from studies.sweep import init_ray, run_sweep

    root = tmp_path_factory.mktemp("sweeps")
    killed, fresh = str(root / "killed"), str(root / "fresh")
    assert init_ray(num_cpus=1) is True
    try:
        address = ray.get_runtime_context().gcs_address
        env = dict(os.environ, PYTHONPATH=REPO)
        env.pop("RAY_ADDRESS", None)
        with open(root / "killed.log", "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "studies", "sweep", SMOKE, "--out", killed,
                                     "--address", address, "--no-progress"],
                                    cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True)
            try:
                deadline = time.monotonic() + 300
                while not _done(killed) and proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.1)
            finally:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        before = {p: os.stat(p).st_mtime_ns for p in _done(killed)}
        assert proc.returncode == -signal.SIGKILL, (root / "killed.log").read_text()[-2000:]
        assert 1 <= len(before) < N_POINTS, "the sweep was not killed mid-way"

        phase = "resuming the killed sweep"
        try:
            resumed = run_sweep(SMOKE, killed, progress=False)
            resumed_timing = json.load(open(os.path.join(killed, "sweep.timing.json")))
            phase = "the uninterrupted sweep"
            uninterrupted = run_sweep(SMOKE, fresh, progress=False)
            phase = "the rerun"
            rerun = run_sweep(SMOKE, fresh, progress=False)
            rerun_timing = json.load(open(os.path.join(fresh, "sweep.timing.json")))
        except Exception as e:
            raise AssertionError(f"{phase} failed: {type(e).__name__}: {e}") from e
    finally:
        ray.shutdown()
    return {"killed": killed, "fresh": fresh, "before": before, "resumed": resumed, "resumed_timing": resumed_timing,
            "uninterrupted": uninterrupted, "rerun": rerun, "rerun_timing": rerun_timing}


def _bytes(folder, name):
    with open(os.path.join(folder, name), "rb") as f:
        return f.read()


def test_killed_sweep_resumes_to_the_uninterrupted_table(sweeps):
    killed, fresh = sweeps["killed"], sweeps["fresh"]
    for name in ("sweep.csv", "sweep.parquet"):
        assert _bytes(killed, name) == _bytes(fresh, name)
    pd.testing.assert_frame_equal(sweeps["resumed"], sweeps["uninterrupted"])
    # nothing finished before the kill was lost or redone
    assert sweeps["resumed_timing"]["skipped"] == len(sweeps["before"])
    assert sweeps["resumed_timing"]["ran"] == N_POINTS - len(sweeps["before"])
    for path, mtime in sweeps["before"].items():
        assert os.stat(path).st_mtime_ns == mtime
    assert len(_done(killed)) == N_POINTS


def test_rerun_skips_every_point_and_gives_the_same_bytes(sweeps):
    assert sweeps["rerun_timing"]["skipped"] == N_POINTS and sweeps["rerun_timing"]["ran"] == 0
    pd.testing.assert_frame_equal(sweeps["rerun"], sweeps["uninterrupted"])
    on_disk = pd.read_parquet(os.path.join(sweeps["fresh"], "sweep.parquet"))
    assert list(on_disk["point"]) == list(sweeps["uninterrupted"]["point"])
    assert "wall" not in _bytes(sweeps["fresh"], "sweep.csv").decode()


def test_infeasible_point_records_its_error_and_the_others_finish(sweeps):
    df = sweeps["uninterrupted"]
    assert len(df) == N_POINTS
    assert list(df["status"]) == ["ok", "ok", "error", "ok"]  # spec order
    bad = df.iloc[2]
    assert bad["overrides"] == "dram.bank_capacity_bytes=1024"
    assert "node memory" in bad["error"] and "\n" not in bad["error"]
    assert pd.isna(bad["latency_cycles"])
    err = _bytes(os.path.join(sweeps["fresh"], "points", bad["point"]), "error.txt").decode()
    assert err.strip() == bad["error"]
    ok = df[df["status"] == "ok"]
    assert (ok["latency_cycles"] > 0).all() and (ok["energy_mJ"] > 0).all() and ok["error"].isna().all()
    # the baseline P schedule is slower than Allspark's on the same model and mesh (Fig. 11 direction)
    assert df.iloc[1]["latency_cycles"] > df.iloc[0]["latency_cycles"]
    assert df.iloc[3]["hw_kind"] == "crossbar_chip" and df.iloc[3]["area_mm2"] > 0
    for folder in ok["point"]:
        for name in ("workload.json", "program.json", "result.json", "hw.yaml", "done.json"):
            assert os.path.isfile(os.path.join(sweeps["fresh"], "points", folder, name))


def test_point_results_match_the_run_folder_files(sweeps):
    df = sweeps["uninterrupted"]
    row = df.iloc[0]
    result = json.load(open(os.path.join(sweeps["fresh"], "points", row["point"], "result.json")))
    assert row["latency_cycles"] == result["latency"]["cycles"]
    assert row["energy_mJ"] == pytest.approx(result["energy"]["total_pj"] * 1e-9)
