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
import atexit
import importlib.util
import json
import os
import re
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


class _Parser(argparse.ArgumentParser):
    """A bad argument is one line on stderr and exit 2 (as for every user error)."""

    def error(self, message: str):
        _fail(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive_int(name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got '{text}'") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {value}")
        return value

    return parse


def _preflight(a, hw: str) -> None:
    """Check every argument before any work starts (``python -m scheduler check``: about a second,
    no tracing), so a bad BATCH, METHOD, SET, REUSE or TARGET_DELAY_MS is refused before the trace."""
    if not _stage_built("scheduler"):
        return
    cmd = [sys.executable, "-m", "scheduler", "check", "--hw", hw, "--method", getattr(a, "method", "allspark"),
           "--batch", str(getattr(a, "batch", 1))]
    for s in a.set or []:
        cmd += ["--set", s]
    if getattr(a, "target_delay_ms", None) is not None:
        cmd += ["--target-delay-ms", repr(a.target_delay_ms)]
    if getattr(a, "reuse", None):
        cmd += ["--reuse", a.reuse]
    proc = subprocess.run(cmd, cwd=REPO)
    if proc.returncode != 0:
        sys.exit(proc.returncode)


LOCK_FILE = ".vitsim.lock"  # the same lock simulator.atomic.run_folder_lock takes
LOCK_ENV = "VITSIM_RUN_LOCK_HELD"


def _lock_run_folder(out_dir: str) -> None:
    """Hold the run folder for this whole run (released by the kernel when the process exits, even on SIGKILL):
    a second run into the same folder waits instead of interleaving its files with this one's."""
    import fcntl

    out_dir = os.path.abspath(out_dir)
    if os.environ.get(LOCK_ENV) == out_dir:
        return
    if not os.listdir(out_dir):  # created by this run: if the run fails before writing, leave no empty folder
        atexit.register(_remove_if_only_lock, out_dir)
    f = open(os.path.join(out_dir, LOCK_FILE), "a")
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)
    _LOCKS.append(f)  # keep the descriptor (and the lock) until exit
    os.environ[LOCK_ENV] = out_dir  # the stage commands started from here do not lock again


_LOCKS: list = []


def _remove_if_only_lock(out_dir: str) -> None:
    try:
        if os.listdir(out_dir) == [LOCK_FILE]:
            os.unlink(os.path.join(out_dir, LOCK_FILE))
            os.rmdir(out_dir)
    except OSError:
        pass


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


def _simulate(a, out_dir: str, prog: str) -> None:
    if not _stage_built("simulator"):
        print("[simulate] NOT BUILT YET: the simulator (python -m simulator) does not exist in this checkout; "
              "stopping after the schedule. No simulated results were produced.")
        return
    cmd = [sys.executable, "-m", "simulator", "run", "--program", prog, "--hw", a.hw, "--out", out_dir]
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


def cmd_sim(a, simulate: bool = True) -> None:
    a.hw = a.hw or _default_hw(a.model)
    kind = _hw_kind(a.hw)
    _preflight(a, a.hw)
    out_dir = _run_dir(a)
    os.makedirs(out_dir, exist_ok=True)
    _lock_run_folder(out_dir)
    if a.target_delay_ms and kind != "crossbar_chip":
        _fail("TARGET_DELAY_MS (TReX Algorithm 1) needs a crossbar config such as fefet-64")
    reuse = a.reuse
    if a.target_delay_ms:
        if not _stage_built("scheduler"):
            _fail("TARGET_DELAY_MS needs the scheduler (Algorithm 1), which is not built yet", 3)
        base = _trace(a, out_dir)
        reuse = _trex_plan(a, out_dir, base)
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
    _preflight(a, hw)
    tag = os.path.splitext(os.path.basename(hw))[0]
    src = os.path.basename(os.path.dirname(os.path.abspath(a.program)))
    out_dir = a.out or os.path.join(REPO, "runs", f"replay-{src}-on-{tag}")
    a.hw, a.trace = hw, a.trace
    os.makedirs(out_dir, exist_ok=True)
    _lock_run_folder(out_dir)
    _simulate(a, out_dir, a.program)
    print(f"run folder: {os.path.relpath(out_dir, REPO)}")


def main(argv: list[str] | None = None) -> None:
    p = _Parser(prog="python -m pipeline", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("sim", "schedule", "trace"):
        q = sub.add_parser(name)
        q.add_argument("--model", required=True)
        q.add_argument("--img", type=_positive_int("--img (IMG)"), default=224)
        q.add_argument("--hw", default=None)
        q.add_argument("--batch", type=_positive_int("--batch (BATCH)"), default=1)
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
