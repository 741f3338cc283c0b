"""Allspark Fig. 11 / Sec. VIII-B1: speed-up of Allspark over B, P and AH for every model family it names.

One point per (model, input size, method): the same CP-SAT model under the same memory constraint
for every method (``scheduler/allspark/baselines.py``); a baseline that cannot fit is given its
memory-blind latency (exact DP with constraint (5) lifted), flagged in data.csv. Base models of
Sec. VIII-A: ViT-B and PVT-v2-B2 (on the 8x8 array, "PVTs are deployed onto a node array of size
8x8") as ViTs; Swin-B, Twins-SVT-B, CSWin-B, Focal-B as LVTs.
"""

from __future__ import annotations

from studies.reproduce.core import Point, compare

FIGURE = "allspark-fig11"
TITLE = "Allspark Fig. 11 (speed-ups over B / P / AH)"
MODELS = {"vit-b": "ViTs", "pvt-v2-b2": "ViTs", "swin-b": "local-attention", "twins-svt-b": "local-attention",
          "cswin-b": "local-attention", "focal-b": "local-attention"}
METHODS = ("allspark", "B", "P", "AH")


def hw_for(model: str) -> str:
    return "pim-dram-8x8" if model.startswith("pvt") else "pim-dram-16x16"


def sizes(fast: bool) -> tuple[int, ...]:
    return (224,) if fast else (224, 640)


def models(fast: bool) -> list[str]:
    return ["vit-b", "swin-b"] if fast else list(MODELS)


def points(fast: bool, cache: str) -> list[Point]:
    return [Point(FIGURE, f"{m}-{img}-{meth}", "studies.reproduce.measure:allspark_point",
                  {"model": m, "img": img, "method": meth, "hw": hw_for(m), "cache": cache})
            for img in sizes(fast) for m in models(fast) for meth in METHODS]


def speedups(results: dict) -> list[dict]:
    """One row per (model, size): speed-ups over B, P, AH (memory-blind where the baseline cannot fit)."""
    keys = sorted({k.rsplit("-", 1)[0] for k in results})
    out = []
    for mi in keys:
        ours = results[f"{mi}-allspark"]
        row = {"model_img": mi, "model": ours["model"], "img": ours["img"], "family": MODELS[ours["model"]],
               "allspark_ms": ours["ms"]}
        for m in ("B", "P", "AH"):
            r = results[f"{mi}-{m}"]
            row[m] = r["cycles"] / ours["cycles"]
            row[f"{m}_memory_blind"] = not r["feasible"]
        out.append(row)
    return out


def rows(results: dict) -> list:
    sp = speedups(results)
    out = []
    for fam in ("ViTs", "local-attention"):
        for m in ("B", "P", "AH"):
            vals = [r[m] for r in sp if r["family"] == fam]
            blind = sum(r[f"{m}_memory_blind"] for r in sp if r["family"] == fam)
            avg = sum(vals) / len(vals) if vals else None
            note = f" ({blind} of {len(vals)} points memory-blind: the baseline cannot fit 8 MiB)" if blind else ""
            row = compare(FIGURE, f"{fam} average speed-up over {m} (x)", avg)
            if note and not row.within:
                row.reason += note
            out.append(row)
    return out


def table(results: dict) -> list[dict]:
    """The bars of Fig. 11: speed-ups per model and input size."""
    return speedups(results)
