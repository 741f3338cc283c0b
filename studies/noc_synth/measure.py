"""Synthetic-traffic measurement of the mesh NoC: one open-loop run, and a latency-load sweep (data only).

Modelled: the windows, units and saturation rule of :mod:`studies.noc_synth`
(warm-up, measurement, drain; offered and accepted load in flits per
injecting node per cycle; average packet latency against the closed-form
zero-load latency :func:`simulator.families.pim_mesh.costmodel.noc_zero_load_cycles`).
A run drives :class:`simulator.noc.network.MeshNetwork` with the packets of
:func:`studies.noc_synth.traffic.generate_packets`; results are plain
dataclasses and CSV text (drawing lives in :mod:`studies.noc_synth.plot`).

Abstracted away: wall time is measured but kept out of every deterministic
output (``SynthResult.as_dict``).
"""

from __future__ import annotations

import csv
import io
import math
import time
from dataclasses import dataclass

import simpy

from contracts.errors import UserError
from contracts.hardware import load_hw
from contracts.hardware.pim_mesh import PimMeshConfig
from simulator.families.pim_mesh.costmodel import noc_zero_load_cycles
from simulator.noc.geometry import flits_for
from simulator.noc.network import MeshNetwork
from studies.noc_synth.traffic import DEFAULT_HOTSPOT_FRACTION, generate_packets

SATURATION_ACCEPTED_FRACTION = 0.95  # accepted / offered below this: the network no longer keeps up
SATURATION_LATENCY_FACTOR = 3.0  # average latency above 3x zero-load: past the knee (a common NoC convention)


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


def mesh_config(hw_name: str, overrides: list[str] | None) -> PimMeshConfig:
    hw = load_hw(hw_name, overrides)
    if not isinstance(hw, PimMeshConfig):
        raise UserError(f"hardware config '{hw_name}' is a {hw.kind}, not a pim_mesh: the NoC mode needs a mesh")
    return hw


def check_cycles(cycles: int) -> None:
    if cycles < 1:
        raise UserError(f"--cycles {cycles}: the measurement window needs at least one cycle")


def check_packet_flits(hw: PimMeshConfig, packet_flits: int) -> None:
    if not 1 <= packet_flits <= hw.noc.packet_max_flits:
        raise UserError(
            f"--packet-flits {packet_flits} must be between 1 and noc.packet_max_flits={hw.noc.packet_max_flits} "
            f"(raise it with --set noc.packet_max_flits=N)"
        )


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
    """One open-loop run; see :mod:`studies.noc_synth` for windows, units and saturation."""
    if k < 2:
        raise UserError(f"--k {k}: a mesh needs at least 2 nodes per side")
    check_cycles(cycles)
    check_packet_flits(hw, packet_flits)
    warm = max(1000, cycles // 4) if warmup_cycles is None else warmup_cycles
    end_measure = warm + cycles
    horizon = end_measure + cycles  # injection continues while the measured packets drain
    packets, injecting = generate_packets(traffic, k, rate, packet_flits, horizon, seed, hotspot_fraction)
    nbytes = packet_flits * hw.noc.flit_bits // 8
    if flits_for(hw.noc.flit_bits, nbytes) != packet_flits:
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
    results: list[SynthResult] = []
    bar = None
    if progress:
        from tqdm import tqdm

        # at most: every step up to max_rate (or one packet per node per cycle), then the bisections
        steps = int(min(max_rate, packet_flits) / step + 1e-9)
        bar = tqdm(total=steps + bisections, desc=f"sweep {mode} {traffic} k={k}", unit="run", leave=False, disable=None)

    def saturated_at(rate: float) -> bool:
        res = run_synthetic(hw, k, traffic, rate, packet_flits, mode, cycles, warmup_cycles, seed, hotspot_fraction)
        results.append(res)
        if bar is not None:
            bar.update(1)
        return res.saturated

    ok_rate, sat_rate = 0.0, None
    i = 1
    while True:
        rate = round(i * step, 6)
        if rate > max_rate or rate / packet_flits > 1:
            break
        if saturated_at(rate):
            sat_rate = rate
            break
        ok_rate = rate
        i += 1
    if sat_rate is not None:
        for _ in range(bisections):
            mid = round((ok_rate + sat_rate) / 2, 6)
            if mid in (ok_rate, sat_rate):
                break
            if saturated_at(mid):
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
