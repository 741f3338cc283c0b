"""SimPy crossbar engine against the closed form, exact cycles, contention, baselines, configs, errors."""

from __future__ import annotations

import json

import pytest
from test_trex_hw_workloads import isotropic_workload

from scheduler.crossbar.cli import build_program, plan_reuse
from scheduler.crossbar.patterns import encoders_of
from simulator.families.crossbar_chip.units import simulate
from contracts.errors import UserError
from contracts.hardware import load_hw


@pytest.fixture(scope="module")
def fefet():
    return load_hw("fefet-64")


def _sim(wl, hw, method="trex"):
    return simulate(build_program(wl, hw, method), hw)[0]


def test_tiny_model_exact_cycles(fefet):
    """4 encoders, d=64, 2 heads, MLP 128, t=17 on 64x64 2-bit FeFET, derived by hand from Table II:
    Q/K/V/Proj 4 crossbars -> 17*4*20 = 1360 cycles; fc1/fc2 8 -> 2720; K^T and V 8 crossbars:
    write 8*3300 = 26400, read 2720; softmax ceil(17*17*15.5902) = 4506. Encoder 73626, model 294504."""
    r = _sim(isotropic_workload("tiny"), fefet)
    assert r["latency"]["cycles"] == 4 * (4 * 1360 + 2 * 26400 + 4 * 2720 + 4506) == 294504
    assert r["des_matches_closed_form"]
    assert r["checks"]["macs_executed"] == r["checks"]["macs_expected"]


@pytest.mark.parametrize("model,reuse,hw_name,method", [
    ("deit-s", None, "fefet-64", "trex"),
    ("deit-s", "strided:sl=2,start=4,n=5", "fefet-64", "trex"),
    ("lv-vit-s", "continuous:start=9,n=4", "sram-64", "trex"),
    ("bert-base", "pyramid:ncont=2,sl=2,start=3,n=4", "hybrid-64", "trex"),
    ("vit-b", None, "fefet-64", "retransformer"),
    ("deit-s", None, "fefet-64", "prune:p=0.3"),
    ("deit-s", None, "fefet-64", "ws:2"),
])
def test_des_equals_closed_form(model, reuse, hw_name, method):
    hw = load_hw(hw_name)
    n = isotropic_workload(model).stages[0].blocks.__len__()
    wl = isotropic_workload(model, encoders_of(reuse, n) if reuse else None)
    r = _sim(wl, hw, method)
    assert r["des_matches_closed_form"]
    assert r["simulated"] == r["closed_form"]
    assert r["checks"]["breakdowns_sum_to_totals"]


def test_contention_on_interconnect_delays_the_des_beyond_the_closed_form():
    """With a 1-byte/cycle single-port bus, the Q layer's 3 tiles queue their transfers."""
    hw = load_hw("fefet-64", ["interconnect.bytes_per_cycle=1", "interconnect.ports=1"])
    r = _sim(isotropic_workload("deit-s"), hw)
    assert r["latency"]["cycles"] > r["closed_form"]["delay_cycles"]
    assert not r["des_matches_closed_form"]
    assert r["by_block"]["wait"]["delay_ms"] > 0


def test_result_is_deterministic(fefet):
    wl = isotropic_workload("deit-s", [5, 7, 9])
    a = json.dumps(_sim(wl, fefet), sort_keys=True)
    b = json.dumps(_sim(wl, fefet), sort_keys=True)
    assert a == b


def test_other_models_same_constants(fefet):
    """lv-vit-s, vit-b, bert-base through the same path, no refit: attention dominates delay (Fig. 1b)."""
    for model in ("lv-vit-s", "vit-b", "bert-base"):
        r = _sim(isotropic_workload(model), fefet)
        t = r["totals"]
        assert t["energy_mj"] > 0 and t["area_mm2"] > 0
        assert r["by_block"]["attention"]["delay_ms"] > 0.5 * t["delay_ms"]
        print(f"\n{model}: {t['energy_mj']:.4f} mJ, {t['delay_ms']:.3f} ms, {t['area_mm2']:.1f} mm2, "
              f"EDAP {t['edap_mj_ms_mm2']:.1f}, TOPS/W {t['tops_per_w']:.2f}")


def test_hybrid_follows_fig15_ordering():
    """Fig. 15: EDP FeFET ~ SRAM, area FeFET < SRAM, EDAP of hybrid between the two or below."""
    for reuse in (None, [8, 10, 12], [4, 6, 8, 10, 12]):
        wl = isotropic_workload("deit-s", reuse)
        t = {n: _sim(wl, load_hw(n))["totals"] for n in ("fefet-64", "sram-64", "hybrid-64")}
        edp = {n: v["energy_mj"] * v["delay_ms"] for n, v in t.items()}
        print(f"\nreuse {reuse}: " + ", ".join(f"{n} EDP {edp[n]:.3f} area {t[n]['area_mm2']:.0f} "
                                             f"EDAP {t[n]['edap_mj_ms_mm2']:.0f}" for n in t))
        assert t["fefet-64"]["area_mm2"] < t["sram-64"]["area_mm2"]
        assert t["hybrid-64"]["edap_mj_ms_mm2"] <= max(t["fefet-64"]["edap_mj_ms_mm2"], t["sram-64"]["edap_mj_ms_mm2"])


@pytest.mark.xfail(strict=True, reason="Fig. 15a shows FeFET and SRAM EDP as similar; with Table III's constants the "
                   "8 one-bit SRAM slices double the read crossbars, so SRAM EDP comes out ~2x FeFET's (measured 0.50)")
def test_fefet_and_sram_edp_similar_fig15a():
    wl = isotropic_workload("deit-s")
    t = {n: _sim(wl, load_hw(n))["totals"] for n in ("fefet-64", "sram-64")}
    ratio = (t["fefet-64"]["energy_mj"] * t["fefet-64"]["delay_ms"]) / (t["sram-64"]["energy_mj"] * t["sram-64"]["delay_ms"])
    assert ratio == pytest.approx(1.0, rel=0.25)


def test_baselines_behave_as_section_vii_c(fefet):
    base = _sim(isotropic_workload("deit-s"), fefet)["totals"]
    ws = _sim(isotropic_workload("deit-s"), fefet, "ws:2")["totals"]
    rt = _sim(isotropic_workload("deit-s"), fefet, "retransformer")["totals"]
    pr = _sim(isotropic_workload("deit-s"), fefet, "prune:p=0.3")["totals"]
    assert ws["area_mm2"] == pytest.approx(base["area_mm2"] / 2)
    assert ws["energy_mj"] == pytest.approx(base["energy_mj"]) and ws["delay_ms"] == pytest.approx(base["delay_ms"])
    # ReTransformer hides one K^T write (8 x 3.3 us) per encoder: Section VII-C reports 1.03x EDAP.
    assert base["delay_cycles"] - rt["delay_cycles"] == 12 * 8 * 3300
    assert base["edap_mj_ms_mm2"] / rt["edap_mj_ms_mm2"] == pytest.approx(1.03, abs=0.01)
    assert pr["energy_mj"] < base["energy_mj"] and pr["delay_ms"] < base["delay_ms"]


def test_unreachable_target_names_smallest_delay(fefet):
    with pytest.raises(UserError, match=r"smallest reachable delay is 1\.95\d* ms \(N_reuse = 11"):
        plan_reuse(isotropic_workload("deit-s"), fefet, 1.0, None)


def test_plan_spec_is_valid_and_sized():
    hw = load_hw("fefet-64")
    for target in (10, 9, 7, 6, 4, 3):
        plan = plan_reuse(isotropic_workload("deit-s"), hw, target, None)
        assert plan["predicted_delay_ms"] < target
        assert len(encoders_of(plan["reuse"], 12)) == plan["n_reuse"] and 1 not in plan["reuse_encoders"]
    plan = plan_reuse(isotropic_workload("deit-s"), hw, 7, "continuous:start=3")
    assert plan["reuse"].startswith("continuous:") and plan["n_reuse"] == 5
    assert plan_reuse(isotropic_workload("deit-s"), hw, 20, None)["reuse"] is None


def test_malformed_config_names_the_field():
    with pytest.raises(UserError, match=r"devices\.fefet\.e_read_pj"):
        load_hw("fefet-64", ["devices.fefet.e_read_pj=-1"])
    with pytest.raises(UserError, match=r"read_split"):
        load_hw("fefet-64", ["read_split.energy_fractions.adc=0.9"])
