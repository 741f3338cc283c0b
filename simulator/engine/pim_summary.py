"""Turn an execution of a PIM-mesh program into a validated ``result.json`` and check the invariants.

What is computed (all from the inputs alone, so the file is byte-deterministic):

* latency in cycles and ms; the scheduler's prediction next to it, a
  contention-free replay (:mod:`simulator.engine.reference`) and their
  differences: ``simulated - contention_free`` is what contention costs,
  ``contention_free - predicted`` is the rest of the scheduler's error;
* energy = action counts x the config's energy table, through the cost-model
  functions (Accelergy's split): DRAM, NoC, PE, ACU, SRAM;
* latency breakdown by critical-path attribution (:mod:`simulator.engine.core`);
* node utilisation by Allspark Eq. 21: for every temporal layer ``j`` of a
  block, ``N_occupied`` = nodes with at least one instruction tagged ``tl=j``,
  ``Exec_Time`` = from the first start to the last end of those instructions;
  instructions without a ``tl`` form one layer spanning the segment;
* busy fraction of every unit, router and link; bytes per link.

Invariants checked at the end of every run; a failure raises, it is never a
warning: every instruction completed and nothing in flight (network drained,
buffers empty), bytes sent == bytes received == bytes the network delivered,
MACs executed == ``program.macs_expected``, every breakdown sums to its total.
"""

from __future__ import annotations

import math
from typing import Any

from simulator.engine.core import CompiledSegment, ExecutionResult
from simulator.engine.reference import contention_free_cycles
from simulator.errors import UserError
from simulator.hw.pim import PimMeshConfig
from simulator.ir import Program
from simulator.hw.loader import hw_digest
from simulator.results.pim import (
    Busy, Counts, Energy, Latency, LatencyBreakdown, LinkLoad, NodeUtilisation, PimResult, Prediction, RouterLoad,
    SegmentResult,
)

ENERGY_COMPONENTS = ("dram", "noc", "pe", "acu", "sram")
LATENCY_CATEGORIES = ("compute", "fmap_transfer", "weight_share", "memory")
ROUTER_PORTS = 5  # local + four mesh directions: a router's switch can move 5 flits per cycle

ENERGY_METHOD = (
    "action counts x energy table through simulator.costmodel.pim: PE = MACs x energy_pj_per_mac; SRAM = GEMM "
    "buffer traffic x energy_pj_per_byte; ACU = elements x energy_pj_per_element[func]; DRAM = bits x "
    "energy_pj_per_bit + row activations; NoC = flits x flit_bits x hops x energy_pj_per_bit_hop."
)
LATENCY_METHOD = (
    "critical-path attribution: from the instruction that finishes last in each repetition, walk back through the "
    "predecessor that decided each start (the unit's previous instruction or the latest dependency; a RECV that "
    "waited hands over to its SEND) and charge each interval to the instruction's category, buffer stalls to "
    "buffer_stall; the charges sum exactly to the latency."
)
UTILISATION_METHOD = (
    "Allspark Eq. 21: sum_j N_occupied(j) x Exec_Time(j) / sum_j (H_A x W_A) x Exec_Time(j) over the temporal "
    "layers j (instruction field tl) of every block; N_occupied = nodes with an instruction of layer j, Exec_Time = "
    "first start to last end of those instructions; untagged instructions form one layer per segment."
)


class InvariantError(UserError):
    """An end-of-run check failed: the program or the engine is inconsistent."""

    def __init__(self, message: str):
        super().__init__(f"invariant violated: {message}", exit_code=3)


# --------------------------------------------------------------------------- network statistics


def network_snapshot(network: Any) -> dict:
    """The network's counters as plain nested dicts of numbers (``MeshNetwork.stats_dict()``)."""
    return _plain(network.stats_dict())


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in sorted(x.items())}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def _scaled(final: Any, before: Any, after: Any, extra: int) -> Any:
    """final + (after - before) x extra on every numeric leaf (block-reuse: counters of skipped repetitions)."""
    if isinstance(final, dict):
        return {k: _scaled(v, (before or {}).get(k), (after or {}).get(k), extra) for k, v in final.items()}
    if isinstance(final, bool) or not isinstance(final, (int, float)):
        return final
    return final + ((after or 0) - (before or 0)) * extra


def network_totals(network: Any, run: ExecutionResult) -> dict:
    snap = network_snapshot(network)
    for before, after, extra in run.network_stats_scale:
        snap = _scaled(snap, before, after, extra)
    return snap


# --------------------------------------------------------------------------- summary


def summarise(
    program: Program, hw: PimMeshConfig, segments: list[CompiledSegment], run: ExecutionResult, network: Any,
    *, mode: str, network_mode: str, digest: str,
) -> dict:
    total = run.total_cycles
    denom = max(total, 1)
    net = network_totals(network, run)
    invariants: list[str] = []

    # -- segments, latency breakdown, node utilisation
    by_segment: dict[int, list] = {}
    for rec in run.records:
        by_segment.setdefault(rec.segment, []).append(rec)
    seg_results: list[SegmentResult] = []
    breakdown = {c: 0 for c in LATENCY_CATEGORIES}
    util_num: dict[str, float] = {}
    util_den: dict[str, float] = {}
    nodes_total = hw.mesh.rows * hw.mesh.cols
    cf_total = 0
    cp_queueing = 0
    buffer_stalls = 0
    for si, seg in enumerate(segments):
        recs = by_segment.get(si, [])
        seg_total = sum(r.cycles * r.weight for r in recs)
        seg_breakdown: dict[str, int] = {}
        for r in recs:
            for cat, cyc in r.breakdown_cycles.items():
                seg_breakdown[cat] = seg_breakdown.get(cat, 0) + cyc * r.weight
            cp_queueing += r.critical_path_queueing_cycles * r.weight
            buffer_stalls += r.buffer_stall_cycles
            key = "none" if seg.stage is None else str(seg.stage)
            for _tl, span, occupied in r.temporal_layers:
                util_num[key] = util_num.get(key, 0) + occupied * span * r.weight
                util_den[key] = util_den.get(key, 0) + nodes_total * span * r.weight
        _check_sum(f"segment '{seg.name}' latency breakdown", seg_breakdown, seg_total)
        for cat, cyc in seg_breakdown.items():
            breakdown[cat] = breakdown.get(cat, 0) + cyc
        cf = contention_free_cycles(seg)
        cf_total += cf * seg.repeat
        seg_results.append(SegmentResult(
            name=seg.name, stage=seg.stage, repeat=seg.repeat, simulated_repetitions=len(recs),
            cycles_per_repetition=max((r.cycles for r in recs), default=0), total_cycles=seg_total,
            contention_free_cycles_per_repetition=cf, predicted_cycles_per_repetition=seg.hint_cycles,
            breakdown_cycles=dict(sorted(seg_breakdown.items())),
        ))
    if sum(r.total_cycles for r in seg_results) != total:
        raise InvariantError(f"segment durations sum to {sum(r.total_cycles for r in seg_results)} but the run took {total} cycles")
    breakdown = dict(sorted(breakdown.items()))
    _check_sum("latency breakdown", breakdown, total)
    invariants.append("latency breakdown sums to the latency (total and per segment)")
    per_stage = {k: (util_num[k] / util_den[k] if util_den[k] else 0.0) for k in sorted(util_num)}
    overall_util = sum(util_num.values()) / sum(util_den.values()) if sum(util_den.values()) else 0.0

    # -- energy and static counts
    energy = {c: 0.0 for c in ENERGY_COMPONENTS}
    dram_read = dram_written = 0
    for seg in segments:
        for comp, pj in seg.energy_pj.items():
            energy[comp] = energy.get(comp, 0.0) + pj * seg.repeat
        for op in seg.ops:
            if op.op == "DRAM_READ":
                dram_read += op.nbytes * seg.repeat
            elif op.op == "DRAM_WRITE":
                dram_written += op.nbytes * seg.repeat
    energy = dict(sorted(energy.items()))
    energy_total = math.fsum(energy.values())
    per_instruction = math.fsum(pj * seg.repeat for seg in segments for op in seg.ops for _c, pj in op.energy_pj)
    if not math.isclose(per_instruction, energy_total, rel_tol=1e-9, abs_tol=1e-6):
        raise InvariantError(f"energy breakdown sums to {energy_total} pJ but the instructions account for {per_instruction} pJ")
    net_energy = net.get("energy_pj")
    if isinstance(net_energy, (int, float)) and not math.isclose(net_energy, energy["noc"], rel_tol=1e-9, abs_tol=1e-6):
        raise InvariantError(f"the network counted {net_energy} pJ but the closed form gives {energy['noc']} pJ for the same transfers")
    invariants.append("energy breakdown sums to the total; NoC energy counted by the network equals the closed form")

    # -- conservation and quiescence
    expected_instr = program.instruction_count(expanded=True)
    if run.instructions_executed != expected_instr:
        raise InvariantError(f"{run.instructions_executed} of {expected_instr} instructions completed")
    in_flight = network.in_flight()
    if in_flight:
        raise InvariantError(f"{in_flight} packet(s) still in flight at the end")
    if run.buffer_bytes_in_use:
        raise InvariantError(f"{run.buffer_bytes_in_use} bytes of SRAM buffer still held at the end")
    invariants.append("every instruction completed and nothing is in flight")
    if run.bytes_sent != run.bytes_received:
        raise InvariantError(f"{run.bytes_sent} bytes sent but {run.bytes_received} received")
    noc_bytes = {str(k): int(v) for k, v in sorted((net.get("bytes_by_category") or {}).items())}
    if noc_bytes and sum(noc_bytes.values()) != run.bytes_sent:
        raise InvariantError(f"the network delivered {sum(noc_bytes.values())} bytes but SENDs sent {run.bytes_sent}")
    if net.get("transfers_delivered") != net.get("transfers_sent") or net.get("packets_delivered") != net.get("packets_sent"):
        raise InvariantError(f"the network delivered {net.get('transfers_delivered')} of {net.get('transfers_sent')} transfers")
    invariants.append("bytes sent == bytes received == bytes injected into the network; every transfer delivered")
    if run.macs_executed != program.macs_expected:
        raise InvariantError(f"{run.macs_executed} MACs executed but the program expects {program.macs_expected}")
    invariants.append("MACs executed == program.macs_expected")

    # -- per-unit, per-router and per-link load
    units = {u: Busy(busy_cycles=b, busy_fraction=min(1.0, b / denom)) for u, b in run.unit_busy_cycles.items()}
    routers = {
        name: RouterLoad(flits_switched=int(v["flits_switched"]),
                         busy_fraction=min(1.0, v["flits_switched"] / (ROUTER_PORTS * denom)))
        for name, v in sorted(net.get("routers", {}).items())
    }
    links = {
        name: LinkLoad(busy_cycles=int(v["busy_cycles"]), busy_fraction=min(1.0, v["busy_cycles"] / denom),
                       bytes=int(v["bytes"]), flits=int(v["flits"]))
        for name, v in sorted(net.get("links", {}).items())
    }
    pe_busy = {
        node: units[f"{node}.pe"].busy_fraction if f"{node}.pe" in units else 0.0 for node in hw.node_names()
    }

    predicted = program.predicted_cycles
    diff = (total - predicted) if predicted is not None else None
    result = PimResult(
        model=program.provenance.workload_model, method=program.provenance.method, batch=program.provenance.batch,
        program_digest=digest, hw_name=hw.name, hw_digest=hw_digest(hw),
        scheduled_for_hw=program.provenance.hw_name, mode=mode, network_mode=network_mode,
        mesh_rows=hw.mesh.rows, mesh_cols=hw.mesh.cols, clock_hz=hw.clock_hz,
        latency=Latency(cycles=total, ms=total / hw.clock_hz * 1e3),
        prediction=Prediction(
            predicted_cycles=predicted, simulated_cycles=total, contention_free_cycles=cf_total,
            contention_cycles=total - cf_total,
            model_difference_cycles=(cf_total - predicted) if predicted is not None else None,
            relative_error=((predicted - total) / total) if predicted is not None and total else None,
            contention_share_of_difference=((total - cf_total) / diff + 0.0) if diff else None,
            critical_path_queueing_cycles=cp_queueing,
        ),
        energy=Energy(total_pj=energy_total, breakdown_pj=energy, method=ENERGY_METHOD),
        latency_breakdown=LatencyBreakdown(total_cycles=total, breakdown_cycles=breakdown, method=LATENCY_METHOD),
        node_utilisation=NodeUtilisation(overall=min(1.0, overall_util), per_stage={k: min(1.0, v) for k, v in per_stage.items()},
                                         per_node_pe_busy=pe_busy, method=UTILISATION_METHOD),
        segments=seg_results, units=units, routers=routers, links=links,
        buffer_peak_bytes=run.buffer_peak_bytes, buffer_capacity_bytes=hw.buffers.sram_bytes,
        counts=Counts(
            instructions_expected=expected_instr, instructions_executed=run.instructions_executed,
            macs_expected=program.macs_expected, macs_executed=run.macs_executed,
            bytes_sent=run.bytes_sent, bytes_received=run.bytes_received, noc_bytes_by_category=noc_bytes,
            dram_bytes_read=dram_read, dram_bytes_written=dram_written,
            dram_queue_wait_cycles=run.dram_queue_wait_cycles, buffer_stall_cycles=buffer_stalls,
            sim_events=max(run.events, 0),
        ),
        invariants_checked=invariants,
    )
    return result.model_dump(mode="json")


def _check_sum(what: str, parts: dict[str, int], total: int) -> None:
    if sum(parts.values()) != total:
        raise InvariantError(f"{what} sums to {sum(parts.values())} cycles but the total is {total}")
