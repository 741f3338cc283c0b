"""report.md and PNGs of a PIM-mesh run, rendered from ``result.json`` alone.

Pictures (matplotlib, Agg backend), one metric each with a title and axes with
units: ``node_utilisation.png`` (PE-array busy fraction of every node over the
mesh; Eq. 21's utilisation is in the text, not in this picture),
``link_load.png`` (busy fraction of every directed link, the two directions of
a link drawn side by side), ``latency_breakdown.png`` (critical path by
category, per segment and in total, Allspark Fig. 13a) and
``energy_breakdown.png`` (energy by action and static term).
"""

from __future__ import annotations

import io
import os
import re

from contracts.atomic import write_bytes, write_text

_LINK_RE = re.compile(r"link\[(\d+)\]\[(\d+)\]->\[(\d+)\]\[(\d+)\]")
CATEGORY_COLOURS = {
    "compute": "#4c72b0", "fmap_transfer": "#dd8452", "weight_share": "#55a868", "memory": "#8172b3",
    "buffer_stall": "#c44e52",
}
ENERGY_COLOURS = {"dram": "#8172b3", "noc": "#dd8452", "pe": "#4c72b0", "acu": "#55a868", "sram": "#937860"}


def render(result: dict, out_dir: str) -> None:
    """Write report.md and the PNGs for one result into ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    pictures = {
        "node_utilisation.png": _node_heatmap(result),
        "link_load.png": _link_heatmap(result),
        "latency_breakdown.png": _latency_bars(result),
        "energy_breakdown.png": _energy_bars(result),
    }
    for name, data in pictures.items():
        write_bytes(os.path.join(out_dir, name), data)
    write_text(os.path.join(out_dir, "report.md"), markdown(result))


# --------------------------------------------------------------------------- text


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x + 0.0:.1f} %"


def _energy(pj: float) -> str:
    for unit, scale in (("J", 1e12), ("mJ", 1e9), ("uJ", 1e6), ("nJ", 1e3)):
        if pj >= scale:
            return f"{pj / scale:.4g} {unit}"
    return f"{pj:.4g} pJ"


def _num(x) -> str:
    return "n/a" if x is None else f"{x:,}"


def markdown(r: dict) -> str:
    """report.md: latency and its breakdown, energy, utilisation and segments, component load, counts."""
    lines = (_latency_section(r) + _energy_section(r) + _utilisation_section(r) + _load_section(r)
             + _counts_section(r))
    return "\n".join(lines) + "\n"


def _latency_section(r: dict) -> list[str]:
    lat, pred, lb = r["latency"], r["prediction"], r["latency_breakdown"]
    total = max(lat["cycles"], 1)
    lines = [
        f"# {r['model']} on {r['hw_name']} ({r['method']}, batch {r['batch']})",
        "",
        f"Simulation mode **{r['mode']}**, network **{r['network_mode']}** level; program scheduled for "
        f"`{r['scheduled_for_hw']}`; {r['mesh_rows']}x{r['mesh_cols']} mesh at {r['clock_hz'] / 1e6:g} MHz.",
        "",
        _overrides_line(r),
        "",
        "## Latency",
        "",
        "| quantity | cycles | ms |",
        "|---|---:|---:|",
        f"| simulated | {_num(lat['cycles'])} | {lat['ms']:.4f} |",
    ]
    ms = 1e3 / r["clock_hz"]
    if pred["predicted_cycles"] is not None:
        lines.append(f"| scheduler's prediction | {_num(pred['predicted_cycles'])} | {pred['predicted_cycles'] * ms:.4f} |")
    lines += [
        f"| contention-free replay | {_num(pred['contention_free_cycles'])} | {pred['contention_free_cycles'] * ms:.4f} |",
        "",
    ]
    if pred["predicted_cycles"] is not None:
        diff = lat["cycles"] - pred["predicted_cycles"]
        side = "below" if diff > 0 else "above"
        share = pred["contention_share_of_difference"]
        lines.append(
            f"The scheduler's prediction is {_num(abs(diff))} cycles {side} the simulated latency "
            f"(relative error {100 * pred['relative_error']:+.2f} %). Contention accounts for "
            f"{_num(pred['contention_cycles'])} cycles of the difference (simulated minus the contention-free replay"
            + (f", {_pct(share)} of it" if share is not None else "")
            + f"); the remaining {_num(pred['model_difference_cycles'])} cycles are the scheduler's model against the "
            "program's execution rules (contention-free replay minus prediction)."
        )
    else:
        lines.append(f"The program carries no predicted latency. Contention costs {_num(pred['contention_cycles'])} cycles "
                     "(simulated minus the contention-free replay).")
    lines += [
        f"Network queueing and buffer stalls on the critical path: {_num(pred['critical_path_queueing_cycles'])} cycles.",
        "",
        "## Latency breakdown (Allspark Fig. 13a)",
        "",
        "| category | cycles | share |",
        "|---|---:|---:|",
    ]
    for cat, cyc in lb["breakdown_cycles"].items():
        lines.append(f"| {cat} | {_num(cyc)} | {_pct(cyc / total)} |")
    lines += [f"| **total** | **{_num(lb['total_cycles'])}** | |", "", f"Method: {lb['method']}", "",
              "![latency breakdown](latency_breakdown.png)", ""]
    return lines


def _utilisation_section(r: dict) -> list[str]:
    lines: list[str] = []
    nu = r["node_utilisation"]
    lines += ["## Node utilisation (Allspark Eq. 21)", "", "| stage | utilisation |", "|---|---:|"]
    for stage, u in nu["per_stage"].items():
        lines.append(f"| {_stage_label(stage, r)} | {_pct(u)} |")
    pe = nu["per_node_pe_busy"]
    lines += [f"| **all** | **{_pct(nu['overall'])}** |", "", f"Method: {nu['method']}", "",
              "The heat map below shows a different metric: the PE-array busy fraction of each node over the whole run "
              f"(mean {_pct(sum(pe.values()) / max(len(pe), 1))}), which counts only GEMM time, while Eq. 21 counts a "
              "node as occupied for the whole of every temporal layer it takes part in.", "",
              "![PE-array busy fraction per node](node_utilisation.png)", ""]
    lines += ["## Segments", "",
              "| segment | stage | repeat | cycles / rep | contention-free / rep | predicted / rep | total cycles |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for s in r["segments"]:
        lines.append(f"| {s['name']} | {s['stage'] if s['stage'] is not None else '-'} | {s['repeat']} | "
                     f"{_num(s['cycles_per_repetition'])} | {_num(s['contention_free_cycles_per_repetition'])} | "
                     f"{_num(s['predicted_cycles_per_repetition'])} | {_num(s['total_cycles'])} |")
    return lines


def _load_section(r: dict) -> list[str]:
    lines: list[str] = []
    lines += ["", "## Component load", "", "| component | count | mean busy | max busy | busiest |", "|---|---:|---:|---:|---|"]
    for label, table in _groups(r):
        if not table:
            continue
        fr = {k: v["busy_fraction"] for k, v in table.items()}
        busiest = max(fr, key=lambda k: (fr[k], k))
        lines.append(f"| {label} | {len(fr)} | {_pct(sum(fr.values()) / len(fr))} | {_pct(fr[busiest])} | `{busiest}` |")
    links = r["links"]
    if links:
        lines += ["", "Busiest links (links tied at one busy fraction share a row):", "",
                  "| link | busy | bytes |", "|---|---:|---:|"]
        lines += busiest_links(links)
        lines += ["", "![link busy fraction](link_load.png)"]
    return lines


def _counts_section(r: dict) -> list[str]:
    lines: list[str] = []
    peaks = r["buffer_peak_bytes"]
    c = r["counts"]
    lines += ["", "## Counts", "",
              f"* instructions: {_num(c['instructions_executed'])} executed of {_num(c['instructions_expected'])}",
              f"* MACs: {_num(c['macs_executed'])} executed, {_num(c['macs_expected'])} expected",
              f"* NoC: {_num(c['bytes_sent'])} bytes sent, {_num(c['bytes_received'])} received; by category "
              + ", ".join(f"{k} {_num(v)}" for k, v in c["noc_bytes_by_category"].items()),
              f"* DRAM: {_num(c['dram_bytes_read'])} bytes read, {_num(c['dram_bytes_written'])} written; "
              f"{_num(c['dram_queue_wait_cycles'])} cycles of bank queueing summed over all bank requests (each "
              "request's wait behind the one before it; requests wait in parallel on different banks, so the sum "
              "can exceed the latency many times)",
              f"* SRAM buffer: peak {_num(max(peaks.values(), default=0))} of {_num(r['buffer_capacity_bytes'])} bytes; "
              f"{_num(c['buffer_stall_cycles'])} cycles of buffer stalls",
              f"* SimPy events: {_num(c['sim_events'])}",
              "", "## Invariants checked", ""]
    lines += [f"* {x}" for x in r["invariants_checked"]]
    return lines


def _stage_label(stage: str, r: dict) -> str:
    """'none' is not a stage: name the segments it collects (patch embedding, head, ...)."""
    if stage != "none":
        return stage
    names = [s["name"] for s in r["segments"] if s["stage"] is None]
    shown = ", ".join(names[:4]) + (f", ... ({len(names)} segments)" if len(names) > 4 else "")
    return f"outside stages ({shown})" if names else "outside stages"


def _energy_section(r: dict) -> list[str]:
    en = r["energy"]
    ms = r["latency"]["ms"]
    etot = en["total_pj"] or 1.0
    lines = ["## Energy", "",
             "| quantity | value |", "|---|---:|",
             f"| **energy per inference** | **{_energy(en['per_inference_pj'])}** |",
             f"| total for the batch of {r['batch']} | {_energy(en['total_pj'])} |",
             f"| dynamic (actions) | {_energy(en['dynamic_pj'])} ({_pct(en['dynamic_pj'] / etot)}) |",
             f"| static (leakage + DRAM refresh: {en['static_power_mw']:,.1f} mW x {ms:.4f} ms) | "
             f"{_energy(en['static_pj'])} ({_pct(en['static_pj'] / etot)}) |",
             f"| EDP (energy per inference x latency) | {en['edp_j_s']:.4g} J·s |",
             "", "By action and static term (sums to the total):", "",
             "| term | pJ | share |", "|---|---:|---:|"]
    for term, pj in en["breakdown_pj"].items():
        lines.append(f"| {term} | {pj:,.0f} | {_pct(pj / etot)} |")
    lines += [f"| **total** | **{en['total_pj']:,.0f}** | |", "", "By component (dynamic + static):", "",
              "| component | pJ | share |", "|---|---:|---:|"]
    for comp, pj in en["by_component_pj"].items():
        lines.append(f"| {comp} | {pj:,.0f} | {_pct(pj / etot)} |")
    lines += ["", "By stage (dynamic energy of its instructions + static power x its simulated time):", "",
              "| stage | pJ | share |", "|---|---:|---:|"]
    for stage, pj in en["by_stage_pj"].items():
        lines.append(f"| {_stage_label(stage, r)} | {pj:,.0f} | {_pct(pj / etot)} |")
    lines += ["", f"Method: {en['method']}", "", "![energy breakdown](energy_breakdown.png)", ""]
    return lines


def _overrides_line(r: dict) -> str:
    sets = r.get("overrides") or []
    if not sets:
        return f"Hardware overrides: none (`{r['hw_name']}` as in hw_configs/)."
    return f"Hardware overrides applied to `{r['hw_name']}`: " + ", ".join(f"`{x}`" for x in sets) + "."


def busiest_links(links: dict, top: int = 10) -> list[str]:
    """Table rows of the busiest links: ties at one busy fraction share a row; names in numeric order."""
    from simulator.units_csv import natural_key

    groups: dict[float, list[str]] = {}
    for name, v in links.items():
        groups.setdefault(round(v["busy_fraction"], 4), []).append(name)
    rows = []
    for frac in sorted(groups, reverse=True)[:top]:
        names = sorted(groups[frac], key=natural_key)
        if len(names) == 1:
            v = links[names[0]]
            rows.append(f"| `{names[0]}` | {_pct(frac)} | {_num(v['bytes'])} |")
        else:
            total = sum(links[n]["bytes"] for n in names)
            rows.append(f"| {len(names)} links, `{names[0]}` ... `{names[-1]}` | {_pct(frac)} | "
                        f"{_num(total)} in all |")
    return rows


def _groups(r: dict):
    units = r["units"]
    for label, suffix in (("PE arrays", ".pe"), ("ACUs", ".acu"), ("network interfaces", ".ni"), ("DRAM banks", "]")):
        yield label, {k: v for k, v in units.items() if k.endswith(suffix) and (suffix != "]" or ".dram.bank[" in k)}
    yield "routers", r["routers"]
    yield "links", r["links"]


# --------------------------------------------------------------------------- pictures


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def node_heatmap_title(r: dict) -> str:
    return "PE-array busy fraction per node (GEMM time / latency)"


def _node_heatmap(r: dict) -> bytes:
    import matplotlib.pyplot as plt
    import numpy as np

    rows, cols = r["mesh_rows"], r["mesh_cols"]
    grid = np.zeros((rows, cols))
    for node, frac in r["node_utilisation"]["per_node_pe_busy"].items():
        m = re.match(r"node\[(\d+)\]\[(\d+)\]", node)
        grid[int(m.group(1)), int(m.group(2))] = frac
    fig, ax = plt.subplots(figsize=(5.5, 4.6))
    im = ax.imshow(grid, cmap="viridis", vmin=0, vmax=1, origin="upper")
    fig.colorbar(im, ax=ax, label="PE-array busy fraction (0-1)")
    ax.set_title(node_heatmap_title(r))
    ax.set_xlabel("mesh column (node index)")
    ax.set_ylabel("mesh row (node index)")
    return _png(fig)


LINK_OFFSET = 0.18  # each direction of a link is drawn this far to the right of its travel (mesh units)


def link_segments(links: dict) -> list[tuple[list[tuple[float, float]], float]]:
    """One drawn segment per directed link, shifted to the right-hand side of travel so A->B and B->A never overlap."""
    out = []
    for name, v in links.items():
        m = _LINK_RE.match(name)
        if not m:
            continue
        r0, c0, r1, c1 = (int(g) for g in m.groups())
        dr, dc = r1 - r0, c1 - c0  # unit step of travel in (row, col)
        # right-hand normal of travel in plot coordinates (x = col, y = row, y grows downwards)
        nx, ny = -dr * LINK_OFFSET, dc * LINK_OFFSET
        trim = 0.15
        start = (c0 + dc * trim + nx, r0 + dr * trim + ny)
        end = (c1 - dc * trim + nx, r1 - dr * trim + ny)
        out.append(([start, end], v["busy_fraction"]))
    return out


def _link_heatmap(r: dict) -> bytes:
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    rows, cols = r["mesh_rows"], r["mesh_cols"]
    fig, ax = plt.subplots(figsize=(6, 5.2))
    drawn = link_segments(r["links"])
    segments, loads = [s for s, _ in drawn], [x for _, x in drawn]
    lines = LineCollection(segments, cmap="inferno_r", linewidths=1.6)
    lines.set_array(loads)
    lines.set_clim(0, max(loads + [1e-9]))
    ax.add_collection(lines)
    ax.scatter([c for _ in range(rows) for c in range(cols)], [rr for rr in range(rows) for _ in range(cols)],
               s=10, color="#999999", zorder=3)
    fig.colorbar(lines, ax=ax, label="link busy fraction (0-1)")
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_title("Link busy fraction, each direction on its own side")
    ax.set_xlabel("mesh column (node index); a link is drawn right of its direction of travel")
    ax.set_ylabel("mesh row (node index)")
    return _png(fig)


def _latency_bars(r: dict) -> bytes:
    import matplotlib.pyplot as plt

    labels = ["total"] + [s["name"] for s in r["segments"]]
    data = [r["latency_breakdown"]["breakdown_cycles"]] + [s["breakdown_cycles"] for s in r["segments"]]
    present = {c for d in data for c in d}
    cats = [c for c in CATEGORY_COLOURS if c in present] + sorted(present - set(CATEGORY_COLOURS))
    ms = 1e3 / r["clock_hz"]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.5))
    left = [0.0] * len(labels)
    for cat in cats:
        vals = [d.get(cat, 0) * ms for d in data]
        ax.barh(labels, vals, left=left, label=cat, color=CATEGORY_COLOURS.get(cat))
        left = [a + b for a, b in zip(left, vals)]
    ax.invert_yaxis()
    ax.set_xlabel("latency on the critical path (ms)")
    ax.set_ylabel("run total and each segment")
    ax.set_title("Latency breakdown by critical-path category")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def _energy_bars(r: dict) -> bytes:
    import matplotlib.pyplot as plt

    parts = r["energy"]["breakdown_pj"]
    names = list(parts)
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(names) + 1.4))
    vals = [parts[n] * 1e-6 for n in names]
    colours = [ENERGY_COLOURS.get(n.replace("static_", "").split("_")[0], "#777777") for n in names]
    ax.barh(names, vals, color=colours)
    ax.invert_yaxis()
    ax.set_xlabel("energy of the run (uJ)")
    ax.set_ylabel("action or static term")
    ax.set_title(f"Energy by action and static term (total {_energy(r['energy']['total_pj'])})")
    return _png(fig)
