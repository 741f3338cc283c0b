"""``python -m pipeline``: chain trace -> schedule -> simulate through files.

This package only orchestrates: it runs each stage's own command line
(``python -m workloads``, ``python -m scheduler``, ``python -m simulator``) as
a subprocess and passes files between them, so it imports none of the three
packages and the import boundaries of DESIGN.md hold. A stage that is not
built yet is reported plainly and nothing is invented in its place.

Run folders: ``runs/<model>-<img>-<hw>[-<method>][-b<batch>][-reuse...]/`` with
``workload.json``, ``program.json``, ``result.json``, ``meta.json``,
``report.md`` and PNGs. Every file is written atomically by its stage.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HW_DIR = os.path.join(REPO, "hw_configs")
DEFAULT_PIM = "pim-dram-16x16"
SMALL_PIM = "pim-dram-8x8"  # Allspark deploys PVT on an 8x8 node array (Section VIII-A)


def _stage_built(module: str) -> bool:
    try:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    except ModuleNotFoundError:
        return False


def _fail(msg: str, code: int = 2) -> None:
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(code)


def _run(cmd: list[str], what: str) -> None:
    t0 = time.perf_counter()
    print(f"[{what}] {' '.join(cmd[2:])}", flush=True)
    proc = subprocess.run(cmd, cwd=REPO)
    if proc.returncode != 0:
        sys.exit(proc.returncode)
    print(f"[{what}] done in {time.perf_counter() - t0:.1f} s", flush=True)


def _hw_kind(hw: str) -> str:
    path = hw if os.path.isfile(hw) else os.path.join(HW_DIR, hw + ".yaml")
    if not os.path.isfile(path):
        names = sorted(f[:-5] for f in os.listdir(HW_DIR) if f.endswith(".yaml")) if os.path.isdir(HW_DIR) else []
        _fail(f"unknown hardware config '{hw}'; known configs: {', '.join(names) or 'none yet'}")
    with open(path) as f:
        m = re.search(r"^kind:\s*(\S+)", f.read(), re.M)
    return m.group(1) if m else "unknown"


def _default_hw(model: str) -> str:
    if model.startswith("pvt") and os.path.isfile(os.path.join(HW_DIR, SMALL_PIM + ".yaml")):
        return SMALL_PIM
    return DEFAULT_PIM


def _run_dir(a) -> str:
    if a.out:
        return a.out
    hw = os.path.splitext(os.path.basename(a.hw))[0]
    parts = [a.model, str(a.img), hw]
    if a.method != "allspark" and _hw_kind(a.hw) == "pim_mesh":
        parts.append(a.method)
    if a.batch != 1:
        parts.append(f"b{a.batch}")
    if a.target_delay_ms:
        parts.append(f"td{a.target_delay_ms:g}ms")
    if a.reuse:
        parts.append("reuse-" + re.sub(r"[^A-Za-z0-9]+", "-", a.reuse).strip("-"))
    return os.path.join(REPO, "runs", "-".join(parts))


def _trace(a, out_dir: str, reuse: str | None = None) -> str:
    if not _stage_built("workloads"):
        _fail("the workload tracer (python -m workloads) is not built yet", 3)
    wl = os.path.join(out_dir, "workload.json")
    cmd = [sys.executable, "-m", "workloads", "trace", a.model, "--img", str(a.img), "--out", wl]
    if reuse:
        cmd += ["--reuse", reuse]
    _run(cmd, "trace")
    return wl


def _schedule(a, out_dir: str, wl: str) -> str | None:
    if not _stage_built("scheduler"):
        print("[schedule] NOT BUILT YET: the scheduler (python -m scheduler) does not exist in this checkout; "
              "stopping after the trace. No schedule or results were produced.")
        return None
    prog = os.path.join(out_dir, "program.json")
    cmd = [sys.executable, "-m", "scheduler", "solve", "--workload", wl, "--hw", a.hw, "--out", prog,
           "--method", a.method, "--batch", str(a.batch)]
    for s in a.set or []:
        cmd += ["--set", s]
    _run(cmd, "schedule")
    return prog


def _simulate(a, out_dir: str, prog: str, mode: str | None = None) -> None:
    if not _stage_built("simulator"):
        print("[simulate] NOT BUILT YET: the simulator (python -m simulator) does not exist in this checkout; "
              "stopping after the schedule. No simulated results were produced.")
        return
    cmd = [sys.executable, "-m", "simulator", "run", "--program", prog, "--hw", a.hw, "--out", out_dir]
    if mode:
        cmd += ["--mode", mode]
    for s in a.set or []:
        cmd += ["--set", s]
    if a.trace:
        cmd.append("--trace")
    _run(cmd, "simulate")
    report = os.path.join(out_dir, "report.md")
    if os.path.isfile(report):
        print(f"report: {os.path.relpath(report, REPO)}")


def _trex_plan(a, out_dir: str, wl: str) -> str:
    """Algorithm 1 (TReX): the smallest N_reuse meeting the target delay -> a reuse spec."""
    plan = os.path.join(out_dir, "reuse_plan.json")
    cmd = [sys.executable, "-m", "scheduler", "trex-plan", "--workload", wl, "--hw", a.hw,
           "--target-delay-ms", f"{a.target_delay_ms:g}", "--out", plan]
    if a.reuse:
        cmd += ["--pattern", a.reuse]
    for s in a.set or []:
        cmd += ["--set", s]
    _run(cmd, "trex-plan")
    with open(plan) as f:
        return json.load(f)["reuse"]


def _write_json(path: str, obj) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def smallest_meeting(n_max: int, latency, target: float) -> int | None:
    """Smallest n in 0..n_max with latency(n) < target, None if latency(n_max) misses (bisection).

    Probes n_max first, then 0, then halves the interval: about 2 + log2(n_max) calls of ``latency``;
    exact when latency falls with n.
    """
    if latency(n_max) >= target:
        return None
    if latency(0) < target:
        return 0
    lo, hi = 0, n_max  # latency(lo) misses, latency(hi) meets
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if latency(mid) < target:
            hi = mid
        else:
            lo = mid
    return hi


def _pim_reuse_plan(a, out_dir: str, base_wl: str) -> str | None:
    """Algorithm 1 on a PIM mesh: the smallest N_reuse whose *simulated* latency is below the target.

    The pattern for each N_reuse is Algorithm 1's default (``python -m scheduler reuse-specs``; a
    family given with ``--reuse`` is kept). Each probe traces, schedules and simulates the reuse
    model (block-reuse mode, exact: see README) in ``probes/n<N>/``. The search is a bisection over
    N_reuse, which assumes the latency falls with N_reuse (a reusing block drops the attention phases
    and adds one d x d FC; tests/test_reuse_pim.py checks DeiT-S on 16x16 at every N_reuse).
    """
    if a.target_delay_ms <= 0:
        _fail(f"the target delay must be positive, got {a.target_delay_ms:g} ms")
    specs_file = os.path.join(out_dir, "reuse_specs.json")
    cmd = [sys.executable, "-m", "scheduler", "reuse-specs", "--workload", base_wl, "--out", specs_file]
    if a.reuse:
        cmd += ["--pattern", a.reuse]
    _run(cmd, "reuse-specs")
    with open(specs_file) as f:
        plan = json.load(f)
    specs = plan["specs"]
    probes: dict[int, float] = {}

    def latency_ms(n: int) -> float:
        if n not in probes:
            pdir = os.path.join(out_dir, "probes", f"n{n}")
            os.makedirs(pdir, exist_ok=True)
            wl = base_wl if n == 0 else _trace(a, pdir, specs[n])
            prog = _schedule(a, pdir, wl)
            if prog is None:
                _fail("TARGET_DELAY_MS on a PIM mesh needs the scheduler, which is not built yet", 3)
            _simulate(a, pdir, prog, mode="block-reuse")
            with open(os.path.join(pdir, "result.json")) as f:
                probes[n] = float(json.load(f)["latency"]["ms"])
            print(f"[reuse-plan] N_reuse = {n}: simulated {probes[n]:.4f} ms "
                  f"({'meets' if probes[n] < a.target_delay_ms else 'misses'} {a.target_delay_ms:g} ms)", flush=True)
        return probes[n]

    n_max = len(specs) - 1
    hi = smallest_meeting(n_max, latency_ms, a.target_delay_ms)
    if hi is None:
        _fail(f"no N_reuse meets the target delay of {a.target_delay_ms:g} ms on {a.hw}: the smallest simulated "
              f"latency is {probes[n_max]:.4f} ms (N_reuse = {n_max} of {plan['n_encoders']} encoders)")
    _write_json(os.path.join(out_dir, "reuse_plan.json"), {
        "model": a.model, "hw": a.hw, "target_delay_ms": a.target_delay_ms, "n_reuse": hi, "reuse": specs[hi],
        "n_encoders": plan["n_encoders"], "max_n_reuse": n_max,
        "simulated_ms_by_n_reuse": {str(n): probes[n] for n in sorted(probes)},
        "rule": "smallest N_reuse with simulated latency < target (strict, as TReX Algorithm 1); bisection "
                "over N_reuse with Algorithm 1's default pattern",
    })
    print(f"[reuse-plan] Algorithm 1 on {a.hw}: N_reuse = {hi} of {plan['n_encoders']} encoders, "
          f"simulated {probes[hi]:.4f} ms < target {a.target_delay_ms:g} ms; reuse {specs[hi]}", flush=True)
    return specs[hi], os.path.join(out_dir, "probes", f"n{hi}")


def cmd_sim(a, simulate: bool = True) -> None:
    a.hw = a.hw or _default_hw(a.model)
    kind = _hw_kind(a.hw)
    out_dir = _run_dir(a)
    os.makedirs(out_dir, exist_ok=True)
    if a.target_delay_ms and kind not in ("crossbar_chip", "pim_mesh"):
        _fail(f"TARGET_DELAY_MS (TReX Algorithm 1) needs a crossbar or PIM-mesh config, '{a.hw}' is {kind}")
    reuse = a.reuse
    if a.target_delay_ms:
        if not _stage_built("scheduler"):
            _fail("TARGET_DELAY_MS needs the scheduler (Algorithm 1), which is not built yet", 3)
        base = _trace(a, out_dir)
        if kind == "crossbar_chip":
            reuse = _trex_plan(a, out_dir, base)
        else:  # the chosen probe's trace and schedule are the run's: only the full simulation is left
            reuse, probe = _pim_reuse_plan(a, out_dir, base)
            for name in ("workload.json", "program.json", "program.meta.json"):
                if os.path.isfile(os.path.join(probe, name)) and probe != out_dir:
                    shutil.copyfile(os.path.join(probe, name), os.path.join(out_dir, name + ".tmp"))
                    os.replace(os.path.join(out_dir, name + ".tmp"), os.path.join(out_dir, name))
            prog = os.path.join(out_dir, "program.json")
            if simulate:
                _simulate(a, out_dir, prog)
            print(f"run folder: {os.path.relpath(out_dir, REPO)}")
            return
    wl = _trace(a, out_dir, reuse)
    prog = _schedule(a, out_dir, wl)
    if prog and simulate:
        _simulate(a, out_dir, prog)
    print(f"run folder: {os.path.relpath(out_dir, REPO)}")


def cmd_trace(a) -> None:
    out_dir = a.out or os.path.join(REPO, "runs", f"{a.model}-{a.img}")
    os.makedirs(out_dir, exist_ok=True)
    _trace(a, out_dir, a.reuse)


def cmd_replay(a) -> None:
    if not os.path.isfile(a.program):
        _fail(f"program file '{a.program}' does not exist")
    if not _stage_built("simulator"):
        _fail("the simulator (python -m simulator) is not built yet", 3)
    hw = a.hw or DEFAULT_PIM
    _hw_kind(hw)
    tag = os.path.splitext(os.path.basename(hw))[0]
    src = os.path.basename(os.path.dirname(os.path.abspath(a.program)))
    out_dir = a.out or os.path.join(REPO, "runs", f"replay-{src}-on-{tag}")
    a.hw, a.trace = hw, a.trace
    _simulate(a, out_dir, a.program)
    print(f"run folder: {os.path.relpath(out_dir, REPO)}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("sim", "schedule", "trace"):
        q = sub.add_parser(name)
        q.add_argument("--model", required=True)
        q.add_argument("--img", type=int, default=224)
        q.add_argument("--hw", default=None)
        q.add_argument("--batch", type=int, default=1)
        q.add_argument("--method", default="allspark")
        q.add_argument("--trace", action="store_true")
        q.add_argument("--set", action="append", default=[])
        q.add_argument("--target-delay-ms", type=float, default=None)
        q.add_argument("--reuse", default=None)
        q.add_argument("--out", default=None)
    r = sub.add_parser("replay")
    r.add_argument("--program", required=True)
    r.add_argument("--hw", default=None)
    r.add_argument("--set", action="append", default=[])
    r.add_argument("--trace", action="store_true")
    r.add_argument("--out", default=None)
    a = p.parse_args(argv)
    if a.cmd == "sim":
        cmd_sim(a)
    elif a.cmd == "schedule":
        cmd_sim(a, simulate=False)
    elif a.cmd == "trace":
        cmd_trace(a)
    else:
        cmd_replay(a)


if __name__ == "__main__":
    main()
