"""Engine speed against SimPy's own limit (issue 11), every case in its own subprocess.

One run measures, on the same machine and in the same minutes:

(a) the raw SimPy event rate: a bare ``yield env.timeout(1)`` loop (the
    target's reference), and beside it, for reading the ratios, SimPy at the
    engine's shape (1,024 timeout loops at once, one per unit of the Swin-B
    programs) on stock SimPy and on the engine's kernel
    (:mod:`simulator.engine.kernel`);
(b) the engine on Swin-B 224 / 640 / 960 (programs scheduled once by
    ``python -m pipeline schedule``, cached in ``out_dir/programs``) in full
    and block-reuse mode for each network mode (worm / transfer / flit):
    SimPy events per wall second of the simulation proper (compile and
    summary excluded, as in ``meta.json``), simulated cycles per wall second,
    and the wall time of the whole ``simulate()`` call;
(c) the peak RSS of each case (``ru_maxrss`` of the subprocess that ran only
    that case, program loading included);
plus the flit network alone on a 16x16 mesh under uniform traffic at 10 % and
50 % of the flit model's saturation rate (0.15375 flits/node/cycle,
tests/simulator/noc/test_noc_agreement.py), in simulated cycles per wall second, and the
end-to-end ``make sim MODEL=swin-b IMG=960`` wall time.

Every rate is also printed as a ratio to (a): absolute figures are noisy on a
shared machine, ratios taken in one run are what count. Rates are per CPU
second of the measuring process (``time.process_time``) beside the wall
seconds: on a machine shared by several jobs the wall clock runs several times
faster than a process's own CPU time, so per-CPU-second rates are the
comparable ones; wall seconds are what a user waits on an idle machine only
when they are close to the CPU seconds. A case that does not
finish within ``--budget`` CPU seconds is stopped there and its rates
are those of the part it simulated (marked ``budget``); its wall time is then
a lower bound. The flit network on a whole-model program is such a case: it
simulates every flit of millions of packets.

Targets (issue 11): engine event rate >= 60 % of raw SimPy; ``make sim
MODEL=swin-b IMG=960`` <= 60 s end to end; ``transfer`` on full Swin-B 224
<= 60 s; peak RSS of Swin-B 960 <= 2 GiB; flit >= 2,000 simulated cycles/s at
10 % load.

    python benchmarks/bench_engine.py --out runs/bench/engine [--imgs 224,640,960] [--networks worm,transfer,flit]
        [--modes full,block-reuse] [--budget 120] [--no-e2e]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HW = "pim-dram-16x16"
IMGS = (224, 640, 960)
MODES = ("full", "block-reuse")
NETWORKS = ("worm", "transfer", "flit")
FLIT_SATURATION_16_UNIFORM = 0.15375  # flits/node/cycle, flit model's own sweep (tests/simulator/noc/test_noc_agreement.py)
FLIT_LOADS = (0.10, 0.50)
RAW_EVENTS = 2_000_000
SHAPE_PROCS = 1024  # units of the Swin-B programs on pim-dram-16x16 (one SimPy process each)
TARGETS = {
    "event_rate_ratio": 0.60,
    "e2e_960_s": 60.0,
    "transfer_224_full_s": 60.0,
    "rss_960_gib": 2.0,
    "flit_cycles_per_s_10pct": 2000.0,
}


# ---------------------------------------------------------------------- child cases

class _Budget(Exception):
    pass


def _alarm(_sig, _frame):
    raise _Budget()


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def child_raw(events: int) -> dict:
    import simpy

    env = simpy.Environment()

    def loop(env, n):
        for _ in range(n):
            yield env.timeout(1)

    env.process(loop(env, events))
    t0, c0 = time.perf_counter(), time.process_time()
    env.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = next(env._eid)
    return {"events": n, "wall_s": wall, "cpu_s": cpu, "events_per_s": n / cpu, "peak_rss_mib": _rss_mib()}


def child_raw_shape(events: int, procs: int, kernel: str) -> dict:
    """SimPy at the engine's shape: ``procs`` processes at once, each a timeout loop of a fixed delay.

    ``kernel`` "simpy": ``env.process`` + ``env.timeout`` on a stock ``simpy.Environment``;
    "vitsim": the same loops on :class:`simulator.engine.kernel.FastEnvironment`, driven by
    :func:`simulator.engine.kernel.start` with ``int`` delays (what the executor runs on).
    Delays are 1..50 cycles, seeded; the heap then holds ``procs`` events, as the engine's does.
    """
    import random

    import simpy

    from simulator.engine.kernel import FastEnvironment, start

    rnd = random.Random(1)
    per = max(1, events // procs)
    if kernel == "simpy":
        env = simpy.Environment()

        def loop(n, d):
            for _ in range(n):
                yield env.timeout(d)

        for _ in range(procs):
            env.process(loop(per, rnd.randint(1, 50)))
    else:
        env = FastEnvironment()

        def loop(n, d):
            for _ in range(n):
                yield d

        for _ in range(procs):
            start(env, loop(per, rnd.randint(1, 50)))
    t0, c0 = time.perf_counter(), time.process_time()
    env.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = next(env._eid)
    return {"events": n, "wall_s": wall, "cpu_s": cpu, "events_per_s": n / cpu, "peak_rss_mib": _rss_mib(),
            "procs": procs, "kernel": kernel}


def child_sim(program: str, mode: str, network: str, budget: float) -> dict:
    """Simulate one program; on running out of budget report the rates of the part simulated."""
    import simulator.families.pim_mesh.units as pim_engine
    from contracts.hardware.loader import load_hw
    from contracts.program import load_program

    envs: list = []

    class _Env(pim_engine.FastEnvironment):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            envs.append(self)

    hw = load_hw(HW, [])
    program_obj = load_program(program, known_units=hw.unit_names())
    pim_engine.FastEnvironment = _Env  # only this benchmark process: lets a stopped run report its clock
    orig_executor_run = pim_engine.Executor.run
    t_run: list[float] = []
    c_run: list[float] = []

    def timed_run(self):
        t_run.append(time.perf_counter())
        c_run.append(time.process_time())
        try:
            return orig_executor_run(self)
        finally:
            t_run.append(time.perf_counter())
            c_run.append(time.process_time())

    pim_engine.Executor.run = timed_run
    signal.signal(signal.SIGVTALRM, _alarm)
    signal.setitimer(signal.ITIMER_VIRTUAL, budget)  # CPU time of this process
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        result, _meta, _ = pim_engine.simulate(program_obj, hw, mode=mode, network_mode=network, progress=False,
                                               program_digest="bench")
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        finished, env_now = True, result["latency"]["cycles"]
    except _Budget:
        _meta = None
        finished, env_now = False, int(envs[-1].now)
        t_run.append(time.perf_counter())
        c_run.append(time.process_time())
    n = _meta["sim_events"] if finished else next(envs[-1]._eid)  # scheduled events (the engine's own count)
    sim_cpu = c_run[-1] - c_run[0] if c_run else 0.0
    return {
        "finished": finished, "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
        "sim_wall_s": t_run[-1] - t_run[0] if t_run else 0.0, "sim_cpu_s": sim_cpu, "events": n,
        "events_per_s": n / sim_cpu if sim_cpu else None, "cycles": env_now,
        "cycles_per_s": env_now / sim_cpu if sim_cpu else None, "peak_rss_mib": _rss_mib(),
    }


def child_flit(fraction: float, cycles: int) -> dict:
    from studies.noc_synth.measure import mesh_config, run_synthetic

    hw = mesh_config(HW, [])
    rate = round(fraction * FLIT_SATURATION_16_UNIFORM, 5)
    c0 = time.process_time()
    r = run_synthetic(hw, 16, "uniform", rate, 16, "flit", cycles, None, seed=1)
    cpu = time.process_time() - c0  # packet generation included (small)
    return {
        "rate_flits_per_node_cycle": rate, "wall_s": r.wall_s, "cpu_s": cpu, "cycles": r.simulated_cycles,
        "cycles_per_s": r.simulated_cycles / cpu, "events": r.simpy_events, "events_per_s": r.simpy_events / cpu,
        "avg_latency_cycles": r.avg_latency_cycles, "saturated": r.saturated, "peak_rss_mib": _rss_mib(),
    }


# ---------------------------------------------------------------------- parent

def _child(args: list[str], timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _program(img: int, out_dir: str) -> str | None:
    d = os.path.join(out_dir, "programs", f"swin-b-{img}")
    path = os.path.join(d, "program.json")
    if not os.path.isfile(path):
        proc = subprocess.run([sys.executable, "-m", "pipeline", "schedule", "--model", "swin-b", "--img", str(img),
                               "--out", d], cwd=REPO, capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.isfile(path):
            print(f"swin-b {img}: schedule failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}", flush=True)
            return None
    return path


def _e2e(img: int, out_dir: str) -> dict:
    out = os.path.join(out_dir, f"e2e-swin-b-{img}")
    cmd = ["make", "-s", "sim", "MODEL=swin-b", f"IMG={img}", f"OUT={out}"]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    row = {"command": " ".join(cmd), "wall_s": time.perf_counter() - t0, "returncode": proc.returncode,
           "cpu_s": ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime,
           "peak_rss_mib_any_stage": ru.ru_maxrss / 1024.0}
    if proc.returncode == 0 and os.path.isfile(os.path.join(out, "meta.json")):
        with open(os.path.join(out, "meta.json")) as f:
            meta = json.load(f)
        row.update({k: meta.get(k) for k in ("simulate_wall_s", "sim_events", "events_per_s", "end_to_end_wall_s")})
    return row


def _fmt_ratio(x, raw) -> str:
    return f"{x / raw:6.1%}" if x and raw else "     -"


def main(out_dir: str, imgs=IMGS, modes=MODES, networks=NETWORKS, budget: float = 120.0, e2e: bool = True,
         flit_cycles: int = 3000) -> dict:
    os.makedirs(out_dir, exist_ok=True)
    summary: dict = {"budget_s": budget}
    raw = _child(["raw", str(RAW_EVENTS)], 600)
    summary["raw_simpy"] = raw
    raw_rate = raw.get("events_per_s")
    print(f"(a) raw SimPy timeout loop: {raw_rate:,.0f} events per CPU s, peak RSS {raw.get('peak_rss_mib', 0):.0f} MiB",
          flush=True)
    shapes = {}
    for kernel, procs in (("simpy", SHAPE_PROCS), ("vitsim", 1), ("vitsim", SHAPE_PROCS)):
        r = _child(["raw-shape", str(RAW_EVENTS), str(procs), kernel], 600)
        shapes[f"{kernel}-{procs}"] = r
        what = "stock SimPy" if kernel == "simpy" else "vitsim kernel (FastEnvironment + start)"
        print(f"    reference: {what}, {procs:,} timeout loop(s) at once: {r.get('events_per_s', 0):,.0f} events per CPU s "
              f"({_fmt_ratio(r.get('events_per_s'), raw_rate).strip()} of (a))", flush=True)
    summary["raw_shapes"] = shapes
    shape_rate = shapes[f"simpy-{SHAPE_PROCS}"].get("events_per_s")
    rows = []
    print(f"(b,c) engine, every case in its own process, stopped after {budget:g} CPU s; rates per CPU second of "
          f"the simulation proper\n"
          f"(/raw: ratio to (a), the target's reference; /shape: ratio to stock SimPy with {SHAPE_PROCS:,} processes)\n"
          f"{'case':34s} {'wall s':>8s} {'cpu s':>7s} {'events':>11s} {'events/s':>10s} {'/raw':>6s} {'/shape':>6s} "
          f"{'cycles/s':>11s} {'RSS MiB':>8s}", flush=True)
    for img in imgs:
        program = _program(img, out_dir)
        if program is None:
            continue
        for network in networks:
            for mode in modes:
                r = _child(["sim", program, mode, network, str(budget)], budget + 600)
                r.update({"img": img, "mode": mode, "network": network})
                rows.append(r)
                name = f"swin-b {img} {mode} {network}"
                if "error" in r:
                    print(f"{name:34s} ERROR {r['error']}", flush=True)
                    continue
                wall = f"{r['wall_s']:8.1f}" if r["finished"] else f">{r['wall_s']:7.0f}"
                cpu = f"{r['cpu_s']:7.1f}" if r["finished"] else f">{r['cpu_s']:6.0f}"
                print(f"{name:34s} {wall} {cpu} {r['events']:11,d} {r['events_per_s']:10,.0f} "
                      f"{_fmt_ratio(r['events_per_s'], raw_rate)} {_fmt_ratio(r['events_per_s'], shape_rate)} "
                      f"{r['cycles_per_s']:11,.0f} {r['peak_rss_mib']:8.0f}"
                      + ("" if r["finished"] else "  (budget: partial run)"), flush=True)
    summary["engine"] = rows
    flit = []
    print("flit network alone, 16x16 mesh, uniform traffic, 16-flit packets", flush=True)
    for frac in FLIT_LOADS:
        r = _child(["flit", str(frac), str(flit_cycles)], 1800)
        r["fraction_of_saturation"] = frac
        flit.append(r)
        if "error" in r:
            print(f"  {frac:.0%} of saturation: ERROR {r['error']}", flush=True)
            continue
        print(f"  {frac:.0%} of saturation ({r['rate_flits_per_node_cycle']:g} flits/node/cycle): "
              f"{r['cycles_per_s']:,.0f} simulated cycles per CPU s ({r['cycles']:,} cycles in {r['cpu_s']:.1f} CPU s, "
              f"{r['wall_s']:.1f} s wall), "
              f"{r['events_per_s']:,.0f} events/s ({_fmt_ratio(r['events_per_s'], raw_rate).strip()} of raw), "
              f"RSS {r['peak_rss_mib']:.0f} MiB", flush=True)
    summary["flit_16x16_uniform"] = flit
    if e2e:
        row = _e2e(960, out_dir)
        summary["e2e_960"] = row
        print(f"make sim MODEL=swin-b IMG=960: {row['wall_s']:.1f} s wall, {row['cpu_s']:.1f} CPU s end to end "
              f"(rc {row['returncode']}), "
              f"simulator {row.get('simulate_wall_s') or 0:.1f} s wall", flush=True)
    summary["targets"] = _targets(summary, raw_rate)
    for k, v in summary["targets"].items():
        print(f"target {k}: {v}", flush=True)
    sys.path.insert(0, REPO)
    from contracts.atomic import write_json

    write_json(os.path.join(out_dir, "bench_engine.json"), summary)
    return summary


def _targets(summary: dict, raw_rate) -> dict:
    out = {}
    eng = [r for r in summary.get("engine", []) if "error" not in r]
    full_worm = [r for r in eng if r["mode"] == "full" and r["network"] == "worm"]
    if full_worm and raw_rate:
        worst = min(r["events_per_s"] for r in full_worm) / raw_rate
        out["event_rate_ratio"] = f"{worst:.1%} of raw (worst full/worm case; target >= {TARGETS['event_rate_ratio']:.0%})"
    t224 = [r for r in eng if r["img"] == 224 and r["mode"] == "full" and r["network"] == "transfer"]
    if t224:
        r = t224[0]
        out["transfer_224_full_s"] = (f"{r['cpu_s']:.1f} CPU s" if r["finished"] else f"> {r['cpu_s']:.0f} CPU s (stopped)") \
            + f" (target <= {TARGETS['transfer_224_full_s']:g} s)"
    rss = [r for r in eng if r["img"] == 960 and r["mode"] == "full" and r["network"] == "worm"]
    if rss:
        out["rss_960_gib"] = f"{rss[0]['peak_rss_mib'] / 1024:.2f} GiB (target <= {TARGETS['rss_960_gib']:g} GiB)"
    flit = [r for r in summary.get("flit_16x16_uniform", []) if "error" not in r and r["fraction_of_saturation"] == 0.10]
    if flit:
        out["flit_cycles_per_s_10pct"] = (f"{flit[0]['cycles_per_s']:,.0f} cycles/s "
                                          f"(target >= {TARGETS['flit_cycles_per_s_10pct']:,.0f})")
    if "e2e_960" in summary:
        e = summary["e2e_960"]
        out["e2e_960_s"] = f"{e['wall_s']:.1f} s wall, {e['cpu_s']:.1f} CPU s (target <= {TARGETS['e2e_960_s']:g} s)"
    return out


def _child_main(argv: list[str]) -> None:
    kind = argv[0]
    if kind == "raw":
        r = child_raw(int(argv[1]))
    elif kind == "raw-shape":
        r = child_raw_shape(int(argv[1]), int(argv[2]), argv[3])
    elif kind == "sim":
        r = child_sim(argv[1], argv[2], argv[3], float(argv[4]))
    elif kind == "flit":
        r = child_flit(float(argv[1]), int(argv[2]))
    else:
        raise SystemExit(f"unknown child case {kind!r}")
    print(json.dumps(r))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.path.insert(0, REPO)
        _child_main(sys.argv[2:])
        sys.exit(0)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(REPO, "runs", "bench", "engine"))
    p.add_argument("--imgs", default=",".join(map(str, IMGS)))
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--networks", default=",".join(NETWORKS))
    p.add_argument("--budget", type=float, default=120.0, help="seconds of simulation per case before it is stopped")
    p.add_argument("--flit-cycles", type=int, default=3000, help="measurement window of the flit runs")
    p.add_argument("--no-e2e", action="store_true", help="skip the end-to-end make sim IMG=960")
    a = p.parse_args()
    main(a.out, [int(x) for x in a.imgs.split(",")], a.modes.split(","), a.networks.split(","), a.budget,
         not a.no_e2e, a.flit_cycles)
