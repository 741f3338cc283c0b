"""``python -m simulator``: run a Program, or drive the NoC with synthetic traffic.

    python -m simulator run --program P --hw H --out DIR [--set key=value ...] [--trace] [--trace-units pe,link]
        [--mode full|block-reuse] [--network worm|transfer|flit]
    python -m simulator noc --k 16 --traffic uniform --rate 0.1 --packet-flits 16 [--flit-level] [--json] [--sweep]
    python -m simulator report --run DIR      (re-render report.md, PNGs and units.csv from result.json)
    python -m simulator hw --hw H [--set key=value ...]   (resolve a config: print name, kind, digest as JSON)

``run`` dispatches on the program's kind: PIM meshes to ``simulator.families.pim_mesh.units``,
crossbar chips to ``simulator.families.crossbar_chip.units``.
"""

from __future__ import annotations

import argparse

from contracts.errors import OneLineArgumentParser, cli_entry


def build_parser() -> argparse.ArgumentParser:
    p = OneLineArgumentParser(prog="python -m simulator", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="simulate a program.json on a hardware config")
    r.add_argument("--program", required=True)
    r.add_argument("--hw", required=True)
    r.add_argument("--out", required=True, help="run folder: result.json, meta.json, report.md, PNGs")
    r.add_argument("--set", action="append", default=[], help="hardware override key.path=value")
    r.add_argument("--trace", action="store_true", help="also write a Chrome/Perfetto trace.json")
    r.add_argument("--trace-units", default=None, metavar="LIST",
                   help="tracks of trace.json (implies --trace): kinds program,pe,acu,ni,bank,router,link and "
                        "unit-name globs with * and ? (brackets literal), e.g. pe,link or 'node[0][*].pe,router'")
    r.add_argument("--mode", default="full", choices=["full", "block-reuse"], help="simulate every block, or reuse the timing of identical blocks")
    r.add_argument("--network", default="worm", choices=["worm", "transfer", "flit"],
                   help="NoC granularity: worm = one worm per transfer (default), transfer = per packet, flit = per flit")
    n = sub.add_parser("noc", help="synthetic-traffic NoC measurement")
    n.add_argument("--k", type=int, default=16, help="mesh side")
    n.add_argument("--traffic", default="uniform", choices=["uniform", "transpose", "bitcomp", "neighbor", "hotspot"])
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
    n.add_argument("--hotspot-fraction", type=float, default=0.1, help="share of packets sent to the centre node (hotspot)")
    g = sub.add_parser("report", help="re-render report.md and PNGs from a run folder's result.json")
    g.add_argument("--run", required=True)
    h = sub.add_parser("hw", help="resolve a hardware config with overrides; print its name, kind and sha256 as JSON")
    h.add_argument("--hw", required=True)
    h.add_argument("--set", action="append", default=[])
    return p


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.cmd == "run":
        from simulator.runner import run_command

        run_command(args)
    elif args.cmd == "noc":
        from studies.noc_synth import noc_command

        noc_command(args)
    elif args.cmd == "report":
        from simulator.runner import report_command

        report_command(args)
    elif args.cmd == "hw":
        import json

        from contracts.hardware.loader import hw_digest, load_hw

        hw = load_hw(args.hw, args.set)
        print(json.dumps({"name": hw.name, "kind": hw.kind, "digest": hw_digest(hw)}, sort_keys=True))


if __name__ == "__main__":
    main()
