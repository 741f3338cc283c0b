"""Turn an execution of a PIM-mesh program into a validated ``result.json`` and check the invariants.

What is computed (all from the inputs alone, so the file is byte-deterministic):

* latency in cycles and ms; the scheduler's prediction next to it, a
  contention-free replay (:mod:`simulator.engine.reference`) and their
  differences: ``simulated - contention_free`` is what contention costs,
  ``contention_free - predicted`` is the rest of the scheduler's error;
* energy = action counts x the config's energy table, through the cost-model
  functions (Accelergy's split: PE MACs, SRAM buffer bytes, ACU elements, DRAM
  row activations / bits read / bits written, NoC flit-hops), plus static power
  (leakage of every unit, DRAM refresh) x simulated time
  (:func:`simulator.families.pim_mesh.costmodel.static_energy_pj`); broken down by action,
  by component, by stage and by unit; energy per inference and EDP;
* latency breakdown by critical-path attribution (:mod:`simulator.engine.core`);
* node utilisation by Allspark Eq. 21: for every temporal layer ``j`` of a
  block, ``N_occupied`` = nodes with at least one instruction tagged ``tl=j``,
  ``Exec_Time`` = from the first start to the last end of those instructions;
  instructions without a ``tl`` form one layer spanning the segment;
* busy fraction of every unit, router and link; bytes per link.

Invariants checked at the end of every run; a failure raises, it is never a
warning: every instruction completed and nothing in flight (network drained,
buffers empty), bytes sent == bytes received == bytes the network delivered,
MACs executed == ``program.macs_expected``, every breakdown sums to its total
(latency by category and segment; energy by action, component, stage and unit).
"""

from __future__ import annotations

import math
from typing import Any

from simulator.families.pim_mesh import costmodel as cm
from simulator.engine.core import CompiledSegment, ExecutionResult
from simulator.engine.reference import contention_free_cycles
from contracts.errors import UserError
from contracts.hardware.pim_mesh import PimMeshConfig
from contracts.program import Program
from contracts.hardware.loader import hw_digest
from simulator.families.pim_mesh.result import (
    Busy, Counts, Energy, Latency, LatencyBreakdown, LinkLoad, NodeUtilisation, PimResult, Prediction, RouterLoad,
    SegmentResult,
)

DYNAMIC_TERMS = ("pe_mac", "sram_buffer", "acu", "dram_activate", "dram_read", "dram_write", "noc_flit_hop")
COMPONENT_OF = {
    "pe_mac": "pe", "static_pe": "pe", "sram_buffer": "sram", "static_sram": "sram", "acu": "acu", "static_acu": "acu",
    "dram_activate": "dram", "dram_read": "dram", "dram_write": "dram", "dram_refresh": "dram",
    "noc_flit_hop": "noc", "static_noc": "noc",
}
LATENCY_CATEGORIES = ("compute", "fmap_transfer", "weight_share", "memory")

# This text is written into result.json, whose bytes are pinned by the golden tests. It names the
# cost model by the module path it had when the goldens were made (simulator.costmodel.pim);
# the same functions now live in simulator.families.pim_mesh.costmodel.
ENERGY_METHOD = (
    "dynamic: action counts x energy table through simulator.costmodel.pim: pe_mac = MACs x energy_pj_per_mac; "
    "sram_buffer = GEMM buffer traffic x energy_pj_per_byte; acu = elements x energy_pj_per_element[func]; "
    "dram_activate = rows touched x activate_energy_pj; dram_read / dram_write = bits x energy_pj_per_bit; "
    "noc_flit_hop = flits x flit_bits x hops x energy_pj_per_bit_hop. static: leakage of every node's PE MACs, SRAM "
    "bytes, ACU lanes and router buffer bits, plus DRAM refresh (rows x activate_energy_pj per refresh_window_ms), "
    "x simulated time, for every node busy or idle (no power gating). Per stage: the dynamic energy of its "
    "instructions + static power x its simulated time. EDP = energy per inference x latency."
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
    """The run's result.json content: five steps, each checking the invariants it can (see the functions)."""
    total = run.total_cycles
    denom = max(total, 1)
    net = network_totals(network, run)
    invariants: list[str] = []
    lat = _segments_and_latency(hw, segments, run, total, invariants)
    en = _energy(program, hw, segments, total, denom, net, lat["seg_results"])
    unit_static, all_units, buffer_energy, buffer_traffic, link_energy, router_energy = _unit_energy(
        hw, segments, run, total, net, en["dyn"], en["unit_dyn"], en["energy_result"].total_pj, invariants)
    expected_instr, noc_bytes = _check_conservation(program, run, network, net, invariants)
    units, routers, links, pe_busy = _loads(hw, run, denom, net, en["unit_dyn"], en["unit_bytes"], unit_static, all_units,
                                            link_energy, router_energy)
    return _result(program, hw, run, total, digest, mode, network_mode, lat, en, units, routers, links, pe_busy,
                   buffer_traffic, buffer_energy, expected_instr, noc_bytes, invariants)


def _segments_and_latency(hw, segments, run, total, invariants) -> dict:
    """Per-segment results, the latency breakdown (checked to sum per segment and in total), node utilisation."""
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

    return {"seg_results": seg_results, "breakdown": breakdown, "cf_total": cf_total, "cp_queueing": cp_queueing,
            "buffer_stalls": buffer_stalls, "per_stage": per_stage, "overall_util": overall_util}


def _energy(program, hw, segments, total, denom, net, seg_results) -> dict:
    """Dynamic energy from the instructions' action counts, static from the simulated time; sums checked."""
    nodes_total = hw.mesh.rows * hw.mesh.cols
    dram_read = dram_written = 0
    unit_dyn: dict[str, float] = {}
    unit_bytes: dict[str, int] = {}
    stage_dyn: dict[str, float] = {}
    for seg in segments:
        for op in seg.ops:
            if op.op == "DRAM_READ":
                dram_read += op.nbytes * seg.repeat
            elif op.op == "DRAM_WRITE":
                dram_written += op.nbytes * seg.repeat
            if op.op in ("DRAM_READ", "DRAM_WRITE", "SEND", "RECV"):
                unit_bytes[op.unit] = unit_bytes.get(op.unit, 0) + op.nbytes * seg.repeat
        key = "none" if seg.stage is None else str(seg.stage)
        stage_dyn[key] = stage_dyn.get(key, 0.0) + math.fsum(seg.energy_pj.values()) * seg.repeat
    dyn = {t: 0.0 for t in DYNAMIC_TERMS}
    for seg in segments:
        for comp, pj in seg.energy_pj.items():
            if comp not in dyn:
                raise InvariantError(f"the cost model charged energy to unknown term '{comp}'")
            dyn[comp] += pj * seg.repeat
    per_instruction = math.fsum(pj * seg.repeat for seg in segments for op in seg.ops for _c, pj in op.energy_pj)
    dynamic_total = math.fsum(dyn.values())
    if not _close(per_instruction, dynamic_total):
        raise InvariantError(f"dynamic energy sums to {dynamic_total} pJ but the instructions account for {per_instruction} pJ")
    net_energy = net.get("energy_pj")
    if isinstance(net_energy, (int, float)) and not _close(net_energy, dyn["noc_flit_hop"]):
        raise InvariantError(f"the network counted {net_energy} pJ but the closed form gives {dyn['noc_flit_hop']} pJ for the same transfers")
    static = cm.static_energy_pj(hw, total)
    static_power = math.fsum(cm.static_power_mw(hw).values()) * nodes_total
    parts = {**dyn, **static}
    energy_total = math.fsum(parts.values())
    by_component: dict[str, float] = {}
    for term, pj in parts.items():
        by_component[COMPONENT_OF[term]] = by_component.get(COMPONENT_OF[term], 0.0) + pj
    seg_cycles_by_stage: dict[str, int] = {}
    for sr in seg_results:
        key = "none" if sr.stage is None else str(sr.stage)
        seg_cycles_by_stage[key] = seg_cycles_by_stage.get(key, 0) + sr.total_cycles
    static_total = math.fsum(static.values())
    by_stage = {
        k: stage_dyn.get(k, 0.0) + static_total * seg_cycles_by_stage.get(k, 0) / denom
        for k in sorted(set(stage_dyn) | set(seg_cycles_by_stage))
    }
    for what, table in (("by action", parts), ("by component", by_component), ("by stage", by_stage)):
        if not _close(math.fsum(table.values()), energy_total):
            raise InvariantError(f"energy {what} sums to {math.fsum(table.values())} pJ but the total is {energy_total} pJ")
    batch = max(program.provenance.batch, 1)
    per_inference = energy_total / batch
    energy_result = Energy(
        total_pj=energy_total, per_inference_pj=per_inference, dynamic_pj=dynamic_total, static_pj=static_total,
        static_power_mw=static_power, edp_j_s=per_inference * 1e-12 * total / hw.clock_hz,
        breakdown_pj=parts, by_component_pj=dict(sorted(by_component.items())), by_stage_pj=by_stage,
        method=ENERGY_METHOD,
    )

    return {"energy_result": energy_result, "dyn": dyn, "unit_dyn": unit_dyn, "unit_bytes": unit_bytes,
            "dram_read": dram_read, "dram_written": dram_written}


def _unit_energy(hw, segments, run, total, net, dyn, unit_dyn, energy_total, invariants):
    """Per-unit energy (fills ``unit_dyn``), SRAM buffers, links and routers; checked to sum to the total."""
    nodes_total = hw.mesh.rows * hw.mesh.cols
    # per-unit energy: each instruction's dynamic energy on its unit (flit-hops on the links instead of the NI),
    # each unit's leakage over the run; router leakage on routers; SRAM buffers per node
    per_node_static = {k: mw * 1e9 * total / hw.clock_hz for k, mw in cm.static_power_mw(hw).items()}
    buffer_dyn: dict[str, float] = {}
    for seg in segments:
        for op in seg.ops:
            for comp, pj in op.energy_pj:
                if comp == "sram_buffer":
                    buffer_dyn[op.node] = buffer_dyn.get(op.node, 0.0) + pj * seg.repeat
                elif comp != "noc_flit_hop":
                    unit_dyn[op.unit] = unit_dyn.get(op.unit, 0.0) + pj * seg.repeat
    banks = hw.dram.banks_per_node

    def unit_static(unit: str) -> float:
        if unit.endswith(".pe"):
            return per_node_static["static_pe"]
        if unit.endswith(".acu"):
            return per_node_static["static_acu"]
        if ".dram.bank[" in unit:
            return per_node_static["dram_refresh"] / banks
        return 0.0

    all_units = sorted(set(hw.unit_names()) | set(run.unit_busy_cycles))
    per_byte = hw.buffers.energy_pj_per_byte
    buffer_energy = {n: buffer_dyn.get(n, 0.0) + per_node_static["static_sram"] for n in hw.node_names()}
    buffer_traffic = {n: int(round(buffer_dyn.get(n, 0.0) / per_byte)) if per_byte else 0 for n in hw.node_names()}
    link_flits = math.fsum(float(v["flits"]) for v in (net.get("links") or {}).values())
    noc_dyn = dyn["noc_flit_hop"]
    link_energy = {name: (noc_dyn * float(v["flits"]) / link_flits if link_flits else 0.0)
                   for name, v in (net.get("links") or {}).items()}
    if noc_dyn and not link_flits:
        raise InvariantError(f"{noc_dyn} pJ of flit-hop energy but no link carried a flit")
    router_energy = per_node_static["static_noc"]
    n_routers = len(net.get("routers") or {})
    unit_energy_total = math.fsum(
        [unit_dyn.get(u, 0.0) + unit_static(u) for u in all_units] + list(buffer_energy.values()) + list(link_energy.values())
        + [router_energy * n_routers]
    )
    # routers the network reported no counters for still leak: in the totals, not in a router row
    unit_energy_total += router_energy * (nodes_total - n_routers)
    if not _close(unit_energy_total, energy_total):
        raise InvariantError(f"energy by unit sums to {unit_energy_total} pJ but the total is {energy_total} pJ")
    invariants.append("energy breakdown (by action, component, stage and unit) sums to the total; NoC energy counted by the "
                      "network equals the closed form")

    return unit_static, all_units, buffer_energy, buffer_traffic, link_energy, router_energy


def _check_conservation(program, run, network, net, invariants) -> tuple[int, dict[str, int]]:
    """Quiescence and conservation: instructions, packets, buffer bytes, bytes sent/received/injected, MACs."""
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

    return expected_instr, noc_bytes


def _loads(hw, run, denom, net, unit_dyn, unit_bytes, unit_static, all_units, link_energy, router_energy):
    """Busy cycles, fractions, bytes and energy of every unit, router and link; PE busy per node."""
    busy = run.unit_busy_cycles
    units = {
        u: Busy(busy_cycles=busy.get(u, 0), busy_fraction=min(1.0, busy.get(u, 0) / denom), bytes=unit_bytes.get(u, 0),
                energy_pj=unit_dyn.get(u, 0.0) + unit_static(u))
        for u in all_units
    }
    routers = {
        name: RouterLoad(flits_switched=int(v["flits_switched"]),
                         busy_fraction=min(1.0, v["flits_switched"] / (cm.ROUTER_PORTS * denom)), energy_pj=router_energy)
        for name, v in sorted(net.get("routers", {}).items())
    }
    links = {
        name: LinkLoad(busy_cycles=int(v["busy_cycles"]), busy_fraction=min(1.0, v["busy_cycles"] / denom),
                       bytes=int(v["bytes"]), flits=int(v["flits"]), energy_pj=link_energy[name])
        for name, v in sorted(net.get("links", {}).items())
    }
    pe_busy = {
        node: units[f"{node}.pe"].busy_fraction if f"{node}.pe" in units else 0.0 for node in hw.node_names()
    }

    return units, routers, links, pe_busy


def _result(program, hw, run, total, digest, mode, network_mode, lat, en, units, routers, links, pe_busy,
            buffer_traffic, buffer_energy, expected_instr, noc_bytes, invariants) -> dict:
    """Assemble and validate the PimResult."""
    seg_results, breakdown, cf_total = lat["seg_results"], lat["breakdown"], lat["cf_total"]
    cp_queueing, buffer_stalls = lat["cp_queueing"], lat["buffer_stalls"]
    per_stage, overall_util = lat["per_stage"], lat["overall_util"]
    energy_result, dram_read, dram_written = en["energy_result"], en["dram_read"], en["dram_written"]
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
        energy=energy_result,
        latency_breakdown=LatencyBreakdown(total_cycles=total, breakdown_cycles=breakdown, method=LATENCY_METHOD),
        node_utilisation=NodeUtilisation(overall=min(1.0, overall_util), per_stage={k: min(1.0, v) for k, v in per_stage.items()},
                                         per_node_pe_busy=pe_busy, method=UTILISATION_METHOD),
        segments=seg_results, units=units, routers=routers, links=links,
        buffer_peak_bytes=run.buffer_peak_bytes, buffer_capacity_bytes=hw.buffers.sram_bytes,
        buffer_traffic_bytes=buffer_traffic, buffer_energy_pj=buffer_energy,
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


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def _check_sum(what: str, parts: dict[str, int], total: int) -> None:
    if sum(parts.values()) != total:
        raise InvariantError(f"{what} sums to {sum(parts.values())} cycles but the total is {total}")
