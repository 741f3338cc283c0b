"""``python -m pipeline``: chain trace -> schedule -> simulate through files.

This package only orchestrates: it runs each stage's own command line
(``python -m workloads``, ``python -m scheduler``, ``python -m simulator``) as
a subprocess and passes files between them, so it imports none of the three
packages and the import boundaries of DESIGN.md hold. A stage that is not
built yet is reported plainly and nothing is invented in its place.

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
import hashlib
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


def _resolve_hw(hw: str, sets: list[str]) -> dict:
    """Name, kind and sha256 of the config after overrides (``python -m simulator hw``); exits 2 on a bad config."""
    path = hw if os.path.isfile(hw) else os.path.join(HW_DIR, hw + ".yaml")
    if not os.path.isfile(path):
        names = sorted(f[:-5] for f in os.listdir(HW_DIR) if f.endswith(".yaml")) if os.path.isdir(HW_DIR) else []
        _fail(f"unknown hardware config '{hw}'; known configs: {', '.join(names) or 'none yet'}")
    if not _stage_built("simulator"):
        with open(path) as f:
            m = re.search(r"^kind:\s*(\S+)", f.read(), re.M)
        return {"name": os.path.splitext(os.path.basename(path))[0], "kind": m.group(1) if m else "unknown",
                "digest": _digest_file(path)}
    cmd = [sys.executable, "-m", "simulator", "hw", "--hw", hw]
    for item in sets:
        cmd += ["--set", item]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit(proc.returncode)
    return json.loads(proc.stdout)


def _digest_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
    if a.method != _default_method(hw["kind"]):
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


def _default_method(kind: str) -> str:
    return "trex" if kind == "crossbar_chip" else "allspark"


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
        if not os.path.isdir(self.final):
            os.makedirs(os.path.dirname(self.final) or ".", exist_ok=True)
            os.rename(self.tmp, self.final)
        else:  # the same inputs ran before, or --out names an existing folder: replace file by file (atomic each)
            for name in sorted(os.listdir(self.tmp)):
                os.replace(os.path.join(self.tmp, name), os.path.join(self.final, name))
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False


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
    _check_args(a)
    hw = _resolve_hw(a.hw, a.set)
    kind = hw["kind"]
    if a.method is None or (kind == "crossbar_chip" and a.method == "allspark"):
        a.method = _default_method(kind)  # make's METHOD=allspark default means "the default method"
    final = _run_dir(a, hw)
    if a.print_run_dir:
        print(_rel(final))
        return
    if a.target_delay_ms and kind != "crossbar_chip":
        _fail("TARGET_DELAY_MS (TReX Algorithm 1) needs a crossbar config such as fefet-64")
    with _Staging(final) as out_dir:
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
    _done(final)


def _done(final: str) -> None:
    report = os.path.join(final, "report.md")
    if os.path.isfile(report):
        print(f"report: {_rel(report)}")
    print(f"run folder: {_rel(final)}", flush=True)


def _check_args(a) -> None:
    if getattr(a, "img", 1) < 1:
        _fail(f"image size {a.img} must be a positive number of pixels")
    if getattr(a, "batch", 1) < 1:
        _fail(f"batch size {a.batch} must be at least 1")


def cmd_trace(a) -> None:
    _check_args(a)
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
    if not _stage_built("simulator"):
        _fail("the simulator (python -m simulator) is not built yet", 3)
    a.hw = a.hw or DEFAULT_PIM
    hw = _resolve_hw(a.hw, a.set)
    src = os.path.basename(os.path.dirname(os.path.abspath(a.program)))
    digest = _short_digest({"program": _digest_file(a.program), "hw": hw["digest"], "overrides": list(a.set)})
    name = "-".join([f"replay-{src}-on-{hw['name']}", *_sets_tag(a.set), digest])
    final = os.path.abspath(a.out) if a.out else os.path.join(REPO, "runs", name)
    if a.print_run_dir:
        print(_rel(final))
        return
    program = os.path.abspath(a.program)
    with _Staging(final) as out_dir:
        _simulate(a, out_dir, program)
    _done(final)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("sim", "schedule", "trace"):
        q = sub.add_parser(name)
        q.add_argument("--model", required=True)
        q.add_argument("--img", type=int, default=224)
        q.add_argument("--hw", default=None)
        q.add_argument("--batch", type=int, default=1)
        q.add_argument("--method", default=None, help="allspark | B | P | AH (PIM, default allspark); trex | ... (crossbar)")
        q.add_argument("--trace", action="store_true")
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
