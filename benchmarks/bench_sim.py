"""Simulator speed: ``make sim MODEL=swin-b`` end to end at 224 and 640, events/s, simulated cycles per wall second.

Targets (issue 6): Swin-B at 224 on the 16x16 mesh under 30 s wall end to end
(trace -> schedule -> simulate -> report, after installation), Swin-B at 640
under 5 minutes. Each case runs the real ``make sim`` command in a fresh run
folder under ``out_dir`` and reads the simulator's ``meta.json`` for the
engine's own figures; the same program is then simulated again in
block-reuse mode (exact, see tests/simulator/test_sim_engine.py) to show that mode's
speed. ``--agreement`` also schedules every registered vision model at 224,
simulates it in block-reuse mode and tabulates the scheduler's predicted
latency against the simulated one (target: within 10 %) with the share of the
difference due to contention.

    python benchmarks/bench_sim.py --out runs/bench/sim [--only 224,640] [--agreement]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = {"224": ("swin-b", 224, 30.0), "640": ("swin-b", 640, 300.0)}
AGREEMENT_TARGET = 0.10


def run_make_sim(model: str, img: int, out: str, extra: list[str] | None = None) -> dict:
    cmd = ["make", "-s", "sim", f"MODEL={model}", f"IMG={img}", f"OUT={out}", *(extra or [])]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    row: dict = {"command": " ".join(cmd), "wall_s": round(wall, 2), "returncode": proc.returncode}
    if proc.returncode != 0 or not os.path.isfile(os.path.join(out, "result.json")):
        row["error"] = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
        return row
    row.update(_read_run(out))
    return row


def _read_run(out: str) -> dict:
    with open(os.path.join(out, "meta.json")) as f:
        meta = json.load(f)
    with open(os.path.join(out, "result.json")) as f:
        result = json.load(f)
    pred = result["prediction"]
    return {
        "simulate_wall_s": round(meta.get("end_to_end_wall_s", 0.0), 2),
        "engine_wall_s": round(meta.get("simulate_wall_s", 0.0), 2),
        "sim_events": meta.get("sim_events"),
        "events_per_s": round(meta.get("events_per_s") or 0.0),
        "simulated_cycles_per_wall_s": round(meta.get("simulated_cycles_per_wall_s") or 0.0),
        "instructions": result["counts"]["instructions_executed"],
        "mode": result["mode"],
        "latency_cycles": result["latency"]["cycles"],
        "latency_ms": result["latency"]["ms"],
        "predicted_cycles": pred["predicted_cycles"],
        "relative_error": pred["relative_error"],
        "contention_cycles": pred["contention_cycles"],
        "contention_share_of_difference": pred["contention_share_of_difference"],
    }


def simulate_again(run_dir: str, mode: str) -> dict:
    """Simulate the run's recorded program once more in ``mode`` (simulator only, not trace or schedule)."""
    out = os.path.join(run_dir, mode)
    with open(os.path.join(run_dir, "program.json")) as f:
        hw = json.load(f)["provenance"]["hw_name"]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "simulator", "run", "--program", os.path.join(run_dir, "program.json"),
                           "--hw", hw, "--out", out, "--mode", mode], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["simulation failed"])[-1]}
    row = _read_run(out)
    row["wall_s"] = round(time.perf_counter() - t0, 2)
    return row


def schedule_and_replay(model: str, img: int, out: str) -> dict:
    """Schedule through the pipeline, then simulate in block-reuse mode (exact, and much faster than full)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pipeline", "schedule", "--model", model, "--img", str(img),
                           "--out", out], cwd=REPO, capture_output=True, text=True)
    program = os.path.join(out, "program.json")
    if proc.returncode != 0 or not os.path.isfile(program):
        return {"error": (proc.stderr.strip().splitlines() or ["schedule failed"])[-1]}
    with open(program) as f:
        hw = json.load(f)["provenance"]["hw_name"]
    proc = subprocess.run([sys.executable, "-m", "simulator", "run", "--program", program, "--hw", hw, "--out", out,
                           "--mode", "block-reuse"], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["simulation failed"])[-1]}
    row = _read_run(out)
    row["wall_s"] = round(time.perf_counter() - t0, 2)
    row["hw"] = hw
    return row


def vision_models() -> list[str]:
    """Registered vision models (kind 'vision'), asked from the workloads CLI so no torch import happens here."""
    proc = subprocess.run([sys.executable, "-m", "workloads", "list"], cwd=REPO, capture_output=True, text=True)
    rows = [ln.split() for ln in proc.stdout.splitlines()[1:] if ln.strip()]
    return [r[0] for r in rows if len(r) > 2 and r[2] == "vision"]


def main(out_dir: str, only: list[str] | None = None, agreement: bool = False) -> dict:
    os.makedirs(out_dir, exist_ok=True)
    summary: dict = {}
    for key in only or list(CASES):
        model, img, target = CASES[key]
        row = run_make_sim(model, img, os.path.join(out_dir, f"{model}-{img}"))
        row["target_wall_s"] = target
        row["meets_target"] = "error" not in row and row["wall_s"] < target
        if "error" not in row:
            row["block_reuse"] = simulate_again(os.path.join(out_dir, f"{model}-{img}"), "block-reuse")
        summary[f"{model}-{img}"] = row
        print(f"{model} @ {img}: {row['wall_s']:.1f} s wall end to end (target < {target:g} s) "
              + ("ERROR " + row["error"] if "error" in row else
                 f"| engine {row['engine_wall_s']} s, {row['sim_events']:,} events, {row['events_per_s']:,} events/s, "
                 f"{row['simulated_cycles_per_wall_s']:,} simulated cycles per wall s, mode {row['mode']}"), flush=True)
        br = row.get("block_reuse") or {}
        if "error" not in br and br:
            print(f"    same program in block-reuse mode: simulator {br['wall_s']:.1f} s wall, {br['sim_events']:,} events, "
                  f"{br['events_per_s']:,} events/s, {br['simulated_cycles_per_wall_s']:,} simulated cycles per wall s, "
                  f"latency equal to full mode: {br['latency_cycles'] == row['latency_cycles']}", flush=True)
    if agreement:
        table = {}
        for model in vision_models():
            row = schedule_and_replay(model, 224, os.path.join(out_dir, "agreement", f"{model}-224"))
            err = row.get("relative_error")
            row["within_target"] = err is not None and abs(err) <= AGREEMENT_TARGET
            table[model] = row
            print(f"agreement {model}: " + ("ERROR " + row["error"] if "error" in row else
                  f"predicted {row['predicted_cycles']:,} simulated {row['latency_cycles']:,} "
                  f"error {100 * err:+.2f} % contention {row['contention_cycles']:,} cycles"), flush=True)
        summary["agreement_224"] = table
    sys.path.insert(0, REPO)
    from contracts.atomic import write_json

    write_json(os.path.join(out_dir, "bench_sim.json"), summary)
    return summary


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(REPO, "runs", "bench", "sim"))
    p.add_argument("--only", default=None, help="comma-separated subset of: " + ",".join(CASES))
    p.add_argument("--agreement", action="store_true", help="also run every vision model at 224")
    a = p.parse_args()
    main(a.out, a.only.split(",") if a.only else None, a.agreement)
