"""Structured layout of uniformly-sized sub-arrays on the node array (Allspark Algorithm 1, Sec. VII-B1).

``StrcLay(A, B, a, b)`` tiles an A x B array with a x b sub-arrays in an
x1 x y1 grid, then fills the leftover strip with rotated (b x a) sub-arrays;
Algorithm 1 tries the sub-array both ways round and keeps the layout with more
sub-arrays (ties keep the first). The count is N_{alpha,beta} of constraint (1).

A sub-array's logical node (i, j) -- i the patch index along u, j the head
group along v -- sits at (r + i, c + j) when unrotated and at (r + j, c + i)
when rotated, so the "vertical" K/V ring of Section V runs along the sub-array's
u side whichever way it lies.

Baselines that share weights among ``share > u`` nodes (u == 1) use the plain
grid only, so that every physical column holds one head group and the
weight-sharing groups are ``share`` vertically adjacent nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from scheduler.allspark.partition import Partition


@dataclass(frozen=True)
class SubArray:
    row: int  # anchor (top-left node)
    col: int
    rotated: bool

    def node(self, i: int, j: int) -> tuple[int, int]:
        return (self.row + j, self.col + i) if self.rotated else (self.row + i, self.col + j)


def _strclay(A: int, B: int, a: int, b: int, swap: bool) -> list[SubArray]:
    """StrcLay of Algorithm 1; ``swap`` says the a x b piece is the logical sub-array rotated."""
    x1, y1 = A // a, B // b
    out = [SubArray(r * a, c * b, swap) for r in range(x1) for c in range(y1)]
    if a > b:
        rest = A - x1 * a
        x2, y2 = rest // b, B // a
        out += [SubArray(x1 * a + r * b, c * a, not swap) for r in range(x2) for c in range(y2)]
    elif a < b:
        rest = B - y1 * b
        x2, y2 = rest // a, A // b
        out += [SubArray(r * b, y1 * b + c * a, not swap) for r in range(y2) for c in range(x2)]
    return out


@lru_cache(maxsize=4096)
def structured_layout(rows: int, cols: int, part: Partition) -> tuple[SubArray, ...]:
    """Algorithm 1: the sub-arrays of one temporal layer with partition ``part``, top-left first."""
    u, v, g = part.u, part.v, part.g
    if g != u:
        column_runs = g <= rows and rows % g == 0
        snakes = g > rows and g % rows == 0 and v == 1 and cols % (g // rows) == 0
        if u != 1 or not (column_runs or snakes):
            return ()
        return tuple(SubArray(r, c * v, False) for r in range(rows) for c in range(cols // v))
    first = _strclay(rows, cols, u, v, swap=False)
    second = _strclay(rows, cols, v, u, swap=True)
    return tuple(first if len(first) >= len(second) else second)


def max_subarrays(rows: int, cols: int, part: Partition) -> int:
    """N_{alpha,beta}: how many sub-arrays of this partition one temporal layer can hold."""
    return len(structured_layout(rows, cols, part))


def share_groups(rows: int, cols: int, part: Partition) -> list[list[tuple[int, int]]]:
    """Weight-sharing groups of a baseline with share > u, in ring order.

    share <= rows: vertical runs of ``share`` nodes in one column (one head group per column);
    share > rows (B only): a snake down one column and up the next over share/rows columns.
    """
    layout = structured_layout(rows, cols, part)
    used_cols = sorted({sa.col + j for sa in layout for j in range(part.v)})
    g = part.g
    if g <= rows:
        return [[(k * g + t, c) for t in range(g)] for c in used_cols for k in range(rows // g)]
    width = g // rows
    groups = []
    for c0 in range(0, len(used_cols) - width + 1, width):
        group = []
        for t in range(width):
            rs = range(rows) if t % 2 == 0 else range(rows - 1, -1, -1)
            group.extend((r, used_cols[c0 + t]) for r in rs)
        groups.append(group)
    return groups
