"""trace.json covers routers and links (counter tracks), and ``--trace-units`` selects tracks (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sim_helpers import ins, program, run, segment
from contracts.errors import UserError
from simulator.trace_export import TraceFilter, step_function, unit_kind
from repo_paths import REPO_ROOT

REPO = REPO_ROOT


def _program():
    # two transfers share link [0][1]->[0][2]: node[0][0] -> node[0][2] and node[0][1] -> node[0][3]
    return program([segment({
        "node[0][0].pe": [ins(1, "GEMM", m=16, k=32, n=32)],
        "node[0][0].ni": [ins(2, "SEND", [1], peer="node[0][2]", bytes=4096, msg=1, category="fmap_transfer")],
        "node[0][1].ni": [ins(5, "SEND", peer="node[0][3]", bytes=4096, msg=2, category="fmap_transfer")],
        "node[0][2].ni": [ins(3, "RECV", peer="node[0][0]", bytes=4096, msg=1, category="fmap_transfer")],
        "node[0][3].ni": [ins(6, "RECV", peer="node[0][1]", bytes=4096, msg=2, category="fmap_transfer")],
        "node[0][2].dram.bank[0]": [ins(4, "DRAM_WRITE", [3], bytes=4096, category="memory")],
    })])


def _tracks(events):
    x = {(e["pid"], e["tid"]) for e in events if e.get("ph") == "X"}
    names = {}
    for e in events:
        if e.get("ph") == "M" and e["name"] == "thread_name":
            names[(e["pid"], e["tid"])] = e["args"]["name"]
    slices = {names[k] for k in x if k in names}
    counters = {e["name"] for e in events if e.get("ph") == "C"}
    return slices, counters


def _busy_from_counter(events, name):
    steps = sorted((e["ts"], e["args"]["flits_per_cycle"]) for e in events if e.get("ph") == "C" and e["name"] == name)
    busy = 0
    for (t, v), (t2, _) in zip(steps, steps[1:]):
        busy += v * (t2 - t)
    assert steps[-1][1] == 0  # the link is idle at the end
    return busy


@pytest.mark.parametrize("network", ["worm", "transfer", "flit"])
def test_trace_has_router_and_link_counter_tracks_matching_the_link_statistics(network):
    result, _, events = run(_program(), trace=True, network_mode=network)
    slices, counters = _tracks(events)
    assert {"node[0][0].pe", "node[0][0].ni", "node[0][2].dram.bank[0]"} <= slices
    assert "link[0][1]->[0][2]" in counters and "router[0][1]" in counters and "router[0][3]" in counters
    gemm = next(e for e in events if e.get("name") == "GEMM")
    us_per_cycle = gemm["dur"] / (gemm["args"]["end_cycle"] - gemm["args"]["start_cycle"])
    for name, load in result["links"].items():
        if load["busy_cycles"]:
            busy_us = _busy_from_counter(events, name)
            assert busy_us / us_per_cycle == pytest.approx(load["busy_cycles"])
        else:
            assert name not in counters
    # the shared link carried both transfers
    assert result["links"]["link[0][1]->[0][2]"]["flits"] == 2 * result["links"]["link[0][0]->[0][1]"]["flits"]


def test_trace_units_filter_keeps_only_the_selected_tracks():
    _, _, events = run(_program(), trace=True, trace_units="pe,link")
    slices, counters = _tracks(events)
    assert slices == {"node[0][0].pe"}
    assert counters and all(unit_kind(c) == "link" for c in counters)
    assert not any(e.get("cat") == "segment" for e in events)  # no program track unless asked for

    _, _, events = run(_program(), trace=True, trace_units="node[0][2].*,router[0][1],program")
    slices, counters = _tracks(events)
    assert slices == {"node[0][2].ni", "node[0][2].dram.bank[0]"}
    assert counters == {"router[0][1]"}
    assert any(e.get("cat") == "segment" for e in events)


def test_trace_units_glob_brackets_are_literal_and_kinds_have_aliases():
    f = TraceFilter("node[1][*].acu,dram")
    assert f.wants("node[1][7].acu") and not f.wants("node[1][7].pe") and not f.wants("node[2][1].acu")
    assert f.wants("node[3][3].dram.bank[2]") and not f.wants_network
    assert TraceFilter("link[0][*").wants_network
    assert step_function([(0, 5), (5, 9), (3, 4)]) == [(0, 1), (3, 2), (4, 1), (9, 0)]


@pytest.mark.parametrize("spec", ["pe,bnak", ",", "routr"])
def test_bad_trace_units_is_one_sentence(spec):
    with pytest.raises(UserError, match="--trace-units"):
        TraceFilter(spec)


def test_cli_trace_units_writes_a_filtered_trace_and_rejects_a_bad_one(tmp_path):
    from contracts.program import dump_program

    prog = tmp_path / "program.json"
    prog.write_text(dump_program(_program()))
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "simulator", "run", "--program", str(prog), "--hw", "pim-dram-8x8",
                           "--out", str(out), "--trace-units", "router"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    trace = json.loads((out / "trace.json").read_text())["traceEvents"]
    assert not any(e.get("ph") == "X" for e in trace)
    assert {e["name"] for e in trace if e.get("ph") == "C"} >= {"router[0][0]", "router[0][3]"}
    proc = subprocess.run([sys.executable, "-m", "simulator", "run", "--program", str(prog), "--hw", "pim-dram-8x8",
                           "--out", str(tmp_path / "bad"), "--trace-units", "pe,bnak"], cwd=REPO, capture_output=True,
                          text=True)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "bnak" in proc.stderr
    assert not (tmp_path / "bad").exists()
