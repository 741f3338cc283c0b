"""The two kinds of run every figure is made of, as plain functions of JSON-able arguments.

* :func:`allspark_point`: trace (real torch model, cached) -> Allspark / B / P / AH schedule on a PIM
  config (the CP-SAT model of ``scheduler.allspark``) -> predicted cycles with their compute /
  feature-map transfer / weight-sharing split, Eq. 21 utilisation, Table IV layers, Table V memory;
  optionally the SimPy simulation of the lowered program (``simulate=True``).
* :func:`trex_point`: trace DeiT-S (with the reuse pattern Algorithm 1 picks for a target delay, or
  a given one) -> TReX-Sim mapping / a Sec. VII-C baseline -> the SimPy crossbar engine -> result.json
  figures.

Both return JSON-able dicts and depend on their arguments alone, so a figure's points can run in any
order, in any process. Nothing here reads the paper's values.
"""

from __future__ import annotations

import os

from contracts.errors import UserError


def traced(model: str, img: int | None, cache: str, reuse: str | None = None):
    """The model's WorkloadGraph, traced once into ``cache`` (atomic write; safe under parallel points)."""
    from contracts.workload import load_workload

    tag = f"{model}-{img or 'default'}" + (f"-reuse-{reuse.replace(':', '_').replace(',', '_').replace('=', '')}" if reuse else "")
    path = os.path.join(cache, "workloads", tag + ".json")
    if not os.path.isfile(path):
        from workloads.tracer import trace, write_graph

        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_graph(trace(model, img_size=img, reuse=reuse).graph, path)
    return load_workload(path)


def _breakdown(problem, sched) -> dict:
    """Predicted cycles split into compute / feature-map transfer / weight sharing (Fig. 13a, Fig. 14 bars)."""
    comp = trans = ws = 0
    for kp, ks in zip(problem.kinds, sched.kinds):
        by_part = {c.part: c for c in kp.candidates}
        for part, _ in ks.layers:
            c = by_part[part]
            n = kp.kind.count
            comp += n * c.block.batch * c.block.compute + c.trans.batch * c.trans.compute
            trans += n * c.block.batch * c.block.transfer + c.trans.batch * c.trans.transfer
            if not ks.resident:
                ws += n * c.block.weight_share + c.trans.weight_share
    return {"compute_cycles": comp, "transfer_cycles": trans, "weight_share_cycles": ws}


def allspark_point(model: str, img: int, method: str, hw: str, cache: str, batch: int = 1, sets: list | None = None,
                   simulate: bool = False, table_iv_partition: bool = False) -> dict:
    """Schedule ``model`` at ``img`` with ``method`` on PIM config ``hw``; see the module docstring."""
    from scheduler.allspark.baselines import memory_blind, solve_method
    from scheduler.allspark.problem import build_problem, evaluate
    from scheduler.allspark.summary import overall_utilisation, table_v_rows, utilisation
    from contracts.hardware import load_hw

    cfg = load_hw(hw, list(sets or []))
    wl = traced(model, img, cache)
    out: dict = {"model": model, "img": img, "method": method, "hw": hw, "batch": batch, "sets": list(sets or [])}
    try:
        problem, sched = solve_method(wl, cfg, method, batch, time_limit=120)
        out["feasible"] = True
    except UserError as e:
        problem = build_problem(wl, cfg, method, batch)
        sched = memory_blind(problem)
        out.update(feasible=False, error=str(e))
    ev = evaluate(problem, sched)
    out.update(cycles=ev.cycles, ms=ev.cycles / cfg.clock_hz * 1e3, memory_mib=ev.memory / 2**20,
               solver_status=sched.solver.get("status") if sched.solver else "DP (memory-blind)",
               utilisation_overall=overall_utilisation(problem, sched),
               utilisation_stages={str(k): v for k, v in utilisation(problem, sched).items()},
               layers={kp.kind.key: [p.label() for p, _ in ks.layers] for kp, ks in zip(problem.kinds, sched.kinds)},
               **_breakdown(problem, sched))
    if table_iv_partition:
        out["table_v"], out["table_iv_schedule_cycles"] = _table_v_on_paper_partition(problem)
    if simulate:
        try:
            out["simulated"] = _simulate(wl, problem, sched, cfg)
        except UserError as e:
            out["simulate_error"] = str(e)
    return out


def _table_v_on_paper_partition(problem) -> tuple[dict, int]:
    """Table V rows (MiB per node) for the partition printed in Allspark Table IV (an input, as in the test),
    and that schedule's predicted cycles under our cost model."""
    from scheduler.allspark.partition import Partition
    from scheduler.allspark.problem import KindSchedule, Schedule
    from scheduler.allspark.summary import table_v_rows

    # Allspark Table IV's partition, [u, v] per temporal layer and its branch counts (Sec. V reading).
    layers = [[((1, 1), 256), ((1, 1), 256), ((4, 2), 17)], [((2, 1), 128), ((4, 4), 16)],
              [((8, 2), 16), ((8, 2), 16), ((16, 4), 4)], [((4, 4), 9)]]
    kinds = [KindSchedule([(Partition(u, v), b) for (u, v), b in ls], resident=(1, 1) in [uv for uv, _ in ls])
             for ls in layers]
    from scheduler.allspark import costs

    sched = Schedule("allspark", kinds)
    rows = table_v_rows(problem, sched)
    cycles = 0  # what problem.evaluate sums, from the cost tables directly (pruned candidates included)
    for kp, ks in zip(problem.kinds, sched.kinds):
        for part, _ in ks.layers:
            blk = costs.block_layer_cost(problem.hw, kp.kind, part, problem.batch, ks.resident)
            trc = costs.transition_layer_cost(problem.hw, kp.transition, kp.kind, part, problem.batch, ks.resident)
            if ks.resident:
                cycles += kp.kind.count * blk.total_without_sharing + trc.total_without_sharing
            else:
                cycles += kp.kind.count * blk.total + trc.total
    return ({"weights_mib": {k: v / 2**20 for k, v in rows.weights.items()}, "workspace_mib": rows.workspace / 2**20},
            cycles)


def _simulate(wl, problem, sched, cfg) -> dict:
    """Lower the schedule and run it on the SimPy PIM engine (``block-reuse`` mode: exact, see README)."""
    from scheduler.allspark.lower import lower_program
    from simulator.families.pim_mesh.units import simulate
    from contracts.hardware import hw_digest

    program, _ = lower_program(wl, problem, sched, cfg.name, hw_digest(cfg))
    result, _, _ = simulate(program, cfg, mode="block-reuse", network_mode="worm", trace=False, program_digest="")
    c = result["counts"]
    return {"cycles": result["latency"]["cycles"], "breakdown_cycles": result["latency_breakdown"]["breakdown_cycles"],
            "energy_pj": result["energy"]["total_pj"], "noc_bytes": c["bytes_sent"],
            "dram_bytes": c["dram_bytes_read"] + c["dram_bytes_written"],
            "predicted_relative_error": result["prediction"]["relative_error"]}


def trex_point(model: str, hw: str, cache: str, method: str = "trex", target_ms: float | None = None,
               reuse: str | None = None, sets: list | None = None, plan_hw: str | None = None) -> dict:
    """One TReX-Sim run: Algorithm 1 for ``target_ms`` (on ``plan_hw``, default ``hw``) or the given ``reuse``,
    map with ``method``, simulate on ``hw``."""
    from scheduler.crossbar.cli import build_program, plan_reuse
    from simulator.families.crossbar_chip.units import simulate
    from contracts.hardware import load_hw

    cfg = load_hw(hw, list(sets or []))
    plain = traced(model, None, cache)
    n_reuse = 0
    if target_ms is not None:
        plan = plan_reuse(plain, load_hw(plan_hw) if plan_hw else cfg, target_ms, None)
        reuse, n_reuse = plan["reuse"], plan["n_reuse"]
    wl = traced(model, None, cache, reuse) if reuse else plain
    result, _, _ = simulate(build_program(wl, cfg, method), cfg)
    return {"model": model, "hw": hw, "method": method, "target_ms": target_ms, "reuse": reuse,
            "n_reuse": result["n_reuse"] if reuse else n_reuse, "totals": result["totals"], "tb": result["tb"],
            "by_block": result["by_block"], "by_circuit": {k: v for k, v in result["by_circuit"].items() if k != "note"},
            "des_matches_closed_form": result["des_matches_closed_form"]}
