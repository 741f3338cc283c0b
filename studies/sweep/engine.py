"""Run a sweep on Ray: resolve, skip finished points, run the rest in parallel, write the table.

Ray starts a local instance on this machine by default (``ray.init(num_cpus=n,
include_dashboard=False)``, workers given ``PYTHONPATH`` = this checkout so they
import the project tree, also from a worktree or a fresh clone). With
``address`` (or the ``RAY_ADDRESS`` environment variable) it joins an existing
cluster instead and ships this checkout to the workers as the Ray
``working_dir`` (``.venv``, ``runs`` and ``.git`` left out); the cluster's
Python must have the pinned requirements installed.

Each point is one Ray task (one CPU). The driver alone writes the sweep
folder: a point's files arrive as bytes and are written atomically into
``points/<name>-<digest>/``, its ``done.json`` (status, error, tidy row) last,
so a point whose ``done.json`` exists is complete and a killed sweep loses
only the points still running. A rerun skips every point whose ``done.json``
records the same inputs, except failures flagged ``retry`` (an unexpected
exception or a crashed worker, as opposed to a user error such as infeasible
memory, which would fail again the same way).

Outputs in ``out_dir``: ``sweep.csv`` and ``sweep.parquet`` (one row per point,
spec order, byte-identical for the same spec), ``points.json`` (every point's
folder and resolved inputs, spec order), ``sweep.timing.csv`` and
``sweep.timing.json`` (wall clock per point and for the whole sweep), and the
point folders.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from contracts.atomic import read_json, write_bytes, write_json, write_text
from contracts.errors import UserError
from studies.sweep.points import ModelInfo, Point, expand
from studies.sweep.spec import SweepSpec, load_spec, parse_spec
from studies.sweep.table import TIMING_COLUMNS, csv_bytes, frame, input_columns, parquet_bytes

log = logging.getLogger("studies.sweep")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DONE_FILE = "done.json"
ERROR_FILE = "error.txt"
CLUSTER_EXCLUDES = [".venv", "runs", ".git", "**/__pycache__", ".pytest_cache", ".hypothesis"]


def run_sweep(spec_or_path: str | dict | SweepSpec, out_dir: str, address: str | None = None, *,
              num_cpus: int | None = None, sets: list[str] | None = None, progress: bool = True):
    """Run (or resume) a sweep and return its tidy table as a pandas DataFrame.

    ``spec_or_path``: a YAML path, a dict, or a :class:`SweepSpec`. ``out_dir``: the sweep folder.
    ``address``: a Ray cluster address (default: ``RAY_ADDRESS`` if set, else a local instance with
    ``num_cpus`` CPUs, default all). ``sets``: overrides added to every point (like the spec's ``set``).
    If Ray is already initialised (e.g. by :func:`init_ray`) it is reused and left running; otherwise it is
    started only when some point must run, and shut down before returning. Row ``i`` is spec point ``i``;
    its files are in ``out_dir/points/<row.point>/``.
    """
    t0 = time.perf_counter()
    spec = _as_spec(spec_or_path, sets)
    points = expand(spec, _resolve_models(spec))
    write_json(os.path.join(out_dir, "points.json"),
               {"name": spec.name, "points": [{"folder": p.folder, "inputs": p.inputs()} for p in points]})
    done: dict[str, dict] = {}
    skipped: set[str] = set()
    todo: dict[str, Point] = {}
    for p in points:
        rec = _finished(out_dir, p)
        if rec is not None:
            done[p.digest] = rec
            skipped.add(p.digest)
        elif p.digest not in todo:
            todo[p.digest] = p
    log.info("sweep %s: %d points, %d already finished, %d to run", spec.name, len(points), len(skipped),
             len(todo))
    started = init_ray(address, num_cpus) if todo else False
    try:
        import ray

        remote = ray.remote(num_cpus=1, max_retries=0)(_run_point_task) if todo else None
        pending = {remote.remote(p.inputs()): p for p in todo.values()} if todo else {}
        from tqdm import tqdm

        bar = tqdm(total=len(points), initial=len(points) - len(todo), desc=f"sweep {spec.name}", unit="point",
                   disable=not progress, file=sys.stderr)
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    p = pending.pop(ref)
                    try:
                        out = ray.get(ref)
                    except Exception as e:  # a crashed worker or task: recorded, retried on rerun
                        out = {"status": "error", "error": _one_line(f"{type(e).__name__}: {(str(e).splitlines() or [''])[0]}"), "retry": True,
                               "row": {}, "files": {}, "timing": {}}
                    done[p.digest] = _store(out_dir, p, out)
                    bar.update(1)
                    if out["status"] != "ok":
                        bar.write(f"point {p.folder} failed: {out['error']}")
        finally:
            bar.close()
        df = _write_tables(out_dir, spec, points, done, skipped, time.perf_counter() - t0)
        n_err = int((df["status"] != "ok").sum())
        log.info("sweep %s: %d points, %d failed; table %s", spec.name, len(points), n_err,
                 os.path.join(out_dir, "sweep.csv"))
        return df
    finally:
        if started:
            import ray

            ray.shutdown()


def init_ray(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Connect to Ray (once); returns True when this call started it (the caller then shuts it down)."""
    import ray

    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    pythonpath = os.pathsep.join([REPO] + [x for x in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                           if x and os.path.abspath(x) != REPO])
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        kwargs["runtime_env"] = {"working_dir": REPO, "excludes": CLUSTER_EXCLUDES}
        try:
            ray.init(address=address, **kwargs)
        except Exception as e:  # noqa: BLE001 - any failure to connect is the user's address
            raise UserError(f"cannot connect to the Ray cluster at {address!r}: {_one_line(str(e))}") from None
    else:
        os.environ["PYTHONPATH"] = pythonpath  # workers of the local instance inherit it
        kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": pythonpath}}
        # "local": always a new instance of our own, even if a `ray start` cluster runs on this machine
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count() or 1, **kwargs)
    return True


def _run_point_task(inputs: dict) -> dict:
    from studies.sweep.execute import run_point

    return run_point(inputs)


def _as_spec(spec_or_path, sets: list[str] | None) -> SweepSpec:
    if isinstance(spec_or_path, SweepSpec):
        spec = spec_or_path
    elif isinstance(spec_or_path, dict):
        spec = parse_spec(spec_or_path)
    else:
        spec = load_spec(str(spec_or_path))
    if sets:
        raw = spec.model_dump()
        raw["set"] = list(raw["set"]) + list(sets)
        spec = parse_spec(raw, "sweep spec with --set")
    return spec


def _resolve_models(spec: SweepSpec) -> dict[str, ModelInfo]:
    """Ask the model zoo (it loads torch) for each model's canonical name, kind and default size."""
    from studies.sweep.execute import resolve_models

    got = resolve_models(sorted({m for block in spec.grid for m in block.models}))
    if isinstance(got, str):
        raise UserError(f"sweep spec {spec.name!r}: {got}")
    return {k: ModelInfo(**v) for k, v in got.items()}


def _finished(out_dir: str, p: Point) -> dict | None:
    path = os.path.join(out_dir, "points", p.folder, DONE_FILE)
    if not os.path.isfile(path):
        return None
    try:
        rec = read_json(path, "point record")
    except UserError:
        return None
    if rec.get("inputs") != p.inputs() or rec.get("retry"):
        return None
    return rec


def _store(out_dir: str, p: Point, out: dict) -> dict:
    folder = os.path.join(out_dir, "points", p.folder)
    for name, data in sorted(out["files"].items()):
        write_bytes(os.path.join(folder, name), data)
    write_json(os.path.join(folder, "timing.json"), {**out["timing"], "host": out.get("host"), "pid": out.get("pid")})
    err_path = os.path.join(folder, ERROR_FILE)
    if out["status"] != "ok":
        write_text(err_path, out["error"] + "\n")
    elif os.path.exists(err_path):
        os.unlink(err_path)
    rec = {"digest": p.digest, "inputs": p.inputs(), "status": out["status"], "error": out["error"],
           "retry": bool(out.get("retry")), "row": out["row"]}
    write_json(os.path.join(folder, DONE_FILE), rec)  # last: the point is complete once this exists
    return rec


def _write_tables(out_dir: str, spec: SweepSpec, points: list[Point], done: dict, skipped: set, wall_s: float):
    rows, timing_rows = [], []
    for p in points:
        rec = done[p.digest]
        rows.append({**input_columns(p), **rec["row"], "status": rec["status"], "error": rec["error"] or None})
        t_path = os.path.join(out_dir, "points", p.folder, "timing.json")
        t = read_json(t_path, "timing file") if os.path.isfile(t_path) else {}
        timing_rows.append({"point": p.folder, "status": rec["status"], "skipped": p.digest in skipped,
                            **{k: t.get(k) for k in TIMING_COLUMNS[3:]}})
    df = frame(rows)
    write_bytes(os.path.join(out_dir, "sweep.csv"), csv_bytes(df))
    write_bytes(os.path.join(out_dir, "sweep.parquet"), parquet_bytes(df))
    import pandas as pd

    tdf = pd.DataFrame(timing_rows, columns=TIMING_COLUMNS)
    write_text(os.path.join(out_dir, "sweep.timing.csv"), tdf.to_csv(index=False, lineterminator="\n"))
    write_json(os.path.join(out_dir, "sweep.timing.json"), {
        "name": spec.name, "points": len(points), "skipped": sum(p.digest in skipped for p in points),
        "ran": len(points) - sum(p.digest in skipped for p in points), "failed": int((df["status"] != "ok").sum()),
        "wall_s": wall_s, "per_point": timing_rows,
    })
    return df


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "unknown error"


def load_table(out_dir: str):
    """The tidy table of a finished sweep folder (``sweep.parquet``)."""
    import pandas as pd

    path = os.path.join(out_dir, "sweep.parquet")
    if not os.path.isfile(path):
        raise UserError(f"sweep folder {out_dir!r} has no sweep.parquet (run the sweep first)")
    return pd.read_parquet(path)


__all__ = ["run_sweep", "init_ray", "load_table"]
