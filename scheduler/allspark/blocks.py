"""Reading a WorkloadGraph for the Allspark partition: block kinds, their GEMMs by phase, stages and transitions.

* :class:`BlockKind`: the GEMMs a block really issues, read from the traced ops
  (so MACs are exact), grouped into the nine phases of Fig. 7 (the phase reading
  is in :mod:`scheduler.allspark.partition`); :func:`block_kinds`,
  :func:`stage_groups`, :func:`stage_segments`, :func:`transitions` (patch
  merging / stage embedding between stages).
* the integer splitting helpers every partition uses (:func:`split_at`,
  :func:`ceil_div`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from contracts.workload import Block, Op, WorkloadGraph

ROLE_PHASE = {"q": 2, "k": 3, "v": 4, "attn_qk": 5, "attn_av": 6, "proj": 7, "fc1": 8, "fc2": 9,
              "tb_fc": 2}  # the TReX transformation block takes phase 2 of a reusing block (see partition.py)
HEAD_ROLES = ("attn_qk", "attn_av")  # per-head products: rows x heads split over [u, v]
HEAD_SPLIT_LINEAR = ("q", "k", "v")  # projections whose output columns are head-major


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def split_at(total: int, parts: int, index: int) -> int:
    base, rem = divmod(total, parts)
    return base + 1 if index < rem else base


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


class _GemmTotals:
    """Weights and MACs of a group of GEMMs (``self.gemms``): a block kind or a transition."""

    @property
    def weight_elems(self) -> int:
        """Parameters of the GEMMs: 12 C^2 for a standard block (Section III-A)."""
        return sum(g.weight_elems for g in self.gemms)

    @property
    def macs(self) -> int:
        return sum(g.macs for g in self.gemms)


@dataclass(frozen=True)
class BlockKind(_GemmTotals):
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
    def mlp_ratio(self) -> float:
        return self.mlp_hidden / self.dim if self.dim else 0.0


@dataclass(frozen=True)
class Transition(_GemmTotals):
    """Ops between stage s-1 and stage s (patch merging, stage embeddings), run on stage s's layers."""

    stage: int
    gemms: tuple[GemmSpec, ...]


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
