"""Contention-free reference timing of a segment: the functional model the DES is checked against.

Modelled: the same execution rules as :mod:`simulator.engine.core` (in-order
units, dependencies, SEND/RECV pairing) with every instruction taking its
closed-form duration and every transfer its zero-load network latency
(:func:`simulator.families.pim_mesh.costmodel.noc_zero_load_cycles`). It is a longest-path
pass over the dependency graph in topological order
(:func:`contracts.graph.topological_order`), no SimPy.

Abstracted away: all contention (link and router conflicts, SRAM buffer
back-pressure). On a program without contention the DES must give exactly
these cycles; on any program the DES can only be slower, and the difference
is what contention costs. A DRAM bank's queueing of its own in-order requests
is part of the program's order and therefore appears here too.
"""

from __future__ import annotations

from contracts.graph import CycleError, topological_order
from simulator.engine.core import RECV, CompiledSegment


def contention_free_times(seg: CompiledSegment) -> tuple[list[int], list[int]]:
    """Start and end cycle (relative to the segment start) of every instruction."""
    n = len(seg.ops)
    prev_on_unit = [-1] * n
    preds: dict[int, list[int]] = {op.index: list(op.deps) for op in seg.ops}
    for idx in seg.streams.values():
        for a, b in zip(idx, idx[1:]):
            prev_on_unit[b] = a
            preds[b].append(a)
    for op in seg.ops:
        if op.kind == RECV:
            preds[op.index].append(op.partner)
    try:
        order = topological_order(preds)
    except CycleError:
        raise ValueError(f"segment '{seg.name}' has a dependency cycle") from None
    start = [0] * n
    end = [0] * n
    for i in order:
        op = seg.ops[i]
        t = end[prev_on_unit[i]] if prev_on_unit[i] >= 0 else 0
        for d in op.deps:
            if end[d] > t:
                t = end[d]
        start[i] = t
        if op.kind == RECV:
            end[i] = max(t, end[op.partner])
        else:
            end[i] = t + op.duration_cycles
    return start, end


def contention_free_cycles(seg: CompiledSegment) -> int:
    """Duration of one repetition of the segment on an uncontended machine."""
    if not seg.ops:
        return 0
    return max(contention_free_times(seg)[1])
