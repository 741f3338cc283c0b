"""Allspark Fig. 14 / Sec. VIII-B3: average latency per image for small batches (Swin-B 224, 16x16 nodes)."""

from __future__ import annotations

from studies.reproduce.core import Point, compare

FIGURE = "allspark-batch"
TITLE = "Allspark Fig. 14 (average latency per image vs batch size)"


def batches(fast: bool) -> tuple[int, ...]:
    return (1, 2, 4) if fast else (1, 2, 4, 8)


def points(fast: bool, cache: str) -> list[Point]:
    return [Point(FIGURE, f"bs{b}", "studies.reproduce.measure:allspark_point",
                  {"model": "swin-b", "img": 224, "method": "allspark", "hw": "pim-dram-16x16", "cache": cache,
                   "batch": b}) for b in batches(fast)]


def per_image(results: dict) -> list[dict]:
    out = []
    for k in sorted(results, key=lambda k: results[k]["batch"]):
        r, b = results[k], results[k]["batch"]
        out.append({"batch": b, "compute": r["compute_cycles"] / b, "transfer": r["transfer_cycles"] / b,
                    "weight_share": r["weight_share_cycles"] / b, "total": r["cycles"] / b})
    return out


def rows(results: dict) -> list:
    p = per_image(results)
    ws = [x["weight_share"] for x in p]
    ct = [x["compute"] + x["transfer"] for x in p]
    dec = all(b <= a for a, b in zip(ws, ws[1:])) and ws[-1] < ws[0]
    flat = max(ct) <= 1.15 * min(ct)
    return [compare(FIGURE, "weight sharing per image decreases with batch size", int(dec),
                    "per image: " + ", ".join(f"BS {x['batch']} {x['weight_share']:,.0f}" for x in p)),
            compare(FIGURE, "compute+transfer per image within 15% across batch sizes", int(flat),
                    "per image: " + ", ".join(f"BS {x['batch']} {x['compute'] + x['transfer']:,.0f}" for x in p)
                    + " (the schedule changes with the batch: memory per node grows with the workspace)")]


def table(results: dict) -> list[dict]:
    """The bars of Fig. 14: cycles per image by category and batch size."""
    return per_image(results)
