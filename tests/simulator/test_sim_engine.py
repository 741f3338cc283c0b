"""Executor behaviour: contention, buffers, block-reuse mode, determinism, deadlocks, malformed programs."""

from __future__ import annotations

import json

import pytest

from sim_helpers import cm, drop_mode_fields, ins, program, run, segment, small_hw
from contracts.errors import UserError

HW = small_hw()


def contended(repeat: int = 3):
    """Two transfers share link [0][1]->[0][2] from cycle 0; a GEMM then an ACU wait for the late one."""
    return program([segment({
        "node[0][0].ni": [ins(1, "SEND", peer="node[0][3]", bytes=1024, msg=1, category="fmap_transfer")],
        "node[0][1].ni": [ins(2, "SEND", peer="node[0][2]", bytes=1024, msg=2, category="weight_share")],
        "node[0][3].ni": [ins(3, "RECV", peer="node[0][0]", bytes=1024, msg=1, category="fmap_transfer")],
        "node[0][2].ni": [ins(4, "RECV", peer="node[0][1]", bytes=1024, msg=2, category="weight_share")],
        "node[0][2].pe": [ins(5, "GEMM", [4], m=8, k=64, n=64)],
        "node[0][3].acu": [ins(6, "ACU", [3], func="softmax", elements=256)],
        "node[0][3].dram.bank[0]": [ins(7, "DRAM_WRITE", [6], bytes=256, category="memory")],
    }, repeat=repeat)], predicted=0)


def test_contention_is_measured_and_attributed():
    result, _, _ = run(contended(1), network_mode="transfer")  # the per-packet model: the shared link delays one worm
    pred = result["prediction"]
    assert pred["simulated_cycles"] > pred["contention_free_cycles"]
    assert pred["contention_cycles"] == pred["simulated_cycles"] - pred["contention_free_cycles"]
    assert pred["critical_path_queueing_cycles"] > 0
    assert sum(result["latency_breakdown"]["breakdown_cycles"].values()) == result["latency"]["cycles"]
    assert result["links"]["link[0][1]->[0][2]"]["bytes"] == 2048


def test_block_reuse_equals_full_mode():
    full, _, _ = run(contended(4), mode="full")
    reuse, _, _ = run(contended(4), mode="block-reuse")
    assert full["mode"] == "full" and reuse["mode"] == "block-reuse"
    assert reuse["counts"]["sim_events"] < full["counts"]["sim_events"]
    drop_mode_fields(full, reuse)
    assert full == reuse


def test_two_runs_are_byte_identical(tmp_path):
    a, _, _ = run(contended(2))
    b, _, _ = run(contended(2))
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_buffer_back_pressure_delays_and_is_bounded():
    """Two GEMMs whose tiles do not fit together: the later one waits for the earlier one's buffer."""
    hw = small_hw("buffers.sram_bytes=4096")
    need = None
    from simulator.families.pim_mesh.units import gemm_buffer_bytes

    need = gemm_buffer_bytes(hw, 64, 64, 64)
    assert 2048 < need <= 4096
    g = cm.gemm_cycles(hw, 64, 64, 64)
    d = cm.dram_cycles(hw, 4096, False)
    # the DRAM read (staging 2 rows) starts first and the GEMM no longer fits beside it
    prog = program([segment({
        "node[0][0].dram.bank[0]": [ins(1, "DRAM_READ", bytes=4096)],
        "node[0][0].pe": [ins(2, "GEMM", m=64, k=64, n=64)],
    })])
    if need + 2048 <= 4096:
        pytest.skip("tile fits beside the staging window")
    result, _, events = run(prog, hw=hw, trace=True)
    spans = {e["args"]["id"]: (e["args"]["start_cycle"], e["args"]["end_cycle"]) for e in events if e.get("ph") == "X" and "id" in e["args"]}
    assert spans == {1: (0, d), 2: (d, d + g)}
    assert result["counts"]["buffer_stall_cycles"] == d
    assert result["latency_breakdown"]["breakdown_cycles"]["buffer_stall"] == d
    assert max(result["buffer_peak_bytes"].values()) <= 4096


def test_deadlock_names_stuck_units_and_their_instruction():
    from simulator.families.pim_mesh.units import simulate

    prog = program([segment({
        "node[0][0].ni": [ins(1, "RECV", peer="node[0][1]", bytes=8, msg=1), ins(2, "SEND", peer="node[0][1]", bytes=8, msg=2)],
        "node[0][1].ni": [ins(3, "RECV", peer="node[0][0]", bytes=8, msg=2), ins(4, "SEND", peer="node[0][0]", bytes=8, msg=1)],
    })])
    with pytest.raises(UserError) as e:
        simulate(prog, HW, progress=False)
    msg = str(e.value)
    assert "deadlock" in msg
    assert "node[0][0].ni at instruction 1 (RECV msg 1 from node[0][1])" in msg
    assert "node[0][1].ni at instruction 3 (RECV msg 2 from node[0][0])" in msg
    assert "waits for instruction 4 (SEND msg 1 to node[0][0]) on node[0][1].ni" in msg


@pytest.mark.parametrize("streams,needle", [
    ({"node[0][0].acu": [ins(1, "GEMM", m=1, k=1, n=1)]}, "instruction 1 (GEMM) is on node[0][0].acu, but GEMM needs a .pe unit"),
    ({"node[0][0].acu": [ins(1, "ACU", func="tanh", elements=3)]}, "instruction 1 on node[0][0].acu: ACU function 'tanh'"),
    ({"node[0][0].pe": [ins(1, "XBAR_READ", xbars=1, vectors=1)]}, "instruction 1 (XBAR_READ) is on node[0][0].pe"),
])
def test_malformed_instruction_is_named(streams, needle):
    with pytest.raises(UserError) as e:
        run(program([segment(streams)], macs=0))
    assert needle in str(e.value)


def test_wrong_macs_expected_is_an_error():
    prog = program([segment({"node[0][0].pe": [ins(1, "GEMM", m=2, k=2, n=2)]})], macs=9)
    with pytest.raises(UserError, match="8 MACs executed but the program expects 9"):
        run(prog)


def test_shared_slots_are_granted_first_come_then_in_op_order():
    """SHARED ops on one-slot arbiter (the crossbar interconnect): same-cycle requests go in op-index order,
    the later one waits, and the wait is a stall before it (the critical path still sums to the duration)."""
    import simpy

    from simulator.engine.core import FIXED, SHARED, Executor, OpCost, compile_program
    from simulator.families.crossbar_chip.units import PortArbiter

    prog = program([segment({
        "tile[1]": [ins(1, "XFER", bytes=4)],
        "tile[0]": [ins(2, "XFER", bytes=4), ins(3, "ACCUM", [1], elements=1)],
    }, repeat=2)], macs=0)

    def cost(unit, instruction, where):
        return OpCost(SHARED, 10, (), 0, 0) if instruction.op == "XFER" else OpCost(FIXED, 5, (), 0, 0)

    env = simpy.Environment()
    seen = []
    segs = compile_program(prog, cost)
    run = Executor(env, segs, shared=PortArbiter(env, 1),
                   on_repetition=lambda si, rep, start, end: seen.append((rep, list(start), list(end)))).run()
    # op indices follow sorted units: 0 = tile[0] XFER 2, 1 = tile[0] ACCUM 3, 2 = tile[1] XFER 1
    assert seen == [(0, [0, 20, 10], [10, 25, 20]), (1, [25, 45, 35], [35, 50, 45])]
    assert run.total_cycles == 50 and [r.cycles for r in run.records] == [25, 25]
