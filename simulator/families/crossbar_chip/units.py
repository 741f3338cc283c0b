"""SimPy model of a TReX crossbar chip: one process per crossbar tile and per softmax unit.

Modelled
--------
* Each unit (``tile[i]``, ``softmax[h]``) is a SimPy process that executes its
  instruction stream in order: it waits until every dependency has finished,
  then holds the unit for the instruction's fixed latency from
  ``simulator.families.crossbar_chip.costmodel`` (Table II rows 1-6), then signals
  completion. XBAR_WRITE of K^T / V precedes the XBAR_READ of the same tile in
  the stream (write-before-read) and the read also depends on the write.
* XFER instructions share the chip interconnect (``interconnect.ports``
  transfers at once) when the config gives it a bandwidth; otherwise the
  transfer is folded into the crossbar read (Table II) and takes no time.
* Segments (one per encoder, Fig. 8b stages inside) run one after another
  with a barrier; a segment's ``repeat`` re-runs it.
* Energy = executed instructions x the energy table (Accelergy-style action
  counts); the same accounting (``costmodel.crossbar_summary``) turns the
  simulated records and the closed-form records into figures, and the run
  checks that every instruction completed and that executed MACs equal the
  program's ``macs_expected``.

Abstracted away
---------------
Data values, buffer capacities and back-pressure, the digital LayerNorm/GELU
logic (not in Table II).
"""

from __future__ import annotations

import time

import simpy

from simulator.families.crossbar_chip.costmodel import instruction_cost
from simulator.families.crossbar_chip.summary import Executed, instruction_macs, uncongested_schedule
from contracts.errors import UserError
from contracts.program import validate_program
from simulator.families.crossbar_chip.result import build_result


class _Chip:
    def __init__(self, program, hw):
        self.program = program
        self.hw = hw
        self.env = simpy.Environment()
        self.interconnect = (simpy.Resource(self.env, capacity=hw.interconnect.ports)
                             if hw.interconnect.bytes_per_cycle is not None else None)
        self.records: list[Executed] = []
        self.cost_cache: dict[tuple[int, int], tuple] = {}

    def _unit(self, si: int, rep: int, stream, done: dict[int, simpy.Event]):
        env = self.env
        prev = None
        for ins in stream.instructions:
            waits = [done[d] for d in ins.deps if not done[d].processed]
            if waits:
                yield env.all_of(waits)
            cycles, energy, delay = self.cost_cache[(si, ins.id)]
            if ins.op == "XFER" and self.interconnect is not None and cycles:
                with self.interconnect.request() as req:
                    yield req
                    start = int(env.now)
                    yield env.timeout(cycles)
            else:
                start = int(env.now)
                if cycles:
                    yield env.timeout(cycles)
            preds = tuple(sorted(set(ins.deps) | ({prev} if prev is not None else set())))
            self.records.append(Executed(si, rep, ins.id, stream.unit, ins.op, ins.layer, start, int(env.now), preds,
                                         tuple(sorted(energy.items())), tuple(sorted(delay.items())),
                                         instruction_macs(ins)))
            done[ins.id].succeed()
            prev = ins.id

    def _driver(self):
        for si, seg in enumerate(self.program.segments):
            for stream in seg.streams:
                for ins in stream.instructions:
                    self.cost_cache[(si, ins.id)] = instruction_cost(self.hw, ins)
            for rep in range(seg.repeat):
                done = {ins.id: self.env.event() for s in seg.streams for ins in s.instructions}
                procs = [self.env.process(self._unit(si, rep, s, done)) for s in sorted(seg.streams, key=lambda s: s.unit)]
                yield self.env.all_of(procs)

    def run(self) -> None:
        self.env.process(self._driver())
        self.env.run()


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
    chip = _Chip(program, hw)
    chip.run()
    wall_sim = time.perf_counter() - t0
    expected = program.instruction_count(expanded=True)
    if len(chip.records) != expected:
        raise UserError(f"simulation stalled: {len(chip.records)} of {expected} instructions completed")
    closed = uncongested_schedule(program, hw)
    result = build_result(program, hw, chip.records, closed)
    meta = {
        "engine": "simulator.families.crossbar_chip.units",
        "mode": "full",
        "wall_simulate_s": wall_sim,
        "wall_total_s": time.perf_counter() - t0,
        "instructions": expected,
        "simpy_events_approx": 2 * expected,
    }
    events = _trace_events(chip.records, hw) if trace else None
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
