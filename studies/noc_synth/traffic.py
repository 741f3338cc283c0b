"""Synthetic traffic for the mesh NoC: BookSim's patterns and open-loop Bernoulli injection (pure data).

Modelled: per source node a fixed destination (``transpose``, ``bitcomp``,
``neighbor``) or a random one (``uniform``, ``hotspot``); packet creation
times with geometric gaps, so each cycle a node creates a packet with
probability rate/packet_flits. Everything is drawn from one seeded numpy
generator, before any simulation.

Abstracted away: bursty or closed-loop (request/reply) injection.
"""

from __future__ import annotations

import numpy as np

from contracts.errors import UserError

TRAFFIC_PATTERNS = ("uniform", "transpose", "bitcomp", "neighbor", "hotspot")
DEFAULT_HOTSPOT_FRACTION = 0.1


def _destinations(traffic: str, k: int) -> list[int | None]:
    """Per source node: a fixed destination (int), -1 for 'uniform' / 'hotspot', or None (does not inject)."""
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
    fixed = _destinations(traffic, k)
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
