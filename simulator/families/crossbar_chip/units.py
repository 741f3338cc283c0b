"""Crossbar chip units for the executor: crossbar tiles and softmax units with fixed per-instruction cost.

Modelled
--------
* Each unit (``tile[i]``, ``softmax[h]``) is one in-order unit of the generic
  executor (:class:`simulator.engine.core.Executor`), exactly as the PIM units
  are: an instruction starts when every dependency has finished and the unit
  has finished its previous instruction, then holds the unit for the
  instruction's fixed latency from ``simulator.families.crossbar_chip.costmodel``
  (Table II rows 1-6). XBAR_WRITE of K^T / V precedes the XBAR_READ of the same
  tile in the stream (write-before-read) and the read also depends on the write.
* XFER instructions share the chip interconnect (``interconnect.ports``
  transfers at once: the executor's SHARED resource, :class:`PortArbiter`) when
  the config gives it a bandwidth; otherwise the transfer is folded into the
  crossbar read (Table II) and takes no time. Ports are granted first come first
  served; transfers asking in the same cycle are served in unit-name and
  stream order.
* Segments (one per encoder, Fig. 8b stages inside) run one after another
  with a barrier; a segment's ``repeat`` re-runs it.
* Energy = executed instructions x the energy table (Accelergy-style action
  counts); the same accounting (``simulator.families.crossbar_chip.summary``)
  turns the simulated records and the closed-form records into figures, and the
  run checks that every instruction completed and that executed MACs equal the
  program's ``macs_expected``. The simulated records are listed per segment
  repetition in order of completion (end cycle, ties in unit name and stream
  order).

Abstracted away
---------------
Data values, buffer capacities and back-pressure, the digital LayerNorm/GELU
logic (not in Table II).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import simpy

from contracts.errors import UserError
from contracts.program import Instruction, Program, validate_program
from simulator.engine.core import FIXED, SHARED, CompiledSegment, Executor, OpCost, compile_program
from simulator.engine.kernel import FastEnvironment
from simulator.families.crossbar_chip.costmodel import instruction_cost
from simulator.families.crossbar_chip.result import build_result
from simulator.families.crossbar_chip.summary import Executed, instruction_macs, uncongested_schedule


class CrossbarCostModel:
    """Maps (unit, instruction) to its fixed cost; keeps each instruction's energy and delay split."""

    def __init__(self, hw):
        self.hw = hw
        self.interconnect_shared = hw.interconnect.bytes_per_cycle is not None
        self.split: dict[int, tuple[tuple, tuple]] = {}  # id(instruction) -> (energy items, delay items)

    def __call__(self, unit: str, ins: Instruction, where: str) -> OpCost:
        cycles, energy, delay = instruction_cost(self.hw, ins)
        energy_items = tuple(sorted(energy.items()))
        self.split[id(ins)] = (energy_items, tuple(sorted(delay.items())))
        kind = SHARED if (ins.op == "XFER" and self.interconnect_shared and cycles) else FIXED
        return OpCost(kind, cycles, energy_items, 0, instruction_macs(ins))


class PortArbiter:
    """``ports`` interconnect slots for the executor's SHARED instructions.

    Requests wait in order of (cycle asked, op index); the grants of a cycle are
    made after everything else that happens in that cycle (an event of lower
    priority than SimPy's normal ones), so the order of transfers that ask in the
    same cycle does not depend on the order SimPy resumes their units.
    """

    _LATE = 2  # after simpy's URGENT (0) and NORMAL (1) events of the same cycle

    def __init__(self, env: simpy.Environment, ports: int):
        self.env = env
        self.free = ports
        self._queue: list[tuple[int, int, int, simpy.Event]] = []
        self._seq = 0
        self._pending = False

    def request(self, index: int) -> simpy.Event:
        ev = self.env.event()
        self._seq += 1
        heapq.heappush(self._queue, (self.env.now, index, self._seq, ev))
        self._arbitrate()
        return ev

    def release(self, _granted: simpy.Event) -> None:
        self.free += 1
        self._arbitrate()

    def _arbitrate(self) -> None:
        if self._pending or not self.free or not self._queue:
            return
        self._pending = True
        late = self.env.event()
        late.callbacks.append(self._grant)
        late._ok, late._value = True, None  # what Event.succeed() sets, scheduled below at a later priority
        self.env.schedule(late, priority=self._LATE)

    def _grant(self, _event) -> None:
        self._pending = False
        while self.free and self._queue:
            ev = heapq.heappop(self._queue)[3]
            self.free -= 1
            ev.succeed()


@dataclass(frozen=True, slots=True)
class _Static:
    """The parts of an :class:`Executed` record that do not depend on the run."""

    id: int
    unit: str
    op: str
    layer: str | None
    preds: tuple[int, ...]  # deps and the unit's previous instruction (same segment)
    energy_pj: tuple[tuple[str, float], ...]
    delay_cycles: tuple[tuple[str, float], ...]
    macs: int


def _static_records(program: Program, segments: list[CompiledSegment], cost: CrossbarCostModel) -> list[list[_Static]]:
    """Per segment, the static record parts indexed like the compiled segment's ops."""
    out = []
    for seg, cseg in zip(program.segments, segments):
        by_id = {ins.id: ins for stream in seg.streams for ins in stream.instructions}
        prev_of: dict[int, int] = {}
        for stream in cseg.streams.values():
            for a, b in zip(stream, stream[1:]):
                prev_of[b] = cseg.ops[a].id
        rows = []
        for op in cseg.ops:
            ins = by_id[op.id]
            preds = set(ins.deps)
            if op.index in prev_of:
                preds.add(prev_of[op.index])
            energy, delay = cost.split[id(ins)]
            rows.append(_Static(op.id, op.unit, op.op, ins.layer, tuple(sorted(preds)), energy, delay, op.macs))
        out.append(rows)
    return out


def _check_units(program) -> None:
    for seg in program.segments:
        for s in seg.streams:
            if not (s.unit.startswith("tile[") or s.unit.startswith("softmax[")):
                raise UserError(f"segment '{seg.name}': unit '{s.unit}' is not a crossbar tile or softmax unit")


def simulate(program, hw, *, trace: bool = False, mode: str = "full", network_mode: str | None = None,
             program_digest: str | None = None, trace_units: str | None = None) -> tuple[dict, dict, list | None]:
    """Run ``program`` on crossbar chip ``hw``; returns (result, meta, trace_events or None).

    The family interface's other options do not apply to a crossbar chip and are ignored: it has
    no mesh network (``network_mode``), its segments are always simulated in full (``mode``), and its
    result names no program digest or trace filter."""
    if program.kind != "crossbar_chip" or getattr(hw, "kind", None) != "crossbar_chip":
        raise UserError(f"a {program.kind} program cannot run on a {getattr(hw, 'kind', '?')} hardware config")
    validate_program(program)
    _check_units(program)
    t0 = time.perf_counter()
    cost = CrossbarCostModel(hw)
    segments = compile_program(program, cost)
    static = _static_records(program, segments, cost)
    records: list[Executed] = []

    def collect(si: int, rep: int, start: list, end: list) -> None:
        rows = static[si]
        for i in sorted(range(len(rows)), key=lambda i: (end[i], i)):  # completion order, ties in unit/stream order
            r = rows[i]
            records.append(Executed(si, rep, r.id, r.unit, r.op, r.layer, int(start[i]), int(end[i]), r.preds,
                                    r.energy_pj, r.delay_cycles, r.macs))

    env = FastEnvironment()
    interconnect = PortArbiter(env, hw.interconnect.ports) if cost.interconnect_shared else None
    run = Executor(env, segments, shared=interconnect, on_repetition=collect).run()
    wall_sim = time.perf_counter() - t0
    expected = program.instruction_count(expanded=True)
    if len(records) != expected:
        raise UserError(f"simulation stalled: {len(records)} of {expected} instructions completed")
    closed = uncongested_schedule(program, hw)
    result = build_result(program, hw, records, closed)
    meta = {
        "engine": "simulator.families.crossbar_chip.units",
        "mode": "full",
        "wall_simulate_s": wall_sim,
        "wall_total_s": time.perf_counter() - t0,
        "instructions": expected,
        "sim_events": run.events,
    }
    events = _trace_events(records, hw) if trace else None
    return result, meta, events


def _trace_events(records: list[Executed], hw) -> list[dict]:
    us = 1e6 / hw.clock_hz
    units = sorted({r.unit for r in records}, key=lambda u: (u.split("[")[0], int(u.split("[")[1].rstrip("]"))))
    tid = {u: i for i, u in enumerate(units)}
    ev = [{"name": "thread_name", "ph": "M", "pid": 0, "tid": tid[u], "args": {"name": u}} for u in units]
    for r in sorted(records, key=lambda r: (r.start, tid[r.unit], r.id)):
        if r.end > r.start:
            ev.append({"name": f"{r.op} {r.layer}", "ph": "X", "pid": 0, "tid": tid[r.unit], "ts": r.start * us,
                       "dur": (r.end - r.start) * us, "args": {"segment": r.seg, "id": r.id}})
    return ev
