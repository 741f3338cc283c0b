"""Attention reuse on a DRAM-PIM mesh: latency, energy, memory and utilisation against N_reuse.

For each model the plain workload is traced, and for each N_reuse the TReX
reuse model with Algorithm 1's default pattern (``scheduler.crossbar.patterns
.default_spec``; the first block of every stage never reuses) is traced on the
meta device, scheduled by Allspark's CP-SAT model on the PIM mesh, lowered and
simulated by the SimPy engine. Beside it the same model and pattern run on the
crossbar chip (TReX-Sim, ``fefet-64``) where the crossbar mapping supports the
model (isotropic models only: Swin is hierarchical).

    python studies/reuse_pim.py --out runs/reuse-pim [--models deit-s:224,swin-b:640]
        [--points 6] [--mode block-reuse|full] [--hw pim-dram-16x16] [--crossbar fefet-64]

Columns of ``reuse_pim.csv`` / ``reuse_pim.md``:

* ``latency_ms``, ``energy_uj`` (per inference, whatever energy the PIM run reports),
  ``node_util`` (Allspark Eq. 21, simulated): from ``result.json`` of the simulation;
* ``predicted_ms``: the scheduler's prediction (CP-SAT objective + stem/head);
* ``mem_mib``: per-node memory of the schedule (constraint 5: weights Eq. 11-16 + V^dyn Eq. 7-10 + stem/head);
* ``share_*``: share of the latency per phase group of Allspark Fig. 7 (phase 0 merge, 1 LN-1,
  2-4 Q/K/V projections or the TReX TB, 5-6 Q.K^T / softmax / S.V, 7 MSA-FC, 8-9 FFN, stem/head),
  from the scheduler's phase-barrier timeline (``costs.step_cycles`` of every step, the same closed
  forms the engine uses; it is within 0.1-3 % of the simulated latency);
* ``xbar_delay_ms``, ``xbar_energy_uj``: the crossbar chip's simulated figures (blank if unsupported).

``--points K`` simulates K values of N_reuse spread evenly from 0 to the maximum (``all``: every value).
Block-reuse mode (default) is exact (tests/simulator/test_sim_whole_model.py) and faster.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from contracts.atomic import write_bytes, write_text  # noqa: E402
from contracts.errors import UserError, cli_entry  # noqa: E402

log = logging.getLogger("reuse_pim")

DEFAULT_MODELS = "deit-s:224,vit-b:224,lv-vit-s:224,swin-b:224,swin-b:640"
PHASE_GROUPS = (("merge", (0,)), ("ln1", (1,)), ("qkv_or_tb", (2, 3, 4)), ("attention", (5, 6)),
                ("msa_fc", (7,)), ("ffn", (8, 9)))
COLUMNS = (["model", "img", "n_reuse", "pattern", "latency_ms", "predicted_ms", "energy_uj", "mem_mib", "node_util"]
           + [f"share_{g}" for g, _ in PHASE_GROUPS] + ["share_stem_head", "xbar_delay_ms", "xbar_energy_uj",
                                                         "wall_s"])


def n_reuse_points(n_max: int, points: str) -> list[int]:
    if points == "all":
        return list(range(n_max + 1))
    try:
        k = int(points)
    except ValueError:
        raise UserError(f"--points must be an integer or 'all', got {points!r}") from None
    if k < 2:
        raise UserError(f"--points needs at least 2 (N_reuse = 0 and the maximum), got {k}")
    return sorted({round(i * n_max / (k - 1)) for i in range(k)}) if k <= n_max + 1 else list(range(n_max + 1))


def phase_shares(problem, sched, program) -> dict[str, float]:
    """Share of the predicted latency per phase group (the scheduler's phase-barrier timeline)."""
    from scheduler.allspark import costs
    from scheduler.allspark.steps import node_steps, transition_steps

    hw, batch = problem.hw, problem.batch
    elem, rows = hw.bytes_per_element, hw.mesh.rows
    by_phase: dict[int, int] = {}
    for kp, ks in zip(problem.kinds, sched.kinds):
        for part, _ in ks.layers:
            for steps, count in ((node_steps(kp.kind, part, 0, 0, 0, elem, ks.resident, rows), kp.kind.count),
                                 (transition_steps(kp.transition, kp.kind, part, 0, 0, 0, elem, ks.resident, rows)
                                  if kp.transition else [], 1)):
                for s, is_ws in steps:
                    c = costs.step_cycles(hw, s) * (1 if is_ws else batch) * count
                    by_phase[s.phase] = by_phase.get(s.phase, 0) + c
    total = program.predicted_cycles or 1
    out = {f"share_{g}": sum(by_phase.get(p, 0) for p in phases) / total for g, phases in PHASE_GROUPS}
    out["share_stem_head"] = max(0.0, 1.0 - sum(out.values()))
    return out


def crossbar_point(wl, xhw) -> tuple[float | None, float | None]:
    from scheduler.crossbar.cli import build_program
    from simulator.families.crossbar_chip.units import simulate

    try:
        prog = build_program(wl, xhw, "trex")
        res, _, _ = simulate(prog, xhw)
    except UserError as e:
        log.info("crossbar chip %s does not run %s: %s", xhw.name, wl.model, e)
        return None, None
    return res["totals"]["delay_ms"], res["totals"]["energy_mj"] * 1e3


def run_point(model: str, img: int, spec: str | None, hw, xhw, mode: str) -> dict:
    from scheduler.allspark.baselines import solve_method
    from scheduler.allspark.lower import lower_program
    from scheduler.allspark.problem import evaluate
    from simulator.families.pim_mesh.units import simulate
    from contracts.hardware import hw_digest
    from workloads.tracer import trace

    t0 = time.perf_counter()
    wl = trace(model, img_size=img, reuse=spec).graph
    problem, sched = solve_method(wl, hw, "allspark", 1, 60.0)
    program, _ = lower_program(wl, problem, sched, hw.name, hw_digest(hw))
    res, _, _ = simulate(program, hw, mode=mode, progress=False)
    xd, xe = crossbar_point(wl, xhw) if xhw is not None and wl.stages and len(wl.stages) == 1 else (None, None)
    row = {
        "model": model, "img": img, "n_reuse": len(wl.source.reuse_pattern or []), "pattern": spec or "none",
        "latency_ms": res["latency"]["ms"], "predicted_ms": program.predicted_cycles * 1e3 / hw.clock_hz,
        "energy_uj": res["energy"]["total_pj"] * 1e-6, "mem_mib": evaluate(problem, sched).memory / 2**20,
        "node_util": res["node_utilisation"]["overall"], **phase_shares(problem, sched, program),
        "xbar_delay_ms": xd, "xbar_energy_uj": xe,
    }
    row["wall_s"] = time.perf_counter() - t0
    return row


def specs_for(model: str, img: int) -> list[str | None]:
    from scheduler.crossbar.patterns import default_spec
    from workloads.tracer import trace

    wl = trace(model, img_size=img).graph
    n_enc = len(wl.blocks())
    forbidden = frozenset(st.blocks[0].index + 1 for st in wl.stages if st.blocks)
    n_max = n_enc - len(forbidden | {1})
    return [default_spec(n, n_enc, forbidden=forbidden) for n in range(n_max + 1)]


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def table_markdown(rows: list[dict], wall: float, mode: str, hw: str, xhw: str | None, points: str) -> str:
    lines = [f"# Attention reuse on {hw} (TReX patterns, Allspark schedule)", "",
             f"Simulation mode {mode}; N_reuse points per model: {points}; crossbar chip {xhw or 'none'}; "
             f"wall time {wall:.0f} s.", "",
             "| " + " | ".join(COLUMNS[:-1]) + " |", "|" + "---|" * (len(COLUMNS) - 1)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r[c]) for c in COLUMNS[:-1]) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    keys = sorted({(r["model"], r["img"]) for r in rows}, key=lambda k: (k[0], k[1]))
    for model, img in keys:
        pts = sorted((r for r in rows if (r["model"], r["img"]) == (model, img)), key=lambda r: r["n_reuse"])
        n = [r["n_reuse"] for r in pts]
        line, = ax1.plot(n, [r["latency_ms"] for r in pts], "o-", label=f"{model} {img} PIM")
        ax2.plot(n, [r["energy_uj"] for r in pts], "o-", color=line.get_color(), label=f"{model} {img} PIM")
        xb = [r for r in pts if r["xbar_delay_ms"] is not None]
        if xb:
            ax1.plot([r["n_reuse"] for r in xb], [r["xbar_delay_ms"] for r in xb], "s--", color=line.get_color(),
                     label=f"{model} {img} crossbar")
            ax2.plot([r["n_reuse"] for r in xb], [r["xbar_energy_uj"] for r in xb], "s--", color=line.get_color(),
                     label=f"{model} {img} crossbar")
    ax1.set(xlabel="N_reuse", ylabel="latency (ms)", yscale="log", title="latency per inference")
    ax2.set(xlabel="N_reuse", ylabel="energy (uJ)", yscale="log", title="energy per inference")
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
    ax2.legend(fontsize=7, loc="best")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _parse_models(text: str) -> list[tuple[str, int]]:
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, _, img = item.partition(":")
        try:
            out.append((name, int(img or 224)))
        except ValueError:
            raise UserError(f"--models item {item!r} must be MODEL or MODEL:IMG") from None
    return out


@cli_entry
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(REPO, "runs", "reuse-pim"))
    p.add_argument("--models", default=DEFAULT_MODELS, help="MODEL:IMG,... (default: %(default)s)")
    p.add_argument("--points", default="5", help="N_reuse values per model, evenly spread, or 'all'")
    p.add_argument("--points-640", default="2", help="points for inputs above 224 (slow schedules)")
    p.add_argument("--mode", default="block-reuse", choices=("block-reuse", "full"))
    p.add_argument("--hw", default="pim-dram-16x16")
    p.add_argument("--crossbar", default="fefet-64", help="crossbar config beside the mesh ('none' to skip)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from tqdm import tqdm

    from contracts.hardware import load_hw

    t0 = time.perf_counter()
    hw = load_hw(a.hw, [])
    if hw.kind != "pim_mesh":
        raise UserError(f"--hw {a.hw!r} is a {hw.kind} config; the study needs a PIM mesh")
    xhw = None if a.crossbar == "none" else load_hw(a.crossbar, [])
    models = _parse_models(a.models)
    jobs = []
    for model, img in models:
        specs = specs_for(model, img)
        for n in n_reuse_points(len(specs) - 1, a.points if img <= 224 else a.points_640):
            jobs.append((model, img, specs[n]))
    rows = []
    for model, img, spec in tqdm(jobs, desc="reuse-pim", unit="point", file=sys.stderr):
        rows.append(run_point(model, img, spec, hw, xhw, a.mode))
    wall = time.perf_counter() - t0
    os.makedirs(a.out, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(v) for k, v in r.items()})
    write_text(os.path.join(a.out, "reuse_pim.csv"), buf.getvalue())
    md = table_markdown(rows, wall, a.mode, hw.name, xhw.name if xhw else None,
                        f"{a.points} (inputs above 224: {a.points_640})")
    write_text(os.path.join(a.out, "reuse_pim.md"), md)
    write_bytes(os.path.join(a.out, "reuse_pim.png"), plot(rows))
    print(md)
    print(f"wrote {a.out}/reuse_pim.csv, reuse_pim.md, reuse_pim.png in {wall:.0f} s wall")


if __name__ == "__main__":
    main()
