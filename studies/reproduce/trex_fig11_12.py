"""TReX Fig. 11 (EDAP by block: attention, TB, projection, MLP) and Fig. 12 (energy / delay by circuit).

Uses the Table IV rows' runs. The TB's share of EDAP follows ``fidelity.tb_edap_share`` of the
hardware config (default ``block_product``: the TB's own E x D x A over the sum of the blocks'); the
other reading (``marginal``) is run as well and reported beside it.
"""

from __future__ import annotations

from studies.reproduce.core import Point, compare

FIGURE = "trex-fig11-12"
TITLE = "TReX Fig. 11 / 12 (EDAP by block, energy and delay by circuit)"
ROWS = {"DeiT-S": None, "TReX-D-9": 9, "TReX-D-7": 7, "TReX-D-6": 6, "TReX-D-4": 4}


def points(fast: bool, cache: str) -> list[Point]:
    pts = [Point(FIGURE, row, "studies.reproduce.measure:trex_point",
                 {"model": "deit-s", "hw": "fefet-64", "cache": cache, "target_ms": t}) for row, t in ROWS.items()]
    pts += [Point(FIGURE, f"{row} marginal", "studies.reproduce.measure:trex_point",
                  {"model": "deit-s", "hw": "fefet-64", "cache": cache, "target_ms": t,
                   "sets": ["fidelity.tb_edap_share=marginal"]}) for row, t in ROWS.items() if t is not None]
    return pts


def block_edap_shares(result: dict) -> dict[str, float]:
    """Per-block EDAP (E x D x A of the block) as a share of the blocks' sum, in %."""
    e = {b: v.get("edap_mj_ms_mm2", v["energy_mj"] * v["delay_ms"] * v["area_mm2"])
         for b, v in result["by_block"].items() if b != "wait"}
    total = sum(e.values())
    return {b: 100 * v / total if total else 0.0 for b, v in e.items()}


def rows(results: dict) -> list:
    out = []
    for row, t in ROWS.items():
        if t is None:
            continue
        r, m = results[row], results[f"{row} marginal"]
        reason = (f"marginal reading (fidelity.tb_edap_share=marginal): +{m['tb']['edap_share_pct']:.2f} % of the "
                  f"chip's EDAP")
        row_ = compare(FIGURE, f"{row} TB share of EDAP (%)", r["tb"]["edap_share_pct"])
        row_.reason = row_.reason or f"within; the other reading, {reason}"
        out.append(row_)
    base = results["DeiT-S"]
    out.append(compare(FIGURE, "DeiT-S attention share of EDAP (%)", block_edap_shares(base)["attention"],
                       "per-block E x D x A; Fig. 1 of the paper is not in the text, so its accounting is unknown"))
    same = all(abs(results[row]["by_block"][b]["edap_mj_ms_mm2"] / base["by_block"][b]["edap_mj_ms_mm2"] - 1) < 1e-9
               for row in ROWS if row != "DeiT-S" for b in ("projection", "mlp"))
    out.append(compare(FIGURE, "projection and MLP EDAP unchanged by reuse", int(same)))
    lower = all(results[row]["by_circuit"][q][c] <= base["by_circuit"][q][c] + 1e-15
                for row in ROWS if row != "DeiT-S" for q in ("energy_mj", "delay_ms")
                for c in base["by_circuit"][q] if c != "wait")
    out.append(compare(FIGURE, "every circuit's energy and delay lower with reuse (Fig. 12)", int(lower),
                       "the TB's writes/reads add to some circuits" if not lower else ""))
    return out
