"""Allspark Fig. 13 / Sec. VIII-B3: latency breakdown of Swin-B at 640 under Allspark, B, P and AH.

Predicted cycles split into compute / feature-map transfer / weight sharing (the scheduler's cost
tables, what CP-SAT optimises); in the full run Allspark's program is also lowered and simulated on
the SimPy engine, whose critical-path attribution (compute / fmap_transfer / weight_share / memory)
is drawn beside it. A baseline that cannot fit 8 MiB is shown with its memory-blind schedule.
"""

from __future__ import annotations

from studies.reproduce.core import Point, compare

FIGURE = "allspark-fig13"
TITLE = "Allspark Fig. 13 (latency breakdown, Swin-B 640)"
METHODS = ("allspark", "B", "P", "AH")


def points(fast: bool, cache: str) -> list[Point]:
    return [Point(FIGURE, m, "studies.reproduce.measure:allspark_point",
                  {"model": "swin-b", "img": 640, "method": m, "hw": "pim-dram-16x16", "cache": cache,
                   "simulate": m == "allspark" and not fast}) for m in METHODS]


def rows(results: dict) -> list:
    a = results["allspark"]
    comm = a["transfer_cycles"] + a["weight_share_cycles"]
    out = []
    for m in ("B", "P", "AH"):
        r = results[m]
        theirs = r["transfer_cycles"] + r["weight_share_cycles"]
        share = comm / theirs if theirs else float("inf")
        blind = "" if r["feasible"] else " (memory-blind: the method cannot fit 8 MiB)"
        out.append(compare(FIGURE, f"(transfer+weight sharing) Allspark / {m} within 13-41%",
                           int(0.13 * 0.85 <= share <= 0.41 * 1.15), f"ours {share:.0%}{blind}"))
    cyc = {m: results[m]["cycles"] for m in METHODS}
    out.append(compare(FIGURE, "Allspark latency lowest of the four methods", int(cyc["allspark"] == min(cyc.values())),
                       "predicted cycles " + ", ".join(f"{m} {c:,}" for m, c in cyc.items())))
    return out


def table(results: dict) -> list[dict]:
    """The bars of Fig. 13a: predicted cycles by category per method (and the simulated split for Allspark)."""
    out = []
    for m in METHODS:
        r = results[m]
        row = {"method": m, "feasible": r["feasible"], "cycles": r["cycles"], "compute_cycles": r["compute_cycles"],
               "transfer_cycles": r["transfer_cycles"], "weight_share_cycles": r["weight_share_cycles"]}
        sim = r.get("simulated")
        if sim:
            row.update({f"simulated_{k}_cycles": v for k, v in sim["breakdown_cycles"].items()})
            row.update(simulated_cycles=sim["cycles"], simulated_energy_pj=sim["energy_pj"],
                       simulated_noc_bytes=sim["noc_bytes"], simulated_dram_bytes=sim["dram_bytes"])
        out.append(row)
    return out
