"""PNG of every reproduced figure, drawn like the paper's, with the paper's values overlaid.

Each ``plot_<figure>(path, rows, results)`` reads the comparison rows (ours and paper, from
:mod:`studies.reproduce.core`) and the points' results; no measurement happens here. Figures
without their own drawing get :func:`plot_generic` (ours vs paper per metric).
"""

from __future__ import annotations

import io
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from contracts.atomic import write_bytes  # noqa: E402

PAPER_STYLE = {"marker": "D", "color": "black", "linestyle": "none", "zorder": 5, "label": "paper"}


def _finish(fig, ax, path: str, title: str, xlabel: str, ylabel: str, title_size: int = 10) -> None:
    """Axis labels, legend and title of a one-panel figure, then save it."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=title_size)
    _save(fig, path)


def _save(fig, path: str) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    write_bytes(path, buf.getvalue())


def plot_generic(path: str, title: str, rows, results=None) -> None:
    """Bars of ours and diamonds of the paper for each numeric metric (relative scale: ours / paper)."""
    num = [r for r in rows if r.mode in ("rel", "above", "below") and r.ours is not None]
    qual = [r for r in rows if r.mode in ("true", "exact")]
    fig, axes = plt.subplots(1, 2 if qual else 1, figsize=(12 if qual else 8, max(3, 0.32 * max(len(num), len(qual)) + 1.5)),
                             squeeze=False)
    ax = axes[0][0]
    if num:
        y = list(range(len(num)))
        ax.barh(y, [r.ours / r.paper if r.paper else 0 for r in num], color=["tab:blue" if r.within else "tab:red" for r in num],
                label="ours / paper")
        ax.plot([1.0] * len(num), y, **PAPER_STYLE)
        for r, yy in zip(num, y):
            lo, hi = (1 - r.tolerance, 1 + r.tolerance) if r.mode == "rel" else ((1 - r.tolerance, 1) if r.mode == "above" else (0, 1))
            ax.plot([lo, hi], [yy, yy], color="grey", lw=4, alpha=0.4)
        ax.set_yticks(y, [r.metric for r in num], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("ours / paper (grey: tolerance)")
        ax.legend(fontsize=7)
    else:
        ax.axis("off")
    if qual:
        ax2 = axes[0][1]
        y = list(range(len(qual)))
        ax2.barh(y, [1] * len(qual), color=["tab:green" if r.within else "tab:red" for r in qual])
        ax2.set_yticks(y, [f"{r.metric}: ours {r.ours:g}, paper {r.paper:g}" if r.ours is not None else r.metric
                           for r in qual], fontsize=7)
        ax2.invert_yaxis()
        ax2.set_xticks([])
        ax2.set_title("statements of the paper (green: holds)", fontsize=8)
    fig.suptitle(title, fontsize=10)
    if qual:
        fig.subplots_adjust(wspace=1.0)
    _save(fig, path)


def _by_metric(rows):
    return {r.metric: r for r in rows}


def plot_allspark_fig11(path, title, rows, results):
    from studies.reproduce.allspark_fig11 import speedups

    sp = speedups(results)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(sp) + 2), 4))
    width = 0.2
    xs = range(len(sp))
    # Fig. 11 normalises to B: speed-up of each method w.r.t. B = (B latency) / (method latency)
    for i, (m, color) in enumerate((("B", "tab:grey"), ("P", "tab:orange"), ("AH", "tab:green"), ("allspark", "tab:blue"))):
        vals = [1.0 if m == "B" else (r["B"] if m == "allspark" else r["B"] / r[m]) for r in sp]
        ax.bar([x + (i - 1.5) * width for x in xs], vals, width, label=m, color=color)
    by = _by_metric(rows)
    for fam, ls in (("ViTs", "--"), ("local-attention", ":")):
        r = by.get(f"{fam} average speed-up over B (x)")
        if r:
            ax.axhline(r.paper, color="black", ls=ls, lw=1, label=f"paper average over B, {fam} ({r.paper:g}x)")
    ax.set_yscale("log")
    ax.set_xticks(list(xs), [r["model_img"] for r in sp], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("speed-up w.r.t. B (log)")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    _save(fig, path)


def plot_allspark_fig12(path, title, rows, results):
    keys = [k for k in results if not k.endswith("-global")]
    groups = sorted({k.rsplit("-", 1)[0] for k in keys})
    fig, axes = plt.subplots(1, len(groups), figsize=(3.2 * len(groups), 3.6), squeeze=False)
    for ax, g in zip(axes[0], groups):
        stages = sorted(results[f"{g}-allspark"]["utilisation_stages"])
        width = 0.2
        for i, m in enumerate(("allspark", "B", "P", "AH")):
            r = results[f"{g}-{m}"]
            vals = [r["utilisation_stages"].get(s, 0) for s in stages] + [r["utilisation_overall"]]
            ax.bar([x + (i - 1.5) * width for x in range(len(vals))], vals, width, label=m)
        model = g.rsplit("-", 1)[0]
        ref = 0.96 if model == "swin-b" else 0.74
        ax.axhline(ref, color="black", ls="--", lw=1, label=f"paper overall > {ref:.0%}")
        ax.set_xticks(range(len(stages) + 1), [f"s{s}" for s in stages] + ["all"])
        ax.set_ylim(0, 1.05)
        ax.set_title(g, fontsize=9)
    axes[0][0].set_ylabel("node utilisation (Eq. 21)")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    _save(fig, path)


def _stacked(ax, labels, parts: dict[str, list[float]]):
    bottom = [0.0] * len(labels)
    for name, vals in parts.items():
        ax.bar(labels, vals, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, vals)]


def plot_allspark_fig13(path, title, rows, results):
    methods = [m for m in ("allspark", "B", "P", "AH") if m in results]
    base = results["allspark"]["cycles"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    _stacked(axes[0], methods, {
        "compute": [results[m]["compute_cycles"] / base for m in methods],
        "feature-map transfer": [results[m]["transfer_cycles"] / base for m in methods],
        "weight sharing": [results[m]["weight_share_cycles"] / base for m in methods]})
    axes[0].set_ylabel("predicted latency / Allspark's")
    axes[0].set_title("(a) breakdown, scheduler cost model", fontsize=9)
    axes[0].legend(fontsize=7)
    sim = results["allspark"].get("simulated")
    if sim:
        b = sim["breakdown_cycles"]
        axes[1].bar(list(b), [v / sim["cycles"] for v in b.values()], color="tab:blue")
        axes[1].set_title(f"Allspark, SimPy critical-path attribution ({sim['cycles']:,} cycles)", fontsize=9)
        axes[1].tick_params(axis="x", labelsize=7)
    else:
        axes[1].axis("off")
        axes[1].text(0.5, 0.5, "simulation: full run only", ha="center")
    fig.suptitle(title + " (paper: transfer + weight sharing of Allspark = 13-41 % of the others')", fontsize=9)
    _save(fig, path)


def plot_allspark_batch(path, title, rows, results):
    from studies.reproduce.allspark_batch import per_image

    p = per_image(results)
    base = p[0]["total"]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    _stacked(ax, [f"BS={x['batch']}" for x in p], {
        "compute": [x["compute"] / base for x in p], "feature-map transfer": [x["transfer"] / base for x in p],
        "weight sharing": [x["weight_share"] / base for x in p]})
    ax.set_ylabel("average latency per image / BS=1")
    ax.legend(fontsize=7)
    ax.set_title(title + "\n(paper: weight sharing per image falls with BS, the rest is flat)", fontsize=9)
    _save(fig, path)


def plot_allspark_table6(path, title, rows, results):
    from studies.reproduce.allspark_table6 import BWS, relative

    rel = relative(results)
    by = _by_metric(rows)
    x = [0.9, 1.12, 1.49, 3.35]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot(x, [rel[b] for b in BWS], "o-", label="ours")
    ax.plot(x, [by[f"{b} speed-up relative to 3.35 TB/s"].paper for b in BWS], **PAPER_STYLE)
    _finish(fig, ax, path, title, "aggregate memory bandwidth (TB/s)", "speed-up / speed-up at 3.35 TB/s", title_size=10)


def plot_trex_fig11_12(path, title, rows, results):
    from studies.reproduce.trex_fig11_12 import ROWS, block_edap_shares

    names = [r for r in ROWS if r in results]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    blocks = ("attention", "tb", "projection", "mlp")
    shares = {r: block_edap_shares(results[r]) for r in names}
    _stacked(axes[0], names, {b: [shares[r].get(b, 0) for r in names] for b in blocks})
    axes[0].set_ylabel("share of EDAP (%), E x D x A per block")
    axes[0].set_title("Fig. 11: EDAP by block (paper: TB < 1 %)", fontsize=9)
    axes[0].legend(fontsize=7)
    base = results[names[0]]["by_circuit"]
    for ax, q, lab in ((axes[1], "energy_mj", "energy (mJ)"), (axes[2], "delay_ms", "delay (ms)")):
        circuits = [c for c in base[q] if c != "wait"]
        _stacked(ax, names, {c: [results[r]["by_circuit"][q].get(c, 0) for r in names] for c in circuits})
        ax.set_ylabel(lab)
        ax.set_title(f"Fig. 12: {lab} by circuit", fontsize=9)
        ax.legend(fontsize=6)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(title, fontsize=10)
    _save(fig, path)


def plot_trex_fig15(path, title, rows, results):
    from studies.reproduce.trex_fig15 import CHIPS, ROWS

    names = [r for r in ROWS if f"{r} fefet-64" in results]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    width = 0.25
    for ax, (lab, f) in zip(axes, (("EDP (mJ x ms)", lambda t: t["energy_mj"] * t["delay_ms"]),
                                  ("area (mm^2)", lambda t: t["area_mm2"]),
                                  ("EDAP", lambda t: t["edap_mj_ms_mm2"]))):
        for i, chip in enumerate(CHIPS):
            ax.bar([x + (i - 1) * width for x in range(len(names))],
                   [f(results[f"{r} {chip}"]["totals"]) for r in names], width, label=chip)
        ax.set_xticks(range(len(names)), names)
        ax.set_title(lab, fontsize=9)
    axes[0].legend(fontsize=7)
    fig.suptitle(title + " (paper: EDP FeFET ~ SRAM, area and EDAP FeFET < SRAM)", fontsize=9)
    _save(fig, path)


def plot_trex_reuse_accuracy(path, title, rows, results):
    pts = sorted(results["vit-tiny-digits"]["points"], key=lambda r: r["n_reuse"])
    base = pts[0]["accuracy"]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot([p["n_reuse"] / p["n_encoders"] for p in pts], [p["accuracy"] / base for p in pts], "o-",
            label="ours (vit-tiny-digits)")
    paper = [r for r in rows if r.metric.startswith("relative accuracy")]
    fr = {"1/4": 0.25, "1/2": 0.5, "3/4": 0.75}
    ax.plot([0] + [fr[r.metric.split("= ")[1]] for r in paper], [1.0] + [r.paper for r in paper], **PAPER_STYLE)
    _finish(fig, ax, path, title, "N_reuse / N_encoders", "ideal accuracy / baseline's", title_size=9)


def plot_trex_comparisons(path, title, rows, results):
    from studies.reproduce.trex_comparisons import reductions

    red = reductions(results)
    names = [k for k in red if k != "baseline"]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.bar(names, [red[k]["edap_reduction"] for k in names], color="tab:blue", label="ours")
    paper = {"ReTransformer": "ReTransformer EDAP reduction (x)", "WS=2": "WS=2 EDAP reduction (x)",
             "P=0.3": "token pruning P=0.3 EDAP reduction (x)", "P=0.5": "token pruning P>0.3 largest EDAP reduction (x)"}
    by = _by_metric(rows)
    xs = [names.index(k) for k in paper if k in names]
    ax.plot(xs, [by[paper[k]].paper for k in paper if k in names], **PAPER_STYLE)
    ax.set_ylabel("EDAP reduction over DeiT-S (x)")
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    _save(fig, path)


def plot_trex_table4(path, title, rows, results):
    """Table IV as grouped bars: energy, delay, area, EDAP, TOPS/W, TOPS/mm^2 of each row over DeiT-S's paper value."""
    from studies.reproduce.trex_table4 import FIGURES, ROWS

    by = _by_metric(rows)
    fig, axes = plt.subplots(1, len(FIGURES), figsize=(3 * len(FIGURES), 3.4))
    names = list(ROWS)
    for ax, (metric, _) in zip(axes, FIGURES):
        ref = by[f"DeiT-S {metric}"].paper
        ax.bar(names, [by[f"{r} {metric}"].ours / ref for r in names], color="tab:blue", label="ours")
        ax.plot(names, [by[f"{r} {metric}"].paper / ref for r in names], **PAPER_STYLE)
        ax.set_title(metric, fontsize=9)
        ax.tick_params(axis="x", labelsize=6, rotation=45)
    axes[0].set_ylabel("over the paper's DeiT-S row")
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    _save(fig, path)


PLOTS = {
    "trex-table4": plot_trex_table4,
    "allspark-fig11": plot_allspark_fig11, "allspark-fig12": plot_allspark_fig12, "allspark-fig13": plot_allspark_fig13,
    "allspark-batch": plot_allspark_batch, "allspark-table6": plot_allspark_table6, "trex-fig11-12": plot_trex_fig11_12,
    "trex-fig15": plot_trex_fig15, "trex-reuse-accuracy": plot_trex_reuse_accuracy,
    "trex-comparisons": plot_trex_comparisons,
}


def plot(figure: str, folder: str, title: str, rows, results) -> str:
    path = os.path.join(folder, f"{figure}.png")
    PLOTS.get(figure, lambda p, t, r, res: plot_generic(p, t, r, res))(path, title, rows, results)
    return path
