"""report.md and PNG charts of a crossbar-chip (TReX) run, rendered from result.json alone.

Charts: the Fig. 11 breakdown by block (energy, delay, area), the Fig. 12
breakdown by circuit (energy, delay), and per-tile utilisation.
"""

from __future__ import annotations

import io
import os

from contracts.atomic import write_bytes, write_text


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def _block_chart(result: dict):
    import matplotlib.pyplot as plt

    blocks = [b for b in result["by_block"] if b != "wait"]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    for ax, key, label in zip(axes, ("energy_mj", "delay_ms", "area_mm2"), ("energy (mJ)", "delay (ms)", "area (mm²)")):
        vals = [result["by_block"][b][key] for b in blocks]
        ax.bar(blocks, vals, color=["#c0392b", "#8e44ad", "#2980b9", "#27ae60", "#7f8c8d"][: len(blocks)])
        ax.set_title(label)
        ax.set_ylabel(label)
        ax.set_xlabel("block")
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle(f"{result['model']} on {result['hw']}: breakdown by block (TReX Fig. 11)")
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def _circuit_chart(result: dict):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, key, label in zip(axes, ("energy_mj", "delay_ms"), ("energy (mJ)", "delay on the critical path (ms)")):
        d = result["by_circuit"][key]
        names = list(d)
        ax.bar(names, [d[n] for n in names], color="#34495e")
        ax.set_title(label)
        ax.set_ylabel(label)
        ax.set_xlabel("circuit")
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle("breakdown by circuit (TReX Fig. 12)")
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def _tile_chart(result: dict):
    import matplotlib.pyplot as plt

    per = result["tiles"]["per_tile"]
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.bar(range(len(per)), [100 * t["utilisation"] for t in per], width=1.0, color="#16a085")
    ax.set_xlabel("tile (index in mapping order)")
    ax.set_ylabel("busy (% of delay)")
    ax.set_title("Busy share of the delay per tile")
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def _row(name: str, d: dict, keys: list[str]) -> str:
    return "| " + name + " | " + " | ".join(f"{d.get(k, 0):.6g}" for k in keys) + " |"


def _pattern(result: dict) -> str:
    enc = result["reuse_pattern"]
    if not enc:
        return "none"
    return f"{result['n_reuse']} (encoders {', '.join(str(e) for e in enc)})"


def _overrides(result: dict) -> str:
    sets = result.get("overrides") or []
    if not sets:
        return f"Hardware overrides: none (`{result['hw']}` as in hw_configs/)."
    return f"Hardware overrides applied to `{result['hw']}`: " + ", ".join(f"`{x}`" for x in sets) + "."


def _checks(c: dict) -> str:
    sums = "sum to the totals" if c.get("breakdowns_sum_to_totals") else "do NOT sum to the totals"
    return (f"Checks: {c['instructions']:,} instructions executed; {c['macs_executed']:,} MACs executed of "
            f"{c['macs_expected']:,} expected; the breakdowns {sums}.")


def markdown(result: dict) -> str:
    t, tb = result["totals"], result["tb"]
    keys = ["energy_mj", "delay_ms", "area_mm2", "edap_mj_ms_mm2", "tops_per_w", "tops_per_mm2"]
    lines = [
        f"# {result['model']} on {result['hw']} ({result['method']})",
        "",
        f"Encoders: {result['n_encoders']}, reusing attention: {_pattern(result)}. "
        f"Totals {'include' if result['include_tb_in_totals'] else 'leave out (Table II as printed)'} the transformation blocks.",
        "",
        _overrides(result),
        "",
        "| figure set | energy (mJ) | delay (ms) | area (mm²) | EDAP (mJ·ms·mm²) | TOPS/W | TOPS/mm² |",
        "|---|---|---|---|---|---|---|",
        _row("headline", t, keys),
        _row("simulated (SimPy)", result["simulated"], keys),
        _row("closed form (Table II)", result["closed_form"], keys),
        "",
        f"FPS {t['fps']:.2f}; MACs {t['macs']:,} executed, {t['macs_baseline_model']:,} in the model without reuse "
        f"(TOPS/W {t['tops_per_w_baseline_macs']:.4g}, TOPS/mm² {t['tops_per_mm2_baseline_macs']:.4g} on those). "
        f"DES delay equals the closed form: {'yes' if result['des_matches_closed_form'] else 'NO'}. "
        f"Simulated execution (TB included): {result['latency']['ms']:.6g} ms.",
        "",
        "## Transformation blocks (reported separately)",
        "",
        f"Energy {tb['energy_mj']:.4g} mJ, delay {tb['delay_ms']:.4g} ms, area {tb['area_mm2']:.4g} mm² "
        f"({tb['tiles']} tiles); their share of the blocks' EDAP (Fig. 11, E x D x A per block) is {tb.get('edap_block_share_pct', 0.0):.3f} %; "
        f"adding them raises the chip's EDAP by {tb['edap_increase_pct']:.2f} % (TReX Fig. 11 reports < 1 %; "
        f"fidelity.tb_edap_share = {tb.get('edap_share_reading', 'marginal')}).",
        "",
        "## By block (Fig. 11)",
        "",
        "| block | energy (mJ) | delay (ms) | area (mm²) | tiles | in totals |",
        "|---|---|---|---|---|---|",
    ]
    for b, d in result["by_block"].items():
        lines.append(f"| {b} | {d['energy_mj']:.4g} | {d['delay_ms']:.4g} | {d['area_mm2']:.4g} | {d['tiles']} | "
                     f"{'yes' if d['in_totals'] else 'no'} |")
    lines += ["", "## By circuit (Fig. 12; whole executed program)", "", "| circuit | energy (mJ) | delay (ms) |", "|---|---|---|"]
    for c, e in result["by_circuit"]["energy_mj"].items():
        lines.append(f"| {c} | {e:.4g} | {result['by_circuit']['delay_ms'].get(c, 0):.4g} |")
    tiles = result["tiles"]
    lines += [
        "",
        f"Read-path shares follow the config's read_split ({result['by_circuit'].get('note', '')}).",
        "",
        "## Utilisation",
        "",
        f"{tiles['count']} tiles; busy fraction of the delay: mean {100 * tiles['utilisation_mean']:.3g} %, "
        f"min {100 * tiles['utilisation_min']:.3g} %, max {100 * tiles['utilisation_max']:.3g} %. "
        + "Softmax units: " + ", ".join(f"{u['unit']} {100 * u['utilisation']:.3g} %" for u in result["softmax_units"]),
        "",
        _checks(result["checks"]) + f" Stem/head MACs not mapped (Table II counts encoders only): {result['unmapped_macs']:,}.",
        "",
        "![by block](breakdown_by_block.png) ![by circuit](breakdown_by_circuit.png) ![tiles](tile_utilisation.png)",
        "",
    ]
    return "\n".join(lines)


def render(result: dict, out_dir: str) -> None:
    """Write report.md and the PNG charts for one result into ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    write_bytes(os.path.join(out_dir, "breakdown_by_block.png"), _block_chart(result))
    write_bytes(os.path.join(out_dir, "breakdown_by_circuit.png"), _circuit_chart(result))
    write_bytes(os.path.join(out_dir, "tile_utilisation.png"), _tile_chart(result))
    write_text(os.path.join(out_dir, "report.md"), markdown(result))
