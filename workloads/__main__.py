"""``python -m workloads``: list the model zoo, trace a model into a WorkloadGraph.

    python -m workloads list
    python -m workloads trace swin-b --img 960 --out runs/swin-b-960/workload.json
    python -m workloads trace bert-base --seq-len 128 --out runs/bert/workload.json
    python -m workloads trace deit-s --img 224 --reuse strided:sl=2,start=5,n=5 --out wl.json

User mistakes (unknown model, inadmissible size, bad reuse spec) end with one
sentence on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from contracts.errors import OneLineArgumentParser, UserError, cli_entry

log = logging.getLogger("workloads")


def _cmd_list(_args) -> None:
    from workloads import registry

    rows = []
    for name in registry.names():
        spec = registry.get(name)
        size = f"{spec.default_img}px" if spec.kind == "vision" else f"{spec.default_seq_len} tokens"
        rows.append((name, spec.family, spec.kind, "yes" if spec.isotropic else "no", size))
    header = ("model", "family", "kind", "isotropic", "default size")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def summary_lines(graph, seconds: float) -> list[str]:
    """A short human summary of a traced WorkloadGraph."""
    size = f"{graph.img_size}x{graph.img_size}" if graph.img_size else f"{graph.seq_len} tokens"
    lines = [
        f"{graph.model} at {size}: {len(graph.stages)} stage(s), {len(graph.blocks())} blocks, "
        f"{graph.total_macs / 1e9:.2f} GMAC, {graph.total_params / 1e6:.2f} M params, traced in {seconds:.2f} s"
    ]
    for stage in graph.stages:
        branches = sorted({b.branches for b in stage.blocks})
        reused = sum(b.attention_reused for b in stage.blocks)
        lines.append(
            f"  stage {stage.index}: {len(stage.blocks)} blocks, C={stage.dim}, grid {stage.resolution[0]}x"
            f"{stage.resolution[1]}, branches per block {'/'.join(str(b) for b in branches)}, "
            f"{sum(b.macs for b in stage.blocks) / 1e9:.2f} GMAC" + (f", {reused} reused" if reused else "")
        )
    return lines


def _cmd_trace(args) -> None:
    from workloads import registry
    from workloads.tracer import trace, write_graph

    spec = registry.get(args.model)  # unknown model -> UserError naming the closest names
    if os.path.isdir(args.out):
        raise UserError(f"--out {args.out!r} is a directory; give the path of the workload JSON file to write")
    img = args.img
    if spec.kind == "nlp" and img is not None:
        log.info("%s is a sequence model: ignoring --img %s (use --seq-len)", spec.name, img)
        img = None
    result = trace(spec.name, img_size=img, seq_len=args.seq_len, reuse=args.reuse)
    try:
        write_graph(result.graph, args.out)
    except OSError as e:
        raise UserError(f"cannot write {args.out!r}: {e.strerror or e}") from None
    for line in summary_lines(result.graph, result.seconds):
        print(line)
    print(f"wrote {args.out}")


def _parser() -> argparse.ArgumentParser:
    p = OneLineArgumentParser(prog="python -m workloads", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered models (name, family, kind, isotropic, default size)")
    t = sub.add_parser("trace", help="trace MODEL into a WorkloadGraph JSON file")
    t.add_argument("model", help="registered model name (see 'list')")
    t.add_argument("--img", type=int, default=None, help="input image side in pixels (default: the model's)")
    t.add_argument("--seq-len", type=int, default=None, help="sequence length for NLP models (tokens)")
    t.add_argument("--reuse", default=None, help="TReX attention-reuse spec, e.g. strided:sl=2,start=5,n=5")
    t.add_argument("--out", required=True, help="output workload.json (written atomically)")
    return p


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    {"list": _cmd_list, "trace": _cmd_trace}[args.command](args)


if __name__ == "__main__":
    main(sys.argv[1:])
