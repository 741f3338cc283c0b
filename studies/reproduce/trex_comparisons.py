"""TReX Fig. 13 / Sec. VII-C: ReTransformer, weight sharing (WS = 2, 3) and DynamicViT token pruning on TReX-Sim.

Every method runs on the same 64x64 2-bit FeFET chip as the DeiT-S baseline
(``scheduler/crossbar/baselines.py``); EDAP reduction = baseline EDAP / method EDAP,
TOPS/W ratio = method TOPS/W / baseline TOPS/W.
"""

from __future__ import annotations

from studies.reproduce.core import Point, compare

FIGURE = "trex-comparisons"
TITLE = "TReX Fig. 13 (ReTransformer, weight sharing, token pruning on TReX-Sim)"
METHODS = {"baseline": "trex", "ReTransformer": "retransformer", "WS=2": "ws:2", "WS=3": "ws:3",
           "P=0.1": "prune:p=0.1", "P=0.2": "prune:p=0.2", "P=0.3": "prune:p=0.3", "P=0.4": "prune:p=0.4",
           "P=0.5": "prune:p=0.5"}
PRUNE_WHY = ("not reached; the text gives the pruning only by reference to DynamicViT [9] (predictors before "
             "encoders at 1/4, 1/2, 3/4 depth, keep ratio (1 - P)^k, our reading in scheduler/crossbar/baselines.py) and "
             "says the predictors add 'significant computation overhead' without their size; no other reading tried")
FAST = ("baseline", "ReTransformer", "WS=2", "P=0.3", "P=0.5")


def points(fast: bool, cache: str) -> list[Point]:
    pts = [Point(FIGURE, name, "studies.reproduce.measure:trex_point",
                 {"model": "deit-s", "hw": "fefet-64", "cache": cache, "method": m})
           for name, m in METHODS.items() if not fast or name in FAST]
    pts.append(Point(FIGURE, "TReX-D-9", "studies.reproduce.measure:trex_point",
                     {"model": "deit-s", "hw": "fefet-64", "cache": cache, "target_ms": 9}))
    return pts


def reductions(results: dict) -> dict[str, dict[str, float]]:
    base = results["baseline"]["totals"]
    return {k: {"edap_reduction": base["edap_mj_ms_mm2"] / r["totals"]["edap_mj_ms_mm2"],
                "tops_per_w_ratio": r["totals"]["tops_per_w"] / base["tops_per_w"]} for k, r in results.items()}


def rows(results: dict) -> list:
    red = reductions(results)
    out = [compare(FIGURE, "ReTransformer EDAP reduction (x)", red["ReTransformer"]["edap_reduction"]),
           compare(FIGURE, "WS=2 EDAP reduction (x)", red["WS=2"]["edap_reduction"]),
           compare(FIGURE, "token pruning P=0.3 EDAP reduction (x)", red["P=0.3"]["edap_reduction"], PRUNE_WHY)]
    hi = [red[k]["edap_reduction"] for k in ("P=0.4", "P=0.5") if k in red]
    out.append(compare(FIGURE, "token pruning P>0.3 largest EDAP reduction (x)", max(hi) if hi else None, PRUNE_WHY))
    out.append(compare(FIGURE, "WS TOPS/W ratio (x)", red["WS=2"]["tops_per_w_ratio"]))
    out.append(compare(FIGURE, "ReTransformer TOPS/W ratio (x)", red["ReTransformer"]["tops_per_w_ratio"]))
    out.append(compare(FIGURE, "token pruning P=0.3 TOPS/W ratio (x)", red["P=0.3"]["tops_per_w_ratio"], PRUNE_WHY))
    out.append(compare(FIGURE, "TReX-D-9 TOPS/W ratio (x)", red["TReX-D-9"]["tops_per_w_ratio"]))
    return out
