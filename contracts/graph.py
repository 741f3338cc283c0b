"""Dependency graphs: topological order, cycle detection and longest (critical) paths.

One implementation for every stage: the Program validator (acyclicity), the
contention-free reference timing of the simulator and the crossbar family's
closed-form schedule. Built on the standard library's :mod:`graphlib`; a graph
is a mapping ``node -> predecessors`` (every node a key, predecessors that are
not keys are added as sources).

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


def _sorter(preds: Mapping[Hashable, Iterable[Hashable]]) -> graphlib.TopologicalSorter:
    ts = graphlib.TopologicalSorter()
    for node in preds:
        ts.add(node, *preds[node])
    try:
        ts.prepare()
    except graphlib.CycleError as e:
        raise CycleError(list(e.args[1])) from None
    return ts


def check_acyclic(preds: Mapping[Hashable, Iterable[Hashable]]) -> None:
    """Raise :class:`CycleError` if ``preds`` has a cycle."""
    _sorter(preds)


def topological_order(preds: Mapping[Hashable, Iterable[Hashable]]) -> list:
    """Every node, each after all its predecessors, smallest ready node first; :class:`CycleError` on a cycle."""
    ts = _sorter(preds)
    ready = list(ts.get_ready())
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        ts.done(node)
        for nxt in ts.get_ready():
            heapq.heappush(ready, nxt)
    return order


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
