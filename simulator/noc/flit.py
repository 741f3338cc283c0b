"""Flit-level (cycle-by-cycle) model of the mesh (``mode="flit"``), for validating the per-packet model.

Modelled, per cycle, for every flit
-----------------------------------
* Input-queued routers with 5 ports (local + 4 mesh directions), V virtual
  channels (VCs) per input port, a FIFO buffer of B flits per VC.
* Pipeline: a flit written into an input buffer at cycle a may cross the
  switch at cycle a+R-1 at the earliest; a head flit routes (XY, dimension
  order) and allocates a VC of its output in that same cycle if one is free.
* Atomic VC allocation (as in Garnet): a VC is handed to a new packet only
  when the previous packet's tail credit is back, so a VC buffer never holds
  two packets.
* Credit-based flow control: a flit crosses only if the downstream VC has a
  free slot; the slot's credit returns 1+L cycles after the flit leaves that
  buffer (1+ni for the NI's credits of the local input port).
* Switch allocation, one flit per input port and one per output port per
  cycle, round robin with winner-take-all: an output keeps serving the packet
  it started until that packet's tail has crossed, but gives the cycle to
  another requester whenever that packet has no flit ready or no credit
  (work conserving). Winner-take-all is the allocation Dally & Towles
  recommend for VC routers (it lowers the mean latency against flit-by-flit
  interleaving, at the same throughput); it is also what lets a per-packet
  model describe a link as serving packets one after another.
* Links carry one flit per cycle with L cycles of wire; the NI injects one
  flit per cycle (into the local input port, ni cycles later) from up to V
  packets in progress (one per free local-input VC, winner-take-all), and
  ejects one flit per cycle (delivered 1+ni cycles after crossing).

How it runs in SimPy
--------------------
The whole mesh is one clock: a chain of SimPy events, one per simulated cycle
while any flit is in a buffer, scheduled at a priority just below SimPy's
NORMAL so that every process acting at cycle t (e.g. a ``send`` at t) has done
so before the routers evaluate cycle t. Routers only interact through flits
and credits that take at least one cycle, so evaluating them in index order
within a cycle is exact (no two-phase update needed). Cycles in which only
wires carry flits or credits are skipped. One SimPy process per router would
cost rows*cols events per cycle for the same result.

Abstracted away: the router's internal pipeline registers (only the total
delay R is kept), speculative allocation details, and payload values.
"""

from __future__ import annotations

from collections import deque

import simpy

from contracts.hardware.pim_mesh import Noc
from simulator.noc.base import NetworkModel, Transfer
from simulator.noc.geometry import LOCAL, OPPOSITE, PORTS, MeshGeometry
from simulator.noc.stats import NocStats

_CLOCK_PRIORITY = 2  # after NORMAL (1) and URGENT (0): the mesh evaluates a cycle after every sender


class _Tick(simpy.Event):
    """An already-successful event scheduled ``delay`` cycles ahead at the clock's priority."""

    def __init__(self, env: simpy.Environment, delay: int, cycle: int):
        super().__init__(env)
        self._ok = True
        self._value = cycle
        env.schedule(self, _CLOCK_PRIORITY, delay)


class _Packet:
    __slots__ = ("transfer", "flits", "nbytes", "dst")

    def __init__(self, transfer: Transfer, flits: int, nbytes: int, dst: int):
        self.transfer = transfer
        self.flits = flits
        self.nbytes = nbytes
        self.dst = dst


class FlitLevelModel(NetworkModel):
    """Cycle-level input-queued VC router mesh; see the module docstring."""

    def __init__(self, env: simpy.Environment, noc: Noc, geometry: MeshGeometry, stats: NocStats):
        super().__init__(env, noc, geometry, stats)
        self.L = noc.link_latency_cycles
        self.ni = noc.ni_latency_cycles
        V = self.V
        n = self.n_nodes = geometry.nodes
        self.slots_per_router = PORTS * V
        n_slots = n * PORTS * V
        # input VCs, slot = (router*5 + port)*V + vc
        self.in_times: list[deque] = [deque() for _ in range(n_slots)]  # write cycle of each buffered flit
        self.in_pkt: list[_Packet | None] = [None] * n_slots
        self.in_sent = [0] * n_slots  # flits of the slot's packet that have left it
        self.in_out = [-1] * n_slots  # output port of the slot's packet (-1: not routed yet)
        self.in_ovc = [-1] * n_slots  # output VC it holds (-1: none / ejection)
        # output VCs of the mesh ports, index (router*5 + port)*V + vc
        self.o_credits = [self.B] * n_slots
        self.o_busy = [False] * n_slots
        self.o_lock = [-1] * (n * PORTS)  # slot an output keeps serving (winner-take-all)
        self.o_rr = [0] * (n * PORTS)  # round-robin pointer over the router's slots
        # network interfaces
        self.ni_queue: list[deque] = [deque() for _ in range(n)]
        self.ni_active: list[list] = [[] for _ in range(n)]  # [packet, vc, flits sent]
        self.ni_credits = [self.B] * (n * V)
        self.ni_busy = [False] * (n * V)
        self.ni_rr = [0] * n
        self.router_flits = [0] * n  # flits buffered per router
        self.active_routers: set[int] = set()
        self.active_nis: set[int] = set()
        self.neighbour = [[geometry.neighbour(r, p) for p in range(PORTS)] for r in range(n)]
        self.route = [[geometry.xy_port(r, d) for d in range(n)] for r in range(n)] if n <= 1024 else None
        # due[cycle] = (flit arrivals [slot], credits [(out vc, tail)], NI credits [(ni vc, tail)])
        self.due: dict[int, tuple[list, list, list]] = {}
        self._next_tick: int | None = None
        self._last_cycle = -1
        self._due_link: tuple | None = None  # due entry of the current cycle + 1 + L (cached per cycle)
        self._due_local: tuple | None = None  # due entry of the current cycle + 1 + ni

    # ------------------------------------------------------------------ injection
    def inject(self, transfer: Transfer, src: int, dst: int, packets: list[tuple[int, int]]) -> None:
        now = self.env.now
        if now <= self._last_cycle:  # cannot happen with SimPy's ordering; keep the model causal anyway
            now = self._last_cycle + 1
        q = self.ni_queue[src]
        for flits, nbytes in packets:
            q.append(_Packet(transfer, flits, nbytes, dst))
        self.active_nis.add(src)
        self._wake(now)

    def _wake(self, cycle: int) -> None:
        if self._next_tick is None or self._next_tick > cycle:
            self._next_tick = cycle
            _Tick(self.env, cycle - self.env.now, cycle).callbacks.append(self._on_tick)
            self.events += 1

    def _due(self, cycle: int) -> tuple[list, list, list]:
        d = self.due.get(cycle)
        if d is None:
            d = self.due[cycle] = ([], [], [])
        return d

    # ------------------------------------------------------------------ the clock
    def _on_tick(self, event) -> None:
        cycle = event._value
        if cycle != self._next_tick:  # superseded by an earlier wake-up
            return
        self._next_tick = None
        self._last_cycle = cycle
        self._apply_due(cycle)
        # what crosses a switch this cycle lands (flit or credit) 1+L or 1+ni cycles from now
        self._due_link = None
        self._due_local = None
        if self.active_nis:
            for n in sorted(self.active_nis):
                self._ni_step(n, cycle)
        if self.active_routers:
            for n in sorted(self.active_routers):
                self._router_step(n, cycle)
        if self.active_routers or self.active_nis:
            self._wake(cycle + 1)
        elif self.due:
            self._wake(min(self.due))

    def _apply_due(self, now: int) -> None:
        d = self.due.pop(now, None)
        if d is None:
            return
        arrivals, credits, ni_credits = d
        spr = self.slots_per_router
        for s in arrivals:
            self.in_times[s].append(now)
            r = s // spr
            self.router_flits[r] += 1
            self.active_routers.add(r)
        o_credits, o_busy = self.o_credits, self.o_busy
        for q, tail in credits:
            o_credits[q] += 1
            if tail:
                o_busy[q] = False
        for q, tail in ni_credits:
            self.ni_credits[q] += 1
            if tail:
                self.ni_busy[q] = False
                self.active_nis.add(q // self.V)

    # ------------------------------------------------------------------ network interface
    def _ni_step(self, n: int, now: int) -> None:
        V = self.V
        queue, active = self.ni_queue[n], self.ni_active[n]
        busy = self.ni_busy
        while queue and len(active) < V:
            for v in range(V):
                if not busy[n * V + v]:
                    break
            else:
                break
            pkt = queue.popleft()
            busy[n * V + v] = True
            self.in_pkt[(n * PORTS + LOCAL) * V + v] = pkt
            active.append([pkt, v, 0])
        if not active:
            if not queue:
                self.active_nis.discard(n)
            return
        credits = self.ni_credits
        # winner-take-all: the first entry keeps the channel while it can send; then round robin
        chosen = -1
        k = len(active)
        if credits[n * V + active[0][1]] > 0:
            chosen = 0
        else:
            start = self.ni_rr[n] % k
            for j in range(k):
                idx = (start + j) % k
                if credits[n * V + active[idx][1]] > 0:
                    chosen = idx
                    break
        if chosen < 0:
            return
        entry = active[chosen]
        pkt, v, sent = entry
        credits[n * V + v] -= 1
        entry[2] = sent + 1
        slot = (n * PORTS + LOCAL) * V + v
        if self.ni == 0:
            self.in_times[slot].append(now)
            self.router_flits[n] += 1
            self.active_routers.add(n)
        else:
            self._due(now + self.ni)[0].append(slot)
        if sent + 1 == pkt.flits:
            del active[chosen]
            self.ni_rr[n] = chosen
            if not active and not queue:
                self.active_nis.discard(n)
        elif chosen != 0:  # the packet that got the cycle becomes the one to keep serving
            active.insert(0, active.pop(chosen))

    # ------------------------------------------------------------------ router
    def _router_step(self, n: int, now: int) -> None:
        V, spr = self.V, self.slots_per_router
        base = n * spr
        in_times, in_out, in_ovc, in_pkt = self.in_times, self.in_out, self.in_ovc, self.in_pkt
        o_credits, o_busy = self.o_credits, self.o_busy
        ready_by = now - self.R + 1
        requests: list[list[int] | None] = [None] * PORTS
        start = now % spr  # rotating priority for VC allocation among heads of this cycle
        for j in range(spr):
            k = (start + j) % spr
            s = base + k
            times = in_times[s]
            if not times or times[0] > ready_by:
                continue
            o = in_out[s]
            if o < 0:  # head flit: route, then allocate an output VC
                pkt = in_pkt[s]
                o = self.route[n][pkt.dst] if self.route is not None else self.geometry.xy_port(n, pkt.dst)
                if o != LOCAL:
                    qb = (n * PORTS + o) * V
                    for v in range(V):
                        if not o_busy[qb + v]:
                            break
                    else:
                        continue  # no free VC this cycle
                    o_busy[qb + v] = True
                    in_ovc[s] = qb + v
                in_out[s] = o
            if o != LOCAL and o_credits[in_ovc[s]] <= 0:
                continue
            lst = requests[o]
            if lst is None:
                requests[o] = [k]
            else:
                lst.append(k)
        used_inputs = 0  # bitmask of input ports that already send this cycle
        grants = []
        o_lock, o_rr = self.o_lock, self.o_rr
        # pass 1: outputs serve the packet they are locked on, if it can go
        for o in range(PORTS):
            lst = requests[o]
            if lst is None:
                continue
            lock = o_lock[n * PORTS + o]
            if lock >= 0 and (lock - base) in lst:
                port_bit = 1 << ((lock - base) // V)
                if not used_inputs & port_bit:
                    used_inputs |= port_bit
                    grants.append((lock, o))
                    requests[o] = None
        # pass 2: the other outputs pick a requester round robin
        for j in range(PORTS):
            o = (now + j) % PORTS
            lst = requests[o]
            if lst is None:
                continue
            ptr = o_rr[n * PORTS + o]
            best = -1
            best_key = spr
            for k in lst:
                if used_inputs & (1 << (k // V)):
                    continue
                key = (k - ptr) % spr
                if key < best_key:
                    best, best_key = k, key
            if best < 0:
                continue
            used_inputs |= 1 << (best // V)
            o_rr[n * PORTS + o] = (best + 1) % spr
            s = base + best
            if o_lock[n * PORTS + o] < 0:
                o_lock[n * PORTS + o] = s
            grants.append((s, o))
        for s, o in grants:
            self._traverse(n, s, o, now)

    def _traverse(self, n: int, s: int, o: int, now: int) -> None:
        """The front flit of slot ``s`` crosses router ``n``'s switch to output ``o`` at ``now``."""
        V = self.V
        self.in_times[s].popleft()
        self.router_flits[n] -= 1
        if self.router_flits[n] == 0:
            self.active_routers.discard(n)
        pkt = self.in_pkt[s]
        k = self.in_sent[s]
        tail = k == pkt.flits - 1
        st = self.stats
        st.router_flits[n] += 1
        # the freed buffer slot's credit travels back to the sender
        p, v = divmod(s - n * self.slots_per_router, V)
        due_link = self._due_link
        if due_link is None:
            due_link = self._due_link = self._due(now + 1 + self.L)
        if p == LOCAL:
            due_local = self._due_local
            if due_local is None:
                due_local = self._due_local = self._due(now + 1 + self.ni)
            due_local[2].append((n * V + v, tail))
        else:
            up = self.neighbour[n][p]
            due_link[1].append(((up * PORTS + OPPOSITE[p]) * V + v, tail))
        if o == LOCAL:
            if tail:
                self._delivered(pkt.transfer, now + 1 + self.ni, now)
        else:
            q = self.in_ovc[s]
            self.o_credits[q] -= 1
            down = self.neighbour[n][o]
            s2 = (down * PORTS + OPPOSITE[o]) * V + (q % V)
            if k == 0:
                self.in_pkt[s2] = pkt
            due_link[0].append(s2)
            link = n * PORTS + o
            st.link_flits[link] += 1
            st.flit_hops += 1
            if k == 0:
                st.link_bytes[link] += pkt.nbytes
        if tail:
            self.in_pkt[s] = None
            self.in_sent[s] = 0
            self.in_out[s] = -1
            self.in_ovc[s] = -1
            if self.o_lock[n * PORTS + o] == s:
                self.o_lock[n * PORTS + o] = -1
        else:
            self.in_sent[s] = k + 1

    def record_activity(self) -> None:
        """Wrap ``_traverse`` so that every switch crossing logs router, output and cycle (tracing only)."""
        log = self._activity_log = []
        traverse = self._traverse

        def logged(n, s, o, now):
            traverse(n, s, o, now)
            log.append((n, o, now))

        self._traverse = logged

    def activity(self) -> dict[tuple[int, int], list[tuple[int, int]]]:
        """(0, router) / (1, link index) -> one-cycle intervals, one per flit crossing."""
        out: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for n, o, t in getattr(self, "_activity_log", ()):
            out.setdefault((0, n), []).append((t, t + 1))
            if o != LOCAL:
                out.setdefault((1, n * PORTS + o), []).append((t, t + 1))
        return out

    def _delivered(self, transfer: Transfer, at: int, now: int) -> None:
        if transfer.packet_delivered(at, now):
            self.events += 1
