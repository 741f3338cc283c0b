"""``python -m studies.reproduce``: run every figure's points, compare with the paper, write runs/reproduce/.

Points of all figures are pooled and de-duplicated (the same run serves several figures), then run
as Ray tasks (local instance by default; ``--address`` or ``$RAY_ADDRESS`` for a cluster; ``--serial``
in this process) with a progress bar (tqdm). A point that fails records its one-sentence error;
the figures that need it say so in fidelity.md and the others are still written.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import sys
import time
import traceback

from contracts.atomic import write_json, write_text
from contracts.errors import UserError
from studies.reproduce import FIGURES
from studies.reproduce.core import Point, Row, fidelity_md, run_point, write_data, write_series


def signature(p: Point) -> str:
    return hashlib.sha256(json.dumps([p.fn, p.kwargs], sort_keys=True).encode()).hexdigest()[:16]


def figure_modules(only: list[str] | None):
    mods = [importlib.import_module(f"studies.reproduce.{name}") for name in FIGURES]
    if only:
        known = {m.FIGURE for m in mods}
        bad = [o for o in only if o not in known]
        if bad:
            raise UserError(f"unknown figure '{bad[0]}'; known: {', '.join(sorted(known))}")
        mods = [m for m in mods if m.FIGURE in only]
    return mods


def _run_one(p: Point) -> tuple[str, dict | str]:
    """('ok', result) or ('error', one sentence): a failing point must not stop the others."""
    try:
        return "ok", run_point(p)
    except UserError as e:
        return "error", str(e)
    except Exception as e:  # noqa: BLE001 - recorded as the point's error
        traceback.print_exc(file=sys.stderr)
        return "error", f"{type(e).__name__}: {e}".splitlines()[0]


def run_all(points: list[Point], progress: bool = True, serial: bool = False, address: str | None = None,
            num_cpus: int | None = None) -> tuple[dict[str, dict], dict[str, str]]:
    """Run each distinct point once (signature of function + arguments); results and errors by signature.

    Points run as Ray tasks (``studies.sweep.init_ray``: a local instance with ``num_cpus`` workers, or
    the cluster at ``address`` / ``$RAY_ADDRESS``); ``serial`` runs them in this process instead.
    """
    from tqdm import tqdm

    todo: dict[str, Point] = {}
    for p in points:
        todo.setdefault(signature(p), p)
    results: dict[str, dict] = {}
    errors: dict[str, str] = {}
    bar = tqdm(total=len(todo), desc="reproduce", unit="point", disable=not progress, file=sys.stderr)

    def record(sig: str, outcome: tuple[str, dict | str]) -> None:
        status, value = outcome
        (results if status == "ok" else errors)[sig] = value
        bar.set_postfix_str(todo[sig].id[:60])
        bar.update(1)

    if serial:
        for sig, p in todo.items():
            record(sig, _run_one(p))
    else:
        import ray

        from studies.sweep import init_ray

        started = init_ray(address, num_cpus)
        try:
            task = ray.remote(num_cpus=1)(_run_one)
            pending = {task.remote(p): sig for sig, p in todo.items()}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    record(pending.pop(ref), ray.get(ref))
        finally:
            if started:
                ray.shutdown()
    bar.close()
    return results, errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m studies.reproduce", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/reproduce")
    ap.add_argument("--fast", action="store_true", help="a subset of the points (under 5 minutes on 2 cores)")
    ap.add_argument("--only", action="append", help="only this figure folder (repeatable), e.g. trex-table4")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--serial", action="store_true", help="run the points in this process instead of on Ray")
    ap.add_argument("--address", default=None, help="Ray cluster address (default $RAY_ADDRESS, else a local instance)")
    ap.add_argument("--num-cpus", type=int, default=None, help="workers of the local Ray instance (default: all cores)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        mods = figure_modules(a.only)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cache = os.path.join(a.out, "_cache")
    os.makedirs(cache, exist_ok=True)
    plan = {m.FIGURE: m.points(a.fast, cache) for m in mods}
    try:
        results, errors = run_all([p for pts in plan.values() for p in pts], progress=not a.no_progress,
                                  serial=a.serial, address=a.address, num_cpus=a.num_cpus)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    from studies.reproduce.plots import plot

    rows_by_figure: dict[str, list[Row]] = {}
    fig_errors: dict[str, str] = {}
    titles = {m.FIGURE: m.TITLE for m in mods}
    for m in mods:
        folder = os.path.join(a.out, m.FIGURE)
        os.makedirs(folder, exist_ok=True)
        pts = plan[m.FIGURE]
        failed = [f"{p.key}: {errors[signature(p)]}" for p in pts if signature(p) in errors]
        res = {p.key: results[signature(p)] for p in pts if signature(p) in results}
        write_json(os.path.join(folder, "results.json"), res)
        try:
            rows = m.rows(res)
        except (KeyError, ZeroDivisionError) as e:
            fig_errors[m.FIGURE] = "; ".join(failed) or f"rows could not be formed ({type(e).__name__}: {e})"
            rows = []
        rows_by_figure[m.FIGURE] = rows
        write_data(folder, rows)
        if rows and hasattr(m, "table"):
            write_series(os.path.join(folder, "series.csv"), m.table(res))
        if rows:
            plot(m.FIGURE, folder, m.TITLE, rows, res)
        if failed and m.FIGURE not in fig_errors:
            fig_errors[m.FIGURE] = "; ".join(failed)
    wall = time.perf_counter() - t0
    write_text(os.path.join(a.out, "fidelity.md"), fidelity_md(rows_by_figure, titles, wall, a.fast, fig_errors))
    write_json(os.path.join(a.out, "timing.json"), {"wall_s": round(wall, 1), "fast": a.fast,
                                                    "points": len(results) + len(errors)})
    n = sum(len(r) for r in rows_by_figure.values())
    n_in = sum(x.within for r in rows_by_figure.values() for x in r)
    print(f"reproduce{' (FAST)' if a.fast else ''}: {len(mods)} figures, {len(results) + len(errors)} points, "
          f"{n_in} of {n} metrics within tolerance; wall time {wall:.1f} s ({wall / 60:.1f} min)")
    print(f"written: {os.path.join(a.out, 'fidelity.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
