"""Flags and output of ``python -m studies noc-synth``: one run or a sweep, printed or as JSON, files written.

What a run or a sweep measures is described in :mod:`studies.noc_synth`; this
module only checks the arguments, calls :mod:`.measure` (and :mod:`.plot` for
the sweep's PNG) and prints.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

from contracts.atomic import write_bytes, write_text
from contracts.errors import UserError
from studies.noc_synth.traffic import DEFAULT_HOTSPOT_FRACTION, TRAFFIC_PATTERNS

MAX_SWEEP_POINTS = 1000


def add_arguments(n: argparse.ArgumentParser) -> None:
    """The flags of the ``noc-synth`` subcommand."""
    n.add_argument("--k", type=int, default=16, help="mesh side")
    n.add_argument("--traffic", default="uniform", choices=list(TRAFFIC_PATTERNS))
    n.add_argument("--rate", type=float, default=0.1, help="injection rate (packets/node/cycle x packet flits = flits/node/cycle)")
    n.add_argument("--packet-flits", type=int, default=16)
    n.add_argument("--flit-level", action="store_true")
    n.add_argument("--cycles", type=int, default=20000)
    n.add_argument("--seed", type=int, default=1)
    n.add_argument("--hw", default="pim-dram-16x16")
    n.add_argument("--set", action="append", default=[])
    n.add_argument("--json", action="store_true")
    n.add_argument("--sweep", action="store_true", help="sweep the rate and draw a latency-load curve")
    n.add_argument("--out", default=None)
    n.add_argument("--warmup-cycles", type=int, default=None, help="warm-up before measuring (default max(1000, cycles/4))")
    n.add_argument("--sweep-step", type=float, default=0.02, help="rate increment of --sweep (flits/node/cycle)")
    n.add_argument("--max-rate", type=float, default=1.0, help="highest rate --sweep tries (flits/node/cycle)")
    n.add_argument("--hotspot-fraction", type=float, default=DEFAULT_HOTSPOT_FRACTION,
                   help="share of packets sent to the centre node (hotspot)")


def _format(r) -> str:
    lat = f"{r.avg_latency_cycles:.2f}" if math.isfinite(r.avg_latency_cycles) else "inf"
    return (
        f"{r.mode:8s} k={r.k} {r.traffic:9s} rate={r.rate_flits_per_node_cycle:g} flits/node/cycle  "
        f"latency={lat} cycles (zero-load {r.zero_load_latency_cycles:.2f})  "
        f"accepted={r.accepted_flits_per_node_cycle:.4f} flits/node/cycle  "
        f"packets={r.packets_delivered}/{r.packets_measured}{'  SATURATED' if r.saturated else ''}"
    )


def _check_arguments(args, hw) -> None:
    """Refuse arguments that would never finish (a sweep of 10**300 points) or mean nothing (a NaN rate)."""
    from contracts.hardware.pim_mesh import MAX_MESH_SIDE
    from studies.noc_synth.measure import check_cycles, check_packet_flits

    if not 2 <= args.k <= MAX_MESH_SIDE:
        raise UserError(f"--k {args.k}: the mesh side must lie between 2 and {MAX_MESH_SIDE} nodes")
    if not math.isfinite(args.rate):
        raise UserError(f"--rate {args.rate} is not a number of flits/node/cycle")
    check_packet_flits(hw, args.packet_flits)  # before a progress bar starts (it shares stderr)
    check_cycles(args.cycles)
    if args.seed < 0:
        raise UserError(f"--seed {args.seed} must not be negative")
    if args.warmup_cycles is not None and args.warmup_cycles < 0:
        raise UserError(f"--warmup-cycles {args.warmup_cycles} must not be negative")
    if args.sweep:
        step, top = args.sweep_step, args.max_rate
        if not (math.isfinite(step) and step > 0 and math.isfinite(top) and 0 < top <= 1):
            raise UserError(f"--sweep-step {step} and --max-rate {top}: the step must be positive and the top rate in (0, 1]")
        if top / step > MAX_SWEEP_POINTS:
            raise UserError(f"--sweep-step {step} up to --max-rate {top} is {top / step:.3g} points; at most "
                            f"{MAX_SWEEP_POINTS} (raise the step)")


def noc_command(args: argparse.Namespace) -> None:
    """Entry point of ``python -m studies noc-synth`` (flags from :func:`add_arguments`)."""
    from studies.noc_synth.measure import mesh_config, run_synthetic, sweep, sweep_csv

    hw = mesh_config(args.hw, args.set)
    mode = "flit" if args.flit_level else "transfer"
    warm = args.warmup_cycles
    hot = args.hotspot_fraction
    if not 0 <= hot <= 1:
        raise UserError(f"--hotspot-fraction {hot} must lie between 0 and 1")
    _check_arguments(args, hw)
    if args.sweep:
        from studies.noc_synth.plot import sweep_png

        t0 = time.perf_counter()
        results, sat = sweep(hw, args.k, args.traffic, args.packet_flits, mode, args.cycles, warm, args.seed,
                             args.sweep_step, args.max_rate, hot, progress=True)
        out = args.out or os.path.join("runs", "noc")
        stem = f"{args.traffic}-k{args.k}-{mode}"
        write_text(os.path.join(out, f"noc_sweep-{stem}.csv"), sweep_csv(results))
        png = sweep_png(results, sat, f"{args.traffic} traffic, {args.k}x{args.k} mesh, {mode} level")
        write_bytes(os.path.join(out, f"noc_latency_load-{stem}.png"), png)
        if args.json:
            print(json.dumps({"runs": [r.as_dict() for r in results], "saturation_rate": sat}, sort_keys=True, indent=1))
        else:
            for r in results:
                print(_format(r))
            print(f"saturation rate: {sat if sat is not None else '> ' + str(args.max_rate)} flits/node/cycle")
            print(f"wrote {out}/noc_sweep-{stem}.csv and noc_latency_load-{stem}.png ({time.perf_counter() - t0:.1f} s)")
        return
    r = run_synthetic(hw, args.k, args.traffic, args.rate, args.packet_flits, mode, args.cycles, warm, args.seed,
                      hot, progress=True)
    if args.json:
        print(json.dumps(r.as_dict(), sort_keys=True, indent=1))
    else:
        print(_format(r))
        print(f"simulated {r.simulated_cycles} cycles with {r.simpy_events} SimPy events in {r.wall_s:.2f} s")
