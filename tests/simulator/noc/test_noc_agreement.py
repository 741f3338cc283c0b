"""Transfer-level vs flit-level NoC: average packet latency within 5 % below 70 % of saturation.

Saturation rates (flits/node/cycle) are those the flit model's own sweep found
with ``benchmarks/bench_noc.py --agreement`` (16-flit packets, pim-dram router:
R=2, L=1, 2 VCs x 8 flits, 3000-cycle windows, seed 1; a run is saturated when
its latency passes 3x zero-load or it stops keeping up, see studies.noc_synth).
Neighbor traffic (BookSim's +1 mod k in both dimensions) puts at most one
node's stream on a link, so only the NI and ejection ports queue and both
models give identical latencies. Both models run the very same packet list.
"""

from __future__ import annotations

import pytest

from studies.noc_synth.measure import mesh_config, run_synthetic

TOLERANCE = 0.05  # issue 6 acceptance: within 5 %
SATURATION = {
    (8, "uniform"): 0.2825,
    (8, "transpose"): 0.155,
    (8, "neighbor"): 0.925,
    (16, "uniform"): 0.15375,
    (16, "transpose"): 0.06875,
    (16, "neighbor"): 0.8875,
}


def _pair(k, traffic, fraction, cycles, warmup):
    hw = mesh_config("pim-dram-16x16", [])
    rate = round(fraction * SATURATION[(k, traffic)], 4)
    flit = run_synthetic(hw, k, traffic, rate, 16, "flit", cycles, warmup, seed=1)
    transfer = run_synthetic(hw, k, traffic, rate, 16, "transfer", cycles, warmup, seed=1)
    assert flit.packets_measured == transfer.packets_measured > 100
    assert not flit.saturated and not transfer.saturated
    return flit.avg_latency_cycles, transfer.avg_latency_cycles


@pytest.mark.parametrize("traffic, fraction", [("uniform", 0.7), ("transpose", 0.7), ("neighbor", 0.6)])
def test_8x8_models_agree_below_70_percent_of_saturation(traffic, fraction):
    flit, transfer = _pair(8, traffic, fraction, cycles=1500, warmup=500)
    assert transfer == pytest.approx(flit, rel=TOLERANCE)


def test_8x8_contention_is_visible_in_both_models():
    # at 70 % of saturation uniform traffic queues: both models sit clearly above zero load
    hw = mesh_config("pim-dram-16x16", [])
    for mode in ("transfer", "flit"):
        r = run_synthetic(hw, 8, "uniform", 0.2, 16, mode, 1500, 500, seed=1)
        assert r.avg_latency_cycles > 1.3 * r.zero_load_latency_cycles


@pytest.mark.slow
@pytest.mark.parametrize("traffic", ["uniform", "transpose", "neighbor"])
@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.7])
def test_16x16_models_agree_below_70_percent_of_saturation(traffic, fraction):
    flit, transfer = _pair(16, traffic, fraction, cycles=3000, warmup=None)
    assert transfer == pytest.approx(flit, rel=TOLERANCE)
