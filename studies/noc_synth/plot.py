"""The latency-load curve of a synthetic-traffic sweep, as PNG bytes (the only matplotlib user of the study).

Drawn: average packet latency against offered load for the unsaturated runs,
the closed-form zero-load latency, and the saturation rate found by the sweep.
"""

from __future__ import annotations

import io

from studies.noc_synth.measure import SynthResult


def sweep_png(results: list[SynthResult], sat_rate: float | None, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in results if not r.saturated]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.plot([r.offered_flits_per_node_cycle for r in ok], [r.avg_latency_cycles for r in ok], "o-", label="average packet latency")
    if ok:
        ax.axhline(ok[0].zero_load_latency_cycles, color="grey", ls=":", label="zero-load (closed form)")
    if sat_rate is not None:
        ax.axvline(sat_rate, color="red", ls="--", label=f"saturation ~ {sat_rate:g}")
    ax.set_xlabel("offered load (flits/node/cycle)")
    ax.set_ylabel("latency (cycles)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
