"""Transfer-level (per-packet) model of the mesh: one SimPy event per packet per router.

Modelled
--------
A packet's path is a chain of channels: the injection channel (NI -> local
input of the source router), the links of its XY route, and the ejection
channel (destination router -> NI). Every channel but the ejection one ends in
an input port with V virtual channels (VCs) of B flits. For each packet and
channel i the model computes

* ``G[i]``, the cycle its head crosses into channel i (the "grant"): at the
  earliest R-1 cycles after the head was written into the router's input
  buffer, once a VC of channel i is free (atomic allocation: the previous
  owner's tail has left that buffer and its credit is back) and the channel
  has finished carrying the packets granted before it (one flit per cycle, so
  a packet occupies a channel for F cycles);
* ``S[i]``, the cycle its tail crosses into channel i:
  ``max(G[i]+F-1, S[i-1]+A[i-1]+R-1, G[i+1]+F-1-B+C[i])``, where A is the
  channel's latency and C its credit delay. The last term is the one-hop
  back-pressure rule: when the head waits at the next router, at most B flits
  fit into that router's buffer and the rest of the worm stays behind. It is
  applied when F > B (a shorter packet fits in one buffer);
* the VC of channel i is free again at ``S[i+1] + C[i]``: the tail has left
  the buffer at the end of channel i and the credit has travelled back.

A packet whose every candidate VC is held by packets whose tails are not yet
placed waits in a FIFO at that channel while it keeps holding its own VCs
behind it: that is input-queue (head-of-line) blocking, and how congestion
spreads upstream. Requests at one channel are served in the order they become
eligible (FIFO); a grant may lie in the future (the channel or VC is reserved
for the cycle it frees up), which lets a packet's next event be one timeout
instead of a polling loop. The only SimPy events are one timeout per packet
per router (the head becoming eligible there) and one event per transfer when
its last byte arrives.

Abstracted away (against :mod:`simulator.engine.noc_flit`): flit-by-flit
interleaving of VCs on a link (a packet's F flits are counted as one
contiguous occupation of the channel), the one-flit-per-cycle limit of a
router's input port, and back-pressure beyond one hop. The agreement with the
flit model is measured by ``tests/test_noc_agreement.py`` and
``benchmarks/bench_noc.py``.
"""

from __future__ import annotations

from collections import deque

import simpy

from simulator.engine.noc import LOCAL, PORTS, MeshGeometry, NocStats, Transfer
from simulator.hw.pim import Noc

_HELD = 1 << 62  # free cycle of a VC whose owner's tail is not placed yet


class _Route:
    """The channels of one XY path with their per-channel constants, built once per (src, dst)."""

    __slots__ = ("chans", "arrive", "credit", "last", "links", "routers")

    def __init__(self, chans: list[int], model: "TransferLevelModel"):
        self.chans = tuple(chans)
        self.arrive = tuple(model.arrive[c] for c in chans)
        self.credit = tuple(model.credit[c] for c in chans)
        self.last = len(chans) - 1
        self.links = tuple(model.stat_link[c] for c in chans if model.stat_link[c] >= 0)
        self.routers = tuple(model.switch_router[c] for c in chans if model.switch_router[c] >= 0)


class _Hop(simpy.Event):
    """The head of a packet becomes eligible at its next router (a Timeout with its callback inlined)."""

    def __init__(self, env: simpy.Environment, delay: int, pkt: "_Packet", callback):
        self.env = env
        self.callbacks = [callback]
        self._value = pkt
        self._ok = True
        env.schedule(self, simpy.events.NORMAL, delay)


class _Packet:
    __slots__ = ("transfer", "flits", "route", "i", "G", "S", "vc", "long")

    def __init__(self, transfer: Transfer, flits: int, route: _Route, long: bool):
        self.transfer = transfer
        self.flits = flits
        self.route = route
        self.i = 0  # index (in the route) of the channel the head asks for next
        n = len(route.chans)
        self.G = [0] * n  # cycle the head crosses into channel i
        self.S = [0] * n  # cycle the tail crosses into channel i
        self.vc = [0] * n  # VC held on channel i
        self.long = long  # F > B: back-pressure can hold the tail


class TransferLevelModel:
    """Per-packet wormhole model; see the module docstring for the rules."""

    def __init__(self, env: simpy.Environment, noc: Noc, geometry: MeshGeometry, stats: NocStats):
        self.env = env
        self.geometry = geometry
        self.stats = stats
        self.events = 0
        self.R = noc.router_pipeline_cycles
        self.B = noc.buffer_depth_flits
        self.V = noc.virtual_channels
        L, ni = noc.link_latency_cycles, noc.ni_latency_cycles
        n = geometry.nodes
        self.n_nodes = n
        # channel ids: injection n, ejection n_nodes+n, link (router n, port p) 2*n_nodes + n*5 + p
        n_ch = 2 * n + n * PORTS
        self.arrive = [0] * n_ch  # cycles from crossing into the channel to being in the next buffer / NI
        self.credit = [0] * n_ch  # cycles from a slot freeing at the channel's end to the sender using it
        self.stat_link = [-1] * n_ch  # index into stats.link_* (links only)
        self.switch_router = [-1] * n_ch  # router whose switch feeds the channel (-1: the NI)
        for node in range(n):
            self.arrive[node], self.credit[node] = ni, 1 + ni
            self.arrive[n + node] = 1 + ni
            self.switch_router[n + node] = node
            for p in range(1, PORTS):
                ch = 2 * n + node * PORTS + p
                self.arrive[ch], self.credit[ch] = 1 + L, 1 + L
                self.stat_link[ch] = node * PORTS + p
                self.switch_router[ch] = node
        self.phys_free = [0] * n_ch  # first cycle the channel can take the next packet's head
        # the input port at the end of each channel reads out one flit per cycle, whichever VC it serves
        self.port_free = [0] * n_ch
        # free cycle of each VC; ejection channels have no VCs (the NI sinks every flit): None
        self.vc_free: list[list[int] | None] = [None if n <= ch < 2 * n else [0] * self.V for ch in range(n_ch)]
        self.waiters: list[deque | None] = [None] * n_ch
        self._routes: dict[tuple[int, int], _Route] = {}
        self._releases: deque = deque()  # (channel, vc, free cycle) not yet applied
        self._busy = False  # inside a grant cascade

    def _route(self, src: int, dst: int) -> _Route:
        route = self._routes.get((src, dst))
        if route is None:
            n = self.n_nodes
            chans = [src]
            for router, port in self.geometry.xy_route(src, dst):
                chans.append(n + router if port == LOCAL else 2 * n + router * PORTS + port)
            route = self._routes[(src, dst)] = _Route(chans, self)
        return route

    # ------------------------------------------------------------------ injection
    def inject(self, transfer: Transfer, src: int, dst: int, packets: list[tuple[int, int]]) -> None:
        route = self._route(src, dst)
        now = self.env.now
        B = self.B
        count = self.stats.count_route
        for flits, nbytes in packets:
            # link / router counters are charged when the packet enters (identical once it is out)
            count(route.links, route.routers, flits, nbytes)
            self._request(_Packet(transfer, flits, route, flits > B), now)

    def _on_eligible(self, event) -> None:
        self._request(event._value, self.env.now)

    # ------------------------------------------------------------------ arbitration
    def _request(self, pkt: _Packet, now: int) -> None:
        """The head of ``pkt`` is eligible for its next channel at ``now``."""
        ch = pkt.route.chans[pkt.i]
        vcs = self.vc_free[ch]
        if vcs is None:  # ejection: no VC, only the channel's bandwidth
            self._grant(pkt, ch, -1, self._earliest(pkt, ch, now), now)
        else:
            waiting = self.waiters[ch]
            if waiting:
                waiting.append(pkt)
                return
            best = 0
            t = vcs[0]
            for v in range(1, self.V):
                if vcs[v] < t:
                    best, t = v, vcs[v]
            if t >= _HELD:
                if waiting is None:
                    waiting = self.waiters[ch] = deque()
                waiting.append(pkt)
                return
            vcs[best] = _HELD
            self._grant(pkt, ch, best, self._earliest(pkt, ch, t if t > now else now), now)
        if not self._busy:
            self._drain_releases(now)

    def _drain_releases(self, now: int) -> None:
        """Apply freed VCs; each may hand its channel to a waiting packet, whose grant frees more."""
        rel = self._releases
        if not rel:
            return
        self._busy = True
        while rel:
            ch, v, t = rel.popleft()
            waiting = self.waiters[ch]
            if waiting:
                pkt = waiting.popleft()
                self._grant(pkt, ch, v, self._earliest(pkt, ch, t), now)
            else:
                self.vc_free[ch][v] = t
        self._busy = False

    def _earliest(self, pkt: _Packet, ch: int, t: int) -> int:
        """First cycle >= t at which channel ``ch`` and the packet's input port are both free."""
        g = self.phys_free[ch]
        if g < t:
            g = t
        i = pkt.i
        if i:
            pf = self.port_free[pkt.route.chans[i - 1]]
            if pf > g:
                g = pf
        return g

    def _grant(self, pkt: _Packet, ch: int, v: int, g: int, now: int) -> None:
        """``pkt``'s head crosses into channel ``ch`` (VC ``v``) at cycle ``g`` >= now."""
        i = pkt.i
        F = pkt.flits
        route = pkt.route
        chans, arrive, credit = route.chans, route.arrive, route.credit
        G, S, VC = pkt.G, pkt.S, pkt.vc
        G[i] = g
        VC[i] = v
        self.phys_free[ch] = g + F
        R = self.R
        last = i == route.last
        rel = self._releases
        if i:
            self.port_free[chans[i - 1]] = g + F
            if pkt.long:
                # tail into channel i-1: after its head, behind the upstream tail, and held back by
                # the B-flit buffer at the end of channel i-1 until this head drains it
                s = G[i - 1] + F - 1
                if i >= 2:
                    up = S[i - 2] + arrive[i - 2] + R - 1
                    if up > s:
                        s = up
                bp = g + F - 1 - self.B + credit[i - 1]
                S[i - 1] = s if s > bp else bp
                if i >= 2:
                    rel.append((chans[i - 2], VC[i - 2], S[i - 1] + credit[i - 2]))
                if last:
                    s = S[i - 1] + arrive[i - 1] + R - 1
                    S[i] = s if s > g + F - 1 else g + F - 1
                    rel.append((chans[i - 1], VC[i - 1], S[i] + credit[i - 1]))
            else:
                s = S[i - 1] + arrive[i - 1] + R - 1
                if s < g + F - 1:
                    s = g + F - 1
                S[i] = s
                rel.append((chans[i - 1], VC[i - 1], s + credit[i - 1]))
        else:
            S[0] = g + F - 1
        if last:
            self._delivered(pkt.transfer, S[i] + arrive[i], now)
        else:
            pkt.i = i + 1
            _Hop(self.env, g + arrive[i] + R - 1 - now, pkt, self._on_eligible)
            self.events += 1

    def _delivered(self, transfer: Transfer, at: int, now: int) -> None:
        if at > transfer.done_at:
            transfer.done_at = at
        transfer.remaining -= 1
        if transfer.remaining == 0:
            transfer.event.succeed_at(transfer.done_at - now)
            self.events += 1
