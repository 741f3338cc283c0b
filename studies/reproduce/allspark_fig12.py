"""Allspark Fig. 12 / Sec. VIII-B2: node utilisation (Eq. 21) of Swin-B and Twins-SVT-B, Allspark and B / P / AH.

Twins' global sub-sampled attention follows ``fidelity.subsampled_attention`` of the PIM config
(default ``windows``); the other reading (``global``) is run too and reported beside it.
"""

from __future__ import annotations

from studies.reproduce.core import Point, compare

FIGURE = "allspark-fig12"
TITLE = "Allspark Fig. 12 (node utilisation, Eq. 21)"


def sizes(fast: bool) -> tuple[int, ...]:
    return (224,) if fast else (224, 640)


def points(fast: bool, cache: str) -> list[Point]:
    pts = []
    for img in sizes(fast):
        for model in ("swin-b", "twins-svt-b"):
            for meth in ("allspark", "B", "P", "AH"):
                pts.append(Point(FIGURE, f"{model}-{img}-{meth}", "studies.reproduce.measure:allspark_point",
                                 {"model": model, "img": img, "method": meth, "hw": "pim-dram-16x16", "cache": cache}))
        pts.append(Point(FIGURE, f"twins-svt-b-{img}-allspark-global", "studies.reproduce.measure:allspark_point",
                         {"model": "twins-svt-b", "img": img, "method": "allspark", "hw": "pim-dram-16x16",
                          "cache": cache, "sets": ["fidelity.subsampled_attention=global"]}))
    return pts


def rows(results: dict) -> list:
    out = []
    imgs = sorted({int(k.split("-")[-2]) for k in results if k.startswith("swin-b-")})
    for img in imgs:
        s = results[f"swin-b-{img}-allspark"]
        stages = ", ".join(f"stage {k} {v:.1%}" for k, v in s["utilisation_stages"].items())
        out.append(compare(FIGURE, f"swin-b {img} overall utilisation", s["utilisation_overall"],
                           f"per stage (Eq. 21): {stages}"))
        t, g = results[f"twins-svt-b-{img}-allspark"], results[f"twins-svt-b-{img}-allspark-global"]
        row = compare(FIGURE, f"twins-svt-b {img} overall utilisation", t["utilisation_overall"])
        row.reason = row.reason or (f"within with fidelity.subsampled_attention=windows (default); the earlier "
                                    f"reading 'global' gives {g['utilisation_overall']:.1%}")
        out.append(row)
        for m in ("B", "P", "AH"):
            r = results[f"swin-b-{img}-{m}"]
            u = r["utilisation_overall"]
            blind = "" if r["feasible"] else " (memory-blind schedule: the method cannot fit 8 MiB)"
            out.append(compare(FIGURE, f"swin-b {img} {m} overall utilisation below 20%", int(u < 0.20),
                               f"ours {u:.1%}{blind}"))
    return out


def table(results: dict) -> list[dict]:
    """The bars of Fig. 12: utilisation per stage and overall, per model, size, method (and reading)."""
    return [{"point": k, "overall": r["utilisation_overall"], **{f"stage_{s}": u for s, u in r["utilisation_stages"].items()}}
            for k, r in sorted(results.items())]
