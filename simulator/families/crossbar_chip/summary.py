"""Turn executed crossbar instructions into TReX figures: one accounting, two users.

The closed form (``uncongested_schedule``: every instruction starts when its
dependencies and its unit's previous instruction are done, durations from
``simulator.families.crossbar_chip.costmodel``) and the SimPy engine both produce a list of
:class:`Executed` records; :func:`summarise` turns either into the same result
dictionary (Table II rows 8-10, Fig. 11 block and Fig. 12 circuit breakdowns,
per-tile utilisation). Delay breakdowns follow each segment's critical path,
so they sum to the delay; time on the path spent waiting (contention) is the
``wait`` bucket.

TB share of EDAP (``fidelity.tb_edap_share``): ``block_product`` (default)
divides the TB's own E x D x A by the sum of every block's E x D x A (Fig. 11's
"EDAP distribution ... across ... blocks"); ``marginal`` is the rise of the
chip's EDAP when the TB is added. Both are in ``tb``.

Accounting switch (``include_tb_in_totals``): Table II rows 8-10 as printed
do not count the transformation blocks of reusing encoders. With the switch
off the headline totals leave the TB block out (its critical-path delay,
energy, tiles and MACs) and report it separately; with it on they are the
whole executed program.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from simulator.families.crossbar_chip.costmodel import BLOCKS, CIRCUITS, block_of, instruction_cost, tile_area_mm2
from contracts.graph import longest_path
from contracts.hardware.crossbar_chip import CrossbarChipConfig


@dataclass(frozen=True)
class Executed:
    seg: int  # segment index
    rep: int  # repetition of the segment
    id: int
    unit: str
    op: str
    layer: str | None
    start: int  # absolute cycle
    end: int
    preds: tuple[int, ...]  # deps and the unit's previous instruction (same segment)
    energy_pj: tuple[tuple[str, float], ...]
    delay_cycles: tuple[tuple[str, float], ...]
    macs: int


def instruction_macs(ins) -> int:
    return ins.vectors * (ins.elements or 0) if ins.op == "XBAR_READ" else 0


def _segment_preds(seg) -> dict[int, tuple[int, ...]]:
    preds: dict[int, tuple[int, ...]] = {}
    for stream in seg.streams:
        prev = None
        for ins in stream.instructions:
            preds[ins.id] = tuple(sorted(set(ins.deps) | ({prev} if prev is not None else set())))
            prev = ins.id
    return preds


def uncongested_schedule(program, hw: CrossbarChipConfig) -> list[Executed]:
    """Closed-form execution: longest path through each segment, segments back to back."""
    out: list[Executed] = []
    t0 = 0
    for si, seg in enumerate(program.segments):
        preds = _segment_preds(seg)
        by_id = {ins.id: (stream.unit, ins) for stream in seg.streams for ins in stream.instructions}
        costs = {i: instruction_cost(hw, ins) for i, (_, ins) in by_id.items()}
        for rep in range(seg.repeat):
            order, start, end = longest_path(preds, lambda i: costs[i][0], t0)
            for i in order:
                unit, ins = by_id[i]
                out.append(Executed(si, rep, i, unit, ins.op, ins.layer, start[i], end[i], preds[i],
                                    tuple(sorted(costs[i][1].items())), tuple(sorted(costs[i][2].items())),
                                    instruction_macs(ins)))
            t0 = max(end.values(), default=t0)
    return out


def critical_path(records: list[Executed]) -> list[Executed]:
    """Instructions on the critical path of every segment repetition, in time order."""
    groups: dict[tuple[int, int], dict[int, Executed]] = defaultdict(dict)
    for r in records:
        groups[(r.seg, r.rep)][r.id] = r
    path: list[Executed] = []
    for key in sorted(groups):
        g = groups[key]
        if not g:
            continue
        cur = max(g.values(), key=lambda r: (r.end, -r.id))
        seg_path = [cur]
        while cur.preds:
            cur = max((g[p] for p in cur.preds), key=lambda r: (r.end, -r.id))
            seg_path.append(cur)
        path.extend(reversed(seg_path))
    return path


def segment_spans(records: list[Executed]) -> list[tuple[int, int]]:
    spans: dict[tuple[int, int], list[int]] = {}
    for r in records:
        s = spans.setdefault((r.seg, r.rep), [r.start, r.end])
        s[0], s[1] = min(s[0], r.start), max(s[1], r.end)
    return [tuple(spans[k]) for k in sorted(spans)]


def tile_roles(program) -> dict[str, str]:
    """Tile unit -> the layer role it holds (its first instruction's layer)."""
    roles: dict[str, str] = {}
    for seg in program.segments:
        for stream in seg.streams:
            if stream.unit.startswith("tile[") and stream.unit not in roles and stream.instructions:
                roles[stream.unit] = stream.instructions[0].layer or "default"
    return roles


def _unit_key(unit: str) -> tuple[str, int]:
    name, _, rest = unit.partition("[")
    return name, int(rest.rstrip("]")) if rest else 0


def summarise(program, hw: CrossbarChipConfig, records: list[Executed], *, include_tb: bool) -> dict:
    """Totals and breakdowns (units in the key names) from executed instructions."""
    ms_per_cycle = 1e3 / hw.clock_hz
    total_cycles = sum(b - a for a, b in segment_spans(records))
    path = critical_path(records)

    energy_block, energy_circuit, macs_block, busy, unit_energy = _tally(records)
    delay_block, delay_circuit = _delays_on_path(path)
    roles, area_block, tiles_block = _areas(program, hw)
    blocks, excluded, totals, energy_mj, delay_ms, area_mm2 = _totals(
        program, hw, total_cycles, energy_block, area_block, delay_block, macs_block, include_tb)
    tb, block_edap = _tb_figures(hw, energy_block, delay_block, area_block, tiles_block, macs_block, blocks,
                                 energy_mj, delay_ms, area_mm2, include_tb)
    tiles_used = sorted(roles, key=_unit_key)
    per_tile = [
        {"unit": u, "layer": roles[u], "block": block_of(roles[u]), "busy_cycles": busy[u],
         "utilisation": busy[u] / total_cycles if total_cycles else 0.0, "energy_pj": unit_energy[u]}
        for u in tiles_used
    ]
    utils = [t["utilisation"] for t in per_tile] or [0.0]
    softmax_units = sorted((u for u in busy if u.startswith("softmax[")), key=_unit_key)
    return {
        "totals": totals,
        "tb": tb,
        "by_block": {
            b: {"energy_mj": energy_block.get(b, 0.0) * 1e-9, "delay_ms": delay_block.get(b, 0) * ms_per_cycle,
                "area_mm2": area_block.get(b, 0.0), "edap_mj_ms_mm2": block_edap[b], "tiles": tiles_block.get(b, 0),
                "macs": macs_block.get(b, 0), "in_totals": b not in excluded}
            for b in blocks
        } | ({"wait": {"energy_mj": 0.0, "delay_ms": delay_block["wait"] * ms_per_cycle, "area_mm2": 0.0, "tiles": 0,
                       "macs": 0, "in_totals": True}} if delay_block.get("wait") else {}),
        "by_circuit": {
            "energy_mj": {c: energy_circuit.get(c, 0.0) * 1e-9 for c in CIRCUITS},
            "delay_ms": {c: delay_circuit.get(c, 0.0) * ms_per_cycle for c in CIRCUITS + (("wait",) if delay_circuit.get("wait") else ())},
            "note": "whole executed program (TB included); shares of E_R,X/D_R,X per read_split of the config",
        },
        "tiles": {
            "count": len(tiles_used),
            "utilisation_mean": sum(utils) / len(utils),
            "utilisation_min": min(utils),
            "utilisation_max": max(utils),
            "per_tile": per_tile,
        },
        "softmax_units": [
            {"unit": u, "busy_cycles": busy[u], "utilisation": busy[u] / total_cycles if total_cycles else 0.0,
             "energy_pj": unit_energy[u]}
            for u in softmax_units
        ],
        "executed": {"delay_cycles": total_cycles, "energy_mj": math.fsum(energy_block.values()) * 1e-9,
                     "area_mm2": math.fsum(area_block.values()), "macs": sum(macs_block.values()),
                     "instructions": len(records)},
    }


def _tally(records: list[Executed]):
    """Energy by block, circuit and unit; MACs by block; busy cycles by unit."""
    energy_block: dict[str, float] = defaultdict(float)
    energy_circuit: dict[str, float] = defaultdict(float)
    macs_block: dict[str, int] = defaultdict(int)
    busy: dict[str, int] = defaultdict(int)
    unit_energy: dict[str, float] = defaultdict(float)
    for r in records:
        blk = block_of(r.layer)
        for c, e in r.energy_pj:
            energy_block[blk] += e
            energy_circuit[c] += e
            unit_energy[r.unit] += e
        macs_block[blk] += r.macs
        busy[r.unit] += r.end - r.start

    return energy_block, energy_circuit, macs_block, busy, unit_energy


def _delays_on_path(path: list[Executed]):
    """Delay by block and circuit along the critical path; gaps between its instructions are 'wait'."""
    delay_block: dict[str, int] = defaultdict(int)
    delay_circuit: dict[str, float] = defaultdict(float)
    prev_end = None
    prev_seg = None
    for r in path:
        if prev_seg == (r.seg, r.rep) and r.start > prev_end:
            delay_block["wait"] += r.start - prev_end
            delay_circuit["wait"] += r.start - prev_end
        delay_block[block_of(r.layer)] += r.end - r.start
        for c, d in r.delay_cycles:
            delay_circuit[c] += d
        prev_end, prev_seg = r.end, (r.seg, r.rep)

    return delay_block, delay_circuit


def _areas(program, hw: CrossbarChipConfig):
    """Tile roles of the mapping, and the area and tile count of each block."""
    roles = tile_roles(program)
    area_block: dict[str, float] = defaultdict(float)
    tiles_block: dict[str, int] = defaultdict(int)
    for unit, role in sorted(roles.items(), key=lambda kv: _unit_key(kv[0])):
        area_block[block_of(role)] += tile_area_mm2(hw, role)
        tiles_block[block_of(role)] += 1

    return roles, area_block, tiles_block


def _totals(program, hw: CrossbarChipConfig, total_cycles, energy_block, area_block, delay_block, macs_block, include_tb):
    """Energy, delay, area, EDAP, TOPS/W and TOPS/mm^2 of the run (without the TB unless ``include_tb``)."""
    ms_per_cycle = 1e3 / hw.clock_hz
    blocks = [b for b in BLOCKS if b in energy_block or b in area_block or b in delay_block] + sorted(
        b for b in set(energy_block) | set(area_block) if b not in BLOCKS)
    excluded = () if include_tb else ("tb",)

    def tot(d):
        return math.fsum(v for k, v in d.items() if k not in excluded)

    energy_pj = tot(energy_block)
    delay_cycles = total_cycles - (0 if include_tb else delay_block.get("tb", 0))
    area_mm2 = tot(area_block)
    macs = sum(v for k, v in macs_block.items() if k not in excluded)
    base_macs = int(program.notes.get("trex_base_macs", macs))
    energy_mj = energy_pj * 1e-9
    delay_ms = delay_cycles * ms_per_cycle

    def figures(e_mj, d_ms, a_mm2, ops):
        return {
            "energy_mj": e_mj, "delay_ms": d_ms, "area_mm2": a_mm2, "edap_mj_ms_mm2": e_mj * d_ms * a_mm2,
            "tops_per_w": ops / (e_mj * 1e-3) / 1e12 if e_mj else 0.0,
            "tops_per_mm2": ops / (d_ms * 1e-3) / 1e12 / a_mm2 if d_ms and a_mm2 else 0.0,
        }

    totals = figures(energy_mj, delay_ms, area_mm2, macs)
    totals.update({
        "delay_cycles": delay_cycles,
        "fps": 1e3 / delay_ms if delay_ms else 0.0,
        "macs": macs,
        "macs_baseline_model": base_macs,
        "tops_per_mm2_baseline_macs": base_macs / (delay_ms * 1e-3) / 1e12 / area_mm2 if delay_ms and area_mm2 else 0.0,
        "tops_per_w_baseline_macs": base_macs / (energy_mj * 1e-3) / 1e12 if energy_mj else 0.0,
    })
    return blocks, excluded, totals, energy_mj, delay_ms, area_mm2


def _tb_figures(hw: CrossbarChipConfig, energy_block, delay_block, area_block, tiles_block, macs_block, blocks,
                energy_mj, delay_ms, area_mm2, include_tb):
    """The transformation blocks' own figures and their EDAP share (both readings), per-block EDAP."""
    ms_per_cycle = 1e3 / hw.clock_hz
    tb_e = energy_block.get("tb", 0.0) * 1e-9
    tb_d = delay_block.get("tb", 0) * ms_per_cycle
    tb_a = area_block.get("tb", 0.0)
    with_tb = (energy_mj + (0 if include_tb else tb_e)) * (delay_ms + (0 if include_tb else tb_d)) * (
        area_mm2 + (0 if include_tb else tb_a))
    without_tb = (energy_mj - (tb_e if include_tb else 0)) * (delay_ms - (tb_d if include_tb else 0)) * (
        area_mm2 - (tb_a if include_tb else 0))
    block_edap = {b: energy_block.get(b, 0.0) * 1e-9 * delay_block.get(b, 0) * ms_per_cycle * area_block.get(b, 0.0)
                  for b in blocks}
    edap_increase = (with_tb / without_tb - 1) * 100 if without_tb else 0.0
    block_sum = math.fsum(block_edap.values())
    edap_block_share = block_edap.get("tb", 0.0) / block_sum * 100 if block_sum else 0.0
    reading = hw.fidelity.tb_edap_share
    tb = {
        "energy_mj": tb_e, "delay_ms": tb_d, "area_mm2": tb_a, "tiles": tiles_block.get("tb", 0),
        "macs": macs_block.get("tb", 0),
        "edap_increase_pct": edap_increase,
        "edap_block_share_pct": edap_block_share,
        "edap_share_pct": edap_block_share if reading == "block_product" else edap_increase,
        "edap_share_reading": reading,
        "included_in_totals": include_tb,
    }
    return tb, block_edap
