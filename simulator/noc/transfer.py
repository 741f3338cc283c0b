"""Per-packet model of the mesh (``mode="transfer"``): one SimPy event per packet per router.

Modelled
--------
A packet's path is a chain of channels: the injection channel (NI -> local
input of the source router), the links of its XY route, and the ejection
channel (destination router -> NI). Every channel but the ejection one ends in
an input port with V virtual channels (VCs) of B flits. For each packet of F
flits and each channel i the model computes

* ``G[i]``, the cycle its head crosses into channel i (the "grant"): at the
  earliest R-1 cycles after the head was written into the router's input
  buffer, once a VC of channel i is free (atomic allocation: the previous
  owner's tail has left that buffer and its credit is back), the channel has
  carried the packets granted before it, and the packet's input port has
  read out the packets it served before (a channel and an input port move one
  flit per cycle, so a packet occupies each for F cycles);
* ``S[i]``, the cycle its tail crosses into channel i:
  ``max(G[i]+F-1, S[i-1]+A[i-1]+R-1, G[i+1]+F-1-B+C[i])``, where A is the
  channel's latency and C its credit delay. The last term is the one-hop
  back-pressure rule: when the head waits at the next router, at most B flits
  fit into that router's buffer and the rest of the worm stays behind. It is
  applied when F > B (a shorter packet fits in one buffer). A buffer smaller
  than the credit round trip A+R-1+C paces the flits (B back to back, then a
  wait for the first credit), which stretches the F-1 terms accordingly;
* the VC of channel i is free again at ``S[i+1] + C[i]``: the tail has left
  the buffer at the end of channel i and the credit has travelled back.

A packet whose every candidate VC is held by packets whose tails are not yet
placed waits in a FIFO at that channel while it keeps holding its own VCs
behind it: that is input-queue (head-of-line) blocking, and how congestion
spreads upstream. Requests at one channel are served in the order they become
eligible (FIFO); a grant may lie in the future (the channel or VC is reserved
for the cycle it frees up), which lets a packet's next event be one timeout
instead of a polling loop. The only SimPy events are one timeout per packet
per router (the head becoming eligible there; the packet object itself is that
event, scheduled like a ``Timeout``) and one event per transfer when its last
byte arrives. Link and router counters are charged per route when a
packet is injected and spread over the links when statistics are read.

Abstracted away (against :mod:`simulator.noc.flit`): flit-by-flit
sharing of a link or an input port by packets on different VCs (here a
packet's F flits occupy them contiguously, in request order), round-robin
order among simultaneous requests (here first come, first served), and
back-pressure beyond one hop (exact for F <= 2B, the shipped 16-flit packets
in 8-flit buffers). With a single packet on the network both models give the
same cycle for any router parameters; under load they agree within 1 % on
the shipped router (``benchmarks/bench_noc.py --agreement``,
``tests/simulator/noc/test_noc_agreement.py``). :mod:`simulator.noc.worm` is
this model with one packet per transfer.
"""

from __future__ import annotations

from collections import deque
from heapq import heappush

import simpy
from simpy.events import NORMAL

from contracts.hardware.pim_mesh import Noc
from simulator.noc.base import NetworkModel, Transfer
from simulator.noc.geometry import LOCAL, PORTS, MeshGeometry
from simulator.noc.stats import NocStats

_HELD = 1 << 62  # free cycle of a VC whose owner's tail is not placed yet


class _Route:
    """The channels of one XY path with their per-channel constants, built once per (src, dst).

    It also counts the flits and bytes sent along it; :meth:`TransferLevelModel.fold_stats`
    spreads those over the route's links and routers when statistics are read.
    """

    __slots__ = ("chans", "arrive", "credit", "paced", "last", "links", "routers", "flits", "nbytes")

    def __init__(self, chans: list[int], model: "TransferLevelModel"):
        self.chans = tuple(chans)
        self.arrive = tuple(model.arrive[c] for c in chans)
        self.credit = tuple(model.credit[c] for c in chans)
        # credit round trip of each channel whose buffer is smaller than it (0: not credit-limited);
        # None when no channel of the route is, the common case (buffer_depth >= 2L+R+1)
        paced = tuple(model.round_trip[c] if model.round_trip[c] > model.B else 0 for c in chans)
        self.paced = paced if any(paced) else None
        self.last = len(chans) - 1
        self.links = tuple(model.stat_link[c] for c in chans if model.stat_link[c] >= 0)
        self.routers = tuple(model.switch_router[c] for c in chans if model.switch_router[c] >= 0)
        self.flits = 0
        self.nbytes = 0


class _Packet:
    """A packet in flight; it is also the SimPy event of its head's next hop.

    A packet waits for at most one hop at a time, so instead of a new event per hop the
    packet itself goes into SimPy's event queue (as a :class:`simpy.Timeout` would: priority
    NORMAL, the next event id); ``callbacks``, ``_ok`` and ``_value`` are the three fields
    SimPy's kernel reads from an event. Same events, same order, no allocation per hop.
    """

    __slots__ = ("transfer", "flits", "route", "chans", "i", "g1", "s1", "s2", "v1", "v2", "long",
                 "callbacks", "_ok", "_value")

    def __init__(self, transfer: Transfer, flits: int, route: _Route, long: bool):
        self.transfer = transfer
        self.flits = flits
        self.route = route
        self.chans = route.chans
        self.i = 0  # index (in the route) of the channel the head asks for next
        # G (head grant), S (tail crossing) and the VC held, for the channel before (1) and the
        # one before that (2); see TransferLevelModel._grant
        self.g1 = self.s1 = self.s2 = 0
        self.v1 = self.v2 = 0
        self.long = long  # F > B: back-pressure can hold the tail
        self.callbacks = None
        self._ok = True
        self._value = None


class TransferLevelModel(NetworkModel):
    """Per-packet wormhole model; see the module docstring for the rules."""

    def __init__(self, env: simpy.Environment, noc: Noc, geometry: MeshGeometry, stats: NocStats):
        super().__init__(env, noc, geometry, stats)
        stats.folders.append(self.fold_stats)
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
        # a flit crossing into a channel at x frees its slot at the far end at x+arrive+R-1 at the
        # earliest; the sender may reuse the slot ``credit`` cycles later (ejection: never limited)
        self.round_trip = [0 if n <= ch < 2 * n else self.arrive[ch] + self.R - 1 + self.credit[ch] for ch in range(n_ch)]
        self.phys_free = [0] * n_ch  # first cycle the channel can take the next packet's head
        # the input port at the end of each channel reads out one flit per cycle, whichever VC it serves
        self.port_free = [0] * n_ch
        # free cycle of each VC; ejection channels have no VCs (the NI sinks every flit): None
        self.vc_free: list[list[int] | None] = [None if n <= ch < 2 * n else [0] * self.V for ch in range(n_ch)]
        self.waiters: list[deque | None] = [None] * n_ch  # packets waiting for a VC, FIFO
        self._routes: dict[tuple[int, int], _Route] = {}
        self._handover: deque = deque()  # (packet, channel, vc, free cycle): freed VCs given to waiting packets
        self._busy = False  # inside a grant cascade
        self._queue, self._eid = env._queue, env._eid  # SimPy's event heap and id counter (hops go in directly)
        self._hop_callbacks = [self._request]  # shared by every packet: SimPy only iterates it

    def _route(self, src: int, dst: int) -> _Route:
        route = self._routes.get((src, dst))
        if route is None:
            n = self.n_nodes
            chans = [src]
            for router, port in self.geometry.xy_route(src, dst):
                chans.append(n + router if port == LOCAL else 2 * n + router * PORTS + port)
            route = self._routes[(src, dst)] = _Route(chans, self)
        return route

    def record_activity(self) -> None:
        """Wrap ``_grant`` so that each grant logs its channel, cycle and flits (tracing only)."""
        log = self._activity_log = []
        grant = self._grant

        def logged(pkt, ch, v, g, now):
            grant(pkt, ch, v, g, now)
            log.append((ch, g, pkt.flits))

        self._grant = logged

    def activity(self) -> dict[tuple[int, int], list[tuple[int, int]]]:
        """(0, router) / (1, link index) -> busy intervals: a packet's F flits cross back to back from its grant."""
        out: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for ch, g, f in getattr(self, "_activity_log", ()):
            link = self.stat_link[ch]
            if link >= 0:
                out.setdefault((1, link), []).append((g, g + f))
            r = self.switch_router[ch]
            if r >= 0:
                out.setdefault((0, r), []).append((g, g + f))
        return out

    def fold_stats(self, stats: NocStats) -> None:
        """Spread every route's flit and byte totals over its links and routers (then reset them)."""
        for key in sorted(self._routes):
            route = self._routes[key]
            f, b = route.flits, route.nbytes
            if not f:
                continue
            for i in route.links:
                stats.link_flits[i] += f
                stats.link_bytes[i] += b
            for r in route.routers:
                stats.router_flits[r] += f
            stats.flit_hops += f * len(route.links)
            route.flits = route.nbytes = 0

    # ------------------------------------------------------------------ injection
    def inject(self, transfer: Transfer, src: int, dst: int, packets: list[tuple[int, int]]) -> None:
        route = self._route(src, dst)
        B = self.B
        request = self._request
        for flits, nbytes in packets:
            # link / router counters are charged when the packet enters (identical once it is out)
            route.flits += flits
            route.nbytes += nbytes
            request(_Packet(transfer, flits, route, flits > B))

    # ------------------------------------------------------------------ arbitration
    def _request(self, pkt: _Packet) -> None:
        """The head of ``pkt`` is eligible for its next channel now (also the SimPy callback of its hop)."""
        now = self.env._now
        i = pkt.i
        ch = pkt.chans[i]
        vcs = self.vc_free[ch]
        if vcs is None:  # ejection: no VC, only the channel's bandwidth
            v = -1
            g = now
        else:
            waiting = self.waiters[ch]
            if waiting:
                waiting.append(pkt)
                return
            g = min(vcs)  # the VC free first; ties to the lowest index
            v = vcs.index(g)
            if g >= _HELD:
                if waiting is None:
                    waiting = self.waiters[ch] = deque()
                waiting.append(pkt)
                return
            vcs[v] = _HELD
            if g < now:
                g = now
        # the channel's bandwidth and the packet's input port (one flit per cycle each)
        pf = self.phys_free[ch]
        if pf > g:
            g = pf
        if i:
            pf = self.port_free[pkt.chans[i - 1]]
            if pf > g:
                g = pf
        self._grant(pkt, ch, v, g, now)
        if self._handover and not self._busy:
            self._hand_over(now)

    def _hand_over(self, now: int) -> None:
        """Grant freed VCs to the packets that were waiting for them; each grant may free more VCs."""
        self._busy = True
        handover = self._handover
        while handover:
            pkt, ch, v, t = handover.popleft()
            g = self.phys_free[ch]
            if g < t:
                g = t
            i = pkt.i
            if i:
                pf = self.port_free[pkt.chans[i - 1]]
                if pf > g:
                    g = pf
            self._grant(pkt, ch, v, g, now)
        self._busy = False

    def _free_vc(self, ch: int, v: int, t: int) -> None:
        """VC ``v`` of channel ``ch`` can take a new packet's head from cycle ``t``."""
        waiting = self.waiters[ch]
        if waiting:  # the packet that has waited longest for this channel gets it (FIFO)
            self._handover.append((waiting.popleft(), ch, v, t))
        else:
            self.vc_free[ch][v] = t

    def _grant(self, pkt: _Packet, ch: int, v: int, g: int, now: int) -> None:
        """``pkt``'s head crosses into channel ``ch`` (VC ``v``) at cycle ``g`` >= now.

        ``G[i]``/``S[i]``/``VC[i]`` of the module docstring are kept for the last two channels
        only (``g1`` = G[i-1], ``s1`` = S[i-1], ``s2`` = S[i-2], ``v1`` = VC[i-1], ``v2`` = VC[i-2]):
        nothing older is read again.
        """
        i = pkt.i
        F = pkt.flits
        route = pkt.route
        paced = route.paced
        end = g + F
        self.phys_free[ch] = end
        last = i == route.last
        # cycle the tail could cross into channel i if nothing held it (F-1 behind the head)
        own = g + F - 1 if paced is None else g + _span(F - 1, self.B, paced[i])
        if i:
            chans, arrive, credit = route.chans, route.arrive, route.credit
            R = self.R
            c1 = chans[i - 1]
            self.port_free[c1] = end
            if pkt.long:
                # tail into channel i-1: after its head, behind the upstream tail, and held back by
                # the B-flit buffer at the end of channel i-1 until this head drains it
                if paced is None:
                    s = pkt.g1 + F - 1
                    bp = g + F - 1 - self.B + credit[i - 1]
                else:
                    s = pkt.g1 + _span(F - 1, self.B, paced[i - 1])
                    bp = g + _span(F - 1 - self.B, self.B, paced[i]) + credit[i - 1]
                if i >= 2:
                    up = pkt.s2 + arrive[i - 2] + R - 1
                    if up > s:
                        s = up
                if bp > s:
                    s = bp
                pkt.s2 = s  # S[i-1]
                if i >= 2:  # the VC behind the tail is free once its credit is back (_free_vc, inlined)
                    c = chans[i - 2]
                    waiting = self.waiters[c]
                    if waiting:
                        self._handover.append((waiting.popleft(), c, pkt.v2, s + credit[i - 2]))
                    else:
                        self.vc_free[c][pkt.v2] = s + credit[i - 2]
                if last:
                    s = s + arrive[i - 1] + R - 1
                    if s < own:
                        s = own
                    self._free_vc(c1, pkt.v1, s + credit[i - 1])
            else:
                s = pkt.s1 + arrive[i - 1] + R - 1
                if s < own:
                    s = own
                pkt.s1 = s  # S[i]
                waiting = self.waiters[c1]  # _free_vc, inlined
                if waiting:
                    self._handover.append((waiting.popleft(), c1, pkt.v1, s + credit[i - 1]))
                else:
                    self.vc_free[c1][pkt.v1] = s + credit[i - 1]
        else:
            s = pkt.s1 = own  # S[0]
        if last:
            if pkt.transfer.packet_delivered(s + route.arrive[i], now):
                self.events += 1
        else:
            pkt.g1 = g
            pkt.v2 = pkt.v1
            pkt.v1 = v
            pkt.i = i + 1
            pkt.callbacks = self._hop_callbacks
            heappush(self._queue, (g + route.arrive[i] + self.R - 1, NORMAL, next(self._eid), pkt))  # = env.schedule
            self.events += 1


def _span(j: int, depth: int, round_trip: int) -> int:
    """Cycles from a packet's head to its flit j crossing a channel whose buffer is ``depth`` flits.

    A buffer smaller than the credit round trip lets ``depth`` flits through back to back, then
    the next one waits for the first credit: flit j crosses (j // depth) * round_trip + j % depth
    cycles after the head. ``round_trip`` 0 means the buffer covers it: flit j crosses j cycles later.
    """
    if not round_trip:
        return j
    return (j // depth) * round_trip + j % depth
