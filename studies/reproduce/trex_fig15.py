"""TReX Fig. 15 / Sec. VII-D: DeiT-S, TReX-D-9 and TReX-D-7 on 2-bit FeFET, 1-bit SRAM and the hybrid chip.

N_reuse per row is Algorithm 1's on the FeFET chip (the rows' names are FeFET delays); the same
reused model then runs on each chip.
"""

from __future__ import annotations

from studies.reproduce.core import Point, compare

FIGURE = "trex-fig15"
TITLE = "TReX Fig. 15 (FeFET / SRAM / hybrid: EDP, area, EDAP)"
ROWS = {"DeiT-S": None, "TReX-D-9": 9, "TReX-D-7": 7}  # row -> target delay (ms); Algorithm 1 on the FeFET chip
CHIPS = ("fefet-64", "sram-64", "hybrid-64")


def points(fast: bool, cache: str) -> list[Point]:
    pts = []
    for row, t in ROWS.items():
        if fast and row == "TReX-D-7":
            continue
        for chip in CHIPS:
            pts.append(Point(FIGURE, f"{row} {chip}", "studies.reproduce.measure:trex_point",
                             {"model": "deit-s", "hw": chip, "cache": cache, "target_ms": t, "plan_hw": "fefet-64"}))
    return pts


def rows(results: dict) -> list:
    out = []
    for row in ROWS:
        if f"{row} fefet-64" not in results:
            continue
        t = {c: results[f"{row} {c}"]["totals"] for c in CHIPS}
        edp = {c: v["energy_mj"] * v["delay_ms"] for c, v in t.items()}
        out.append(compare(FIGURE, f"{row} EDP SRAM / FeFET", edp["sram-64"] / edp["fefet-64"]))
        out.append(compare(FIGURE, f"{row} area FeFET < SRAM", int(t["fefet-64"]["area_mm2"] < t["sram-64"]["area_mm2"])))
        out.append(compare(FIGURE, f"{row} EDAP FeFET < SRAM",
                           int(t["fefet-64"]["edap_mj_ms_mm2"] < t["sram-64"]["edap_mj_ms_mm2"])))
        out.append(compare(FIGURE, f"{row} EDAP hybrid < SRAM",
                           int(t["hybrid-64"]["edap_mj_ms_mm2"] < t["sram-64"]["edap_mj_ms_mm2"])))
    return out
