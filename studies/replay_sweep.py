"""Trace-replay study: one recorded Swin-B program over a sweep of link bandwidth and DRAM timing.

The program is scheduled ONCE (for the default 16x16 config) and replayed
unchanged on every hardware variant, as ``make replay`` does: the schedule
stays fixed while the hardware changes, so the sweep shows how sensitive that
schedule is to the NoC link width (``noc.flit_bits``: bits per link per cycle)
and to the DRAM core timing (``dram.t_rcd_cycles``, ``t_cl_cycles``,
``t_wr_cycles``, ``t_rp_cycles`` scaled together). Each point is an ordinary
``--set``-style override of the config.

    python studies/replay_sweep.py --out runs/study [--program runs/.../program.json]
        [--flit-bits 32,64,128,256] [--dram-scale 0.5,1,2] [--mode block-reuse|full]

Writes ``sweep.csv`` (one row per point; energy per inference = dynamic +
static x simulated time, so a slower point costs more) and ``sweep.png``
(latency against link width, one line per DRAM timing) into ``--out``. Block-reuse mode is the
default: it gives the same cycles as full mode (tested) in a fraction of the
time.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from contracts.atomic import write_bytes, write_text  # noqa: E402
from contracts.errors import UserError, cli_entry  # noqa: E402
from contracts.hardware.loader import load_hw  # noqa: E402

log = logging.getLogger("replay_sweep")

DEFAULT_HW = "pim-dram-16x16"
DEFAULT_PROGRAM = None  # the Swin-B 224 program of `make sim MODEL=swin-b`, found through the pipeline
SWIN_B = ["--model", "swin-b", "--img", "224", "--hw", DEFAULT_HW]
DRAM_TIMINGS = ("t_rcd_cycles", "t_cl_cycles", "t_wr_cycles", "t_rp_cycles")
COLUMNS = [
    "flit_bits", "dram_scale", "t_rcd_cycles", "t_cl_cycles", "t_wr_cycles", "t_rp_cycles", "latency_cycles",
    "latency_ms", "contention_free_cycles", "contention_cycles", "compute_cycles", "fmap_transfer_cycles",
    "weight_share_cycles", "memory_cycles", "energy_uj", "static_energy_uj", "noc_energy_uj", "dram_energy_uj", "edp_j_s",
    "wall_s",
]


def default_program() -> str:
    """Where the pipeline keeps the Swin-B 224 program (its run folder is named by the resolved inputs)."""
    proc = subprocess.run([sys.executable, "-m", "pipeline", "schedule", *SWIN_B, "--print-run-dir"], cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise UserError(f"could not locate the Swin-B run folder: {proc.stderr.strip() or 'pipeline failed'}")
    return os.path.join(REPO, proc.stdout.strip(), "program.json")


def ensure_program(path: str | None) -> str:
    """The recorded Swin-B program; schedule it once through the pipeline if it is not there yet."""
    if path is not None:
        if not os.path.isfile(path):
            raise UserError(f"program file {path!r} does not exist")
        return path
    path = default_program()
    if os.path.isfile(path):
        return path
    log.info("no recorded Swin-B program yet: scheduling one (python -m pipeline schedule --model swin-b)")
    proc = subprocess.run([sys.executable, "-m", "pipeline", "schedule", *SWIN_B], cwd=REPO)
    if proc.returncode != 0 or not os.path.isfile(path):
        raise UserError("could not produce the Swin-B program to replay (scheduling it failed)")
    return path


def overrides_for(base, flit_bits: int, dram_scale: float) -> list[str]:
    sets = [f"noc.flit_bits={flit_bits}"]
    for name in DRAM_TIMINGS:
        sets.append(f"dram.{name}={max(0, round(getattr(base.dram, name) * dram_scale))}")
    return sets


def run_point(program: str, hw: str, sets: list[str], mode: str) -> dict:
    from simulator.runner import simulate_files

    t0 = time.perf_counter()
    cfg, result, _meta, _events = simulate_files(program, hw, sets, mode=mode)
    lb = result["latency_breakdown"]["breakdown_cycles"]
    en = result["energy"]["by_component_pj"]  # dynamic + static per component
    return {
        "flit_bits": cfg.noc.flit_bits,
        **{name: getattr(cfg.dram, name) for name in DRAM_TIMINGS},
        "latency_cycles": result["latency"]["cycles"],
        "latency_ms": result["latency"]["ms"],
        "contention_free_cycles": result["prediction"]["contention_free_cycles"],
        "contention_cycles": result["prediction"]["contention_cycles"],
        "compute_cycles": lb.get("compute", 0),
        "fmap_transfer_cycles": lb.get("fmap_transfer", 0),
        "weight_share_cycles": lb.get("weight_share", 0),
        "memory_cycles": lb.get("memory", 0),
        "energy_uj": result["energy"]["per_inference_pj"] * 1e-6,
        "static_energy_uj": result["energy"]["static_pj"] * 1e-6,
        "edp_j_s": result["energy"]["edp_j_s"],
        "noc_energy_uj": en.get("noc", 0.0) * 1e-6,
        "dram_energy_uj": en.get("dram", 0.0) * 1e-6,
        "wall_s": round(time.perf_counter() - t0, 2),
    }


def plot(rows: list[dict], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for scale in sorted({r["dram_scale"] for r in rows}):
        pts = sorted((r["flit_bits"], r["latency_ms"], r["contention_cycles"] / max(r["latency_cycles"], 1))
                     for r in rows if r["dram_scale"] == scale)
        axes[0].plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"DRAM timing x{scale:g}")
        axes[1].plot([p[0] for p in pts], [100 * p[2] for p in pts], marker="o", label=f"DRAM timing x{scale:g}")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("link width noc.flit_bits (bits/cycle)")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("simulated latency (ms)")
    axes[1].set_ylabel("contention share of latency (%)")
    fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


@cli_entry
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--program", default=DEFAULT_PROGRAM)
    p.add_argument("--hw", default=DEFAULT_HW)
    p.add_argument("--flit-bits", default="32,64,128,256")
    p.add_argument("--dram-scale", default="0.5,1,2")
    p.add_argument("--mode", default="block-reuse", choices=["full", "block-reuse"])
    a = p.parse_args(argv)
    program = ensure_program(a.program)
    base = load_hw(a.hw)
    flits = [int(x) for x in _floats(a.flit_bits)]
    scales = _floats(a.dram_scale)
    rows = []
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    # one bar over every point, drawn only on a terminal (disable=None): a log file gets the log lines alone;
    # log lines go through tqdm so they never break the bar
    points = [(scale, fb) for scale in scales for fb in flits]
    with logging_redirect_tqdm(), tqdm(points, desc="replay points", unit="point", leave=False, disable=None) as bar:
        for scale, fb in bar:
            row = run_point(program, a.hw, overrides_for(base, fb, scale), a.mode)
            row["dram_scale"] = scale
            rows.append(row)
            log.info("flit_bits=%d dram x%g: %d cycles (%.3f ms), contention %d cycles, energy %.4g uJ", fb, scale,
                     row["latency_cycles"], row["latency_ms"], row["contention_cycles"], row["energy_uj"])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: row[k] for k in COLUMNS})
    write_text(os.path.join(a.out, "sweep.csv"), buf.getvalue())
    name = os.path.basename(os.path.dirname(os.path.abspath(program)))
    write_bytes(os.path.join(a.out, "sweep.png"), plot(rows, f"Replay of {name} on {a.hw}"))
    log.info("wrote %s and %s", os.path.join(a.out, "sweep.csv"), os.path.join(a.out, "sweep.png"))


if __name__ == "__main__":
    main()
