"""Allspark Table V: memory per node (weights, workspace, total) for Swin-B 640 under Table IV's partition.

The partition printed in Table IV is the input (as in tests/scheduler/allspark/test_allspark_memory.py); the memory
accounting is Eq. 5 / Eq. 7-16 of ``scheduler.allspark.steps`` (``summary.table_v_rows``).
"""

from __future__ import annotations

from studies.reproduce import allspark_table4
from studies.reproduce.core import Point, compare

FIGURE = "allspark-table5"
TITLE = "Allspark Table V (memory per node, Swin-B 640)"


def points(fast: bool, cache: str) -> list[Point]:
    return allspark_table4.points(fast, cache, FIGURE)


REASONS = {
    "no reuse": "Table V's 'w/o Reuse' row is not derivable from Eq. 11-16 for the printed partition: without Term 2 "
                "each temporal layer keeps its own copy (ours), which gives 10.73 MiB; the paper's 11.64 implies an "
                "accounting the text does not state",
    "no sharing": "Eq. 12 without sharing keeps 12 C^2 / v per node (ours, Sec. V reading of [u,v]); the paper's "
                  "59.8 MiB is 1.23x that and 3.4x the other reading of [u,v] (17.62 MiB): neither reading of the "
                  "text reaches it",
}


def rows(results: dict) -> list:
    t5 = results["swin-b-640"]["table_v"]
    ws = t5["workspace_mib"]
    out = []
    for case in ("reuse+sharing", "no reuse", "no sharing"):
        w = t5["weights_mib"][case]
        reason = REASONS.get(case, "")
        out += [compare(FIGURE, f"{case} weights MiB", w, reason), compare(FIGURE, f"{case} workspace MiB", ws),
                compare(FIGURE, f"{case} total MiB", w + ws, reason)]
    return out
