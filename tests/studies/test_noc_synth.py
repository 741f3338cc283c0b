"""Synthetic-traffic mode: patterns, injection rate unit, determinism, CLI, sweep files, user errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from studies.noc_synth.measure import mesh_config, run_synthetic, sweep
from studies.noc_synth.traffic import generate_packets
from repo_paths import REPO_ROOT

ROOT = REPO_ROOT


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "studies", "noc-synth", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_fixed_patterns_map_each_node_like_booksim():
    def pairs(traffic):
        pk, inj = generate_packets(traffic, 4, 1.0, 1, 1, seed=0)  # every node injects in cycle 0
        return {divmod(s, 4): divmod(d, 4) for _, s, d in pk}, inj

    tr, n = pairs("transpose")
    assert n == 12 and tr[(1, 2)] == (2, 1) and (3, 3) not in tr  # the diagonal does not inject
    bc, n = pairs("bitcomp")
    assert n == 16 and bc[(0, 0)] == (3, 3) and bc[(1, 2)] == (2, 1)
    nb, _ = pairs("neighbor")
    assert nb[(0, 0)] == (1, 1) and nb[(3, 1)] == (0, 2) and nb[(2, 3)] == (3, 0)


def test_bernoulli_rate_is_flits_per_node_per_cycle():
    pk, inj = generate_packets("uniform", 8, 0.2, 16, 50_000, seed=3)
    offered = len(pk) * 16 / (inj * 50_000)
    assert offered == pytest.approx(0.2, rel=0.02)
    assert all(s != d for _, s, d in pk)
    assert pk == sorted(pk)
    again, _ = generate_packets("uniform", 8, 0.2, 16, 50_000, seed=3)
    assert again == pk


def test_hotspot_sends_its_fraction_to_the_centre():
    pk, _ = generate_packets("hotspot", 8, 0.2, 4, 20_000, seed=1, hotspot_fraction=0.25)
    centre = 4 * 8 + 4
    from_others = [d for _, s, d in pk if s != centre]
    share = sum(d == centre for d in from_others) / len(from_others)
    assert share == pytest.approx(0.25 + 0.75 / 63, abs=0.01)  # forced share + its uniform share


def test_low_load_run_sits_at_the_closed_form_and_is_deterministic():
    hw = mesh_config("pim-dram-16x16", [])
    for mode in ("transfer", "flit"):
        a = run_synthetic(hw, 4, "uniform", 0.01, 4, mode, cycles=1500, seed=5)
        b = run_synthetic(hw, 4, "uniform", 0.01, 4, mode, cycles=1500, seed=5)
        assert a.as_dict() == b.as_dict()
        assert not a.saturated and a.packets_delivered == a.packets_measured > 0
        # at 1 % load almost nobody meets: latency within 2 % of the closed form's mean
        assert a.avg_latency_cycles == pytest.approx(a.zero_load_latency_cycles, rel=0.02)
        assert a.avg_latency_cycles >= a.zero_load_latency_cycles


def test_overload_is_reported_saturated():
    hw = mesh_config("pim-dram-16x16", [])
    r = run_synthetic(hw, 4, "hotspot", 0.9, 16, "transfer", cycles=1000, seed=1, hotspot_fraction=1.0)
    assert r.saturated and r.accepted_flits_per_node_cycle < r.offered_flits_per_node_cycle


def test_sweep_finds_saturation_between_its_runs():
    hw = mesh_config("pim-dram-16x16", [])
    runs, sat = sweep(hw, 4, "transpose", 8, "transfer", 800, None, 2, 0.1, 1.0)
    assert sat is not None
    ok = [r for r in runs if not r.saturated]
    assert ok and all(r.rate_flits_per_node_cycle < sat for r in ok)
    lat = [r.avg_latency_cycles for r in ok]
    assert lat[-1] > lat[0]  # latency grows with load


def test_cli_json_is_deterministic():
    args = ["--k", "4", "--traffic", "transpose", "--rate", "0.2", "--packet-flits", "8", "--cycles", "600", "--json"]
    a, b = _cli(*args), _cli(*args)
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    d = json.loads(a.stdout)
    assert d["traffic"] == "transpose" and d["k"] == 4 and d["mode"] == "transfer"
    assert d["avg_latency_cycles"] > d["zero_load_latency_cycles"] > 0
    assert d["accepted_flits_per_node_cycle"] == pytest.approx(0.2, rel=0.15)


def test_cli_flit_level_with_router_overrides():
    r = _cli("--k", "3", "--rate", "0.05", "--packet-flits", "4", "--cycles", "400", "--flit-level",
             "--set", "noc.virtual_channels=4", "--set", "noc.buffer_depth_flits=4", "--set", "noc.router_pipeline_cycles=3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("flit") and "latency=" in r.stdout


def test_cli_sweep_writes_csv_and_png(tmp_path):
    out = tmp_path / "noc"
    r = _cli("--k", "3", "--traffic", "uniform", "--packet-flits", "4", "--cycles", "300", "--sweep",
             "--sweep-step", "0.15", "--out", str(out))
    assert r.returncode == 0, r.stderr
    csv_path = out / "noc_sweep-uniform-k3-transfer.csv"
    png_path = out / "noc_latency_load-uniform-k3-transfer.png"
    assert csv_path.read_text().startswith("rate_flits_per_node_cycle,")
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "saturation rate" in r.stdout


@pytest.mark.parametrize(
    "args, words",
    [
        (["--set", "noc.buffer_depht_flits=4"], ["buffer_depht_flits", "not a field"]),
        (["--set", "noc.buffer_depth_flits=0"], ["noc.buffer_depth_flits"]),
        (["--set", "noc.virtual_channels=two"], ["noc.virtual_channels"]),
        (["--packet-flits", "32"], ["packet_max_flits"]),
        (["--rate", "0"], ["rate"]),
        (["--hw", "fefet-64"], ["pim_mesh"]),
    ],
)
def test_cli_user_errors_name_the_problem(args, words):
    r = _cli("--k", "3", "--cycles", "100", *args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("error:")
    for w in words:
        assert w in line
