"""PIM energy = dynamic (per action) + static power x simulated time, with a breakdown that sums to the total."""

from __future__ import annotations

import math
import os
import re

import pytest

from sim_helpers import cm, ins, program, run, segment, small_hw
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
DYNAMIC = ("pe_mac", "sram_buffer", "acu", "dram_activate", "dram_read", "dram_write", "noc_flit_hop")
STATIC = ("static_pe", "static_sram", "static_acu", "static_noc", "dram_refresh")


def _mixed_program():
    """A GEMM, an ACU op, DRAM traffic and a transfer in one stage, then an ACU op in another stage."""
    first = segment({
        "node[0][0].dram.bank[0]": [ins(1, "DRAM_READ", bytes=4096, category="memory")],
        "node[0][0].pe": [ins(2, "GEMM", deps=[1], m=64, k=64, n=64)],
        "node[0][0].acu": [ins(3, "ACU", deps=[2], func="softmax", elements=4096)],
        "node[0][0].ni": [ins(4, "SEND", deps=[3], peer="node[3][3]", bytes=4096, msg=1, category="fmap_transfer")],
        "node[3][3].ni": [ins(5, "RECV", peer="node[0][0]", bytes=4096, msg=1, category="fmap_transfer")],
        "node[3][3].dram.bank[0]": [ins(6, "DRAM_WRITE", deps=[5], bytes=4096, category="memory")],
    }, repeat=2, name="enc", stage=1)
    second = segment({"node[1][1].acu": [ins(7, "ACU", func="gelu", elements=1000)]}, name="head", stage=None)
    return program([first, second])


def _static_mw(hw) -> float:
    """Chip static power from the YAML constants, written out independently of the cost model."""
    nodes = hw.mesh.rows * hw.mesh.cols
    rows = hw.dram.banks_per_node * hw.dram.bank_capacity_bytes // hw.dram.row_bytes
    refresh_mw = rows * hw.dram.activate_energy_pj / (hw.dram.refresh_window_ms * 1e-3) * 1e-9
    pe_mw = hw.pe_array.rows * hw.pe_array.cols * hw.pe_array.leakage_uw_per_mac / 1e3
    sram_mw = hw.buffers.sram_bytes * hw.buffers.leakage_nw_per_byte / 1e6
    acu_mw = hw.acu.lanes * hw.acu.leakage_uw_per_lane / 1e3
    router_mw = 5 * hw.noc.virtual_channels * hw.noc.buffer_depth_flits * hw.noc.flit_bits * hw.noc.leakage_nw_per_buffer_bit / 1e6
    return nodes * (pe_mw + sram_mw + acu_mw + router_mw + refresh_mw)


def test_breakdown_has_every_action_and_static_term_and_sums_to_the_total():
    hw = small_hw()
    result, _, _ = run(_mixed_program(), hw)
    en = result["energy"]
    parts = en["breakdown_pj"]
    assert set(parts) == set(DYNAMIC) | set(STATIC)
    assert math.fsum(parts.values()) == pytest.approx(en["total_pj"], rel=1e-12)
    assert en["dynamic_pj"] == pytest.approx(math.fsum(parts[k] for k in DYNAMIC), rel=1e-12)
    assert en["static_pj"] == pytest.approx(math.fsum(parts[k] for k in STATIC), rel=1e-12)
    assert all(parts[k] > 0 for k in DYNAMIC + STATIC)
    # each dynamic term is its action count x its constant
    assert parts["pe_mac"] == pytest.approx(2 * 64 * 64 * 64 * hw.pe_array.energy_pj_per_mac)
    assert parts["dram_read"] == pytest.approx(2 * 8 * 4096 * hw.dram.energy_pj_per_bit)
    assert parts["dram_write"] == pytest.approx(2 * 8 * 4096 * hw.dram.energy_pj_per_bit)
    assert parts["dram_activate"] == pytest.approx(2 * 2 * 4 * hw.dram.activate_energy_pj)
    assert parts["noc_flit_hop"] == pytest.approx(2 * cm.noc_energy_pj(hw, 4096, 6))
    # static = chip static power x simulated time
    seconds = result["latency"]["cycles"] / hw.clock_hz
    assert en["static_pj"] == pytest.approx(_static_mw(hw) * 1e9 * seconds, rel=1e-9)
    assert en["static_power_mw"] == pytest.approx(_static_mw(hw), rel=1e-9)
    # by component and by stage: both sum to the total as well
    assert math.fsum(en["by_component_pj"].values()) == pytest.approx(en["total_pj"], rel=1e-12)
    assert set(en["by_stage_pj"]) == {"1", "none"}
    assert math.fsum(en["by_stage_pj"].values()) == pytest.approx(en["total_pj"], rel=1e-12)
    # per inference and EDP
    assert en["per_inference_pj"] == pytest.approx(en["total_pj"] / result["batch"])
    assert en["edp_j_s"] == pytest.approx(en["per_inference_pj"] * 1e-12 * seconds)
    assert any("energy breakdown" in x for x in result["invariants_checked"])


def test_a_slower_replay_costs_more_energy():
    """The same program on slower DRAM: identical actions (dynamic energy), longer time, so more static energy."""
    prog = _mixed_program()
    fast, _, _ = run(prog, small_hw())
    slow, _, _ = run(prog, small_hw(*(f"dram.{t}=120" for t in ("t_rcd_cycles", "t_cl_cycles", "t_wr_cycles", "t_rp_cycles"))))
    assert slow["latency"]["cycles"] > 1.3 * fast["latency"]["cycles"]
    assert slow["energy"]["breakdown_pj"]["pe_mac"] == fast["energy"]["breakdown_pj"]["pe_mac"]
    assert slow["energy"]["static_pj"] > 1.3 * fast["energy"]["static_pj"]
    assert slow["energy"]["total_pj"] > fast["energy"]["total_pj"]
    assert slow["energy"]["edp_j_s"] > fast["energy"]["edp_j_s"]


def test_report_gives_energy_per_inference_edp_and_both_breakdowns(tmp_path):
    from simulator.families.pim_mesh.report import markdown

    result, _, _ = run(_mixed_program(), small_hw())
    text = markdown(result)
    assert "energy per inference" in text.lower() and "EDP" in text
    assert "dram_refresh" in text and "static_pe" in text
    assert "by stage" in text.lower()


def test_every_power_constant_in_the_pim_configs_names_its_source():
    keys = ("leakage_uw_per_mac", "leakage_nw_per_byte", "leakage_uw_per_lane", "leakage_nw_per_buffer_bit",
            "refresh_window_ms")
    for name in sorted(os.listdir(os.path.join(REPO, "hw_configs"))):
        text = open(os.path.join(REPO, "hw_configs", name)).read()
        if "kind: pim_mesh" not in text:
            continue
        found = 0
        for line in text.splitlines():
            if any(re.match(rf"\s*{k}:", line) for k in keys):
                found += 1
                assert "#" in line and len(line.split("#", 1)[1].strip()) > 20, f"{name}: {line.strip()}"
        assert found == 5, f"{name}: {found} static-power constants"
