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


def write_small_program(path, dram_write: bool = True):
    """A small PIM program (GEMM, SEND -> RECV across the mesh, then a DRAM write of what arrived) at ``path``."""
    from contracts.program import dump_program

    streams = {
        "node[0][0].pe": [ins(1, "GEMM", m=16, k=32, n=32)],
        "node[0][0].ni": [ins(2, "SEND", [1], peer="node[1][1]", bytes=512, msg=1, category="fmap_transfer")],
        "node[1][1].ni": [ins(3, "RECV", peer="node[0][0]", bytes=512, msg=1, category="fmap_transfer")],
    }
    if dram_write:
        streams["node[1][1].dram.bank[0]"] = [ins(4, "DRAM_WRITE", [3], bytes=512, category="memory")]
    path.write_text(dump_program(program([segment(streams)])))
    return path
