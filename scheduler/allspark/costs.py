"""T^c, T^t and T^ws of Allspark Eq. 18-20 for one temporal layer, from the simulator's own closed forms.

Every duration here is a call into :mod:`simulator.families.pim_mesh.costmodel`, the module
the SimPy engine uses for each instruction's latency, applied to exactly the
instructions ``lower.py`` emits for the steps of :func:`partition.node_steps`:

* GEMM step: DRAM_READ (tiling read traffic) -> GEMM -> DRAM_WRITE (output),
  serialised (costmodel docstring: no double buffering).
* ACU step: one ACU instruction.
* Ring step (granularity: transfer level): DRAM_READ of the node's own chunk,
  one SEND to the ring successor carrying the ``rounds`` chunks that link
  carries over the whole cyclic dataflow, one RECV from the predecessor, one
  DRAM_WRITE of everything received. A SEND lasts its zero-load network latency
  (the engine's rule); the wrap-around link spans length-1 hops on the mesh
  (Sec. V-A: "the last node transmits to the first"). Per-round messages would
  add (rounds-1) x the per-message overhead (NI, routers, link: about 7 cycles
  per hop) to a ring whose rounds each move hundreds of flits: under 1 % on the
  rings that matter, and the byte count per link -- what Eq. 19 charges, D/BW --
  is the same. It keeps a Swin-B program near 1e6 expanded instructions.

Composition (the paper's Eq. 17): a node runs its steps one after another and
a temporal layer lasts as long as its slowest node; we time the node holding
the largest shares (ceil splits) with every step starting when the previous
step has ended on *every* node of the sub-array (a phase barrier). The DES has
no such barrier, so on an uncontended program it can only be as fast or
faster; the difference is small because every ring re-synchronises the nodes.
Weight-sharing steps run once per batch (Eq. 17: N_bt (T^c + T^t) + T^ws).

Abstracted away: contention (the DES adds it), transfers between blocks for
local-global interaction (under 1 % of the latency, Sec. IV and VIII-B3).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.families.pim_mesh import costmodel as cm
from contracts.hardware.pim_mesh import PimMeshConfig

from scheduler.allspark.blocks import BlockKind, Transition
from scheduler.allspark.partition import Partition
from scheduler.allspark.steps import Acu, Gemm, Ring, Step, node_steps, transition_steps


def gemm_step_cycles(hw: PimMeshConfig, g: Gemm) -> tuple[int, int, int]:
    """(DRAM read, GEMM, DRAM write) cycles of one GEMM step."""
    t = cm.gemm_tiling(hw, g.m, g.k, g.n)
    return (cm.dram_cycles(hw, t.dram_read_bytes, write=False), cm.gemm_cycles(hw, g.m, g.k, g.n),
            cm.dram_cycles(hw, t.dram_write_bytes, write=True))


def ring_transfer_cycles(hw: PimMeshConfig, r: Ring) -> int:
    """All rounds of a ring as one message per node to its successor: the slowest link (the wrap) decides."""
    return max(cm.noc_zero_load_cycles(hw, r.rounds * r.chunk_bytes, h) for h in set(r.hops))


def ring_step_cycles(hw: PimMeshConfig, r: Ring) -> tuple[int, int, int]:
    """(DRAM read of own chunk, the ring's transfer, DRAM write of the received chunks)."""
    return (cm.dram_cycles(hw, r.chunk_bytes, write=False), ring_transfer_cycles(hw, r),
            cm.dram_cycles(hw, r.rounds * r.chunk_bytes, write=True))


def step_cycles(hw: PimMeshConfig, s: Step) -> int:
    if isinstance(s, Gemm):
        return sum(gemm_step_cycles(hw, s))
    if isinstance(s, Acu):
        return cm.acu_cycles(hw, s.func, s.elements)
    if isinstance(s, Ring):
        return sum(ring_step_cycles(hw, s))
    raise TypeError(s)


@dataclass(frozen=True)
class LayerCost:
    """Cycles of one temporal layer of one block (or of one stage transition) on the worst node."""

    compute: int  # T^c per image
    transfer: int  # T^t per image
    weight_share: int  # T^ws per batch
    batch: int

    @property
    def total(self) -> int:
        return self.batch * (self.compute + self.transfer) + self.weight_share

    @property
    def total_without_sharing(self) -> int:
        return self.batch * (self.compute + self.transfer)


def steps_cost(hw: PimMeshConfig, steps: list[tuple[Step, bool]], batch: int) -> LayerCost:
    comp = trans = ws = 0
    for s, is_ws in steps:
        c = step_cycles(hw, s)
        if is_ws:
            ws += c
        elif isinstance(s, Ring):
            trans += c
        else:
            comp += c
    return LayerCost(comp, trans, ws, batch)


def block_layer_cost(hw: PimMeshConfig, kind: BlockKind, part: Partition, batch: int,
                     weights_resident: bool = False) -> LayerCost:
    """T^c, T^t, T^ws of one block on one temporal layer with partition ``part`` (the largest-share node)."""
    return steps_cost(hw, node_steps(kind, part, 0, 0, 0, hw.bytes_per_element, weights_resident, hw.mesh.rows),
                      batch)


def transition_layer_cost(hw: PimMeshConfig, tr: Transition | None, kind: BlockKind, part: Partition, batch: int,
                          weights_resident: bool = False) -> LayerCost:
    if tr is None:
        return LayerCost(0, 0, 0, batch)
    steps = transition_steps(tr, kind, part, 0, 0, 0, hw.bytes_per_element, weights_resident, hw.mesh.rows)
    return steps_cost(hw, steps, batch)
