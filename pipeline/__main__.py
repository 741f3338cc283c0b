"""``python -m pipeline``: chain trace -> schedule -> simulate through files.

This package only orchestrates: it runs each stage's own command line
(``python -m workloads``, ``python -m scheduler``, ``python -m simulator``) as
a subprocess and passes files between them, so it imports none of the three
packages and the import boundaries of DESIGN.md hold. What it needs to know
about the hardware family (its default method, how ``TARGET_DELAY_MS`` plans
reuse) it asks ``python -m simulator hw``, with the config's name and digest.

Run folders are named by their resolved inputs, so no run overwrites another:
``runs/<model>-<img>-<hw name>[-<method>][-b<batch>][-td<ms>][-reuse-...][-set-...]-<digest>/``
where ``<digest>`` is the first 8 hex digits of a sha256 over the resolved
hardware config (after ``--set`` overrides; ``python -m simulator hw``), the
override list and every other input; replays go to
``runs/replay-<program's folder>-on-<hw name>[-set-...]-<digest>/`` (the
digest also covers the program file). ``--print-run-dir`` prints the folder a
command would use and exits; every run prints ``run folder: ...`` at the end.
A run is built in a hidden ``runs/.tmp-...`` folder and renamed into place
when every stage succeeded; a failed run removes it, so it leaves nothing
behind and never touches an earlier run. Each folder holds
``workload.json``, ``program.json``, ``result.json``, ``meta.json``,
``units.csv``, ``report.md`` and PNGs.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

from contracts.atomic import file_digest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HW_DIR = os.path.join(REPO, "hw_configs")
DEFAULT_PIM = "pim-dram-16x16"
SMALL_PIM = "pim-dram-8x8"  # Allspark deploys PVT on an 8x8 node array (Section VIII-A)


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


def _resolve_hw(hw: str, sets: list[str]) -> dict:
    """The config after overrides as ``python -m simulator hw`` describes it: name, sha256 digest and its
    family (kind, default_method, reuse_plan: see simulator.families); exits 2 on a bad config."""
    path = hw if os.path.isfile(hw) else os.path.join(HW_DIR, hw + ".yaml")
    if not os.path.isfile(path):
        names = sorted(f[:-5] for f in os.listdir(HW_DIR) if f.endswith(".yaml")) if os.path.isdir(HW_DIR) else []
        _fail(f"unknown hardware config '{hw}'; known configs: {', '.join(names) or 'none yet'}")
    cmd = [sys.executable, "-m", "simulator", "hw", "--hw", hw]
    for item in sets:
        cmd += ["--set", item]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit(proc.returncode)
    return json.loads(proc.stdout)


def _default_hw(model: str) -> str:
    if model.startswith("pvt") and os.path.isfile(os.path.join(HW_DIR, SMALL_PIM + ".yaml")):
        return SMALL_PIM
    return DEFAULT_PIM


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-")


def _sets_tag(sets: list[str]) -> list[str]:
    """A readable hint of the overrides ('noc.flit_bits=128' -> 'set-flit_bits-128'); the digest tells them apart."""
    if not sets:
        return []
    tag = "_".join(_slug(item.split("=", 1)[0].rsplit(".", 1)[-1] + "=" + item.split("=", 1)[-1]) for item in sets)
    return ["set-" + (tag[:48].rstrip("-_") if len(tag) > 48 else tag)]


def _short_digest(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:8]


def _run_dir(a, hw: dict) -> str:
    """The folder of a sim/schedule run: readable name + digest of the resolved inputs (or --out as given)."""
    if a.out:
        return os.path.abspath(a.out)
    parts = [a.model, str(a.img), hw["name"]]
    if a.method != hw["default_method"]:
        parts.append(_slug(a.method))
    if a.batch != 1:
        parts.append(f"b{a.batch}")
    if a.target_delay_ms:
        parts.append(f"td{a.target_delay_ms:g}ms")
    if a.reuse:
        parts.append("reuse-" + re.sub(r"[^A-Za-z0-9]+", "-", a.reuse).strip("-"))
    parts += _sets_tag(a.set)
    parts.append(_short_digest({
        "model": a.model, "img": a.img, "batch": a.batch, "method": a.method, "reuse": a.reuse,
        "target_delay_ms": a.target_delay_ms, "hw": hw["digest"], "overrides": list(a.set),
    }))
    return os.path.join(REPO, "runs", "-".join(parts))


LOCK_FILE = ".vitsim.lock"  # the name contracts.atomic.run_folder_lock uses for its folder lock


class _Staging:
    """Build a run in a hidden sibling folder; move it into place on success, remove it on failure."""

    def __init__(self, final: str):
        self.final = final
        parent = os.path.dirname(final) or "."
        self.tmp = os.path.join(parent, f".tmp-{os.path.basename(final)}-{os.getpid()}")

    def __enter__(self) -> str:
        shutil.rmtree(self.tmp, ignore_errors=True)
        os.makedirs(self.tmp)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        _fix_paths(self.tmp, self.final)
        parent = os.path.dirname(self.final) or "."
        os.makedirs(parent, exist_ok=True)
        # Two runs finishing into the same folder at once take turns (an flock the kernel releases
        # even on SIGKILL); the install below is renames only, so the wait is short.
        with open(os.path.join(parent, LOCK_FILE), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            self._install()
        return False

    def _install(self) -> None:
        if not os.path.isdir(self.final):
            os.rename(self.tmp, self.final)
        else:  # the same inputs ran before, or --out names an existing folder: replace file by file (atomic each)
            for name in sorted(os.listdir(self.tmp)):
                os.replace(os.path.join(self.tmp, name), os.path.join(self.final, name))
            shutil.rmtree(self.tmp, ignore_errors=True)


def _fix_paths(tmp: str, final: str) -> None:
    """meta.json records the program path the simulator read: point it at the final folder."""
    meta = os.path.join(tmp, "meta.json")
    if not os.path.isfile(meta):
        return
    with open(meta) as f:
        data = json.load(f)
    prog = data.get("program")
    if isinstance(prog, str) and prog.startswith(tmp + os.sep):
        data["program"] = os.path.join(final, prog[len(tmp) + 1:])
        with open(meta + ".part", "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(meta + ".part", meta)


def _rel(path: str) -> str:
    rel = os.path.relpath(path, REPO)
    return path if rel.startswith("..") else rel


def _trace(a, out_dir: str, reuse: str | None = None) -> str:
    wl = os.path.join(out_dir, "workload.json")
    cmd = [sys.executable, "-m", "workloads", "trace", a.model, "--img", str(a.img), "--out", wl]
    if reuse:
        cmd += ["--reuse", reuse]
    _run(cmd, "trace")
    return wl


def _schedule(a, out_dir: str, wl: str) -> str:
    prog = os.path.join(out_dir, "program.json")
    cmd = [sys.executable, "-m", "scheduler", "solve", "--workload", wl, "--hw", a.hw, "--out", prog,
           "--method", a.method, "--batch", str(a.batch)]
    for s in a.set or []:
        cmd += ["--set", s]
    _run(cmd, "schedule")
    return prog


def _simulate(a, out_dir: str, prog: str, mode: str | None = None) -> None:
    cmd = [sys.executable, "-m", "simulator", "run", "--program", prog, "--hw", a.hw, "--out", out_dir]
    if mode:
        cmd += ["--mode", mode]
    for s in a.set or []:
        cmd += ["--set", s]
    if a.trace:
        cmd.append("--trace")
    if getattr(a, "trace_units", None):
        cmd += ["--trace-units", a.trace_units]
    _run(cmd, "simulate")


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


def _pim_reuse_plan(a, out_dir: str, base_wl: str) -> tuple[str, str]:
    """Algorithm 1 on a PIM mesh: the smallest N_reuse whose *simulated* latency is below the target.

    The pattern for each N_reuse is Algorithm 1's default (``python -m scheduler reuse-specs``; a
    family given with ``--reuse`` is kept). Each probe traces, schedules and simulates the reuse
    model (block-reuse mode, exact: see README) in ``probes/n<N>/``. The search is a bisection over
    N_reuse, which assumes the latency falls with N_reuse (a reusing block drops the attention phases
    and adds one d x d FC; tests/studies/test_reuse_pim.py checks DeiT-S on 16x16 at every N_reuse).
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
    hw = _resolve_hw(a.hw, a.set)
    if a.method in (None, "allspark"):  # make's METHOD=allspark default means "the family's default method"
        a.method = hw["default_method"]
    final = _run_dir(a, hw)
    if a.print_run_dir:
        print(_rel(final))
        return
    _preflight(a, a.hw)
    with _Staging(final) as out_dir:
        reuse = a.reuse
        probe = None
        if a.target_delay_ms:
            base = _trace(a, out_dir)
            if hw["reuse_plan"] == "closed_form":  # TReX Algorithm 1 (python -m scheduler trex-plan)
                reuse = _trex_plan(a, out_dir, base)
            else:  # "simulated": the chosen probe's trace and schedule are the run's: only the full simulation is left
                reuse, probe = _pim_reuse_plan(a, out_dir, base)
        if probe is not None:
            for name in ("workload.json", "program.json", "program.meta.json"):
                if os.path.isfile(os.path.join(probe, name)) and probe != out_dir:
                    shutil.copyfile(os.path.join(probe, name), os.path.join(out_dir, name + ".tmp"))
                    os.replace(os.path.join(out_dir, name + ".tmp"), os.path.join(out_dir, name))
            prog = os.path.join(out_dir, "program.json")
        else:
            wl = _trace(a, out_dir, reuse)
            prog = _schedule(a, out_dir, wl)
        if simulate:
            _simulate(a, out_dir, prog)
    _done(final)


def _done(final: str) -> None:
    report = os.path.join(final, "report.md")
    if os.path.isfile(report):
        print(f"report: {_rel(report)}")
    print(f"run folder: {_rel(final)}", flush=True)


def cmd_trace(a) -> None:
    name = f"{a.model}-{a.img}" + ("-reuse-" + re.sub(r"[^A-Za-z0-9]+", "-", a.reuse).strip("-") if a.reuse else "")
    final = os.path.abspath(a.out) if a.out else os.path.join(REPO, "runs", name)
    if a.print_run_dir:
        print(_rel(final))
        return
    with _Staging(final) as out_dir:
        _trace(a, out_dir, a.reuse)
    _done(final)


def cmd_replay(a) -> None:
    if not os.path.isfile(a.program):
        _fail(f"program file '{a.program}' does not exist")
    a.hw = a.hw or DEFAULT_PIM
    hw = _resolve_hw(a.hw, a.set)
    src = os.path.basename(os.path.dirname(os.path.abspath(a.program)))
    digest = _short_digest({"program": file_digest(a.program), "hw": hw["digest"], "overrides": list(a.set)})
    name = "-".join([f"replay-{src}-on-{hw['name']}", *_sets_tag(a.set), digest])
    final = os.path.abspath(a.out) if a.out else os.path.join(REPO, "runs", name)
    if a.print_run_dir:
        print(_rel(final))
        return
    _preflight(a, a.hw)
    program = os.path.abspath(a.program)
    with _Staging(final) as out_dir:
        _simulate(a, out_dir, program)
    _done(final)


def main(argv: list[str] | None = None) -> None:
    p = _Parser(prog="python -m pipeline", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("sim", "schedule", "trace"):
        q = sub.add_parser(name)
        q.add_argument("--model", required=True)
        q.add_argument("--img", type=_positive_int("--img (IMG)"), default=224)
        q.add_argument("--hw", default=None)
        q.add_argument("--batch", type=_positive_int("--batch (BATCH)"), default=1)
        q.add_argument("--method", default=None, help="allspark | B | P | AH (PIM, default allspark); trex | ... (crossbar)")
        q.add_argument("--trace", action="store_true")
        q.add_argument("--trace-units", default=None, help="tracks of trace.json (implies --trace), e.g. pe,link")
        q.add_argument("--set", action="append", default=[])
        q.add_argument("--target-delay-ms", type=float, default=None)
        q.add_argument("--reuse", default=None)
        q.add_argument("--out", default=None)
        q.add_argument("--print-run-dir", action="store_true", help="print the run folder these inputs use and exit")
    r = sub.add_parser("replay")
    r.add_argument("--program", required=True)
    r.add_argument("--hw", default=None)
    r.add_argument("--set", action="append", default=[])
    r.add_argument("--trace", action="store_true")
    r.add_argument("--trace-units", default=None, help="tracks of trace.json (implies --trace), e.g. pe,link")
    r.add_argument("--out", default=None)
    r.add_argument("--print-run-dir", action="store_true", help="print the run folder these inputs use and exit")
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
