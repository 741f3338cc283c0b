"""Memory accounting of Allspark Section VI-B/C against Table V (Swin-B, 640x640, 8 MiB per node)."""

from __future__ import annotations

import pytest

from contracts.hardware import load_hw
from scheduler.allspark.blocks import block_kinds
from scheduler.allspark.partition import Partition, shares, transfer_volumes, weight_share_volumes
from scheduler.allspark.steps import weight_bytes_per_node
from scheduler.allspark.problem import KindSchedule, Schedule, build_problem
from scheduler.allspark.summary import PAPER_TABLE_V, table_v_rows
from test_allspark_helpers import swin_b

MIB = 2**20

# Allspark Table IV: [u, v] per temporal layer and branches per layer (Section V reading: u = patch split)
TABLE_IV = [
    [((1, 1), 256), ((1, 1), 256), ((4, 2), 17)],
    [((2, 1), 128), ((4, 4), 16)],
    [((8, 2), 16), ((8, 2), 16), ((16, 4), 4)],
    [((4, 4), 9)],
]


@pytest.fixture(scope="module")
def paper_schedule():
    wl = swin_b(640)
    problem = build_problem(wl, load_hw("pim-dram-16x16"), "allspark")
    kinds = [KindSchedule([(Partition(u, v), b) for (u, v), b in layers], resident=(1, 1) in [uv for uv, _ in layers])
             for layers in TABLE_IV]
    return problem, Schedule("allspark", kinds)


def test_table_v_with_reuse_and_sharing_within_2_percent(paper_schedule, capsys):
    """Allspark Table V, row 'w/ Reuse+Sharing': 6.94 MiB weights, 1.02 MiB workspace, 7.96 MiB total (2 %)."""
    problem, sched = paper_schedule
    rows = table_v_rows(problem, sched)
    weights, ws = rows.weights["reuse+sharing"] / MIB, rows.workspace / MIB
    paper_w, paper_ws, paper_total = PAPER_TABLE_V["reuse+sharing"]
    assert weights == pytest.approx(paper_w, rel=0.02)
    assert ws == pytest.approx(paper_ws, rel=0.02)
    assert weights + ws == pytest.approx(paper_total, rel=0.02)
    with capsys.disabled():
        print("\nTable V (Swin-B 640, Table IV partition): ours vs paper, MiB per node")
        for name, w in rows.weights.items():
            paper = PAPER_TABLE_V.get(name.split(" (")[0])
            ref = f"paper {paper[0]:.2f} + {paper[1]:.2f} = {paper[2]:.2f}" if paper else ""
            print(f"  {name:<40} {w / MIB:6.2f} + {ws:.2f} = {w / MIB + ws:6.2f}   {ref}")


def test_reuse_and_sharing_each_reduce_memory(paper_schedule):
    problem, sched = paper_schedule
    rows = table_v_rows(problem, sched).weights
    assert rows["reuse+sharing"] < rows["no reuse"] < rows["no sharing"]
    assert rows["no sharing"] > 8 * MIB and rows["no reuse"] > 8 * MIB  # "would exceed its capacity" (Sec. VIII-B4)


def test_eq_6_and_volumes_of_section_v():
    """Eq. 6 and the Sec. V-B / VI-C volumes on stage 3 of Swin-B ([16,4]: p=4, q=128, b=4)."""
    kind = block_kinds(swin_b(640))[2]
    part = Partition(16, 4)
    sh = shares(kind, part)
    assert (sh.p, sh.q, sh.b) == (4, 128, 4)
    d = transfer_volumes(kind, part)
    assert d["D^K"] == d["D^V"] == 15 * 4 * 128 and d["D^F"] == 3 * 4 * 128 and d["D^LN"] == 2 * 3 * 4
    w = weight_share_volumes(kind, part)
    assert w["W^MSA"] == 4 * 3 * 15 * (512 * 32 // 16)


def test_term1_and_term2_of_eq_11_12():
    c2 = 12 * 128 * 128
    assert weight_bytes_per_node(c2, [Partition(1, 1), Partition(4, 2)], 1) == c2  # Term 1
    assert weight_bytes_per_node(c2, [Partition(8, 2), Partition(8, 2)], 1) == c2 // 16  # Term 2
    assert weight_bytes_per_node(c2, [Partition(8, 2), Partition(8, 2)], 1, reuse=False) == 2 * c2 // 16
    assert weight_bytes_per_node(c2, [Partition(8, 2)], 1, sharing=False) == c2 // 2
