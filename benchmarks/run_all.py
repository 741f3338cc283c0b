"""``make bench``: run every benchmark script and collect their figures.

Each ``benchmarks/bench_*.py`` exposes ``main(out_dir) -> dict`` and prints its
own table. This driver runs them in a fixed order, one after another (never in
parallel: the figures are wall-clock times on a 2-core machine), and writes
``runs/bench/summary.json``. Speed targets live here, not in the test suite.

    python benchmarks/run_all.py --out runs/bench [--only trace,schedule]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ORDER = ["trace", "schedule", "noc", "sim", "engine", "trex"]


def _load(name: str):
    path = os.path.join(HERE, f"bench_{name}.py")
    if not os.path.isfile(path):
        return None
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/bench")
    p.add_argument("--only", default=None, help="comma-separated subset of: " + ",".join(ORDER))
    a = p.parse_args(argv)
    sys.path.insert(0, os.path.dirname(HERE))
    from contracts.atomic import write_json

    names = a.only.split(",") if a.only else ORDER
    summary: dict[str, object] = {}
    failed = []
    for name in names:
        mod = _load(name)
        if mod is None:
            print(f"== bench {name}: not written yet, skipped")
            summary[name] = "missing"
            continue
        print(f"== bench {name}", flush=True)
        t0 = time.perf_counter()
        try:
            summary[name] = mod.main(os.path.join(a.out, name))
        except Exception:  # a broken benchmark is reported, the others still run
            traceback.print_exc()
            summary[name] = "failed"
            failed.append(name)
        print(f"== bench {name}: {time.perf_counter() - t0:.1f} s", flush=True)
    write_json(os.path.join(a.out, "summary.json"), summary)
    print(f"summary: {os.path.join(a.out, 'summary.json')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
