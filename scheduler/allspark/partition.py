"""Head x patch partitioning of one computational branch (Allspark Section V, Eq. 6-16).

Reading of [u, v] used everywhere in this package (Section V and Eq. 6)
-----------------------------------------------------------------------
A branch runs on a sub-array of ``u`` rows x ``v`` columns of PIM nodes:

* ``u`` is the **patch split**: the N tokens of the branch are spread over the
  u nodes of a column, ``p = ceil(N/u)`` each; K and V circulate on vertical
  rings of u nodes (u-1 rounds), and the u nodes of a column store 1/u of the
  column's weights each and share them on the same vertical ring (weight
  sharing, Section VI-C).
* ``v`` is the **head split**: the h heads go to v column groups,
  ``b = ceil(h/v)`` heads and ``q = ceil(C/v)`` channels each; feature maps,
  MSA-FC/FFN inputs and LayerNorm statistics circulate on horizontal rings of
  v nodes (v-1 rounds).

Section VI-A draws u from the heads' candidates and v from the patches', the
opposite naming; the weights per node (12 C^2 / (u v)) do not care, but the
no-sharing figure of Table V (12 C^2 / v per node) does. We follow Section V
and Eq. 6 (the equations that define p, q and b), and report the other reading
beside ours in the summary.

What this module holds
----------------------
* :class:`BlockKind`: the GEMMs a block really issues, read from the traced ops
  (so MACs are exact), grouped into the nine phases of Fig. 7.
* candidates U_s (patch splits) and V_s (head splits), :func:`shares` (Eq. 6).
* :func:`node_steps`: the ordered per-node work of one branch on one node of its
  sub-array: GEMM / ACU / ring transfer steps. ``costs.py`` times them,
  ``lower.py`` turns them into instructions: one definition, two users.
* transfer volumes D^F, D^K, D^V, D^MSA_FC, D^FFN, D^LN, D^PM; weight-sharing
  volumes W^PM, W^MSA, W^FC, W^FFN; workspace Eq. 7-10; weights Eq. 11-16.

Phases (our reading of Fig. 7; the figure itself is not in the text)
--------------------------------------------------------------------
0 patch merging / stage embedding (between stages, once per stage),
1 LayerNorm-1 (statistics on a horizontal ring) and the F gather (D^F),
2/3/4 Q, K, V projections (weights shared before phase 2 for 2-4),
5 Q.K^T after the vertical K ring, softmax, 6 S.V after the vertical V ring,
7 MSA-FC after the horizontal Z gather (weights for 7-9 shared before 7),
8 LayerNorm-2, F gather, FFN-FC1, GELU, 9 hidden gather, FFN-FC2.
Ops whose role is not one of these (PVT spatial reduction, CSWin LePE, ...)
run as extra GEMMs in the phase where they are issued.

A block that reuses attention (TReX, ``Block.attention_reused``) has no Q/K/V,
Q.K^T, softmax or S.V: phases 3-6 and their K / V rings are absent, and so is
the F gather of phase 1 (nothing consumes LN-1's output; LN-1 itself still
runs, as in the torch transform). Phase 2 becomes the transformation block
TB = LN -> d x d FC -> GELU, partitioned like any FC phase: its input is the
source encoder's attention output Z_src (the input of the source's MSA-FC),
which stays in the DRAM of the nodes where the source computed it, p x (b d)
per node; LN statistics on the horizontal ring (D^LN), the Z_src gather on the
horizontal ring (like D^MSA_FC), the FC with its output columns split over v,
GELU on the ACU; the TB weights are shared before phase 2 exactly as Q/K/V's
(W^MSA is replaced by the TB's d x d chunk). Phase 7 onwards is unchanged.
Abstracted: when the source and the reusing block use different partitions,
re-distributing Z_src is not modelled (as for the block-to-block feature map).

Abstracted away: the values, biases and LayerNorm parameters in the weight
volume (Eq. 11-16 count 12 C^2 per block), and uneven ring chunks: every ring
round carries the padded chunk of the largest node (ceil shares).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from contracts.workload import Block, Op, WorkloadGraph

# phase of each known op role (Allspark Fig. 7, our reading above)
ROLE_PHASE = {"q": 2, "k": 3, "v": 4, "attn_qk": 5, "attn_av": 6, "proj": 7, "fc1": 8, "fc2": 9,
              "tb_fc": 2}  # the TReX transformation block takes phase 2 of a reusing block (see above)
TB_PHASE = 2
HEAD_ROLES = ("attn_qk", "attn_av")  # per-head products: rows x heads split over [u, v]
HEAD_SPLIT_LINEAR = ("q", "k", "v")  # projections whose output columns are head-major
WS_PHASES = ((2, (2, 3, 4)), (7, (7, 8, 9)))  # weight sharing before 2 (for 2-4) and before 7 (for 7-9), Sec. VI-C


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def split(total: int, parts: int) -> list[int]:
    """Split ``total`` into ``parts`` near-equal integers, larger ones first (sum is exact)."""
    base, rem = divmod(total, parts)
    return [base + 1 if i < rem else base for i in range(parts)]


def split_at(total: int, parts: int, index: int) -> int:
    base, rem = divmod(total, parts)
    return base + 1 if index < rem else base


# --------------------------------------------------------------------------- block work


@dataclass(frozen=True)
class GemmSpec:
    """One GEMM a block (or a stage transition) issues, summed over all its branches.

    ``kind='linear'``: ``rows`` token rows (all branches) x ``k`` -> ``n`` columns; rows
    split over branches then over u, columns over v (head-major for q/k/v).
    ``kind='heads'``: ``heads`` independent products of ``rows`` rows each (all
    branches) x ``k`` -> ``n``; rows split over branches and u, heads over v.
    """

    layer: str
    phase: int
    kind: str  # 'linear' | 'heads'
    rows: int
    k: int
    n: int
    heads: int = 1
    weight_elems: int = 0  # parameters the GEMM reads (k x n for a linear layer, 0 for activations)

    @property
    def macs(self) -> int:
        return self.rows * self.k * self.n * self.heads


def gemm_shape(op: Op) -> tuple[int, int, int]:
    """(rows, k, n) with rows*k*n == op.macs exactly, read off the op's shapes."""
    macs = op.macs
    if op.kind == "conv" and len(op.output_shape) >= 2 and op.output_shape[1] > 0:
        n = op.output_shape[1]
        rows = math.prod(op.output_shape) // n
        if rows and macs % (rows * n) == 0:
            return rows, macs // (rows * n), n
    k = op.input_shapes[0][-1] if op.input_shapes and op.input_shapes[0] else 0
    n = op.output_shape[-1] if op.output_shape else 0
    if k > 0 and n > 0 and macs % (k * n) == 0:
        return macs // (k * n), k, n
    k = math.gcd(macs, 8)
    n = math.gcd(macs // k, 8)
    return macs // (k * n), k, n


def _linear_spec(op: Op, layer: str, phase: int, rows: int, k: int, n: int) -> GemmSpec:
    weights = k * n if op.params > 0 else 0
    return GemmSpec(layer=layer, phase=phase, kind="linear", rows=rows, k=k, n=n, weight_elems=weights)


def specs_from_ops(ops: list[Op], heads: int, default_phase: int = 1) -> list[GemmSpec]:
    """Every MAC-carrying op as GemmSpecs; qkv / kv are split into their q, k, v parts."""
    out: list[GemmSpec] = []
    phase = default_phase
    for op in ops:
        if op.macs == 0:
            continue
        rows, k, n = gemm_shape(op)
        role = op.role
        if role == "qkv" and n % 3 == 0:
            for i, part in enumerate(("q", "k", "v")):
                out.append(_linear_spec(op, part, 2 + i, rows, k, n // 3))
            phase = 4
            continue
        if role == "kv" and n % 2 == 0:
            for i, part in enumerate(("k", "v")):
                out.append(_linear_spec(op, part, 3 + i, rows, k, n // 2))
            phase = 4
            continue
        if role in ROLE_PHASE:
            phase = ROLE_PHASE[role]
        if role in HEAD_ROLES and op.kind == "matmul" and heads > 0 and rows % heads == 0:
            out.append(GemmSpec(layer=role, phase=phase, kind="heads", rows=rows // heads, k=k, n=n, heads=heads))
        else:
            out.append(_linear_spec(op, role or op.kind, phase, rows, k, n))
    return out


@dataclass(frozen=True)
class BlockKind:
    """A group of identical blocks of one stage: the unit the scheduler partitions (Sec. VI, strategy 1)."""

    key: str  # e.g. 's3' or 's2.b1' when a stage alternates block shapes
    stage: int
    block_indices: tuple[int, ...]  # model-wide block indices of this kind, in order
    dim: int  # C_s
    heads: int
    head_dim: int
    tokens: int  # N (tokens per branch)
    kv_tokens: int
    branches: int
    mlp_hidden: int
    interaction: str
    grid: tuple[int, int]  # branch grid (rows, cols) for G_dp
    gemms: tuple[GemmSpec, ...]
    has_norm: bool = True
    reused: bool = False  # TReX: attention removed, phase 2 is the transformation block

    @property
    def attention_gemms(self) -> tuple[GemmSpec, ...]:
        """The GEMMs of phases 2-6 (Q/K/V, Q.K^T, S.V; or the TB of a reusing block)."""
        return tuple(g for g in self.gemms if 2 <= g.phase <= 6)

    @property
    def count(self) -> int:
        return len(self.block_indices)

    @property
    def weight_elems(self) -> int:
        """Parameters of the block's GEMMs: 12 C^2 for a standard block (Section III-A)."""
        return sum(g.weight_elems for g in self.gemms)

    @property
    def macs(self) -> int:
        return sum(g.macs for g in self.gemms)

    @property
    def mlp_ratio(self) -> float:
        return self.mlp_hidden / self.dim if self.dim else 0.0


@dataclass(frozen=True)
class Transition:
    """Ops between stage s-1 and stage s (patch merging, stage embeddings), run on stage s's layers."""

    stage: int
    gemms: tuple[GemmSpec, ...]

    @property
    def weight_elems(self) -> int:
        return sum(g.weight_elems for g in self.gemms)

    @property
    def macs(self) -> int:
        return sum(g.macs for g in self.gemms)


def _signature(b: Block) -> tuple:
    return (b.dim, b.heads, b.head_dim, b.tokens_per_branch, b.kv_tokens_per_branch, b.branches, b.mlp_hidden,
            b.attention_reused, any(o.kind == "layernorm" for o in b.ops),
            tuple((o.role, o.kind, o.macs, o.params) for o in b.ops if o.macs))  # data movement ops (shift) excluded


def stage_period(blocks: list[Block]) -> int:
    """Smallest period P with block i identical in shape to block i mod P (1 for Swin, 2 for Twins-SVT)."""
    sigs = [_signature(b) for b in blocks]
    for p in range(1, len(blocks) + 1):
        if len(blocks) % p == 0 and all(sigs[i] == sigs[i % p] for i in range(len(blocks))):
            return p
    return len(blocks)


def _grid(block: Block, resolution: list[int]) -> tuple[int, int]:
    if block.window and len(resolution) == 2 and block.window[0] and block.window[1]:
        gr, gc = resolution[0] // block.window[0], resolution[1] // block.window[1]
        if gr * gc == block.branches:
            return gr, gc
    r = int(math.isqrt(block.branches))
    while r > 1 and block.branches % r:
        r -= 1
    return r, block.branches // r


def _regions_of_subsampled(block: Block, stage_blocks: list[Block], resolution: list[int]):
    """(branches, tokens per branch, grid) of a global sub-sampled attention block read as mapped by windows.

    The block's queries are split into the local regions of the stage's windowed sibling (Twins-SVT's
    LSA before each GSA); every region attends to the whole sub-sampled key/value set (kv_tokens
    unchanged). None when the block is not such a block (it has a window, or several branches, or
    the stage has no windowed sibling with several regions).
    """
    if block.interaction != "global_subsample" or block.window or block.branches != 1:
        return None
    sib = next((s for s in stage_blocks if s.window and s.branches > 1), None)
    if sib is None:
        return None
    return sib.branches, ceil_div(block.tokens_per_branch, sib.branches), _grid(sib, resolution)


def stage_groups(blocks: list[Block]) -> list[tuple[int, list[Block]]]:
    """(position of the first member in the stage, members) of each block kind of a stage.

    A periodic stage (period P < blocks, or a single block) gives one kind per position of the period
    (Swin: 1, Twins-SVT: 2). An aperiodic stage -- what a TReX reuse pattern makes of an isotropic
    model, e.g. DeiT-S with encoders 3, 5, ... reusing -- groups identical blocks wherever they sit, so
    identical blocks still share one schedule (Allspark Sec. VI, strategy 1).
    """
    period = stage_period(blocks)
    if period < len(blocks) or len(blocks) == 1:
        return [(pos, blocks[pos::period]) for pos in range(period)]
    groups: dict[tuple, tuple[int, list[Block]]] = {}
    for pos, b in enumerate(blocks):
        groups.setdefault(_signature(b), (pos, []))[1].append(b)
    return sorted(groups.values(), key=lambda pm: pm[0])


def stage_segments(kinds: list[BlockKind]) -> list[tuple[list[int], int]]:
    """How the blocks of one stage's kinds run: [(indices into ``kinds`` in execution order, repeat), ...].

    Periodic kinds (equal counts, interleaved) give one segment of one block of each kind, repeated
    count times; otherwise each maximal run of consecutive blocks of one kind is a segment of its own
    (a global barrier separates segments and repetitions).
    """
    order = sorted((b, ki) for ki, k in enumerate(kinds) for b in k.block_indices)
    seq = [ki for _, ki in order]
    period = len(kinds)
    if len(seq) % period == 0 and all(seq[i] == seq[i % period] for i in range(len(seq))):
        return [(seq[:period], len(seq) // period)]
    runs: list[tuple[list[int], int]] = []
    for ki in seq:
        if runs and runs[-1][0] == [ki]:
            runs[-1] = ([ki], runs[-1][1] + 1)
        else:
            runs.append(([ki], 1))
    return runs


def block_kinds(wl: WorkloadGraph, subsampled_attention: str = "windows") -> list[BlockKind]:
    """Group every stage's blocks into kinds of identical shape, in model order.

    ``subsampled_attention`` is the hardware config's ``fidelity.subsampled_attention`` reading:
    ``windows`` splits a global sub-sampled attention block into its stage's local regions
    (:func:`_regions_of_subsampled`), ``global`` keeps it one branch as traced. MACs are the same.
    """
    if subsampled_attention not in ("windows", "global"):
        raise ValueError(f"subsampled_attention must be 'windows' or 'global', not {subsampled_attention!r}")
    kinds: list[BlockKind] = []
    for st in wl.stages:
        groups = stage_groups(st.blocks)
        for pos, members in groups:
            b = members[0]
            key = f"s{st.index}" if len(groups) == 1 else f"s{st.index}.b{pos}"
            branches, tokens, grid = b.branches, b.tokens_per_branch, _grid(b, st.resolution)
            regions = _regions_of_subsampled(b, st.blocks, st.resolution) if subsampled_attention == "windows" else None
            if regions is not None:
                branches, tokens, grid = regions
            kinds.append(BlockKind(
                key=key, stage=st.index, block_indices=tuple(m.index for m in members), dim=b.dim, heads=b.heads,
                head_dim=b.head_dim, tokens=tokens, kv_tokens=b.kv_tokens_per_branch,
                branches=branches, mlp_hidden=b.mlp_hidden, interaction=b.interaction,
                grid=grid, gemms=tuple(specs_from_ops(b.ops, b.heads)),
                has_norm=any(o.kind == "layernorm" for o in b.ops), reused=b.attention_reused,
            ))
    return kinds


def _out_channels(op: Op) -> int:
    if op.kind == "conv" and len(op.output_shape) >= 2:
        return op.output_shape[1]
    return op.output_shape[-1] if op.output_shape else 0


def transitions(wl: WorkloadGraph) -> list[Transition]:
    """Assign each MAC-carrying between-stage op to the stage whose width it produces (first such stage >= 2)."""
    dims = [(st.index, st.dim) for st in wl.stages if st.index >= 2]
    by_stage: dict[int, list[Op]] = {}
    last = dims[0][0] if dims else None
    for op in wl.between_ops:
        if op.macs == 0:
            continue
        target = next((s for s, d in dims if d == _out_channels(op) and s >= (last or 0)), last)
        if target is None:
            continue
        by_stage.setdefault(target, []).append(op)
        last = target
    out = []
    for s in sorted(by_stage):
        heads = next(st.blocks[0].heads for st in wl.stages if st.index == s)
        gemms = tuple(GemmSpec(g.layer, 0, "linear", g.rows * g.heads, g.k, g.n, 1, g.weight_elems)
                      for g in specs_from_ops(by_stage[s], heads))
        out.append(Transition(stage=s, gemms=gemms))
    return out


# --------------------------------------------------------------------------- candidates, Eq. 6


@dataclass(frozen=True, order=True)
class Partition:
    """Sub-array of u (patch split) x v (head split) nodes; ``share`` nodes share one weight chunk.

    Allspark shares weights among the u nodes of a column (share == u). The
    baselines B and AH (u == 1) may share among ``share`` vertically adjacent
    nodes of different branches, so that their weights fit the same memory.
    """

    u: int
    v: int
    share: int = 0  # 0 means u

    @property
    def g(self) -> int:
        return self.share or self.u

    @property
    def nodes(self) -> int:
        return self.u * self.v

    def label(self) -> str:
        extra = f"/s{self.g}" if self.g != self.u else ""
        return f"[{self.u},{self.v}]{extra}"


def distinct_split_candidates(extent: int, limit: int) -> list[int]:
    """Smallest split count for each distinct ceil(extent/x), x <= limit: Sec. VI-A's {1, 2, ..., ceil(H/2), H}."""
    out, seen = [], set()
    for x in range(1, max(1, min(extent, limit)) + 1):
        share = ceil_div(extent, x)
        if share not in seen:
            seen.add(share)
            out.append(x)
    return out


def patch_candidates(kind: BlockKind, limit: int) -> list[int]:
    """U_s: patch splits u (p_min = 1 token per node)."""
    return distinct_split_candidates(kind.tokens, limit)


def head_candidates(kind: BlockKind, limit: int) -> list[int]:
    """V_s: head splits v."""
    return distinct_split_candidates(kind.heads, limit)


@dataclass(frozen=True)
class Shares:
    p: int  # tokens per node (Eq. 6)
    q: int  # channels per node (Eq. 6)
    b: int  # heads per node group (Eq. 6)
    p_kv: int  # key/value tokens per node


def shares(kind: BlockKind, part: Partition) -> Shares:
    """Eq. 6: p = ceil(N/u), q = ceil(C/v), b = ceil(h/v)."""
    return Shares(p=ceil_div(kind.tokens, part.u), q=ceil_div(kind.dim, part.v), b=ceil_div(kind.heads, part.v),
                  p_kv=ceil_div(kind.kv_tokens, part.u))


# --------------------------------------------------------------------------- per-node steps


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


# --------------------------------------------------------------------------- paper volumes (Sec. V-B, VI-C)


def transfer_volumes(kind: BlockKind, part: Partition) -> dict[str, int]:
    """Elements each node transmits per block (Sec. V-B): D^F, D^K, D^V, D^MSA_FC, D^FFN, D^LN, D^PM."""
    sh = shares(kind, part)
    u, v, a1 = part.u, part.v, kind.mlp_ratio
    q_heads = sh.b * kind.head_dim
    return {
        "D^F": (v - 1) * sh.p * sh.q,
        "D^K": (u - 1) * sh.p_kv * q_heads,
        "D^V": (u - 1) * sh.p_kv * q_heads,
        "D^MSA_FC": (v - 1) * sh.p * q_heads,
        "D^FFN": (v - 1) * sh.p * sh.q + (v - 1) * sh.p * math.ceil(a1 * sh.q),
        "D^LN": 2 * (v - 1) * sh.p,
        "D^PM": (v - 1) * sh.p * 2 * sh.q,
    }


def weight_share_volumes(kind: BlockKind, part: Partition) -> dict[str, int]:
    """Elements each node receives by weight sharing per block (Sec. VI-C): W^PM, W^MSA, W^FC, W^FFN."""
    sh = shares(kind, part)
    u, c, d = part.u, kind.dim, kind.head_dim
    aq = math.ceil(kind.mlp_ratio * sh.q)
    return {
        "W^PM": (u - 1) * ceil_div(2 * c * sh.q, u),
        "W^MSA": sh.b * 3 * (u - 1) * ceil_div(c * d, u),
        "W^FC": (u - 1) * ceil_div(c * sh.q, u),
        "W^FFN": (u - 1) * (ceil_div(c * aq, u) + ceil_div(c * sh.q, u)),
    }


# --------------------------------------------------------------------------- memory, Eq. 7-16


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
