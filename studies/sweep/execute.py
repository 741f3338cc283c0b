"""One point: trace -> (Algorithm 1) -> schedule -> simulate, through the stages' library functions.

Runs inside a Ray worker. It works in a private temporary folder and returns
the files it produced (``workload.json``, ``reuse_plan.json`` when Algorithm 1
ran, ``program.json``, ``hw.yaml``, ``result.json``, ``log.txt``) as bytes,
with the tidy row of the point, so the driver alone writes the sweep folder
(the same on one machine and on a cluster whose workers do not share a disk).

The stages are the ones ``python -m pipeline sim`` chains: the tracer
(:func:`workloads.tracer.trace`), TReX Algorithm 1
(:func:`scheduler.crossbar.cli.plan_reuse`), the schedulers' ``solve``
(``scheduler.allspark.cli`` / ``scheduler.crossbar.cli``, given the same
arguments the command line gives them), and
:func:`simulator.runner.simulate_files`. A user error of any stage (infeasible
memory, inadmissible size, ...) becomes the point's one-sentence error; any
other exception is recorded too, flagged so that a rerun tries again.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import shutil
import tempfile
import time

from studies.sweep.table import row_from_result

OUTPUT_FILES = ("workload.json", "reuse_plan.json", "program.json", "hw.yaml", "result.json")


def resolve_models(names: list[str]) -> dict[str, dict] | str:
    """Canonical name, kind and default size of each model; or the first unknown name's error sentence."""
    from contracts.errors import UserError
    from workloads import registry

    out = {}
    for name in names:
        try:
            spec = registry.get(name)
        except UserError as e:
            return str(e)
        out[name] = {"name": spec.name, "kind": spec.kind, "default_img": spec.default_img}
    return out


def run_point(inputs: dict) -> dict:
    """Run one point from its resolved inputs; returns {status, error, retry, row, files, timing}."""
    from contracts.errors import UserError

    work = tempfile.mkdtemp(prefix="vitsim-point-")
    log_buf = io.StringIO()
    timing: dict[str, float] = {}
    t_all = time.perf_counter()
    status, error, retry, row = "ok", "", False, {}
    handler = logging.StreamHandler(log_buf)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(log_buf):
            result, n_reuse = _stages(inputs, work, timing)
        row = row_from_result(result, n_reuse)
    except UserError as e:
        status, error = "error", _one_line(str(e))
    except Exception as e:  # noqa: BLE001 - recorded, not swallowed: the point is retried on rerun
        status, error, retry = "error", _one_line(f"{type(e).__name__}: {e}"), True
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    timing["point_wall_s"] = time.perf_counter() - t_all
    files = {}
    for name in OUTPUT_FILES:
        path = os.path.join(work, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                files[name] = f.read()
    files["log.txt"] = log_buf.getvalue().encode()
    shutil.rmtree(work, ignore_errors=True)
    return {"status": status, "error": error, "retry": retry, "row": row, "files": files, "timing": timing,
            "host": os.uname().nodename, "pid": os.getpid()}


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "unknown error"


def _stages(p: dict, work: str, timing: dict) -> tuple[dict, int | None]:
    from contracts.atomic import write_json, write_text
    from contracts.hardware.loader import dump_resolved, load_hw
    from simulator.runner import simulate_files
    from contracts.workload import load_workload
    from scheduler.families import scheduler_family
    from workloads.tracer import trace, write_graph

    overrides = list(p["overrides"])
    hw = load_hw(p["hw"], overrides)
    wl_path = os.path.join(work, "workload.json")
    reuse, n_reuse = p["reuse"], None
    t = time.perf_counter()
    sched = scheduler_family(hw.kind)
    if p["target_delay_ms"] is not None:  # TReX Algorithm 1 on the plain model picks N_reuse (spec: plans_reuse only)
        write_graph(trace(p["model"], img_size=p["img"]).graph, wl_path)
        plan = sched.cli().plan_reuse(load_workload(wl_path), hw, p["target_delay_ms"], p["reuse"])
        write_json(os.path.join(work, "reuse_plan.json"), plan)
        reuse, n_reuse = plan["reuse"], plan["n_reuse"]
    write_graph(trace(p["model"], img_size=p["img"], reuse=reuse).graph, wl_path)
    timing["trace_wall_s"] = time.perf_counter() - t

    t = time.perf_counter()
    prog_path = os.path.join(work, "program.json")
    args = argparse.Namespace(workload=wl_path, hw=p["hw"], out=prog_path, method=p["method"], batch=p["batch"],
                              set=overrides, time_limit=p["time_limit_s"], summary=False)
    sched.cli().solve(args, hw)
    timing["schedule_wall_s"] = time.perf_counter() - t
    meta_path = os.path.join(work, "program.meta.json")
    if os.path.isfile(meta_path):
        from contracts.atomic import read_json

        timing["solver_wall_s"] = read_json(meta_path, "program meta file").get("solver_wall_s")

    t = time.perf_counter()
    cfg, result, _meta, _events = simulate_files(prog_path, p["hw"], overrides, mode=p["mode"],
                                                 network_mode=p["network"])
    write_text(os.path.join(work, "hw.yaml"), dump_resolved(cfg))
    write_json(os.path.join(work, "result.json"), result)
    timing["simulate_wall_s"] = time.perf_counter() - t
    if n_reuse is None:  # a crossbar result states its N_reuse; a PIM-mesh result has none
        n_reuse = result.get("n_reuse")
    return result, n_reuse
