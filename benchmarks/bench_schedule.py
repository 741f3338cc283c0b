"""Allspark scheduling benchmark: solve times, speed-ups over B / P / AH, node utilisation (Eq. 21).

    python benchmarks/bench_schedule.py --out runs/bench/schedule [--quick]

1. CP-SAT wall time (one worker, proven optimal?) for every registered vision
   model at 224 and 960 on its default PIM config (PVT on 8x8, Sec. VIII-A);
   targets: < 1 s at 224, < 10 s at 960 (Allspark reports 0.8-3.4 s at 224 and
   12.5 min-2.1 h at 960 with Gurobi, Sec. VIII-B).
2. Predicted latency of Allspark vs B, P, AH for the base models at 224 and
   640, as speed-ups, beside the paper's averages (Sec. VIII-B1: ViTs
   28.8x / 6.7x / 1.2x, local-attention models 40.0x / 5.1x / 4.2x). A baseline
   that cannot meet the memory constraint is shown as 'inf' with the
   memory-blind speed-up in brackets.
3. Node utilisation per stage (Eq. 21) of Swin-B and Twins-B beside Fig. 12
   (Swin-B above 96 %, Twins-B above 74 % overall).

Workloads are traced once (in-process) into ``<out>/workloads`` and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from contracts.atomic import write_json  # noqa: E402
from contracts.errors import UserError  # noqa: E402
from contracts.hardware import load_hw  # noqa: E402

# Section VIII-B1 and Fig. 12 of Allspark: references printed beside ours, never used in a computation
PAPER_SPEEDUP = {"vit": (28.8, 6.7, 1.2), "lvt": (40.0, 5.1, 4.2)}
PAPER_UTIL = {"swin-b": 0.96, "twins-svt-b": 0.74}
BASE_MODELS = [("vit-b", "vit"), ("pvt-v2-b2", "vit"), ("swin-b", "lvt"), ("twins-svt-b", "lvt"),
               ("cswin-b", "lvt"), ("focal-b", "lvt")]


def _hw_for(model: str) -> str:
    return "pim-dram-8x8" if model.startswith("pvt") else "pim-dram-16x16"


def _workload(out_dir: str, model: str, img: int):
    from contracts.workload import load_workload

    path = os.path.join(out_dir, "workloads", f"{model}-{img}.json")
    if not os.path.isfile(path):
        from workloads.tracer import trace, write_graph

        write_graph(trace(model, img_size=img).graph, path)
    return load_workload(path)


def _solve(wl, hw, method: str):
    from scheduler.allspark.baselines import memory_blind, solve_method
    from scheduler.allspark.problem import build_problem, evaluate

    try:
        problem, sched = solve_method(wl, hw, method, time_limit=120)
        return problem, sched, evaluate(problem, sched).cycles, None
    except UserError as e:
        problem = build_problem(wl, hw, method)
        return problem, None, None, (evaluate(problem, memory_blind(problem)).cycles, str(e))


def solve_times(out_dir: str, models: list[str], sizes: list[int]) -> list[dict]:
    rows = []
    for img in sizes:
        for model in models:
            try:
                wl = _workload(out_dir, model, img)
            except UserError as e:
                rows.append({"model": model, "img": img, "error": str(e)})
                print(f"  {model:<16}{img:>5}  skipped: {e}")
                continue
            hw = load_hw(_hw_for(model))
            _, sched, cycles, err = _solve(wl, hw, "allspark")
            if sched is None:
                rows.append({"model": model, "img": img, "error": err[1]})
                print(f"  {model:<16}{img:>5}  infeasible: {err[1]}")
                continue
            s = sched.solver
            rows.append({"model": model, "img": img, "status": s["status"], "wall_s": s["wall_s"], "cycles": cycles})
            target = 1.0 if img <= 224 else 10.0
            ok = "ok" if s["status"] == "OPTIMAL" and s["wall_s"] < target else "MISSED"
            print(f"  {model:<16}{img:>5}  {s['status']:<9}{s['wall_s']:8.3f} s  (target < {target:g} s: {ok})", flush=True)
    return rows


def speedups(out_dir: str, sizes: list[int]) -> list[dict]:
    from workloads import registry

    known = set(registry.names())
    rows = []
    print(f"  {'model':<14}{'img':>5}{'Allspark ms':>13}{'x over B':>16}{'x over P':>16}{'x over AH':>16}")
    for img in sizes:
        for model, family in BASE_MODELS:
            if model not in known:
                print(f"  {model:<14}{img:>5}  not registered in workloads (python -m workloads list): skipped")
                continue
            wl = _workload(out_dir, model, img)
            hw = load_hw(_hw_for(model))
            _, sched, ours, _ = _solve(wl, hw, "allspark")
            row = {"model": model, "img": img, "family": family, "allspark_cycles": ours}
            cells = []
            for method in ("B", "P", "AH"):
                _, _, cyc, blind = _solve(wl, hw, method)
                if cyc is not None:
                    row[method] = cyc / ours
                    cells.append(f"{cyc / ours:>15.2f}x")
                else:
                    row[method] = None
                    row[method + "_memory_blind"] = blind[0] / ours
                    cells.append(f"{'inf (' + format(blind[0] / ours, '.2f') + 'x)':>16}")
            rows.append(row)
            print(f"  {model:<14}{img:>5}{ours / hw.clock_hz * 1e3:>13.3f}" + "".join(cells), flush=True)
    for fam, label in (("vit", "ViTs (ViT, PVT)"), ("lvt", "local attention")):
        avg = []
        for m in ("B", "P", "AH"):
            vals = [r[m] for r in rows if r["family"] == fam and r[m] is not None]
            avg.append(sum(vals) / len(vals) if vals else float("nan"))
        paper = PAPER_SPEEDUP[fam]
        print(f"  average {label:<22} ours {avg[0]:.1f}x / {avg[1]:.1f}x / {avg[2]:.1f}x   "
              f"paper {paper[0]}x / {paper[1]}x / {paper[2]}x (over B / P / AH)")
    return rows


def utilisations(out_dir: str, sizes: list[int]) -> list[dict]:
    from scheduler.allspark.summary import overall_utilisation, utilisation

    rows = []
    for model, ref in PAPER_UTIL.items():
        for img in sizes:
            wl = _workload(out_dir, model, img)
            problem, sched, _, _ = _solve(wl, load_hw(_hw_for(model)), "allspark")
            util, total = utilisation(problem, sched), overall_utilisation(problem, sched)
            rows.append({"model": model, "img": img, "stages": util, "all": total})
            print(f"  {model:<12}{img:>5}  " + ", ".join(f"stage {s} {u:.1%}" for s, u in util.items())
                  + f", all {total:.1%}   (Fig. 12: above {ref:.0%})")
    return rows


def main(out_dir: str, quick: bool = False) -> dict:
    from workloads import registry

    os.makedirs(out_dir, exist_ok=True)
    vision = [n for n in registry.names() if registry.get(n).kind == "vision" and registry.get(n).default_img
              and registry.get(n).default_img >= 224]
    if quick:
        vision = [m for m in vision if m in ("swin-b", "vit-b", "twins-svt-b")]
    t0 = time.perf_counter()
    print("1. CP-SAT solve time (allspark, one worker, linearization level 2)")
    times = solve_times(out_dir, vision, [224, 960])
    print("2. predicted speed-up of Allspark over the baselines (same memory constraint)")
    sp = speedups(out_dir, [224, 640])
    print("3. node utilisation, Eq. 21")
    ut = utilisations(out_dir, [224, 640])
    result = {"solve_times": times, "speedups": sp, "utilisation": ut, "wall_s": time.perf_counter() - t0}
    write_json(os.path.join(out_dir, "bench_schedule.json"), json.loads(json.dumps(result, default=str)))
    return {"max_solve_s_224": max((r.get("wall_s", 0) for r in times if r.get("img") == 224), default=None),
            "max_solve_s_960": max((r.get("wall_s", 0) for r in times if r.get("img") == 960), default=None)}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/bench/schedule")
    p.add_argument("--quick", action="store_true", help="three models only")
    a = p.parse_args()
    print(main(a.out, a.quick))
