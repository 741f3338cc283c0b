"""``python -m scheduler``: solve a schedule, or plan TReX attention reuse.

    python -m scheduler solve --workload W --hw H --out program.json [--method allspark|B|P|AH] [--batch N]
    python -m scheduler trex-plan --workload W --hw H --target-delay-ms 7 --out plan.json [--pattern SPEC]
    python -m scheduler reuse-specs --workload W --out specs.json [--pattern FAMILY]
    python -m scheduler check --hw H [--set k=v ...] [--method M] [--batch N] [--target-delay-ms T] [--reuse SPEC]

``check`` validates every argument of a run in about a second (no workload,
no solver), so ``python -m pipeline`` refuses a bad ``BATCH``, ``METHOD``,
``SET`` or ``REUSE`` before tracing starts.

``solve``, ``trex-plan`` and ``check`` look the hardware config's kind up in
:mod:`scheduler.families`: PIM meshes go to ``scheduler.allspark``, crossbar
chips to ``scheduler.crossbar``.
"""

from __future__ import annotations

import argparse

from contracts.errors import OneLineArgumentParser, UserError, cli_entry
from scheduler.families import scheduler_family


def build_parser() -> argparse.ArgumentParser:
    p = OneLineArgumentParser(prog="python -m scheduler", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("solve", help="schedule a workload on a hardware config and write program.json")
    s.add_argument("--workload", required=True, help="workload.json from 'python -m workloads trace'")
    s.add_argument("--hw", required=True, help="hardware config name (hw_configs/<name>.yaml) or path")
    s.add_argument("--out", required=True, help="program.json to write")
    s.add_argument("--method", default="allspark", help="allspark | B | P | AH (PIM); trex | retransformer (crossbar)")
    s.add_argument("--batch", type=int, default=1, help="batch size N_bt")
    s.add_argument("--set", action="append", default=[], help="hardware override key.path=value")
    s.add_argument("--time-limit", type=float, default=60.0, help="CP-SAT time limit in seconds")
    s.add_argument("--summary", action="store_true", help="print the schedule summary tables")
    t = sub.add_parser("trex-plan", help="TReX Algorithm 1: smallest N_reuse meeting a target delay")
    t.add_argument("--workload", required=True)
    t.add_argument("--hw", required=True)
    t.add_argument("--target-delay-ms", type=float, required=True)
    t.add_argument("--pattern", default=None, help="reuse pattern family/params, e.g. strided:sl=2,start=5")
    t.add_argument("--out", required=True)
    t.add_argument("--set", action="append", default=[])
    r = sub.add_parser("reuse-specs", help="Algorithm 1's default reuse pattern for every N_reuse of a workload")
    r.add_argument("--workload", required=True, help="workload.json of the model without reuse")
    r.add_argument("--pattern", default=None, help="family (and parameters) to keep, e.g. strided:sl=3")
    r.add_argument("--out", required=True)
    c = sub.add_parser("check", help="check a run's arguments (hardware, overrides, method, batch, reuse) in a second")
    c.add_argument("--hw", required=True)
    c.add_argument("--set", action="append", default=[])
    c.add_argument("--method", default="allspark")
    c.add_argument("--batch", type=int, default=1)
    c.add_argument("--target-delay-ms", type=float, default=None)
    c.add_argument("--reuse", default=None)
    return p


def reuse_specs(args) -> None:
    """Write {n_encoders, max_n_reuse, specs: [spec for N_reuse = 0, 1, ...]} (Algorithm 1's default pattern).

    Encoder 1 and the first block of every later stage never reuse (their previous block is in no
    stage or another stage); the rest follows :func:`scheduler.crossbar.patterns.default_spec`.
    """
    from contracts.atomic import write_json
    from contracts.workload import load_workload

    from scheduler.crossbar.patterns import default_spec, split_spec

    wl = load_workload(args.workload)
    if wl.source.reuse_pattern:
        raise UserError(f"workload {args.workload!r} already reuses attention; give the trace of the plain model")
    n_enc = len(wl.blocks())
    forbidden = frozenset(st.blocks[0].index + 1 for st in wl.stages if st.blocks)
    family, params = split_spec(args.pattern, partial=True) if args.pattern else (None, {})
    if family in ("list", "none"):
        raise UserError(f"--pattern {args.pattern!r} fixes its encoders; give strided, continuous or pyramid")
    n_max = n_enc - len(forbidden | {1})
    specs = [default_spec(n, n_enc, family, params, forbidden) for n in range(n_max + 1)]
    write_json(args.out, {"model": wl.model, "n_encoders": n_enc, "max_n_reuse": n_max, "specs": specs,
                          "rule": "Algorithm 1's default pattern (scheduler.crossbar.patterns.default_spec); "
                                  "the first block of each stage never reuses"})
    print(f"{wl.model}: N_reuse 0..{n_max} of {n_enc} encoders; wrote {args.out}")


def check_arguments(args, hw) -> None:
    """Refuse, with one sentence, any argument that would fail only after tracing."""
    import math

    if args.batch < 1:
        raise UserError(f"--batch (BATCH) must be at least 1, got {args.batch}")
    scheduler_family(hw.kind).check_method(args.method)
    tdm = getattr(args, "target_delay_ms", None)
    if tdm is not None:
        if not (math.isfinite(tdm) and tdm > 0):
            raise UserError(f"--target-delay-ms (TARGET_DELAY_MS) must be a positive number of milliseconds, got {tdm:g}")
    reuse = getattr(args, "reuse", None)
    if reuse is not None:
        from contracts.reuse_spec import split_spec

        split_spec(reuse, partial=tdm is not None)


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.cmd == "reuse-specs":
        reuse_specs(args)
        return
    from contracts.hardware import load_hw

    hw = load_hw(args.hw, args.set)
    if args.cmd == "check":
        check_arguments(args, hw)
    elif args.cmd == "solve":
        scheduler_family(hw.kind).cli().solve(args, hw)
    elif args.cmd == "trex-plan":
        scheduler_family(hw.kind).trex_plan(args, hw)


if __name__ == "__main__":
    main()
