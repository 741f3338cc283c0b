"""Per-node work of one partitioned branch and its memory (Allspark Section V, Eq. 7-16).

* :func:`node_steps` / :func:`transition_steps`: the ordered per-node work of one
  branch on one node of its sub-array: GEMM / ACU / ring transfer steps.
  ``costs.py`` times them, ``lower.py`` turns them into instructions: one
  definition, two users.
* the memory check: workspace (Eq. 7-10, :func:`workspace_bytes`) and weights
  per node (Eq. 11-16, :func:`weight_bytes_per_node`).

The reading of [u, v] and of the phases is in :mod:`scheduler.allspark.partition`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scheduler.allspark.blocks import BlockKind, GemmSpec, HEAD_SPLIT_LINEAR, Transition, ceil_div, split_at
from scheduler.allspark.partition import Partition, shares


@dataclass(frozen=True)
class Gemm:
    layer: str
    phase: int
    m: int
    k: int
    n: int


@dataclass(frozen=True)
class Acu:
    func: str
    phase: int
    elements: int


@dataclass(frozen=True)
class Ring:
    """``rounds`` rounds of a cyclic dataflow: each node sends ``chunk_bytes`` to its successor, receives one.

    ``axis='u'``: the vertical ring of a sub-array column (K, V; weight sharing
    when share == u); ``axis='v'``: the horizontal ring of a sub-array row;
    ``axis='share'``: the weight-sharing group of a baseline (share > u).
    """

    what: str  # ln_stats, F, K, V, Z, hidden, in (transition input), ws
    phase: int
    axis: str
    length: int
    chunk_bytes: int
    category: str  # fmap_transfer | weight_share
    wrap_hops: int = 0  # hops from the last ring node back to the first (0: a straight line, length-1)

    @property
    def hops(self) -> tuple[int, ...]:
        """Hops from each ring position to its successor."""
        return (1,) * (self.length - 1) + (self.wrap_hops or self.length - 1,)

    @property
    def rounds(self) -> int:
        return self.length - 1


Step = Gemm | Acu | Ring


def _gemm_for_node(g: GemmSpec, part: Partition, branches: int, branch: int, i: int, j: int, heads_total: int) -> Gemm | None:
    rows_branch = split_at(g.rows, branches, branch)
    m = split_at(rows_branch, part.u, i)
    if g.kind == "heads":
        m *= split_at(g.heads, part.v, j)
        n = g.n
    elif g.layer in HEAD_SPLIT_LINEAR and heads_total > 0 and g.n % heads_total == 0 and part.v <= heads_total:
        n = split_at(heads_total, part.v, j) * (g.n // heads_total)
    else:
        n = split_at(g.n, part.v, j)
    if m <= 0 or n <= 0:
        return None
    return Gemm(g.layer, g.phase, m, g.k, n)


def _ring(what, phase, axis, length, chunk, category, wrap_hops=0) -> list[Ring]:
    return [Ring(what, phase, axis, length, chunk, category, wrap_hops)] if length > 1 and chunk > 0 else []


def share_wrap_hops(g: int, mesh_rows: int) -> int:
    """Wrap-around hops of a weight-sharing group laid out as a column snake of g nodes (see layout.share_groups)."""
    if g <= mesh_rows:
        return g - 1
    ncols = g // mesh_rows
    return ncols - 1 if ncols % 2 == 0 else (mesh_rows - 1) + (ncols - 1)


def ws_chunk_bytes(gemms: list[GemmSpec], part: Partition, elem: int) -> int:
    """Weight chunk one node stores and circulates: the group's weights of these GEMMs over ``share`` nodes."""
    return sum(ceil_div(ceil_div(g.weight_elems, part.v) * elem, part.g) for g in gemms if g.weight_elems)


def node_steps(kind: BlockKind, part: Partition, branch: int, i: int, j: int, elem: int,
               weights_resident: bool, mesh_rows: int = 0) -> list[tuple[Step, bool]]:
    """Per-node work of one block for one image, as (step, is_weight_share) in execution order.

    ``weights_resident``: every node holds the whole block's weights (Eq. 11, Term 1), so no sharing.
    """
    sh = shares(kind, part)
    u, v = part.u, part.v
    steps: list[tuple[Step, bool]] = []
    by_phase: dict[int, list[GemmSpec]] = {}
    for g in kind.gemms:
        by_phase.setdefault(g.phase, []).append(g)
    my_q = split_at(kind.dim, v, j)
    qh = sh.b * kind.head_dim  # channels of the node's b heads

    def add(step_list, ws=False):
        steps.extend((s, ws) for s in step_list)

    def gemms(phase):
        for g in by_phase.get(phase, []):
            gg = _gemm_for_node(g, part, kind.branches, branch, i, j, kind.heads)
            if gg is None:
                continue
            add([gg])
            if gg.layer == "attn_qk":
                add([Acu("softmax", phase, gg.m * gg.n)])
            elif gg.layer in ("fc1", "tb_fc"):
                add([Acu("gelu", phase, gg.m * gg.n)])

    def layernorm(phase, width=my_q):
        if kind.has_norm:
            add([Acu("layernorm", phase, sh.p * width)])
            add(_ring("ln_stats", phase, "v", v, 2 * sh.p * elem, "fmap_transfer"))
            if v > 1:
                add([Acu("reduce", phase, 2 * sh.p * (v - 1))])

    def weight_share(first, covered):
        chunk = ws_chunk_bytes([g for ph in covered for g in by_phase.get(ph, [])], part, elem)
        if not weights_resident and part.g > 1:
            wrap = share_wrap_hops(part.g, mesh_rows) if part.g != part.u else 0
            add(_ring("ws", first, "u" if part.g == part.u else "share", part.g, chunk, "weight_share", wrap), ws=True)

    has = {ph: bool(by_phase.get(ph)) for ph in range(0, 10)}
    extra = sorted(ph for ph in by_phase if not 1 <= ph <= 9)
    for phase in list(range(1, 10)) + extra:
        if phase == 1:
            layernorm(1)
            gemms(1)
            if (has[2] or has[3] or has[4]) and not kind.reused:
                add(_ring("F", 1, "v", v, sh.p * sh.q * elem, "fmap_transfer"))
            continue
        if phase == 2:
            weight_share(2, (2, 3, 4))
            if kind.reused and has[2]:
                # TB: LN over the stored source attention output Z_src (p x b d on this node), gather Z_src
                # on the horizontal ring, then the d x d FC and GELU (gemms below)
                layernorm(2, qh)
                add(_ring("Zsrc", 2, "v", v, sh.p * qh * elem, "fmap_transfer"))
        if phase == 7:
            weight_share(7, (7, 8, 9))
        if not has.get(phase, bool(by_phase.get(phase))):
            continue
        if phase == 5:
            add(_ring("K", 5, "u", u, sh.p_kv * qh * elem, "fmap_transfer"))
        elif phase == 6:
            add(_ring("V", 6, "u", u, sh.p_kv * qh * elem, "fmap_transfer"))
        elif phase == 7:
            add(_ring("Z", 7, "v", v, sh.p * qh * elem, "fmap_transfer"))
        elif phase == 8:
            layernorm(8)
            add(_ring("F", 8, "v", v, sh.p * sh.q * elem, "fmap_transfer"))
        elif phase == 9:
            add(_ring("hidden", 9, "v", v, sh.p * ceil_div(kind.mlp_hidden, v) * elem, "fmap_transfer"))
        gemms(phase)
        if phase in (7, 9):
            add([Acu("add", phase, sh.p * my_q)])
    return steps


def transition_steps(tr: Transition, kind: BlockKind, part: Partition, branch: int, i: int, j: int, elem: int,
                     weights_resident: bool, mesh_rows: int = 0) -> list[tuple[Step, bool]]:
    """Phase 0 (patch merging / stage embedding) on the stage's sub-array: D^PM gather, W^PM sharing, GEMM."""
    steps: list[tuple[Step, bool]] = []
    sh = shares(kind, part)
    for g in tr.gemms:
        gg = _gemm_for_node(g, part, kind.branches, branch, i, j, 0)
        if not weights_resident and part.g > 1 and g.weight_elems:
            wrap = share_wrap_hops(part.g, mesh_rows) if part.g != part.u else 0
            for r in _ring("ws", 0, "u" if part.g == part.u else "share", part.g, ws_chunk_bytes([g], part, elem),
                           "weight_share", wrap):
                steps.append((r, True))
        for r in _ring("in", 0, "v", part.v, sh.p * ceil_div(g.k, part.v) * elem, "fmap_transfer"):
            steps.append((r, False))
        if gg is not None:
            steps.append((gg, False))
    return steps


def workspace_phase_elems(kind: BlockKind, part: Partition, batch: int) -> dict[str, int]:
    """Eq. 8-10 without the V^F term: what phases 2, 6 and 8 add on top of the stored feature maps."""
    sh = shares(kind, part)
    c, d, n = kind.dim, kind.head_dim, kind.kv_tokens
    aq = math.ceil(kind.mlp_ratio * sh.q)
    if kind.reused:
        # TReX TB in place of Eq. 8-9: the gathered Z_src rows (p x C) and the TB weight chunk (C x q),
        # plus the TB output p x q per image; no attention scores (phase 6 is absent)
        return {"p2": c * (sh.p + sh.q) + sh.p * sh.q * batch, "p8": (c + 1) * (sh.p + aq) * batch}
    return {
        "p2": c * (sh.p + d) + sh.p * d * batch,  # Eq. 8
        "p6": n * (sh.p + sh.q) + sh.p * sh.q * batch,  # Eq. 9 (N read as key/value tokens per branch)
        "p8": (c + 1) * (sh.p + aq) * batch,  # Eq. 10
    }


def feature_elems(kind: BlockKind, part: Partition, batch: int) -> int:
    """One temporal layer's term of Eq. 7: p x q per node, times the batch.

    A reusing block (TReX) adds the source encoder's attention output Z_src it
    reads, p x (b d) per node, held in DRAM from the source block until its last
    reader (V^dyn is the maximum over block kinds, so the term counts while it
    is live).
    """
    sh = shares(kind, part)
    held = sh.p * sh.b * kind.head_dim * batch if kind.reused else 0
    return sh.p * sh.q * batch + held


def workspace_bytes(kind: BlockKind, layers: list[Partition], batch: int, elem: int) -> int:
    """V^dyn of a block kind = V^F (Eq. 7) + the largest phase term (Eq. 8-10) over its temporal layers."""
    if not layers:
        return 0
    vf = sum(feature_elems(kind, p, batch) for p in layers)
    peak = max(max(workspace_phase_elems(kind, p, batch).values()) for p in layers)
    return (vf + peak) * elem


def weight_bytes_per_node(weight_elems: int, layers: list[Partition], elem: int, reuse: bool = True,
                          sharing: bool = True) -> int:
    """Eq. 11-16 for one block: the weights one node stores.

    With reuse: Term 1 (a [1,1] layer without sharing group -> every node stores all
    weights) and Term 2 (layers with the same partition store their chunk once).
    With sharing a node stores 1/(v * share) of the block's weights per partition,
    without it 1/v (the u nodes of a column hold identical copies, Sec. VI-C).
    """
    if not layers:
        return 0
    if reuse and any(p.u == 1 and p.v == 1 and p.g == 1 for p in layers):
        return weight_elems * elem
    parts = sorted(set(layers)) if reuse else list(layers)
    return sum(ceil_div(weight_elems, p.v * (p.g if sharing else 1)) for p in parts) * elem
