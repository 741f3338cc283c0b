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

What the three modules hold
---------------------------
* :mod:`scheduler.allspark.blocks` (reading the workload): :class:`BlockKind`, the
  GEMMs a block really issues, read from the traced ops (so MACs are exact),
  grouped into the nine phases of Fig. 7; stages and transitions.
* this module (partition candidates): :class:`Partition`, candidates U_s (patch
  splits) and V_s (head splits), :func:`shares` (Eq. 6); transfer volumes D^F,
  D^K, D^V, D^MSA_FC, D^FFN, D^LN, D^PM; weight-sharing volumes W^PM, W^MSA, W^FC,
  W^FFN.
* :mod:`scheduler.allspark.steps` (per-node steps and the memory check):
  :func:`node_steps`, the ordered per-node work of one branch on one node of its
  sub-array (GEMM / ACU / ring transfer steps; ``costs.py`` times them,
  ``lower.py`` turns them into instructions: one definition, two users);
  workspace Eq. 7-10; weights Eq. 11-16.

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

from scheduler.allspark.blocks import BlockKind, ceil_div


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
