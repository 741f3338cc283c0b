"""Allspark Table VI / Sec. VIII-C: Allspark latency on the bandwidth-scaled PIM systems (0.9-3.35 TB/s).

The GPU of Table VI is the same in every column, so the ratio of speed-ups between two columns is
the inverse ratio of our latencies: speed-up(bw) / speed-up(3.35 TB/s) = latency(3.35) / latency(bw),
averaged over the base models. The four configs are ``hw_configs/pim-dram-bw-*.yaml``.
"""

from __future__ import annotations

from studies.reproduce.core import Point, compare

FIGURE = "allspark-table6"
TITLE = "Allspark Table VI (bandwidth-scaled PIM systems)"
BWS = ("900g", "1120g", "1490g", "3350g")


def models(fast: bool) -> list[str]:
    return ["swin-b"] if fast else ["vit-b", "swin-b", "twins-svt-b", "cswin-b", "focal-b"]


def points(fast: bool, cache: str) -> list[Point]:
    return [Point(FIGURE, f"{m}-{bw}", "studies.reproduce.measure:allspark_point",
                  {"model": m, "img": 224, "method": "allspark", "hw": f"pim-dram-bw-{bw}", "cache": cache})
            for m in models(fast) for bw in BWS]


def relative(results: dict) -> dict[str, float]:
    ms = sorted({k.rsplit("-", 1)[0] for k in results})
    return {bw: sum(results[f"{m}-3350g"]["cycles"] / results[f"{m}-{bw}"]["cycles"] for m in ms) / len(ms)
            for bw in BWS}


def rows(results: dict) -> list:
    rel = relative(results)
    why = ("not reached; the text names only the node array and PE array of the scaled systems (Sec. VIII-C), "
           "hw_configs/pim-dram-bw-*.yaml keep every other Table III value; no other reading tried")
    return [compare(FIGURE, f"{bw} speed-up relative to 3.35 TB/s", rel[bw], why) for bw in BWS]


def table(results: dict) -> list[dict]:
    """Allspark latency per model and bandwidth config (ms)."""
    return [{"point": k, "ms": r["ms"], "feasible": r["feasible"]} for k, r in sorted(results.items())]
