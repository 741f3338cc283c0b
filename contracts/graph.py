"""Dependency graphs: topological order, cycle detection and longest (critical) paths.

One implementation for every stage: the Program validator (acyclicity), the
contention-free reference timing of the simulator and the crossbar family's
closed-form schedule. A graph is a mapping ``node -> predecessors`` (every node
a key, predecessors that are not keys are added as sources). Orders come from
Kahn's algorithm; a cycle, once detected, is named by the standard library's
:mod:`graphlib`.

The order is the *lexicographically smallest* topological order: of the nodes
that are ready, the smallest is taken first. It is unique for a given graph, so
anything that iterates over it (a schedule, a record list written into a result
file) is deterministic and independent of how the mapping was built. Cost:
O((V + E) log V).
"""

from __future__ import annotations

import graphlib
import heapq
from collections.abc import Callable, Hashable, Iterable, Mapping

__all__ = ["CycleError", "check_acyclic", "longest_path", "topological_order"]


class CycleError(ValueError):
    """The graph has a cycle; ``cycle`` lists its nodes (first node repeated at the end, as graphlib does)."""

    def __init__(self, cycle: list):
        self.cycle = cycle
        super().__init__(f"dependency cycle through {cycle}")


def _cycle(preds: Mapping[Hashable, Iterable[Hashable]]) -> CycleError:
    """The cycle of a graph known to have one, found by :mod:`graphlib`."""
    ts = graphlib.TopologicalSorter()
    for node in preds:
        ts.add(node, *preds[node])
    try:
        ts.prepare()
    except graphlib.CycleError as e:
        return CycleError(list(e.args[1]))
    raise AssertionError("graph has no cycle")  # pragma: no cover


def _kahn(preds: Mapping[Hashable, Iterable[Hashable]], smallest_first: bool) -> list:
    """Kahn's algorithm; the ready set is a heap when ``smallest_first``, else a stack."""
    indeg: dict = dict.fromkeys(preds, 0)
    succ: dict = {}
    for node in preds:
        for p in preds[node]:
            if p not in indeg:
                indeg[p] = 0
            succ.setdefault(p, []).append(node)
            indeg[node] += 1
    ready = [n for n, d in indeg.items() if d == 0]
    order = []
    if smallest_first:
        heapq.heapify(ready)
        pop, push = heapq.heappop, heapq.heappush
    else:
        pop, push = list.pop, list.append
    while ready:
        node = pop(ready)
        order.append(node)
        for nxt in succ.get(node, ()):
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                push(ready, nxt)
    if len(order) != len(indeg):
        raise _cycle(preds)
    return order


def check_acyclic(preds: Mapping[Hashable, Iterable[Hashable]]) -> None:
    """Raise :class:`CycleError` if ``preds`` has a cycle."""
    _kahn(preds, smallest_first=False)


def topological_order(preds: Mapping[Hashable, Iterable[Hashable]]) -> list:
    """Every node, each after all its predecessors, smallest ready node first; :class:`CycleError` on a cycle."""
    return _kahn(preds, smallest_first=True)


def longest_path(preds: Mapping[Hashable, Iterable[Hashable]], duration: Callable[[Hashable], int],
                 t0: int = 0) -> tuple[list, dict, dict]:
    """Earliest start and end of every node when each takes ``duration(node)`` and waits for all its predecessors.

    Returns ``(order, start, end)``: the topological order and two dicts keyed by
    node. A node without predecessors starts at ``t0``; the largest end is the
    critical-path length.
    """
    order = topological_order(preds)
    start: dict = {}
    end: dict = {}
    for node in order:
        s = max((end[p] for p in preds.get(node, ())), default=t0)
        start[node] = s
        end[node] = s + duration(node)
    return order, start, end
