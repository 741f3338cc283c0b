"""Lower a crossbar mapping to the Program IR (one segment per encoder).

Per step of an encoder (mapping.Step), on every tile of its layer:

* read:  XBAR_READ (vectors, xbars on the tile, ``elements`` = weight elements
  the tile holds, counted once over bit slices, so MACs = vectors x elements),
  then ACCUM (partial sums the tile's crossbars produce) and XFER (those
  partial sums leaving the tile, at input precision);
* write: XBAR_WRITE (xbars on the tile, rows per crossbar) - K^T and V are
  programmed every inference, before the read that uses them (write-before-
  read: same tile stream, and the read depends on the write);
* softmax: one SOFTMAX per head on ``softmax[h]`` (rows x cols per head).

The first instruction of a step on each unit depends on the last instruction
of every unit of each predecessor step. Hints carry the closed-form start.
"""

from __future__ import annotations

import json

from scheduler.crossbar.mapping import ChipMapping, EncoderPlan, Step
from simulator.families.crossbar_chip.summary import uncongested_schedule
from contracts.hardware.crossbar_chip import CrossbarChipConfig
from contracts.program import (Accum, Instruction, InstructionBase, Program, Provenance, Segment, Softmax,
                               SolverInfo, Stream, XbarRead, XbarWrite, Xfer)

# Fig. 8b stage of each step kind/role, recorded as the instruction's phase.
_PHASE = {("read", "q"): 1, ("read", "k"): 1, ("read", "v"): 1, ("write", "attn_qk"): 2, ("write", "attn_av"): 2,
          ("read", "attn_qk"): 3, ("softmax", None): 4, ("read", "attn_av"): 5, ("read", "proj"): 6,
          ("read", "fc1"): 7, ("read", "fc2"): 7}


def _segment(plan: EncoderPlan, hw: CrossbarChipConfig, units_per_head: int) -> Segment:
    streams: dict[str, list[Instruction]] = {}
    last_ids: dict[str, list[int]] = {}
    next_id = 0
    out_bytes = -(-hw.crossbar.input_bits // 8)

    def emit(unit: str, deps: list[int], step: Step, op: type[InstructionBase], **kw) -> int:
        nonlocal next_id
        stream = streams.setdefault(unit, [])
        role = step.layer.role if step.layer else "softmax"
        ins = op(id=next_id, deps=deps,
                 layer=role, block=plan.index - 1, stage=1,
                 phase=_PHASE.get((step.kind, step.layer.role if step.layer else None)), **kw)
        stream.append(ins)
        next_id += 1
        return ins.id

    for step in plan.steps:
        deps = sorted(i for d in step.deps for i in last_ids[d])
        ends: list[int] = []
        if step.kind == "softmax":
            for h in range(step.heads):
                share = [step.rows // units_per_head + (1 if u < step.rows % units_per_head else 0)
                         for u in range(units_per_head)]
                for u, rows in enumerate(share):
                    if rows:
                        ends.append(emit(f"softmax[{h * units_per_head + u}]", deps, step, Softmax,
                                         category="softmax", rows=rows, cols=step.cols))
        else:
            lay = step.layer
            for k, tile in enumerate(lay.tiles):
                unit = f"tile[{tile}]"
                if step.kind == "write":
                    ends.append(emit(unit, deps, step, XbarWrite, category="xbar_write",
                                     xbars=lay.tile_xbars[k], rows=min(hw.crossbar.size, lay.in_dim)))
                    continue
                emit(unit, deps, step, XbarRead, category="compute", xbars=lay.tile_xbars[k],
                     vectors=lay.vectors, elements=lay.tile_weights[k])
                emit(unit, [], step, Accum, category="accumulate", elements=lay.vectors * lay.tile_cols[k])
                ends.append(emit(unit, [], step, Xfer, category="communication",
                                 bytes=lay.vectors * lay.tile_cols[k] * out_bytes))
        last_ids[step.name] = ends
    kind = "reuse" if plan.reused else "encoder"
    return Segment(name=f"{kind}{plan.index}", stage=1,
                   streams=[Stream(unit=u, instructions=streams[u]) for u in sorted(streams, key=_unit_order)])


def _unit_order(unit: str) -> tuple[str, int]:
    name, _, rest = unit.partition("[")
    return name, int(rest.rstrip("]"))


def lower(mapping: ChipMapping, hw: CrossbarChipConfig, *, workload_digest: str, hw_digest: str,
          base_macs: int, batch: int = 1) -> Program:
    """Program for one inference; the closed form rides along as hints and notes."""
    uph = hw.softmax.units_per_head
    segments = [_segment(p, hw, uph) for p in mapping.encoders]
    notes = {"trex_base_macs": str(base_macs), "trex_method": mapping.method,
             "trex_reuse_pattern": json.dumps(list(mapping.reuse_pattern)),
             "trex_unmapped_macs": str(mapping.unmapped_macs)} | dict(mapping.notes)
    prog = Program(
        kind="crossbar_chip",
        provenance=Provenance(workload_model=mapping.model, workload_digest=workload_digest, hw_name=hw.name,
                              hw_digest=hw_digest, method=mapping.method, batch=batch,
                              solver=SolverInfo(status="closed-form")),
        macs_expected=mapping.macs,
        segments=segments,
        notes=notes,
    )
    return with_hints(prog, hw)


def with_hints(prog: Program, hw: CrossbarChipConfig) -> Program:
    """Attach the closed-form (uncongested) start of every instruction and each segment's duration."""
    recs = uncongested_schedule(prog, hw)
    seg_start: dict[int, int] = {}
    seg_end: dict[int, int] = {}
    start: dict[tuple[int, int], int] = {}
    for r in recs:
        seg_start[r.seg] = min(seg_start.get(r.seg, r.start), r.start)
        seg_end[r.seg] = max(seg_end.get(r.seg, r.end), r.end)
        if r.rep == 0:
            start[(r.seg, r.id)] = r.start
    segs = []
    for si, seg in enumerate(prog.segments):
        base = seg_start.get(si, 0)
        streams = [Stream(unit=s.unit, instructions=[i.model_copy(update={"hint_cycle": start[(si, i.id)] - base})
                                                      for i in s.instructions]) for s in seg.streams]
        dur = (seg_end.get(si, base) - base) // seg.repeat
        segs.append(seg.model_copy(update={"streams": streams, "hint_cycles": dur}))
    total = sum(s.hint_cycles * s.repeat for s in segs)
    return prog.model_copy(update={"segments": segs, "predicted_cycles": total})
