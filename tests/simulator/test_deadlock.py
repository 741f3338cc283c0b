"""Deadlocks that program validation cannot see are reported with the stuck units and their next instruction.

The program below is acyclic (validation passes), yet node[0][0]'s SRAM buffer
can never drain: the RECV holds its staging space while it waits for a SEND
that waits for a GEMM that needs that space. The engine's event queue empties
with unfinished streams; the run must end within a bounded wall time with one
sentence naming every stuck unit and what it waits for.
"""

from __future__ import annotations

import json

import fuzz_helpers as fh
from sim_helpers import ins, program, segment, small_hw
from simulator.__main__ import main
from simulator.families.pim_mesh.units import gemm_buffer_bytes
from contracts.program import dump_program, validate_program


def test_buffer_that_never_drains_is_a_reported_deadlock(tmp_path):
    gemm = gemm_buffer_bytes(small_hw(), 64, 64, 64)
    sram = gemm + 255  # the GEMM fits alone, not beside the RECV's 256 staged bytes
    prog = program([segment({
        "node[0][0].ni": [ins(1, "RECV", peer="node[0][1]", bytes=4096, msg=1)],
        "node[0][0].pe": [ins(2, "GEMM", m=64, k=64, n=64)],
        "node[0][1].ni": [ins(3, "SEND", [2], peer="node[0][0]", bytes=4096, msg=1)],
    })])
    validate_program(prog, small_hw().unit_names())  # nothing for validation to see
    path = tmp_path / "program.json"
    path.write_text(dump_program(prog))
    code, err = fh.run_main(main, ["run", "--program", str(path), "--hw", "pim-dram-8x8", "--out", str(tmp_path / "o"),
                                   "--set", f"buffers.sram_bytes={sram}"], seconds=20)
    msg = fh.error_line(err)
    assert code == 2 and "deadlock in segment 'seg' repetition 0" in msg, msg
    assert "node[0][0].pe at instruction 2 (GEMM" in msg and f"waits for {gemm} bytes of node[0][0]'s SRAM buffer" in msg
    assert "node[0][0].ni at instruction 1 (RECV msg 1 from node[0][1])" in msg
    assert "node[0][1].ni at instruction 3 (SEND msg 1 to node[0][0])" in msg and "waits for instruction 2" in msg
    assert not (tmp_path / "o" / "result.json").exists()


def test_recv_whose_send_never_starts_is_a_reported_deadlock(tmp_path):
    """A SEND gated on an instruction of a unit that is itself blocked behind the RECV: a cycle through the
    network that passes validation only because the RECV and the gating op share no stream or dependency."""
    gemm = gemm_buffer_bytes(small_hw(), 64, 64, 64)
    prog = program([segment({
        "node[0][0].ni": [ins(1, "RECV", peer="node[1][0]", bytes=4096, msg=1)],
        "node[0][0].pe": [ins(2, "GEMM", m=64, k=64, n=64)],
        "node[0][0].acu": [ins(4, "ACU", [2], func="gelu", elements=64)],
        "node[1][0].ni": [ins(3, "SEND", [4], peer="node[0][0]", bytes=4096, msg=1)],
    })])
    path = tmp_path / "program.json"
    path.write_text(dump_program(prog))
    code, err = fh.run_main(main, ["run", "--program", str(path), "--hw", "pim-dram-8x8", "--out", str(tmp_path / "o"),
                                   "--set", f"buffers.sram_bytes={gemm + 100}"], seconds=20)
    msg = fh.error_line(err)
    assert code == 2 and "deadlock" in msg and "4 unit(s) are stuck" in msg, msg
    assert "node[0][0].acu at instruction 4 (ACU" in msg and "node[1][0].ni at instruction 3 (SEND" in msg
