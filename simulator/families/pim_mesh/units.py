"""PIM mesh hardware units for the executor: PE array, ACU, SRAM buffer, network interface, DRAM bank.

Modelled (Allspark Section III-B, Table III)
--------------------------------------------
* PE array (``node[r][c].pe``): a GEMM takes
  :func:`~simulator.families.pim_mesh.costmodel.gemm_cycles` and spends the PE and SRAM
  energy of :func:`~simulator.families.pim_mesh.costmodel.gemm_energy_pj`; while it runs it
  holds its loop tile in the node's SRAM buffer (input tile + weight tile +
  INT32 accumulators of :func:`~simulator.families.pim_mesh.costmodel.gemm_tiling`).
* ACU (``node[r][c].acu``): :func:`~simulator.families.pim_mesh.costmodel.acu_cycles` /
  ``acu_energy_pj`` per instruction.
* DRAM bank (``node[r][c].dram.bank[b]``): one process per bank serving its
  requests one at a time in program order; a request that is ready while the
  bank is still serving an earlier one queues (the wait is counted). Each
  request takes the closed-page :func:`~simulator.families.pim_mesh.costmodel.dram_cycles`
  and :func:`~simulator.families.pim_mesh.costmodel.dram_energy_pj` (0.66 pJ/bit plus row
  activations).
* Network interface (``node[r][c].ni``): SEND hands the whole transfer to
  ``MeshNetwork.send``, which packetises it into flits of ``noc.flit_bits``
  (at most ``packet_max_flits`` per packet) and routes it XY; energy is
  :func:`~simulator.families.pim_mesh.costmodel.noc_energy_pj` (1.1 pJ/bit/hop).
* SRAM buffer: bounded at ``buffers.sram_bytes``; the streaming units (ACU,
  DRAM, NI) hold a double-buffered staging window (two DRAM rows, or two
  packets for the NI) while they run, the PE array its GEMM tile. An
  instruction that does not fit waits for space (back-pressure).

Abstracted away: where operands live in the buffer (occupancy is working sets,
not addresses), SRAM bank conflicts, NI-to-buffer energy of transfers, DRAM
open-page hits, and values. Static power and refresh energy are added by the
result builder (``pim_summary``) from the simulated time.
"""

from __future__ import annotations

import logging
import re
import time
from functools import lru_cache

from simulator.families.pim_mesh import costmodel as cm
from simulator.noc.network import MeshNetwork
from simulator.engine.core import FIXED, RECV, SEND, CompiledSegment, Executor, NodeBuffer, OpCost, compile_program
from simulator.engine.kernel import FastEnvironment
from contracts.errors import UserError
from contracts.hardware.pim_mesh import PimMeshConfig
from contracts.program import Instruction, Program
from contracts.program import program_digest as ir_program_digest

log = logging.getLogger(__name__)

_NODE_RE = re.compile(r"^node\[(\d+)\]\[(\d+)\]")
_UNIT_OPS = {
    "pe": ("GEMM",),
    "acu": ("ACU",),
    "ni": ("SEND", "RECV"),
    "dram": ("DRAM_READ", "DRAM_WRITE"),
}
STAGING_WINDOWS = 2  # double buffering: one window is filled while the other is used


def node_coords(name: str) -> tuple[int, int]:
    m = _NODE_RE.match(name)
    if not m:
        raise ValueError(f"'{name}' is not a node name")
    return int(m.group(1)), int(m.group(2))


def gemm_buffer_bytes(hw: PimMeshConfig, m: int, k: int, n: int) -> int:
    """SRAM held by a GEMM: the loop tile chosen by the cost model's tiling search."""
    t = cm.gemm_tiling(hw, m, k, n)
    elem = hw.bytes_per_element
    return t.tile_m * t.tile_k * elem + t.tile_k * t.tile_n * elem + t.tile_m * t.tile_n * cm.ACCUM_BYTES


class PimCostModel:
    """Maps (unit, instruction) to its closed-form cost; see the module docstring."""

    def __init__(self, hw: PimMeshConfig):
        self.hw = hw
        self._cost = lru_cache(maxsize=None)(self._cost_uncached)
        self._units: dict[str, tuple[str, str, tuple[int, int]]] = {}
        self._peers: dict[str, tuple[int, int] | None] = {}

    def __call__(self, unit: str, ins: Instruction, where: str) -> OpCost:
        node, kind, here = self._unit(unit, where)
        if ins.op not in _UNIT_OPS.get(kind, ()):
            allowed = [k for k, ops in _UNIT_OPS.items() if ins.op in ops]
            need = f"a .{allowed[0]} unit" if allowed else "a crossbar chip, not a PIM mesh"
            raise UserError(f"{where}: instruction {ins.id} ({ins.op}) is on {unit}, but {ins.op} needs {need}")
        peer = None
        if ins.peer is not None:
            peer = self._peer(ins.peer)
            if peer is None:
                raise UserError(f"{where}: instruction {ins.id} names peer '{ins.peer}', which is not a node of the "
                                f"{self.hw.mesh.rows}x{self.hw.mesh.cols} mesh")
            if peer == here:
                raise UserError(f"{where}: instruction {ins.id} ({ins.op}) names its own node as peer")
        try:
            cost = self._cost(ins.op, ins.m, ins.k, ins.n, ins.func, ins.elements, ins.bytes, here, peer)
        except KeyError as e:
            raise UserError(f"{where}: instruction {ins.id} on {unit}: {e.args[0]}") from None
        if cost.buffer_bytes > self.hw.buffers.sram_bytes:
            raise UserError(
                f"{where}: instruction {ins.id} ({ins.op}) on {unit} needs {cost.buffer_bytes} bytes of SRAM buffer "
                f"but the node has {self.hw.buffers.sram_bytes}"
            )
        return cost

    def _unit(self, unit: str, where: str) -> tuple[str, str, tuple[int, int]]:
        """'node[3][5].dram.bank[0]' -> ('node[3][5]', 'dram', (3, 5)), checked against the mesh once per unit."""
        hit = self._units.get(unit)
        if hit is None:
            node, rest = unit.split(".", 1)
            here = node_coords(node)
            if here[0] >= self.hw.mesh.rows or here[1] >= self.hw.mesh.cols:
                raise UserError(f"{where}: unit {unit} is outside the {self.hw.mesh.rows}x{self.hw.mesh.cols} mesh")
            hit = self._units[unit] = (node, rest.split(".", 1)[0], here)
        return hit

    def _peer(self, name: str) -> tuple[int, int] | None:
        if name not in self._peers:
            try:
                rc = node_coords(name)
            except ValueError:
                rc = None
            if rc is not None and (rc[0] >= self.hw.mesh.rows or rc[1] >= self.hw.mesh.cols):
                rc = None
            self._peers[name] = rc
        return self._peers[name]

    def _cost_uncached(self, op, m, k, n, func, elements, nbytes, here, peer) -> OpCost:
        hw = self.hw
        if op == "GEMM":
            e = cm.gemm_energy_pj(hw, m, k, n)
            return OpCost(FIXED, cm.gemm_cycles(hw, m, k, n), tuple(e.items()),
                          gemm_buffer_bytes(hw, m, k, n), m * k * n)
        if op == "ACU":
            staging = min(elements * hw.bytes_per_element, STAGING_WINDOWS * hw.dram.row_bytes)
            return OpCost(FIXED, cm.acu_cycles(hw, func, elements), (("acu", cm.acu_energy_pj(hw, func, elements)),),
                          staging, 0)
        if op in ("DRAM_READ", "DRAM_WRITE"):
            staging = min(nbytes, STAGING_WINDOWS * hw.dram.row_bytes)
            return OpCost(FIXED, cm.dram_cycles(hw, nbytes, write=op == "DRAM_WRITE"),
                          tuple(cm.dram_energy_parts(hw, nbytes, op == "DRAM_WRITE").items()), staging, 0)
        packet_bytes = hw.noc.packet_max_flits * hw.noc.flit_bits // 8
        staging = min(nbytes, STAGING_WINDOWS * packet_bytes)
        hops = cm.hops_between(here, peer)
        if op == "SEND":
            return OpCost(SEND, cm.noc_zero_load_cycles(hw, nbytes, hops),
                          (("noc_flit_hop", cm.noc_energy_pj(hw, nbytes, hops)),), staging, 0, here, peer)
        return OpCost(RECV, 0, (), staging, 0, peer, here)


def simulate(
    program: Program,
    hw: PimMeshConfig,
    *,
    mode: str = "full",
    network_mode: str = "worm",
    trace: bool = False,
    progress: bool = True,
    program_digest: str | None = None,
    trace_units: str | None = None,
) -> tuple[dict, dict, list | None]:
    """Simulate a PIM-mesh program; returns (result dict, meta dict, Chrome trace events or None).

    ``program_digest`` names the program in the result (the runner passes the sha256 of the file it read);
    by default it is :func:`contracts.program.program_digest`, which serialises the whole program.
    """
    from simulator.families.pim_mesh.summary import network_snapshot, summarise
    from simulator.trace_export import TraceFilter, chrome_trace_events

    if program.kind != "pim_mesh":
        raise UserError(f"program targets '{program.kind}' hardware but config '{hw.name}' is a pim_mesh")
    if mode not in ("full", "block-reuse"):
        raise UserError(f"unknown simulation mode '{mode}' (full or block-reuse)")
    units = TraceFilter(trace_units) if trace else None
    t_wall = time.perf_counter()
    segments: list[CompiledSegment] = compile_program(program, PimCostModel(hw))
    t_compiled = time.perf_counter()
    env = FastEnvironment()
    network = MeshNetwork(env, hw, mode=network_mode)
    if units is not None and units.wants_network:
        network.record_activity()
    nodes = sorted({op.node for seg in segments for op in seg.ops if op.node is not None})
    buffers = {n: NodeBuffer(env, n, hw.buffers.sram_bytes) for n in nodes}
    total_reps = sum(s.repeat for s in segments)
    bar = _progress_bar(total_reps, progress and program.instruction_count(expanded=True) > 200_000)
    executor = Executor(
        env, segments, network, buffers, block_reuse=(mode == "block-reuse"), record_trace=trace,
        network_stats=lambda: network_snapshot(network), network_in_flight=network.in_flight,
        progress=bar.update if bar is not None else None,
    )
    try:
        run = executor.run()
    finally:
        if bar is not None:
            bar.close()
    t_simulated = time.perf_counter()
    result = summarise(program, hw, segments, run, network, mode=mode, network_mode=network_mode,
                       digest=program_digest or ir_program_digest(program))
    wall = time.perf_counter() - t_wall
    sim_wall = t_simulated - t_compiled
    meta = {
        "wall_s": wall,
        "compile_wall_s": t_compiled - t_wall,
        "simulate_wall_s": sim_wall,
        "summarise_wall_s": time.perf_counter() - t_simulated,
        "sim_events": run.events,
        "events_per_s": run.events / sim_wall if sim_wall > 0 else None,
        "simulated_cycles_per_wall_s": run.total_cycles / sim_wall if sim_wall > 0 else None,
        "instructions_per_s": run.instructions_executed / sim_wall if sim_wall > 0 else None,
    }
    events = None
    if units is not None:
        events = chrome_trace_events(run.trace, segments, hw.clock_hz,
                                     network.activity() if units.wants_network else None,
                                     None if trace_units is None else units)
    return result, meta, events


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="simulate", unit="block", leave=False, mininterval=1.0, disable=None)  # None: off when not a tty
