"""Allspark schedule: CP-SAT optimality, DP cross-check, Table IV comparison, layout, CLI, determinism."""

from __future__ import annotations

import dataclasses
import json

import pytest

from contracts.hardware import hw_digest, load_hw
from contracts.program import dump_program, validate_program
from scheduler.allspark.cpsat import solve_schedule
from scheduler.allspark.dp import dp_schedule
from scheduler.allspark.layout import max_subarrays, structured_layout
from scheduler.allspark.lower import lower_program
from scheduler.allspark.partition import Partition
from scheduler.allspark.problem import build_problem, evaluate
from scheduler.allspark.summary import PAPER_TABLE_IV_LAYERS
from test_allspark_helpers import swin_b, swin_like

MIB = 2**20


@pytest.fixture(scope="module")
def swin640():
    wl = swin_b(640)
    hw = load_hw("pim-dram-16x16")
    problem = build_problem(wl, hw, "allspark")
    return wl, hw, problem, solve_schedule(problem)


def test_swin_b_640_fits_8_mib_and_is_optimal(swin640, capsys):
    wl, hw, problem, sched = swin640
    ev = evaluate(problem, sched)
    assert sched.solver["status"] == "OPTIMAL" and sched.solver["gap"] == 0
    assert ev.memory <= 8 * MIB
    for kp, ks in zip(problem.kinds, sched.kinds):  # every branch in exactly one layer, no layer over capacity
        assert sum(b for _, b in ks.layers) == kp.kind.branches
        caps = {c.part: c.cap for c in kp.candidates}
        assert all(1 <= b <= caps[p] for p, b in ks.layers)
        assert [b for _, b in ks.layers] == sorted((b for _, b in ks.layers), reverse=True)  # constraint 4
    ours = tuple(len(ks.layers) for ks in sched.kinds)
    with capsys.disabled():
        print(f"\ntemporal layers per stage, Swin-B 640: ours {ours}, Allspark Table IV {PAPER_TABLE_IV_LAYERS}; "
              f"memory {ev.memory / MIB:.2f} MiB; {sched.solver['wall_s']:.2f} s")


def test_dp_is_a_lower_bound_and_exact_without_memory_pressure(swin640):
    wl, hw, problem, sched = swin640
    dp = evaluate(problem, dp_schedule(problem)).cycles
    assert dp <= sched.solver["objective"]
    roomy = dataclasses.replace(problem, capacity_bytes=10**12)
    assert solve_schedule(roomy).solver["objective"] == dp


def test_memory_pressure_changes_the_schedule():
    """With less memory the solver must give up speed: 8 MiB is binding for Swin-B 640."""
    wl = swin_b(640)
    fast = build_problem(wl, load_hw("pim-dram-16x16", ["dram.bank_capacity_bytes=1073741824"]))
    tight = build_problem(wl, load_hw("pim-dram-16x16"))
    assert solve_schedule(fast).solver["objective"] < solve_schedule(tight).solver["objective"]


def test_algorithm_1_example_of_section_vii():
    """Sec. VII-B1: H_A=3, W_A=4, u=2, v=1 holds 6 sub-arrays (4 upright, 2 rotated in the last row)."""
    lay = structured_layout(3, 4, Partition(2, 1))
    assert len(lay) == 6
    assert sum(sa.rotated for sa in lay) == 2 and all(sa.row == 2 for sa in lay if sa.rotated)
    nodes = [sa.node(i, 0) for sa in lay for i in range(2)]
    assert len(set(nodes)) == 12  # no overlap, every node used
    assert max_subarrays(16, 16, Partition(16, 4)) == 4 and max_subarrays(16, 16, Partition(4, 2)) == 32


def test_program_covers_every_mac_and_validates_deterministically():
    wl = swin_like(img=224, dim=32, depths=(2, 2), heads=(2, 4), model="tiny")
    hw = load_hw("pim-dram-16x16", ["mesh.rows=4", "mesh.cols=4"])
    texts = []
    for _ in range(2):
        problem = build_problem(wl, hw)
        sched = solve_schedule(problem)
        prog, _ = lower_program(wl, problem, sched, hw.name, hw_digest(hw))
        validate_program(prog, hw.unit_names())
        assert prog.macs_expected == wl.total_macs
        prog.provenance.solver.wall_s = None  # the only non-deterministic field
        texts.append(dump_program(prog))
    assert texts[0] == texts[1]
    gemm_macs = sum(i.m * i.k * i.n * seg.repeat for seg in prog.segments for s in seg.streams
                    for i in s.instructions if i.op == "GEMM")
    assert gemm_macs == wl.total_macs


def test_predicted_cycles_bound_the_contention_free_reference():
    """Hints come from the same closed forms: the engine's contention-free timing is at most the prediction."""
    from simulator.engine.core import compile_program
    from simulator.families.pim_mesh.units import PimCostModel
    from simulator.engine.reference import contention_free_cycles

    wl = swin_like(img=224, dim=32, depths=(2, 2), heads=(2, 4), model="tiny")
    hw = load_hw("pim-dram-16x16", ["mesh.rows=4", "mesh.cols=4"])
    problem = build_problem(wl, hw)
    prog, _ = lower_program(wl, problem, solve_schedule(problem), hw.name, hw_digest(hw))
    for seg, comp in zip(prog.segments, compile_program(prog, PimCostModel(hw))):
        ref = contention_free_cycles(comp)
        assert ref <= seg.hint_cycles, seg.name
        assert ref >= 0.85 * seg.hint_cycles, (seg.name, ref, seg.hint_cycles)


def test_infeasible_memory_is_one_sentence(tmp_path, capsys):
    from scheduler.__main__ import main

    wl = swin_b(640)  # 1 MiB per node still fits Swin-B (91 ms instead of 33 ms); 256 KiB does not
    path = tmp_path / "wl.json"
    path.write_text(json.dumps(wl.model_dump(mode="json")))
    with pytest.raises(SystemExit) as e:
        main(["solve", "--workload", str(path), "--hw", "pim-dram-16x16", "--out", str(tmp_path / "p.json"),
              "--set", "dram.bank_capacity_bytes=262144"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "stage 4" in err and "0.25 MiB" in err and "smallest one needs" in err
    assert not (tmp_path / "p.json").exists()
