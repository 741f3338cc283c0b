"""Local-global interaction aware placement (Allspark Section VII-A, VII-B2).

G_dp (networkx) has one vertex per computational branch, numbered in raster
order over the branch grid (window rows x window columns), and an edge where
two branches exchange feature maps between or within blocks (Fig. 9):

* ``shifted_window`` (Swin): a shifted window overlaps the window, its right,
  lower and lower-right neighbours;
* ``focal`` (Focal): the 8-neighbourhood (coarse surrounding tokens);
* ``shuffle`` (Shuffle): spatial shuffle mixes every window of a grid row and
  of a grid column: a cyclic ring along each row and each column;
* ``global_subsample`` (Twins GSA, PVT SRA) and ``cross_shaped`` (CSWin
  stripes): every branch broadcasts to every other one; as in Fig. 9 the
  broadcast runs as a cyclic transfer, so the edges form one ring over all
  branches in raster order;
* ``none`` (ViT): no edge.

Greedy placement (Sec. VII-B2): the first branch goes to the top-left
sub-array of the first temporal layer; the next branches, in breadth-first
order of G_dp, each go to the free sub-array (any layer) whose anchor has the
smallest summed Manhattan distance to the anchors of its already placed
neighbours (gather to the anchor, transfer anchor to anchor, scatter). Ties
keep the earliest slot. Cost = summed anchor distance over the edges of G_dp.

Abstracted away: the interaction transfers themselves are not lowered into the
Program (under 1 % of the latency, Sec. IV / VIII-B3); the placement decides
which sub-array hosts which branch and its cost is reported.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import networkx as nx
import numpy as np

from scheduler.allspark.layout import structured_layout
from scheduler.allspark.blocks import BlockKind
from scheduler.allspark.partition import Partition


def dependency_graph(interaction: str, grid: tuple[int, int]) -> nx.Graph:
    rows, cols = grid
    g = nx.Graph()
    g.add_nodes_from(range(rows * cols))

    def bid(r, c):
        return r * cols + c

    def ring(ids):
        if len(ids) > 1:
            for a, b in zip(ids, ids[1:] + ids[:1]):
                if a != b:
                    g.add_edge(a, b)

    if interaction == "shifted_window":
        for r in range(rows):
            for c in range(cols):
                for dr, dc in ((0, 1), (1, 0), (1, 1)):
                    if r + dr < rows and c + dc < cols:
                        g.add_edge(bid(r, c), bid(r + dr, c + dc))
    elif interaction == "focal":
        for r in range(rows):
            for c in range(cols):
                for dr in (-1, 0, 1):
                    for dc in (-1, 0, 1):
                        if (dr or dc) and 0 <= r + dr < rows and 0 <= c + dc < cols:
                            g.add_edge(bid(r, c), bid(r + dr, c + dc))
    elif interaction == "shuffle":
        for r in range(rows):
            ring([bid(r, c) for c in range(cols)])
        for c in range(cols):
            ring([bid(r, c) for r in range(rows)])
    elif interaction in ("global_subsample", "cross_shaped"):
        ring(list(range(rows * cols)))
    return g


@dataclass
class Placement:
    layers: list[list[int]]  # per temporal layer: branch id per sub-array slot (layout order)
    cost: int  # summed Manhattan distance between anchors over G_dp edges
    raster_cost: int  # the same for branches placed in raster order (reference)


def _cost(g: nx.Graph, anchor_of: dict[int, tuple[int, int]]) -> int:
    return sum(abs(anchor_of[a][0] - anchor_of[b][0]) + abs(anchor_of[a][1] - anchor_of[b][1])
               for a, b in sorted(g.edges()))


def place(kind: BlockKind, layers: list[tuple[Partition, int]], mesh_rows: int, mesh_cols: int) -> Placement:
    slots = []  # (layer, slot index, anchor row, anchor col)
    for t, (part, count) in enumerate(layers):
        layout = structured_layout(mesh_rows, mesh_cols, part)
        slots.extend((t, k, layout[k].row, layout[k].col) for k in range(count))
    n = kind.branches
    if len(slots) != n:
        raise ValueError(f"{kind.key}: {len(slots)} sub-array slots for {n} branches")
    g = dependency_graph(kind.interaction, kind.grid if kind.grid[0] * kind.grid[1] == n else (n, 1))
    rows = np.array([s[2] for s in slots])
    cols = np.array([s[3] for s in slots])
    free = np.ones(n, dtype=bool)
    slot_of = [-1] * n
    order, seen = [], [False] * n
    for start in range(n):  # BFS of G_dp, component by component, neighbours in id order
        if seen[start]:
            continue
        seen[start] = True
        queue = deque([start])
        while queue:
            b = queue.popleft()
            order.append(b)
            for nb in sorted(g.neighbors(b)):
                if not seen[nb]:
                    seen[nb] = True
                    queue.append(nb)
    for b in order:
        placed = [slot_of[nb] for nb in g.neighbors(b) if slot_of[nb] >= 0]
        if placed:
            dist = np.zeros(n, dtype=np.int64)
            for s in sorted(placed):
                dist += np.abs(rows - rows[s]) + np.abs(cols - cols[s])
            dist = np.where(free, dist, np.iinfo(np.int64).max)
            k = int(np.argmin(dist))
        else:
            k = int(np.argmax(free))
        slot_of[b] = k
        free[k] = False
    out = [[-1] * count for _, count in layers]
    for b, k in enumerate(slot_of):
        t, idx = slots[k][0], slots[k][1]
        out[t][idx] = b
    anchor = {b: (int(rows[k]), int(cols[k])) for b, k in enumerate(slot_of)}
    raster = {b: (int(rows[b]), int(cols[b])) for b in range(n)}
    return Placement(out, _cost(g, anchor), _cost(g, raster))
