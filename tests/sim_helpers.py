"""Helpers for the simulator tests: hand-written PIM programs and a one-call simulation."""

from __future__ import annotations

from simulator.families.pim_mesh import costmodel as cm
from contracts.hardware import load_hw
from contracts.program import Instruction, Program, Provenance, Segment, SolverInfo, Stream, make_instruction


def small_hw(*overrides: str):
    return load_hw("pim-dram-8x8", list(overrides))


def ins(id, op, deps=(), **kw) -> Instruction:
    return make_instruction(id=id, op=op, deps=list(deps), **kw)


def program(segments: list[Segment], macs: int | None = None, predicted: int | None = None) -> Program:
    if macs is None:
        macs = sum(
            i.m * i.k * i.n * seg.repeat
            for seg in segments for s in seg.streams for i in s.instructions if i.op == "GEMM"
        )
    return Program(
        kind="pim_mesh",
        provenance=Provenance(workload_model="hand", workload_digest="0" * 64, hw_name="pim-dram-8x8",
                              hw_digest="0" * 64, method="hand", solver=SolverInfo(status="hand-written")),
        macs_expected=macs, predicted_cycles=predicted, segments=segments,
    )


def segment(streams: dict[str, list[Instruction]], repeat: int = 1, name: str = "seg", stage: int | None = 0) -> Segment:
    return Segment(name=name, repeat=repeat, stage=stage,
                   streams=[Stream(unit=u, instructions=v) for u, v in sorted(streams.items())])


def run(prog, hw=None, **kw):
    from simulator.families.pim_mesh.units import simulate

    hw = hw or small_hw()
    kw.setdefault("progress", False)
    return simulate(prog, hw, **kw)


def drop_mode_fields(*results: dict) -> None:
    """Remove the fields that say how a run was simulated (mode, SimPy events, simulated repetitions), not what."""
    for r in results:
        r.pop("mode")
        r["counts"].pop("sim_events")
        for s in r["segments"]:
            s.pop("simulated_repetitions")
