"""Exactness: on programs without contention the DES gives the closed-form cost model's cycles exactly.

One small hand-written program per instruction kind (GEMM, ACU, DRAM_READ,
DRAM_WRITE, SEND/RECV) plus compositions; assertions are on exact cycles and on
when each instruction started and ended (SimPy's event-log style).
"""

from __future__ import annotations

import pytest

from sim_helpers import cm, ins, program, run, segment, small_hw

HW = small_hw()


def timeline(prog, **kw):
    result, _meta, events = run(prog, trace=True, **kw)
    spans = {e["args"]["id"]: (e["args"]["start_cycle"], e["args"]["end_cycle"]) for e in events if e.get("cat") not in (None, "segment") and "id" in e.get("args", {})}
    return result, spans


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (49, 128, 384), (7, 9, 65), (196, 64, 64)])
def test_gemm_takes_gemm_cycles(m, k, n):
    result, spans = timeline(program([segment({"node[1][2].pe": [ins(1, "GEMM", m=m, k=k, n=n)]})]))
    assert spans[1] == (0, cm.gemm_cycles(HW, m, k, n))
    assert result["latency"]["cycles"] == cm.gemm_cycles(HW, m, k, n)
    assert result["counts"]["macs_executed"] == m * k * n
    assert result["energy"]["breakdown_pj"]["pe_mac"] == pytest.approx(cm.gemm_energy_pj(HW, m, k, n)["pe_mac"])


@pytest.mark.parametrize("func,elements", [("softmax", 49 * 49), ("layernorm", 3), ("gelu", 1000), ("add", 0)])
def test_acu_takes_acu_cycles(func, elements):
    result, spans = timeline(program([segment({"node[0][0].acu": [ins(1, "ACU", func=func, elements=elements)]})]))
    assert spans[1] == (0, cm.acu_cycles(HW, func, elements))
    assert result["energy"]["breakdown_pj"]["acu"] == pytest.approx(cm.acu_energy_pj(HW, func, elements))


@pytest.mark.parametrize("op", ["DRAM_READ", "DRAM_WRITE"])
@pytest.mark.parametrize("nbytes", [1, 16, 1024, 1025, 5000])
def test_dram_takes_dram_cycles(op, nbytes):
    prog = program([segment({"node[2][2].dram.bank[0]": [ins(1, op, bytes=nbytes, category="memory")]})])
    result, spans = timeline(prog)
    assert spans[1] == (0, cm.dram_cycles(HW, nbytes, write=op == "DRAM_WRITE"))
    parts = result["energy"]["breakdown_pj"]
    assert parts["dram_activate"] + parts["dram_read"] + parts["dram_write"] == pytest.approx(cm.dram_energy_pj(HW, nbytes))


def test_dram_requests_queue_at_the_bank():
    """Two requests ready at cycle 0 on one bank: the second starts when the first ends, and waits that long."""
    read, write = cm.dram_cycles(HW, 2048, False), cm.dram_cycles(HW, 100, True)
    prog = program([segment({"node[0][0].dram.bank[0]": [ins(1, "DRAM_READ", bytes=2048), ins(2, "DRAM_WRITE", bytes=100)]})])
    result, spans = timeline(prog)
    assert spans == {1: (0, read), 2: (read, read + write)}
    assert result["counts"]["dram_queue_wait_cycles"] == read


@pytest.mark.parametrize("dst,nbytes", [("node[0][1]", 8), ("node[0][7]", 512), ("node[7][7]", 100), ("node[3][0]", 4096)])
def test_send_recv_take_zero_load_latency(dst, nbytes):
    hops = cm.hops_between((0, 0), tuple(int(x) for x in dst[5:-1].split("][")))
    prog = program([segment({
        "node[0][0].ni": [ins(1, "SEND", peer=dst, bytes=nbytes, msg=1, category="fmap_transfer")],
        f"{dst}.ni": [ins(2, "RECV", peer="node[0][0]", bytes=nbytes, msg=1, category="fmap_transfer")],
    })])
    result, spans = timeline(prog)
    lat = cm.noc_zero_load_cycles(HW, nbytes, hops)
    assert spans == {1: (0, lat), 2: (0, lat)}
    assert result["energy"]["breakdown_pj"]["noc_flit_hop"] == pytest.approx(cm.noc_energy_pj(HW, nbytes, hops))
    assert result["latency_breakdown"]["breakdown_cycles"]["fmap_transfer"] == lat


def test_recv_after_delivery_completes_at_once():
    """A RECV issued after its message arrived takes no time."""
    lat = cm.noc_zero_load_cycles(HW, 64, 1)
    gemm = cm.gemm_cycles(HW, 64, 64, 64)
    assert gemm > lat
    prog = program([segment({
        "node[0][0].ni": [ins(1, "SEND", peer="node[0][1]", bytes=64, msg=1)],
        "node[0][1].pe": [ins(3, "GEMM", m=64, k=64, n=64)],
        "node[0][1].ni": [ins(2, "RECV", [3], peer="node[0][0]", bytes=64, msg=1)],
    })])
    result, spans = timeline(prog)
    assert spans == {1: (0, lat), 3: (0, gemm), 2: (gemm, gemm)}


def test_chain_across_units_is_the_sum_and_repeats_are_barriered():
    g, a = cm.gemm_cycles(HW, 16, 64, 32), cm.acu_cycles(HW, "gelu", 512)
    send = cm.noc_zero_load_cycles(HW, 512, 2)
    w = cm.dram_cycles(HW, 512, True)
    per_rep = g + send + a + w
    prog = program([segment({
        "node[0][0].pe": [ins(1, "GEMM", m=16, k=64, n=32)],
        "node[0][0].ni": [ins(2, "SEND", [1], peer="node[1][1]", bytes=512, msg=9, category="weight_share")],
        "node[1][1].ni": [ins(3, "RECV", peer="node[0][0]", bytes=512, msg=9, category="weight_share")],
        "node[1][1].acu": [ins(4, "ACU", [3], func="gelu", elements=512)],
        "node[1][1].dram.bank[0]": [ins(5, "DRAM_WRITE", [4], bytes=512, category="memory")],
    }, repeat=4)])
    for mode in ("full", "block-reuse"):
        result, _, _ = run(prog, mode=mode)
        assert result["latency"]["cycles"] == 4 * per_rep
        assert result["prediction"]["contention_free_cycles"] == 4 * per_rep
        assert result["latency_breakdown"]["breakdown_cycles"] == {
            "compute": 4 * (g + a), "fmap_transfer": 0, "memory": 4 * w, "weight_share": 4 * send}
        assert result["mode"] == mode


def test_independent_units_overlap():
    g, d = cm.gemm_cycles(HW, 8, 8, 8), cm.dram_cycles(HW, 4096, False)
    prog = program([segment({"node[0][0].pe": [ins(1, "GEMM", m=8, k=8, n=8)],
                             "node[0][0].dram.bank[0]": [ins(2, "DRAM_READ", bytes=4096)]})])
    result, spans = timeline(prog)
    assert spans == {1: (0, g), 2: (0, d)}
    assert result["latency"]["cycles"] == max(g, d)


def test_segments_run_one_after_another():
    g1, g2 = cm.gemm_cycles(HW, 8, 8, 8), cm.gemm_cycles(HW, 16, 16, 16)
    prog = program([segment({"node[0][0].pe": [ins(1, "GEMM", m=8, k=8, n=8)]}, name="a"),
                    segment({"node[5][5].pe": [ins(1, "GEMM", m=16, k=16, n=16)]}, repeat=2, name="b", stage=1)])
    result, _, _ = run(prog)
    assert result["latency"]["cycles"] == g1 + 2 * g2
    assert [s["total_cycles"] for s in result["segments"]] == [g1, 2 * g2]


@pytest.mark.parametrize("network_mode", ["worm", "transfer", "flit"])
def test_both_network_granularities_give_the_closed_form_at_zero_load(network_mode):
    g = cm.gemm_cycles(HW, 8, 16, 16)
    lat = cm.noc_zero_load_cycles(HW, 300, 3)
    prog = program([segment({
        "node[0][0].pe": [ins(1, "GEMM", m=8, k=16, n=16)],
        "node[0][0].ni": [ins(2, "SEND", [1], peer="node[2][1]", bytes=300, msg=1)],
        "node[2][1].ni": [ins(3, "RECV", peer="node[0][0]", bytes=300, msg=1)],
    })])
    result, _, _ = run(prog, network_mode=network_mode)
    assert result["latency"]["cycles"] == g + lat
    assert result["network_mode"] == network_mode
