"""Human-readable schedule summary: Allspark Table IV (partition), Table V (memory), Eq. 21 (utilisation).

Memory figures (MiB per node) come in two accountings:

* ``Eq. 5 (blocks)``: exactly constraint (5) of the paper, the blocks' weights
  (12 C_s^2 each) plus the largest workspace: what Table V reports;
* ``solver``: what our memory constraint checks, adding the weights of the
  stage transitions (patch merging) and of the stem and head.

Table V's other rows (no reuse, no sharing) are recomputed for the same
partition under both readings of [u, v] (which index splits the heads).
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.allspark.partition import Partition
from scheduler.allspark.steps import weight_bytes_per_node, workspace_bytes
from scheduler.allspark.problem import Problem, Schedule, evaluate

MIB = 2**20

# Allspark Table V (Swin-B 640x640, 8 MiB per node): printed beside ours, never used in a computation path
PAPER_TABLE_V = {"reuse+sharing": (6.94, 1.02, 7.96), "no reuse": (11.64, 1.02, 12.66), "no sharing": (59.8, 1.02, 60.82)}
PAPER_TABLE_IV_LAYERS = (3, 2, 3, 1)


def mib(b: float) -> str:
    return f"{b / MIB:.2f}"


@dataclass
class MemoryRows:
    """Table V rows for one schedule (bytes per node)."""

    weights: dict[str, int]  # variant -> block weights (Eq. 5)
    workspace: int


def table_v_rows(problem: Problem, sched: Schedule) -> MemoryRows:
    """Eq. 5 accounting of the blocks' weights under the reuse/sharing variants, and the largest workspace."""
    elem = problem.hw.bytes_per_element
    variants = {"reuse+sharing": {}, "no reuse": {"reuse": False}, "no sharing": {"sharing": False}}
    out = {}
    for name, kw in variants.items():
        total = 0
        for kp, ks in zip(problem.kinds, sched.kinds):
            parts = [p for p, _ in ks.layers]
            total += weight_bytes_per_node(kp.kind.weight_elems, parts, elem, **kw) * kp.kind.count
        out[name] = total
    # the other reading of [u, v]: u splits the heads, so without sharing a node keeps 12 C^2 / u
    total = 0
    for kp, ks in zip(problem.kinds, sched.kinds):
        swapped = [Partition(p.v, p.u) for p, _ in ks.layers]
        total += weight_bytes_per_node(kp.kind.weight_elems, swapped, elem, sharing=False) * kp.kind.count
    out["no sharing ([u,v] = [heads, patches])"] = total
    ws = max(workspace_bytes(kp.kind, [p for p, _ in ks.layers], problem.batch, elem)
             for kp, ks in zip(problem.kinds, sched.kinds))
    return MemoryRows(out, ws)


def layer_time(problem: Problem, ki: int, part: Partition, resident: bool) -> int:
    cand = next(c for c in problem.kinds[ki].candidates if c.part == part)
    return cand.time(problem.kinds[ki].kind.count, resident)


def utilisation(problem: Problem, sched: Schedule) -> dict[int, float]:
    """Eq. 21 per stage: node-time occupied over node-time available (computing nodes only)."""
    nodes = problem.nodes
    num, den = {}, {}
    for ki, (kp, ks) in enumerate(zip(problem.kinds, sched.kinds)):
        s = kp.kind.stage
        for part, branches in ks.layers:
            t = layer_time(problem, ki, part, ks.resident)
            num[s] = num.get(s, 0) + branches * part.nodes * t
            den[s] = den.get(s, 0) + nodes * t
    return {s: num[s] / den[s] if den[s] else 0.0 for s in sorted(num)}


def overall_utilisation(problem: Problem, sched: Schedule) -> float:
    num = den = 0
    for ki, (kp, ks) in enumerate(zip(problem.kinds, sched.kinds)):
        for part, branches in ks.layers:
            t = layer_time(problem, ki, part, ks.resident)
            num += branches * part.nodes * t
            den += problem.nodes * t
    return num / den if den else 0.0


def _reuse_flag(ks) -> str:
    parts = [p for p, _ in ks.layers]
    if ks.resident and len(parts) > 1:
        return "Yes (Term 1: [1,1] holds all weights)"
    return "Yes" if len(set(parts)) < len(parts) else "No"


def table_iv(problem: Problem, sched: Schedule) -> str:
    lines = ["Table IV  partition and schedule (partition [u,v]: u patch split, v head split; x branches)",
             f"{'stage':<8}{'layers':>7}  {'partition per temporal layer':<52}{'weight reuse'}"]
    for kp, ks in zip(problem.kinds, sched.kinds):
        label = f"{kp.kind.stage}" + (f" ({kp.kind.key})" if "." in kp.kind.key else "")
        runs: list[list] = []  # consecutive identical layers shown once with a count
        for p, b in ks.layers:
            if runs and runs[-1][0] == (p, b):
                runs[-1][1] += 1
            else:
                runs.append([(p, b), 1])
        parts = ", ".join((f"{n} x " if n > 1 else "") + f"{p.label()}x{b}" for (p, b), n in runs)
        lines.append(f"{label:<8}{len(ks.layers):>7}  {parts:<52}{_reuse_flag(ks)}")
    return "\n".join(lines)


def table_v(problem: Problem, sched: Schedule) -> str:
    ev = evaluate(problem, sched)
    rows = table_v_rows(problem, sched)
    lines = ["Table V  memory per node (MiB)",
             f"{'case':<44}{'weights':>9}{'workspace':>11}{'total':>9}"]
    for name, w in rows.weights.items():
        lines.append(f"{'Eq. 5 (blocks), ' + name:<44}{mib(w):>9}{mib(rows.workspace):>11}{mib(w + rows.workspace):>9}")
    lines.append(f"{'solver (+ patch merging, stem, head)':<44}{mib(ev.memory - max(ev.workspace)):>9}"
                 f"{mib(max(ev.workspace)):>11}{mib(ev.memory):>9}   capacity {mib(problem.capacity_bytes)}")
    return "\n".join(lines)


def solver_line(sched: Schedule, hz: float, include_wall: bool = True) -> str:
    """One line on the solve; ``include_wall=False`` for text stored in program.json (inputs-only)."""
    s = sched.solver
    obj = s.get("objective")
    ms = f" = {obj / hz * 1e3:.3f} ms" if obj is not None else ""
    bound = s.get("best_bound")
    gap = s.get("gap")
    wall = s.get("wall_s")
    if obj is None or bound is None or gap is None:
        return f"solver: {s.get('status')}"
    line = f"solver: {s.get('status')}  objective {obj:.0f} cycles{ms}  bound {bound:.0f}  gap {gap:.2%}"
    return line + (f"  wall {wall:.3f} s" if include_wall and wall is not None else "")


def summary_text(problem: Problem, sched: Schedule, placements: dict | None = None, detail: bool = False,
                 include_wall: bool = True) -> str:
    hz = problem.hw.clock_hz
    util = utilisation(problem, sched)
    parts = [f"method {sched.method}, batch {problem.batch}, {problem.hw.name} "
             f"({problem.hw.mesh.rows}x{problem.hw.mesh.cols} nodes, {mib(problem.capacity_bytes)} MiB each)",
             solver_line(sched, hz, include_wall), table_iv(problem, sched), table_v(problem, sched),
             "node utilisation (Eq. 21): " + ", ".join(f"stage {s} {u:.1%}" for s, u in util.items())
             + f", all {overall_utilisation(problem, sched):.1%}"]
    if placements:
        parts.append("placement cost (sum of anchor Manhattan distances over G_dp edges, greedy vs raster): "
                     + ", ".join(f"{k} {p.cost} vs {p.raster_cost}" for k, p in placements.items()))
    if detail:
        lines = ["per temporal layer, cycles for all blocks of the kind (T^c / T^t / T^ws per block)"]
        for ki, (kp, ks) in enumerate(zip(problem.kinds, sched.kinds)):
            for part, b in ks.layers:
                c = next(c for c in kp.candidates if c.part == part)
                ws = 0 if ks.resident else c.block.weight_share
                lines.append(f"  {kp.kind.key} {part.label():<10} x{b:<4} {layer_time(problem, ki, part, ks.resident):>10}"
                             f"   ({c.block.compute} / {c.block.transfer} / {ws})")
        parts.append("\n".join(lines))
    return "\n".join(parts)
