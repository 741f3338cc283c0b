"""``python -m simulator``: run a Program, re-render its report, or resolve a hardware config.

    python -m simulator run --program P --hw H --out DIR [--set key=value ...] [--trace] [--trace-units pe,link]
        [--mode full|block-reuse] [--network worm|transfer|flit]
    python -m simulator report --run DIR      (re-render report.md, PNGs and units.csv from result.json)
    python -m simulator hw --hw H [--set key=value ...]   (resolve a config: print as JSON its name, digest
        and its family's kind, default_method and reuse_plan)

``run`` and ``report`` look the program's (result's) kind up in :mod:`simulator.families`: PIM
meshes run on ``simulator.families.pim_mesh``, crossbar chips on ``simulator.families.crossbar_chip``.
The NoC under synthetic traffic is a study: ``python -m studies noc-synth``.
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
    g = sub.add_parser("report", help="re-render report.md and PNGs from a run folder's result.json")
    g.add_argument("--run", required=True)
    h = sub.add_parser("hw", help="resolve a hardware config with overrides; print its name, sha256 and family as JSON")
    h.add_argument("--hw", required=True)
    h.add_argument("--set", action="append", default=[])
    return p


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.cmd == "run":
        from simulator.runner import run_command

        run_command(args)
    elif args.cmd == "report":
        from simulator.runner import report_command

        report_command(args)
    elif args.cmd == "hw":
        import json

        from contracts.hardware.loader import hw_digest, load_hw
        from simulator.families import family

        hw = load_hw(args.hw, args.set)
        print(json.dumps({"name": hw.name, "digest": hw_digest(hw), **family(hw.kind).describe()}, sort_keys=True))


if __name__ == "__main__":
    main()
