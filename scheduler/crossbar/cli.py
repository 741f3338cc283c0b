"""``python -m scheduler solve|trex-plan`` for crossbar chips (called by scheduler/__main__.py).

    solve:      workload.json + crossbar config -> program.json (TReX-Sim mapping,
                or a baseline: --method retransformer | prune:p=0.3 | ws:2)
    trex-plan:  Algorithm 1 on the plain workload -> plan JSON
                {"reuse": spec or null, "n_reuse": N, "predicted_delay_ms": D, ...}
"""

from __future__ import annotations

import logging

from scheduler.crossbar.algorithm1 import delay_model, smallest_n_reuse
from scheduler.crossbar.baselines import baseline_model_macs, build_mapping
from scheduler.crossbar.lower import lower
from scheduler.crossbar.mapping import map_model
from scheduler.crossbar.patterns import default_spec, encoders_of, split_spec
from contracts.atomic import write_json
from contracts.errors import UserError
from contracts.hardware.crossbar_chip import CrossbarChipConfig
from contracts.hardware.loader import hw_digest
from contracts.program import Program, write_program
from contracts.workload import WorkloadGraph, load_workload

log = logging.getLogger(__name__)


def build_program(wl: WorkloadGraph, hw: CrossbarChipConfig, method: str = "trex", batch: int = 1) -> Program:
    """Map and lower one workload: the library entry point behind ``solve``."""
    if batch != 1:
        raise UserError("crossbar chips run one inference at a time (TReX Table II); use --batch 1")
    mapping = build_mapping(wl, hw, method)
    base = baseline_model_macs(map_model(wl, hw, "trex"))
    return lower(mapping, hw, workload_digest=wl.digest(), hw_digest=hw_digest(hw), base_macs=base, batch=batch)


def solve(args, hw: CrossbarChipConfig) -> None:
    wl = load_workload(args.workload)
    prog = build_program(wl, hw, args.method, args.batch)
    write_program(args.out, prog)
    ms = prog.predicted_cycles * 1e3 / hw.clock_hz
    tiles = len([u for u in prog.units() if u.startswith("tile[")])
    print(f"crossbar mapping of {wl.model} on {hw.name} ({prog.provenance.method}): {tiles} tiles, "
          f"{prog.instruction_count()} instructions, closed-form delay {ms:.4f} ms (TB executed)")
    if getattr(args, "summary", False):
        for seg in prog.segments:
            print(f"  {seg.name:>10}: {seg.hint_cycles * 1e3 / hw.clock_hz:.4f} ms, {len(seg.streams)} units")


def plan_reuse(wl: WorkloadGraph, hw: CrossbarChipConfig, target_ms: float, pattern: str | None) -> dict:
    """Algorithm 1 plus a reuse spec valid for the model with exactly N_reuse reusing encoders."""
    if target_ms <= 0:
        raise UserError(f"target delay must be positive, got {target_ms:g} ms")
    model = delay_model(map_model(wl, hw, "trex"), hw)
    n = smallest_n_reuse(model, target_ms, hw.include_tb_in_totals)
    n_enc = model.n_encoders
    spec = None
    if pattern:
        family, params = split_spec(pattern, partial=True)
        if family == "list" or ("n" in params and "start" in params):
            if len(encoders_of(pattern, n_enc)) != n:
                raise UserError(f"pattern '{pattern}' reuses {len(encoders_of(pattern, n_enc))} encoders, "
                                f"but Algorithm 1 needs N_reuse = {n}")
            spec = pattern
        elif n:
            spec = default_spec(n, n_enc, family, params)
    elif n:
        spec = default_spec(n, n_enc)
    return {
        "reuse": spec,
        "n_reuse": n,
        "reuse_encoders": encoders_of(spec, n_enc) if spec else [],
        "predicted_delay_ms": model.delay_ms(n, hw.include_tb_in_totals),
        "target_delay_ms": target_ms,
        "n_encoders": n_enc,
        "include_tb_in_totals": hw.include_tb_in_totals,
        "delay_ms_by_n_reuse": [model.delay_ms(r, hw.include_tb_in_totals) for r in range(n_enc)],
        "rule": "smallest N_reuse with delay < target (strict; TReX Table IV TReX-D-6)",
        "model": wl.model,
        "hw": hw.name,
    }


def trex_plan(args, hw: CrossbarChipConfig) -> None:
    wl = load_workload(args.workload)
    plan = plan_reuse(wl, hw, args.target_delay_ms, args.pattern)
    write_json(args.out, plan)
    print(f"Algorithm 1: N_reuse = {plan['n_reuse']} of {plan['n_encoders']} encoders, predicted delay "
          f"{plan['predicted_delay_ms']:.4f} ms < target {plan['target_delay_ms']:g} ms; reuse {plan['reuse']}")


__all__ = ["solve", "trex_plan", "build_program", "plan_reuse"]
