"""The scheduling problem of Allspark Section VI as data: candidates, their costs and memory terms.

For every block kind (the blocks of a stage, or each alternating shape of a
stage) and every candidate partition [u, v] this module computes, once:

* ``cap`` = N_{alpha,beta}, sub-arrays per temporal layer (Algorithm 1);
* the cycles of one temporal layer of one block (T^c, T^t, T^ws, costs.py) and
  of the stage transition (patch merging) on that layer;
* the memory terms of constraint (5): weights per node (Eq. 11-16), the
  layer's feature-map term of Eq. 7 and its phase peak of Eq. 8-10.

``cpsat.py`` and ``dp.py`` both solve this same data, and a :class:`Schedule`
(temporal layers per kind) is evaluated by :func:`evaluate` with the same
numbers, so objective, summary and lowering agree.

Abstracted away: the weights of the stem and the head are spread over all
nodes (or replicated when their rows are split instead), a fixed term.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.hardware.pim_mesh import PimMeshConfig
from contracts.workload import WorkloadGraph

from scheduler.allspark import costs
from scheduler.allspark.layout import max_subarrays
from scheduler.allspark.blocks import BlockKind, GemmSpec, Transition, block_kinds, ceil_div, specs_from_ops, transitions
from scheduler.allspark.partition import Partition, head_candidates, patch_candidates
from scheduler.allspark.steps import feature_elems, workspace_phase_elems

METHODS = ("allspark", "B", "P", "AH")


@dataclass(frozen=True)
class Candidate:
    part: Partition
    cap: int  # N_{alpha,beta}
    block: costs.LayerCost  # one block on one temporal layer
    trans: costs.LayerCost  # the stage transition on one temporal layer (zero if none / not first kind)
    weight_bytes: int  # per node, all blocks of the kind + the transition (Eq. 12/16 with sharing)
    feature_bytes: int  # Eq. 7 term of one temporal layer
    peak_bytes: int  # max of Eq. 8-10 phase terms (without V^F)

    @property
    def resident_capable(self) -> bool:
        """[1,1] without a sharing group: Term 1 of Eq. 11 (every node holds every weight)."""
        return self.part.u == 1 and self.part.v == 1 and self.part.g == 1

    def time(self, count: int, resident: bool) -> int:
        """Cycles of one temporal layer over all ``count`` blocks of the kind plus the transition."""
        if resident:
            return count * self.block.total_without_sharing + self.trans.total_without_sharing
        return count * self.block.total + self.trans.total


@dataclass
class KindProblem:
    kind: BlockKind
    transition: Transition | None
    candidates: list[Candidate]
    full_weight_bytes: int  # Term 1: every weight of the kind (+ transition) on every node


@dataclass
class Problem:
    hw: PimMeshConfig
    method: str
    batch: int
    kinds: list[KindProblem]
    fixed_weight_bytes: int  # stem + head weights per node
    pre_post: list[GemmSpec]
    capacity_bytes: int

    @property
    def nodes(self) -> int:
        return self.hw.mesh.rows * self.hw.mesh.cols


def partitions_for(method: str, kind: BlockKind, hw: PimMeshConfig) -> list[Partition]:
    """Candidate partitions of a method. B: [1,1]; P: [u,1]; AH: [1,v]; Allspark: every [u,v] (Sec. VI-A).

    B and AH may share weights among ``share`` nodes of different branches (AH: a power of two dividing
    the node rows, within one column; B: also snakes over 2, 4, ... whole columns) so that they meet the
    same memory constraint as Allspark (Sec. VIII-A: same system); a larger group costs more sharing time.
    """
    rows, cols = hw.mesh.rows, hw.mesh.cols
    limit = max(rows, cols)
    us = patch_candidates(kind, limit)
    vs = head_candidates(kind, limit)
    column_groups = [g for g in (2 ** e for e in range(1, 16)) if g <= rows and rows % g == 0]
    snake_groups = [rows * w for w in range(2, cols + 1) if cols % w == 0 and (w & (w - 1)) == 0]
    if method == "allspark":
        parts = [Partition(u, v) for u in us for v in vs]
    elif method == "P":
        parts = [Partition(u, 1) for u in us]
    elif method == "AH":
        parts = [Partition(1, v) for v in vs] + [Partition(1, v, g) for v in vs for g in column_groups]
    elif method == "B":
        parts = [Partition(1, 1)] + [Partition(1, 1, g) for g in column_groups + snake_groups]
    else:
        raise ValueError(f"unknown method {method!r}")
    return [p for p in parts if p.nodes <= rows * cols]


def _pre_post_specs(wl: WorkloadGraph) -> list[GemmSpec]:
    heads = wl.stages[0].blocks[0].heads if wl.stages and wl.stages[0].blocks else 1
    specs = specs_from_ops(list(wl.pre_ops), heads) + specs_from_ops(list(wl.post_ops), heads)
    return [GemmSpec(g.layer, 0, "linear", g.rows * g.heads, g.k, g.n, 1, g.weight_elems) for g in specs]


def data_parallel_split(g: GemmSpec, nodes: int) -> str:
    """How a stem/head GEMM is spread over all nodes: by rows when there are enough, else by columns."""
    return "rows" if g.rows >= nodes else "cols"


def fixed_weight_bytes(specs: list[GemmSpec], nodes: int, elem: int) -> int:
    total = 0
    for g in specs:
        if g.weight_elems:
            total += g.weight_elems if data_parallel_split(g, nodes) == "rows" else ceil_div(g.weight_elems, nodes)
    return total * elem


def _dominates(a: Candidate, b: Candidate, count: int) -> bool:
    """Replacing b by a in any schedule never increases a term of the objective or of constraint (5)."""
    return (a.cap >= b.cap and a.time(count, False) <= b.time(count, False) and a.time(count, True) <= b.time(count, True)
            and a.weight_bytes <= b.weight_bytes and a.feature_bytes <= b.feature_bytes and a.peak_bytes <= b.peak_bytes)


def prune_dominated(cands: list[Candidate], count: int) -> list[Candidate]:
    """Drop candidates another one dominates (ties keep the earlier); Term 1's [1,1] is always kept."""
    keep = []
    for i, b in enumerate(cands):
        if b.resident_capable:
            keep.append(b)
            continue
        dominated = any(_dominates(a, b, count) and (j < i or not _dominates(b, a, count))
                        for j, a in enumerate(cands) if j != i and not a.resident_capable)
        if not dominated:
            keep.append(b)
    return keep


def build_problem(wl: WorkloadGraph, hw: PimMeshConfig, method: str = "allspark", batch: int = 1) -> Problem:
    elem = hw.bytes_per_element
    rows, cols = hw.mesh.rows, hw.mesh.cols
    trans_by_stage = {t.stage: t for t in transitions(wl)}
    kinds = block_kinds(wl, hw.fidelity.subsampled_attention)
    out: list[KindProblem] = []
    seen_stage: set[int] = set()
    for kind in kinds:
        tr = trans_by_stage.get(kind.stage) if kind.stage not in seen_stage else None
        seen_stage.add(kind.stage)
        cands = []
        for part in partitions_for(method, kind, hw):
            cap = max_subarrays(rows, cols, part)
            if cap < 1:
                continue
            resident = False
            blk = costs.block_layer_cost(hw, kind, part, batch, resident)
            trc = costs.transition_layer_cost(hw, tr, kind, part, batch, resident)
            denom = part.v * part.g
            wbytes = ceil_div(kind.weight_elems, denom) * kind.count * elem
            if tr is not None:
                wbytes += ceil_div(tr.weight_elems, denom) * elem
            ph = workspace_phase_elems(kind, part, batch)
            cands.append(Candidate(part, cap, blk, trc, wbytes, feature_elems(kind, part, batch) * elem,
                                   max(ph.values()) * elem))
        full = (kind.weight_elems * kind.count + (tr.weight_elems if tr else 0)) * elem
        out.append(KindProblem(kind, tr, prune_dominated(cands, kind.count), full))
    pre_post = _pre_post_specs(wl)
    return Problem(hw, method, batch, out, fixed_weight_bytes(pre_post, rows * cols, elem), pre_post,
                   hw.node_capacity_bytes)


# --------------------------------------------------------------------------- schedules


@dataclass
class KindSchedule:
    layers: list[tuple[Partition, int]]  # (partition, branches) per temporal layer, canonical order
    resident: bool  # Term 1: every node holds all weights of the kind, no weight sharing


@dataclass
class Schedule:
    method: str
    kinds: list[KindSchedule]
    solver: dict = field(default_factory=dict)  # status, objective, best_bound, gap, wall_s


def canonical_layers(counts: dict[Partition, int], caps: dict[Partition, int], branches: int) -> list[tuple[Partition, int]]:
    """Expand temporal-layer counts per partition into layers with branch counts (constraints 2-4).

    Layers are filled greedily in decreasing capacity (every layer keeps at least one branch), then
    listed with decreasing branch counts: the canonical order that stands for the paper's layer index.
    """
    slots = sorted((p for p in counts for _ in range(counts[p])), key=lambda p: (-caps[p], p))
    remaining, layers = branches, []
    for t, part in enumerate(slots):
        take = min(caps[part], remaining - (len(slots) - t - 1))
        layers.append((part, take))
        remaining -= take
    if remaining != 0 or any(b < 1 for _, b in layers):
        raise ValueError(f"temporal layers {dict(counts)} cannot carry {branches} branches")
    layers.sort(key=lambda pc: (-pc[1], pc[0].nodes, pc[0].u, pc[0].v, pc[0].g))
    return layers


@dataclass
class Evaluation:
    cycles: int
    kind_cycles: list[int]
    weights: list[int]  # per kind, per node bytes
    workspace: list[int]  # per kind
    fixed_weights: int

    @property
    def memory(self) -> int:
        return sum(self.weights) + max(self.workspace, default=0) + self.fixed_weights


def evaluate(problem: Problem, sched: Schedule) -> Evaluation:
    """Cycles and per-node memory of a schedule from the problem's tables (what the solvers optimise)."""
    kind_cycles, weights, workspace = [], [], []
    for kp, ks in zip(problem.kinds, sched.kinds):
        by_part = {c.part: c for c in kp.candidates}
        kind_cycles.append(sum(by_part[p].time(kp.kind.count, ks.resident) for p, _ in ks.layers))
        used = sorted({p for p, _ in ks.layers})
        weights.append(kp.full_weight_bytes if ks.resident else sum(by_part[p].weight_bytes for p in used))
        vf = sum(by_part[p].feature_bytes for p, _ in ks.layers)
        workspace.append(vf + max((by_part[p].peak_bytes for p in used), default=0))
    return Evaluation(sum(kind_cycles), kind_cycles, weights, workspace, problem.fixed_weight_bytes)
