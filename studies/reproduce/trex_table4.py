"""TReX Table IV: DeiT-S and TReX-D-9/7/6/4 on 64x64 2-bit FeFET (energy, delay, area, EDAP, TOPS/W, TOPS/mm^2).

Each row is one point: Algorithm 1 picks N_reuse for the row's target delay on the traced DeiT-S, the
reuse transform re-traces the model, TReX-Sim maps it and the SimPy crossbar engine runs it.
"""

from __future__ import annotations

from studies.reproduce.core import Point, compare

FIGURE = "trex-table4"
TITLE = "TReX Table IV (DeiT-S, TReX-D-9/7/6/4 on 64x64 FeFET)"
ROWS = {"DeiT-S": None, "TReX-D-9": 9, "TReX-D-7": 7, "TReX-D-6": 6, "TReX-D-4": 4}  # row -> target delay (ms)
FIGURES = (("energy_mj", "energy_mj"), ("delay_ms", "delay_ms"), ("area_mm2", "area_mm2"),
           ("edap_mj_ms_mm2", "edap_mj_ms_mm2"), ("tops_per_w", "tops_per_w"),
           ("tops_per_mm2", "tops_per_mm2_baseline_macs"))  # Table IV's TOPS/mm^2 counts the model without reuse


def points(fast: bool, cache: str) -> list[Point]:
    return [Point(FIGURE, row, "studies.reproduce.measure:trex_point",
                  {"model": "deit-s", "hw": "fefet-64", "cache": cache, "target_ms": t}) for row, t in ROWS.items()]


def rows(results: dict) -> list:
    out = []
    for row in ROWS:
        r = results[row]
        for metric, key in FIGURES:
            out.append(compare(FIGURE, f"{row} {metric}", r["totals"][key]))
        out.append(compare(FIGURE, f"{row} n_reuse", r["n_reuse"]))
    return out
