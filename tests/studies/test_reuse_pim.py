"""TReX attention reuse scheduled and simulated on the Allspark PIM mesh (issue 10)."""

from __future__ import annotations

import functools

import pytest

from scheduler.allspark.baselines import solve_method
from scheduler.allspark.lower import lower_program
from scheduler.allspark.blocks import block_kinds, stage_segments
from scheduler.allspark.partition import Partition
from scheduler.allspark.steps import Gemm, Ring, feature_elems, node_steps, workspace_phase_elems
from scheduler.crossbar.patterns import default_spec
from contracts.hardware import hw_digest, load_hw
from repo_paths import REPO_ROOT

ATTN_ROLES = ("qkv", "q", "k", "v", "kv", "attn_qk", "attn_av")


@functools.lru_cache(maxsize=None)
def deit_s(reuse: str | None):
    from workloads.tracer import trace

    return trace("deit-s", img_size=224, reuse=reuse).graph


@functools.lru_cache(maxsize=None)
def mesh():
    return load_hw("pim-dram-16x16", [])


def schedule(wl):
    hw = mesh()
    problem, sched = solve_method(wl, hw, "allspark", 1, 60.0)
    program, _ = lower_program(wl, problem, sched, hw.name, hw_digest(hw))
    return problem, program


def test_reuse_macs_drop_by_removed_attention_minus_tb():
    spec = "strided:sl=2,start=3,n=5"
    base, reuse = deit_s(None), deit_s(spec)
    reused = [i for i, b in enumerate(reuse.blocks()) if b.attention_reused]
    assert [i + 1 for i in reused] == [3, 5, 7, 9, 11]
    removed = sum(o.macs for i in reused for o in base.blocks()[i].ops if o.role in ATTN_ROLES)
    tb = sum(o.macs for i in reused for o in reuse.blocks()[i].ops if o.role == "tb_fc")
    assert removed > 0 and tb == 5 * 197 * 384 * 384
    assert base.total_macs - reuse.total_macs == removed - tb
    _, program = schedule(reuse)
    assert program.macs_expected == reuse.total_macs  # every op (the TB too) is lowered


def test_reusing_block_drops_attention_phases_and_rings():
    kinds = block_kinds(deit_s("strided:sl=2,start=3,n=5"))
    assert [k.key for k in kinds] == ["s1.b0", "s1.b2"]  # identical blocks share one kind wherever they sit
    plain, tb = kinds
    assert not plain.reused and tb.reused and tb.block_indices == (2, 4, 6, 8, 10)
    assert stage_segments(kinds) == [([0], 2)] + [([1], 1), ([0], 1)] * 5
    part = Partition(4, 6)
    steps = [s for s, _ in node_steps(tb, part, 0, 0, 0, 1, False, 16)]
    gemms = {s.layer: s for s in steps if isinstance(s, Gemm)}
    rings = [(s.what, s.phase, s.category) for s in steps if isinstance(s, Ring)]
    assert set(gemms) == {"tb_fc", "proj", "fc1", "fc2"}
    assert gemms["tb_fc"].phase == 2 and (gemms["tb_fc"].k, gemms["tb_fc"].n) == (384, 64)
    assert not any(s.phase in (3, 4, 5, 6) for s in steps)
    assert ("K", 5, "fmap_transfer") not in rings and ("F", 1, "fmap_transfer") not in rings
    assert rings[1:4] == [("ws", 2, "weight_share"), ("ln_stats", 2, "fmap_transfer"), ("Zsrc", 2, "fmap_transfer")]
    ws = next(s for s in steps if isinstance(s, Ring) and s.what == "ws" and s.phase == 2)
    assert ws.chunk_bytes == 384 * 384 // 6 // 4  # the TB's d x d weights over v x share nodes
    # memory: the held source attention output joins Eq. 7, the TB replaces Eq. 8-9
    assert feature_elems(tb, part, 1) == feature_elems(plain, part, 1) + 50 * 64
    assert set(workspace_phase_elems(tb, part, 1)) == {"p2", "p8"}


def test_reuse_program_predicts_a_constant_drop_per_encoder():
    base = schedule(deit_s(None))[1].predicted_cycles
    for n in (2, 4):
        prog = schedule(deit_s(default_spec(n, 12)))[1]
        if n == 2:
            drop2 = base - prog.predicted_cycles
            assert drop2 > 0
        else:
            assert base - prog.predicted_cycles == 2 * drop2


def _simulated_drop(ns, mode):
    from simulator.families.pim_mesh.units import simulate

    out = {}
    for n in ns:
        prog = schedule(deit_s(default_spec(n, 12) if n else None))[1]
        res, _, _ = simulate(prog, mesh(), mode=mode, progress=False)
        out[n] = (res["latency"]["cycles"], prog.predicted_cycles)
    return out


def test_deit_s_simulated_drop_matches_prediction_block_reuse():
    out = _simulated_drop((0, 4), "block-reuse")
    sim_drop, pred_drop = out[0][0] - out[4][0], out[0][1] - out[4][1]
    assert sim_drop > 0 and abs(sim_drop - pred_drop) <= 0.05 * pred_drop


@pytest.mark.slow
def test_deit_s_latency_falls_monotonically_with_n_reuse():
    """Acceptance: every N_reuse from 0 to 11 on the 16x16 mesh, full simulation."""
    out = _simulated_drop(tuple(range(12)), "full")
    sims = [out[n][0] for n in range(12)]
    assert all(a > b for a, b in zip(sims, sims[1:]))
    for n in range(1, 12):
        sim_drop, pred_drop = (out[0][0] - out[n][0]) / n, (out[0][1] - out[n][1]) / n
        assert abs(sim_drop - pred_drop) <= 0.05 * pred_drop, (n, sim_drop, pred_drop)


def test_bisection_finds_the_smallest_n_reuse_meeting_the_target():
    from pipeline.__main__ import smallest_meeting

    lat = [10.0, 9.0, 8.5, 8.0, 7.0, 6.9, 6.0, 5.0]
    for target in (11.0, 10.0, 9.5, 8.0, 7.95, 6.95, 5.5, 5.01):
        calls = []
        got = smallest_meeting(len(lat) - 1, lambda n: calls.append(n) or lat[n], target)
        assert got == next(n for n, v in enumerate(lat) if v < target)
        assert len(set(calls)) <= 2 + 3
    assert smallest_meeting(7, lambda n: lat[n], 5.0) is None


@pytest.mark.slow
def test_target_delay_on_pim_unreachable_is_one_sentence_exit_2(tmp_path):
    import os
    import subprocess
    import sys

    repo = REPO_ROOT
    proc = subprocess.run([sys.executable, "-m", "pipeline", "sim", "--model", "deit-t", "--hw", "pim-dram-8x8",
                           "--target-delay-ms", "0.01", "--out", str(tmp_path / "run")], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no N_reuse meets the target delay of 0.01 ms" in errors[0]
    assert not (tmp_path / "run" / "result.json").exists()


def test_default_pattern_skips_the_first_block_of_every_stage():
    from contracts.reuse_spec import parse_spec

    swin_b_starts = frozenset({1, 3, 5, 23})  # depths 2-2-18-2
    for n in range(0, 21):
        spec = default_spec(n, 24, forbidden=swin_b_starts)
        enc = parse_spec(spec, 24) if spec else []
        assert len(enc) == n and not set(enc) & swin_b_starts
    assert default_spec(2, 12) == "strided:sl=2,start=10,n=2"  # isotropic: unchanged
    with pytest.raises(Exception, match="at most 20"):
        default_spec(21, 24, forbidden=swin_b_starts)
