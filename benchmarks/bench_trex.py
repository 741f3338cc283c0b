"""Whole DeiT-S TReX evaluation: trace, map, simulate, report (target: under 20 s on this machine).

Runs the real stages as the pipeline does (``python -m workloads trace`` in a
subprocess, since only workloads/ may import torch), then map + SimPy + report
in-process, for the baseline and a TReX-D-7-style reuse trace.

    python benchmarks/bench_trex.py --out runs/bench/trex
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _one(out_dir: str, reuse: str | None) -> dict:
    sys.path.insert(0, REPO)
    from scheduler.crossbar.cli import build_program
    from contracts.atomic import write_json
    from simulator.families.crossbar_chip.units import simulate
    from contracts.hardware import load_hw
    from simulator.families.crossbar_chip.report import render
    from contracts.workload import load_workload

    os.makedirs(out_dir, exist_ok=True)
    wl_path = os.path.join(out_dir, "workload.json")
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "workloads", "trace", "deit-s", "--img", "224", "--out", wl_path]
    if reuse:
        cmd += ["--reuse", reuse]
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    t_trace = time.perf_counter() - t0
    hw = load_hw("fefet-64")
    t1 = time.perf_counter()
    prog = build_program(load_workload(wl_path), hw)
    t_map = time.perf_counter() - t1
    t2 = time.perf_counter()
    result, _, _ = simulate(prog, hw)
    t_sim = time.perf_counter() - t2
    t3 = time.perf_counter()
    write_json(os.path.join(out_dir, "result.json"), result)
    render(result, out_dir)
    t_rep = time.perf_counter() - t3
    total = time.perf_counter() - t0
    return {"reuse": reuse, "trace_s": t_trace, "map_s": t_map, "simulate_s": t_sim, "report_s": t_rep,
            "total_s": total, "delay_ms": result["totals"]["delay_ms"], "target_s": 20.0, "meets_target": total < 20.0}


def main(out_dir: str) -> dict:
    rows = [_one(os.path.join(out_dir, "deit-s-baseline"), None),
            _one(os.path.join(out_dir, "deit-s-reuse"), "strided:sl=2,start=4,n=5")]
    print(f"{'case':<22}{'trace s':>9}{'map s':>8}{'sim s':>8}{'report s':>10}{'total s':>9}  delay ms")
    for r in rows:
        print(f"{str(r['reuse'] or 'baseline'):<22}{r['trace_s']:>9.2f}{r['map_s']:>8.2f}{r['simulate_s']:>8.2f}"
              f"{r['report_s']:>10.2f}{r['total_s']:>9.2f}  {r['delay_ms']:.4f}")
    return {"cases": rows}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(REPO, "runs", "bench", "trex"))
    main(p.parse_args().out)
