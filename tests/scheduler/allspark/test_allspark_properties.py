"""Property tests (hypothesis): random small Swin-like workloads on small meshes, every method."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from contracts.errors import UserError
from contracts.hardware import hw_digest, load_hw
from contracts.program import validate_program
from scheduler.allspark.baselines import solve_method
from scheduler.allspark.lower import lower_program
from scheduler.allspark.problem import evaluate
from test_allspark_helpers import swin_like


@st.composite
def cases(draw):
    stages = draw(st.integers(1, 3))
    heads = tuple(draw(st.sampled_from([1, 2, 3, 4])) * 2**s for s in range(stages))
    dim = draw(st.sampled_from([8, 16]))
    heads = tuple(min(h, dim * 2**s) for s, h in enumerate(heads))
    window = draw(st.sampled_from([2, 3, 4]))
    patch = 2
    img = draw(st.sampled_from([16, 24, 32]))
    depths = tuple(draw(st.integers(1, 2)) for _ in range(stages))
    rows, cols = draw(st.sampled_from([2, 3, 4])), draw(st.sampled_from([2, 3, 4]))
    cap = draw(st.sampled_from([65536, 262144, 8388608]))
    method = draw(st.sampled_from(["allspark", "B", "P", "AH"]))
    batch = draw(st.sampled_from([1, 2]))
    return dict(img=img, dim=dim, depths=depths, heads=heads, window=window, patch=patch), (rows, cols, cap), method, batch


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_program_validates_covers_all_branches_and_fits(case):
    shape, (rows, cols, cap), method, batch = case
    assume(all(shape["dim"] * 2**s % h == 0 for s, h in enumerate(shape["heads"])))
    assume(shape["img"] // shape["patch"] // 2 ** (len(shape["depths"]) - 1) >= 1)
    wl = swin_like(model="rand", mlp_ratio=2, classes=10, **shape)
    hw = load_hw("pim-dram-16x16", [f"mesh.rows={rows}", f"mesh.cols={cols}", f"dram.bank_capacity_bytes={cap}"])
    try:
        problem, sched = solve_method(wl, hw, method, batch, time_limit=20)
    except UserError as e:  # infeasible memory is a legitimate answer, stated in one sentence
        assert "\n" not in str(e) and "each node has" in str(e)
        return
    ev = evaluate(problem, sched)
    assert ev.memory <= cap  # no node exceeds its memory
    prog, placements = lower_program(wl, problem, sched, hw.name, hw_digest(hw))
    validate_program(prog, hw.unit_names())  # ids, deps acyclic, SEND/RECV matched, units exist
    assert prog.macs_expected == wl.total_macs * batch
    for kp, ks in zip(problem.kinds, sched.kinds):  # every branch of every block scheduled exactly once
        placed = sorted(b for layer in placements[kp.kind.key].layers for b in layer)
        assert placed == list(range(kp.kind.branches))
        assert [len(layer) for layer in placements[kp.kind.key].layers] == [b for _, b in ks.layers]
    assert sched.solver["status"] == "OPTIMAL"
