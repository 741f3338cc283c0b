"""``python -m simulator noc``: the mesh network under synthetic traffic, the standard NoC check.

Modelled
--------
* A k x k mesh built from ``--k`` with the router and link parameters of the
  hardware config (``--hw``, ``--set noc.buffer_depth_flits=4`` ...), run by
  :class:`simulator.noc.network.MeshNetwork` at transfer level or, with
  ``--flit-level``, cycle by cycle.
* Traffic patterns (destination of a packet from node (r, c), as in BookSim):
  ``uniform`` any other node with equal probability; ``transpose`` (c, r);
  ``bitcomp`` (k-1-r, k-1-c), the complement of each coordinate's bits for a
  power-of-two k; ``neighbor`` ((r+1) mod k, (c+1) mod k); ``hotspot`` the
  centre node (k//2, k//2) with probability ``--hotspot-fraction``, otherwise
  uniform. A node whose destination would be itself does not inject (the
  diagonal under transpose, the centre under bitcomp for odd k).
* Open-loop Bernoulli injection: in every cycle each injecting node creates a
  packet of ``--packet-flits`` flits with probability rate/packet_flits, so
  ``--rate`` is the OFFERED LOAD IN FLITS PER NODE PER CYCLE. Source queues
  are unbounded; a packet's latency runs from its creation (source queueing
  included) to its tail flit arriving in the destination network interface.
* Windows: ``--warmup-cycles`` of warm-up (default a quarter of ``--cycles``,
  at least 1000), then ``--cycles`` of measurement: the packets created in it
  are the measured ones. Injection goes on while they drain; a run is
  SATURATED if its measured packets are not all delivered within ``--cycles``
  more cycles, if its accepted throughput falls below 95 % of the offered
  load, or if its average latency exceeds 3x the zero-load latency (past the
  knee of the latency-load curve, where source queues grow over the window).
* Accepted throughput: flits of packets delivered inside the measurement
  window, per injecting node per cycle (equal to the offered load below
  saturation).
* ``--sweep`` raises the rate by ``--sweep-step`` until a run saturates, then
  bisects the last interval three times; the saturation rate is the lowest
  saturated offered load found. It writes ``noc_sweep.csv`` and
  ``noc_latency_load.png`` into ``--out`` (default ``runs/noc``).

Every random choice comes from one numpy generator seeded with ``--seed``; the
packet list is drawn before simulation, so both network models see the very
same packets and the output is byte-identical between runs.

Abstracted away: closed-loop (request/reply) traffic, bursty injection, and
per-flit accounting of the accepted throughput (a packet's flits count at its
delivery).
"""

from __future__ import annotations

import csv
import io
import math
import os
import time
from dataclasses import dataclass

import numpy as np

from contracts.atomic import write_bytes, write_text
from contracts.errors import UserError
from contracts.hardware import load_hw
from contracts.hardware.pim_mesh import PimMeshConfig


TRAFFIC_PATTERNS = ("uniform", "transpose", "bitcomp", "neighbor", "hotspot")
SATURATION_ACCEPTED_FRACTION = 0.95  # accepted / offered below this: the network no longer keeps up
SATURATION_LATENCY_FACTOR = 3.0  # average latency above 3x zero-load: past the knee (a common NoC convention)
DEFAULT_HOTSPOT_FRACTION = 0.1


@dataclass(frozen=True)
class SynthResult:
    """Outcome of one synthetic-traffic run (everything deterministic; wall time kept apart)."""

    k: int
    traffic: str
    mode: str
    rate_flits_per_node_cycle: float
    packet_flits: int
    offered_flits_per_node_cycle: float
    accepted_flits_per_node_cycle: float
    avg_latency_cycles: float
    zero_load_latency_cycles: float
    packets_measured: int
    packets_delivered: int
    saturated: bool
    simulated_cycles: int
    simpy_events: int
    packets_injected: int
    flit_hops: int
    wall_s: float

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "wall_s"}
        return dict(sorted(d.items()))


def _destinations(traffic: str, k: int, hotspot_fraction: float):
    """Per source node: a fixed destination (int), -1 for 'uniform', or None (does not inject)."""
    n = k * k
    fixed: list[int | None] = []
    for s in range(n):
        r, c = divmod(s, k)
        if traffic in ("uniform", "hotspot"):
            fixed.append(-1)
            continue
        if traffic == "transpose":
            d = c * k + r
        elif traffic == "bitcomp":
            d = (k - 1 - r) * k + (k - 1 - c)
        elif traffic == "neighbor":
            d = ((r + 1) % k) * k + (c + 1) % k
        else:
            raise UserError(f"unknown traffic pattern '{traffic}'; choose one of {', '.join(TRAFFIC_PATTERNS)}")
        fixed.append(None if d == s else d)
    return fixed


def generate_packets(
    traffic: str, k: int, rate: float, packet_flits: int, horizon_cycles: int, seed: int,
    hotspot_fraction: float = DEFAULT_HOTSPOT_FRACTION,
) -> tuple[list[tuple[int, int, int]], int]:
    """Bernoulli injection over ``horizon_cycles``: sorted [(cycle, src, dst)] and the injecting node count."""
    p = rate / packet_flits
    if not 0 < p <= 1:
        raise UserError(f"rate {rate} flits/node/cycle with {packet_flits}-flit packets is not a probability in (0, 1]")
    rng = np.random.default_rng(seed)
    fixed = _destinations(traffic, k, hotspot_fraction)
    n = k * k
    hot = (k // 2) * k + k // 2
    out: list[tuple[int, int, int]] = []
    injecting = 0
    for s in range(n):
        if fixed[s] is None:
            continue
        injecting += 1
        # Bernoulli process: gaps between packets are geometric (>= 1 cycle), first packet too
        expected = int(horizon_cycles * p * 1.2) + 64
        times: list[int] = []
        t = -1
        while True:
            gaps = rng.geometric(p, size=expected)
            for gap in gaps.tolist():
                t += gap
                if t >= horizon_cycles:
                    break
                times.append(t)
            else:
                continue
            break
        if fixed[s] >= 0:
            dsts = [fixed[s]] * len(times)
        else:
            others = rng.integers(0, n - 1, size=len(times))  # uniform over the n-1 other nodes
            dsts = [int(d) + (1 if d >= s else 0) for d in others.tolist()]
            if traffic == "hotspot" and s != hot:
                to_hot = rng.random(len(times)) < hotspot_fraction
                dsts = [hot if h else d for h, d in zip(to_hot.tolist(), dsts)]
        out.extend(zip(times, [s] * len(times), dsts))
    out.sort()
    return out, injecting


def mesh_config(hw_name: str, overrides: list[str] | None) -> PimMeshConfig:
    hw = load_hw(hw_name, overrides)
    if not isinstance(hw, PimMeshConfig):
        raise UserError(f"hardware config '{hw_name}' is a {hw.kind}, not a pim_mesh: the NoC mode needs a mesh")
    return hw


def run_synthetic(
    hw: PimMeshConfig,
    k: int,
    traffic: str,
    rate: float,
    packet_flits: int,
    mode: str = "transfer",
    cycles: int = 20000,
    warmup_cycles: int | None = None,
    seed: int = 1,
    hotspot_fraction: float = DEFAULT_HOTSPOT_FRACTION,
    progress: bool = False,
) -> SynthResult:
    """One open-loop run; see the module docstring for windows, units and saturation."""
    import simpy

    from simulator.families.pim_mesh.costmodel import noc_zero_load_cycles
    from simulator.noc.network import MeshNetwork

    if k < 2:
        raise UserError(f"--k {k}: a mesh needs at least 2 nodes per side")
    if cycles < 1:
        raise UserError(f"--cycles {cycles}: the measurement window needs at least one cycle")
    if packet_flits < 1 or packet_flits > hw.noc.packet_max_flits:
        raise UserError(
            f"--packet-flits {packet_flits} must be between 1 and noc.packet_max_flits={hw.noc.packet_max_flits} "
            f"(raise it with --set noc.packet_max_flits=N)"
        )
    warm = max(1000, cycles // 4) if warmup_cycles is None else warmup_cycles
    end_measure = warm + cycles
    horizon = end_measure + cycles  # injection continues while the measured packets drain
    packets, injecting = generate_packets(traffic, k, rate, packet_flits, horizon, seed, hotspot_fraction)
    nbytes = packet_flits * hw.noc.flit_bits // 8
    if -(-8 * nbytes // hw.noc.flit_bits) != packet_flits:
        raise UserError(f"flit_bits {hw.noc.flit_bits} is not a whole number of bytes")

    env = simpy.Environment()
    net = MeshNetwork(env, hw, mode, rows=k, cols=k)
    state = {"measured": 0, "delivered": 0, "latency_sum": 0, "accepted_flits": 0, "last_delivery": 0}

    def on_delivered(event) -> None:
        t0 = event.transfer.sent_at
        now = env.now
        state["last_delivery"] = now
        if warm <= now < end_measure:
            state["accepted_flits"] += packet_flits
        if warm <= t0 < end_measure:
            state["delivered"] += 1
            state["latency_sum"] += now - t0

    def source():
        i = 0
        n = len(packets)
        while i < n:
            t = packets[i][0]
            if t >= end_measure and state["delivered"] == state["measured"]:
                return  # every measured packet is out: stop offering load
            if t > env.now:
                yield env.timeout(t - env.now)
            while i < n and packets[i][0] == t:
                _, s, d = packets[i]
                ev = net.send(divmod(s, k), divmod(d, k), nbytes, "synthetic")
                ev.callbacks.append(on_delivered)
                if warm <= t < end_measure:
                    state["measured"] += 1
                i += 1

    env.process(source())
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=horizon, desc=f"noc {mode} {traffic} {rate:g}", unit="cycle", leave=False, mininterval=1.0, disable=None)

        def monitor():
            step = max(1, horizon // 100)
            while env.now < horizon:
                yield env.timeout(step)
                bar.update(step)

        env.process(monitor())
    t_wall = time.perf_counter()
    env.run(until=horizon)
    wall = time.perf_counter() - t_wall
    if bar is not None:
        bar.close()
    measured, delivered = state["measured"], state["delivered"]
    offered = measured * packet_flits / (injecting * cycles)
    accepted = state["accepted_flits"] / (injecting * cycles)
    avg = state["latency_sum"] / delivered if delivered else math.inf
    # zero-load latency of the measured packets: the closed form averaged over their hop counts
    hops = [abs(s // k - d // k) + abs(s % k - d % k) for t, s, d in packets if warm <= t < end_measure]
    zl = sum(noc_zero_load_cycles(hw, nbytes, h) for h in hops) / len(hops) if hops else 0.0
    saturated = (
        delivered < measured
        or accepted < SATURATION_ACCEPTED_FRACTION * offered
        or avg > SATURATION_LATENCY_FACTOR * zl
    )
    return SynthResult(
        k=k, traffic=traffic, mode=mode, rate_flits_per_node_cycle=rate, packet_flits=packet_flits,
        offered_flits_per_node_cycle=round(offered, 6), accepted_flits_per_node_cycle=round(accepted, 6),
        avg_latency_cycles=round(avg, 4) if delivered else avg, zero_load_latency_cycles=round(zl, 4),
        packets_measured=measured, packets_delivered=delivered, saturated=saturated,
        simulated_cycles=int(state["last_delivery"]), simpy_events=net.model_events,
        packets_injected=net.stats.packets_sent, flit_hops=net.stats_dict()["flit_hops"], wall_s=wall,
    )


def sweep(
    hw: PimMeshConfig, k: int, traffic: str, packet_flits: int, mode: str, cycles: int, warmup_cycles: int | None,
    seed: int, step: float, max_rate: float, hotspot_fraction: float = DEFAULT_HOTSPOT_FRACTION,
    bisections: int = 3, progress: bool = False,
) -> tuple[list[SynthResult], float | None]:
    """Latency-load curve: rates step, 2*step, ... up to the first saturated run, then bisection.

    Returns the runs sorted by rate and the saturation rate (lowest saturated offered load), or
    None if ``max_rate`` was reached unsaturated.
    """
    def one(rate: float) -> SynthResult:
        return run_synthetic(hw, k, traffic, rate, packet_flits, mode, cycles, warmup_cycles, seed, hotspot_fraction)

    results: list[SynthResult] = []
    bar = None
    if progress:
        from tqdm import tqdm

        # at most: every step up to max_rate (or one packet per node per cycle), then the bisections
        steps = int(min(max_rate, packet_flits) / step + 1e-9)
        bar = tqdm(total=steps + bisections, desc=f"sweep {mode} {traffic} k={k}", unit="run", leave=False, disable=None)
    ok_rate, sat_rate = 0.0, None
    i = 1
    while True:
        rate = round(i * step, 6)
        if rate > max_rate or rate / packet_flits > 1:
            break
        res = one(rate)
        results.append(res)
        if bar is not None:
            bar.update(1)
        if res.saturated:
            sat_rate = rate
            break
        ok_rate = rate
        i += 1
    if sat_rate is not None:
        for _ in range(bisections):
            mid = round((ok_rate + sat_rate) / 2, 6)
            if mid in (ok_rate, sat_rate):
                break
            res = one(mid)
            results.append(res)
            if bar is not None:
                bar.update(1)
            if res.saturated:
                sat_rate = mid
            else:
                ok_rate = mid
    if bar is not None:
        bar.total = bar.n  # saturation came before the upper bound: end the bar at 100 %
        bar.refresh()
        bar.close()
    results.sort(key=lambda r: r.rate_flits_per_node_cycle)
    return results, sat_rate


def sweep_csv(results: list[SynthResult]) -> str:
    buf = io.StringIO()
    cols = ["rate_flits_per_node_cycle", "offered_flits_per_node_cycle", "accepted_flits_per_node_cycle",
            "avg_latency_cycles", "zero_load_latency_cycles", "packets_measured", "saturated", "mode", "traffic", "k"]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in results:
        w.writerow([getattr(r, c) for c in cols])
    return buf.getvalue()


def sweep_png(results: list[SynthResult], sat_rate: float | None, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in results if not r.saturated]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.plot([r.offered_flits_per_node_cycle for r in ok], [r.avg_latency_cycles for r in ok], "o-", label="average packet latency")
    if ok:
        ax.axhline(ok[0].zero_load_latency_cycles, color="grey", ls=":", label="zero-load (closed form)")
    if sat_rate is not None:
        ax.axvline(sat_rate, color="red", ls="--", label=f"saturation ~ {sat_rate:g}")
    ax.set_xlabel("offered load (flits/node/cycle)")
    ax.set_ylabel("latency (cycles)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _format(r: SynthResult) -> str:
    lat = f"{r.avg_latency_cycles:.2f}" if math.isfinite(r.avg_latency_cycles) else "inf"
    return (
        f"{r.mode:8s} k={r.k} {r.traffic:9s} rate={r.rate_flits_per_node_cycle:g} flits/node/cycle  "
        f"latency={lat} cycles (zero-load {r.zero_load_latency_cycles:.2f})  "
        f"accepted={r.accepted_flits_per_node_cycle:.4f} flits/node/cycle  "
        f"packets={r.packets_delivered}/{r.packets_measured}{'  SATURATED' if r.saturated else ''}"
    )


MAX_SWEEP_POINTS = 1000


def _check_arguments(args, warm, hw) -> None:
    """Refuse arguments that would never finish (a sweep of 10**300 points) or mean nothing (a NaN rate)."""
    import math

    from contracts.hardware.pim_mesh import MAX_MESH_SIDE

    if not 2 <= args.k <= MAX_MESH_SIDE:
        raise UserError(f"--k {args.k}: the mesh side must lie between 2 and {MAX_MESH_SIDE} nodes")
    if not math.isfinite(args.rate):
        raise UserError(f"--rate {args.rate} is not a number of flits/node/cycle")
    if not 1 <= args.packet_flits <= hw.noc.packet_max_flits:  # before a progress bar starts (it shares stderr)
        raise UserError(f"--packet-flits {args.packet_flits} must be between 1 and noc.packet_max_flits="
                        f"{hw.noc.packet_max_flits} (raise it with --set noc.packet_max_flits=N)")
    if args.cycles < 1:
        raise UserError(f"--cycles {args.cycles}: the measurement window needs at least one cycle")
    if args.seed < 0:
        raise UserError(f"--seed {args.seed} must not be negative")
    if warm is not None and warm < 0:
        raise UserError(f"--warmup-cycles {warm} must not be negative")
    if args.sweep:
        step, top = getattr(args, "sweep_step", 0.02), getattr(args, "max_rate", 1.0)
        if not (math.isfinite(step) and step > 0 and math.isfinite(top) and 0 < top <= 1):
            raise UserError(f"--sweep-step {step} and --max-rate {top}: the step must be positive and the top rate in (0, 1]")
        if top / step > MAX_SWEEP_POINTS:
            raise UserError(f"--sweep-step {step} up to --max-rate {top} is {top / step:.3g} points; at most "
                            f"{MAX_SWEEP_POINTS} (raise the step)")


def noc_command(args) -> None:
    """Entry point of ``python -m simulator noc`` (flags defined in simulator/__main__.py)."""
    import json

    hw = mesh_config(args.hw, args.set)
    mode = "flit" if args.flit_level else "transfer"
    warm = getattr(args, "warmup_cycles", None)
    hot = getattr(args, "hotspot_fraction", DEFAULT_HOTSPOT_FRACTION)
    if not 0 <= hot <= 1:
        raise UserError(f"--hotspot-fraction {hot} must lie between 0 and 1")
    _check_arguments(args, warm, hw)
    if args.sweep:
        step = getattr(args, "sweep_step", None) or 0.02
        max_rate = getattr(args, "max_rate", None) or 1.0
        t0 = time.perf_counter()
        results, sat = sweep(hw, args.k, args.traffic, args.packet_flits, mode, args.cycles, warm, args.seed,
                             step, max_rate, hot, progress=True)
        out = args.out or os.path.join("runs", "noc")
        stem = f"{args.traffic}-k{args.k}-{mode}"
        write_text(os.path.join(out, f"noc_sweep-{stem}.csv"), sweep_csv(results))
        png = sweep_png(results, sat, f"{args.traffic} traffic, {args.k}x{args.k} mesh, {mode} level")
        write_bytes(os.path.join(out, f"noc_latency_load-{stem}.png"), png)
        if args.json:
            print(json.dumps({"runs": [r.as_dict() for r in results], "saturation_rate": sat}, sort_keys=True, indent=1))
        else:
            for r in results:
                print(_format(r))
            print(f"saturation rate: {sat if sat is not None else '> ' + str(max_rate)} flits/node/cycle")
            print(f"wrote {out}/noc_sweep-{stem}.csv and noc_latency_load-{stem}.png ({time.perf_counter() - t0:.1f} s)")
        return
    r = run_synthetic(hw, args.k, args.traffic, args.rate, args.packet_flits, mode, args.cycles, warm, args.seed,
                      hot, progress=True)
    if args.json:
        print(json.dumps(r.as_dict(), sort_keys=True, indent=1))
    else:
        print(_format(r))
        print(f"simulated {r.simulated_cycles} cycles with {r.simpy_events} SimPy events in {r.wall_s:.2f} s")
