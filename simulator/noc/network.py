"""The mesh network-on-chip of a PIM mesh: XY-routed, input-queued, wormhole routers.

``MeshNetwork`` is what the program executor sends through. It carries a
transfer of ``nbytes`` from one node's network interface (NI) to another's and
returns a SimPy event that succeeds when the last byte is in the destination
NI. Two models of the same router sit behind it:

* ``mode="transfer"`` (default, :mod:`simulator.noc.transfer`): one SimPy
  event per packet per router. A packet's head reserves the virtual channels
  (VCs), the links and the input ports of its XY path as a wormhole would; a
  packet that cannot get a VC waits in its input VC and keeps holding the VCs
  behind it (input-queue / head-of-line blocking), and the tail of a packet
  cannot leave a router faster than the next router drains its buffer (one-hop
  credit back-pressure). It agrees with the flit model within about 1 % on
  average packet latency below 70 % of saturation (``benchmarks/bench_noc.py``).
* ``mode="worm"`` (transfer granularity, the default for whole-model runs):
  the same per-packet machinery, but a transfer travels as ONE worm of all its
  F flits instead of packets of at most ``packet_max_flits``. At zero load
  this is exactly the same latency (the packets of a transfer follow back to
  back with no header flits, so F flits in one worm arrive at the same cycle);
  under contention other traffic interleaves with a transfer only at transfer
  boundaries instead of packet boundaries. It costs one event per transfer
  per router, which is what makes a whole Swin-B inference (millions of
  packets of weight-sharing traffic) simulate in seconds; its difference
  from ``transfer`` on a real program is measured in benchmarks/bench_sim.py.
* ``mode="flit"`` (:mod:`simulator.noc.flit`): a cycle-by-cycle model of
  every flit: input buffers per VC, credit-based flow control, atomic VC
  allocation, round-robin winner-take-all switch allocation, one flit per
  link per cycle. It is slow and meant for validating the transfer model on
  small cases.

The router both models share (fields of ``hw.noc``)
----------------------------------------------------
* A transfer of F = max(1, ceil(8*nbytes/flit_bits)) flits is cut into
  packets of at most ``packet_max_flits`` flits; there are no header flits.
* The NI writes a flit into its router's local input buffer ``ni_latency``
  cycles after it sends it; it sends one flit per cycle.
* Router pipeline of R = ``router_pipeline_cycles``: a flit written into an
  input buffer at cycle a can cross the switch at cycle a+R-1 at the earliest
  (route computation, VC and switch allocation take R-1 cycles; the crossing
  takes one), then spends L = ``link_latency_cycles`` on the wire: it is in
  the next router's buffer at a+R+L.
* Ejection: a flit that crosses the switch into the local port at cycle s is
  in the destination NI at s+1+ni_latency.
* Credits: a buffer slot freed at cycle s can be used again by the upstream
  router from cycle s+1+L (the credit travels back over the same wire); a VC
  is handed to a new packet only when the previous packet's tail has left it
  (atomic VC allocation, as in Garnet), i.e. when the tail's credit is back.

At zero load both models reproduce the shared closed form
:func:`simulator.families.pim_mesh.costmodel.noc_zero_load_cycles` exactly:
2*ni + (h+1)*R + h*L + F-1. That holds as long as a buffer covers the credit
round trip (``buffer_depth_flits >= 2L+R+1``) or a packet fits in one buffer;
with smaller buffers both models (correctly) stall and are slower than the
closed form. A transfer with ``src == dst`` loops back through the local
router (h = 0).

Statistics (both modes): per directed link ``link[r][c]->[r2][c2]`` the flits,
busy cycles (one flit per cycle, so equal to flits) and payload bytes; per
router ``router[r][c]`` the flits its switch moved (ejection included; divide
by 5 ports x cycles for a switch utilisation); total flit-hops, where a hop is
one LINK traversal (the 1.1 pJ/bit/hop of Allspark Table III covers the
router and the link of that hop), and energy = flit-hops x flit_bits x
pJ/bit/hop, the same definition as :func:`simulator.families.pim_mesh.costmodel.noc_energy_pj`.

Abstracted away: the payload values, routing other than XY, adaptive or
escape VCs, NI buffer limits on the sending side (an NI queues any number of
packets), and ejection back-pressure (the NI sinks one flit per cycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy

from contracts.hardware.pim_mesh import PimMeshConfig

# Port numbering of a router: 0 is the local port (NI), then the four mesh directions.
LOCAL, NORTH, EAST, SOUTH, WEST = 0, 1, 2, 3, 4
PORTS = 5
OPPOSITE = (LOCAL, SOUTH, WEST, NORTH, EAST)
_STEP = ((0, 0), (-1, 0), (0, 1), (1, 0), (0, -1))  # (d_row, d_col) of each port


@dataclass(frozen=True)
class MeshGeometry:
    """Node numbering, neighbours and the XY route of a rows x cols mesh."""

    rows: int
    cols: int

    @property
    def nodes(self) -> int:
        return self.rows * self.cols

    def node(self, rc: tuple[int, int]) -> int:
        r, c = rc
        if not (0 <= r < self.rows and 0 <= c < self.cols):
            raise ValueError(f"node [{r}][{c}] is outside the {self.rows}x{self.cols} mesh")
        return r * self.cols + c

    def coords(self, n: int) -> tuple[int, int]:
        return divmod(n, self.cols)

    def neighbour(self, n: int, port: int) -> int:
        r, c = divmod(n, self.cols)
        dr, dc = _STEP[port]
        r2, c2 = r + dr, c + dc
        if not (0 <= r2 < self.rows and 0 <= c2 < self.cols):
            return -1
        return r2 * self.cols + c2

    def xy_port(self, n: int, dst: int) -> int:
        """Output port of router ``n`` for a packet to ``dst``: columns first (X), then rows (Y)."""
        r, c = divmod(n, self.cols)
        dr, dc = divmod(dst, self.cols)
        if dc > c:
            return EAST
        if dc < c:
            return WEST
        if dr > r:
            return SOUTH
        if dr < r:
            return NORTH
        return LOCAL

    def xy_route(self, src: int, dst: int) -> list[tuple[int, int]]:
        """The (router, output port) pairs of the XY path, ending with the destination's LOCAL port."""
        hops = []
        n = src
        while True:
            p = self.xy_port(n, dst)
            hops.append((n, p))
            if p == LOCAL:
                return hops
            n = self.neighbour(n, p)

    def hops(self, src: int, dst: int) -> int:
        (r1, c1), (r2, c2) = self.coords(src), self.coords(dst)
        return abs(r1 - r2) + abs(c1 - c2)

    def link_name(self, n: int, port: int) -> str:
        r, c = self.coords(n)
        r2, c2 = self.coords(self.neighbour(n, port))
        return f"link[{r}][{c}]->[{r2}][{c2}]"

    def router_name(self, n: int) -> str:
        r, c = self.coords(n)
        return f"router[{r}][{c}]"

    def links(self) -> list[tuple[int, int]]:
        """Every directed link as (router, output port), in router order."""
        return [(n, p) for n in range(self.nodes) for p in (NORTH, EAST, SOUTH, WEST) if self.neighbour(n, p) >= 0]


def split_packets(flit_bits: int, packet_max_flits: int, nbytes: int) -> list[tuple[int, int]]:
    """Cut a transfer into packets: [(flits, payload bytes)], bytes summing to ``nbytes``.

    F = max(1, ceil(8*nbytes/flit_bits)) flits in all (no header flits), in packets of at most
    ``packet_max_flits``; a packet carries the bytes that fall into its flits.
    """
    total = max(1, -(-8 * nbytes // flit_bits))
    out = []
    done_flits = 0
    done_bytes = 0
    while done_flits < total:
        f = min(packet_max_flits, total - done_flits)
        done_flits += f
        upto = nbytes if done_flits == total else min(nbytes, done_flits * flit_bits // 8)
        out.append((f, upto - done_bytes))
        done_bytes = upto
    return out


@dataclass
class NocStats:
    """Counters of one network; index-based inside, named in :meth:`as_dict`."""

    geometry: MeshGeometry
    flit_bits: int
    energy_pj_per_bit_hop: float
    link_flits: list[int] = field(default_factory=list)  # index n*5+port
    link_bytes: list[int] = field(default_factory=list)
    router_flits: list[int] = field(default_factory=list)  # flits switched per router
    bytes_by_category: dict[str, int] = field(default_factory=dict)
    packets_sent: int = 0
    packets_delivered: int = 0
    transfers_sent: int = 0
    transfers_delivered: int = 0
    flit_hops: int = 0

    def __post_init__(self) -> None:
        n = self.geometry.nodes
        self.link_flits = [0] * (n * PORTS)
        self.link_bytes = [0] * (n * PORTS)
        self.router_flits = [0] * n
        # models that count per route (transfer level) register a function that spreads their
        # totals over the per-link and per-router counters; it runs before anything is read
        self.folders: list = []

    def fold(self) -> None:
        """Bring the per-link and per-router counters up to date."""
        for fold in self.folders:
            fold(self)

    @property
    def in_flight_packets(self) -> int:
        return self.packets_sent - self.packets_delivered

    @property
    def in_flight_transfers(self) -> int:
        return self.transfers_sent - self.transfers_delivered

    @property
    def energy_pj(self) -> float:
        """flit-hops x flit_bits x pJ/bit/hop; a hop is one link traversal (router + link energy)."""
        self.fold()
        return self.flit_hops * self.flit_bits * self.energy_pj_per_bit_hop

    def as_dict(self) -> dict:
        """Plain, JSON-ready dicts with sorted keys; every link and router is listed."""
        self.fold()
        g = self.geometry
        links = {}
        for n, p in g.links():
            i = n * PORTS + p
            links[g.link_name(n, p)] = {
                "busy_cycles": self.link_flits[i],  # one flit per link per cycle
                "bytes": self.link_bytes[i],
                "flits": self.link_flits[i],
            }
        routers = {g.router_name(n): {"flits_switched": self.router_flits[n]} for n in range(g.nodes)}
        return {
            "bytes_by_category": dict(sorted(self.bytes_by_category.items())),
            "energy_pj": self.energy_pj,
            "flit_hops": self.flit_hops,
            "in_flight_packets": self.in_flight_packets,
            "in_flight_transfers": self.in_flight_transfers,
            "links": dict(sorted(links.items())),
            "packets_delivered": self.packets_delivered,
            "packets_sent": self.packets_sent,
            "routers": dict(sorted(routers.items())),
            "transfers_delivered": self.transfers_delivered,
            "transfers_sent": self.transfers_sent,
        }


class Transfer:
    """One ``send``: its packets, its completion event and the cycle its last byte arrived."""

    __slots__ = ("event", "remaining", "done_at", "nbytes", "category", "packets", "sent_at")

    def __init__(self, packets: int, nbytes: int, category: str, sent_at: int):
        self.event: DeliveryEvent | None = None
        self.remaining = packets
        self.packets = packets
        self.done_at = 0
        self.nbytes = nbytes
        self.category = category
        self.sent_at = sent_at

    def packet_delivered(self, at: int, now: int) -> bool:
        """A packet's last byte is in the destination NI at cycle ``at`` (known at ``now``).

        When it was the transfer's last packet, schedule the completion event for the
        latest arrival and return True (the caller counts one SimPy event)."""
        if at > self.done_at:
            self.done_at = at
        self.remaining -= 1
        if self.remaining:
            return False
        self.event.succeed_at(self.done_at - now)
        return True


class DeliveryEvent(simpy.Event):
    """A transfer's completion event, triggered for a cycle in the future once that cycle is known.

    ``succeed_at`` does what :class:`simpy.events.Timeout` does in its constructor (mark the
    event successful and schedule it ``delay`` cycles ahead), so a delivery costs one SimPy
    event instead of a timeout plus a succeed.
    """

    def __init__(self, env: simpy.Environment, transfer: "Transfer"):
        super().__init__(env)
        self.transfer = transfer

    def succeed_at(self, delay: int) -> None:
        self._ok = True
        self._value = None
        self.env.schedule(self, simpy.events.NORMAL, delay)


class MeshNetwork:
    """The NoC of a PIM mesh; ``send`` returns an event that succeeds when the last byte arrived.

    ``rows``/``cols`` default to ``hw.mesh``; pass them to build another mesh size with the
    same router and link parameters (synthetic traffic on a k x k mesh).
    """

    MODES = ("worm", "transfer", "flit")

    def __init__(
        self,
        env: simpy.Environment,
        hw: PimMeshConfig,
        mode: str = "transfer",
        rows: int | None = None,
        cols: int | None = None,
    ):
        if mode not in self.MODES:
            raise ValueError(f"network mode must be one of {', '.join(self.MODES)}, not {mode!r}")
        self.env = env
        self.hw = hw
        self.mode = mode
        self.geometry = MeshGeometry(rows or hw.mesh.rows, cols or hw.mesh.cols)
        self.stats = NocStats(self.geometry, hw.noc.flit_bits, hw.noc.energy_pj_per_bit_hop)
        if mode in ("transfer", "worm"):
            from simulator.noc.transfer import TransferLevelModel

            self._model = TransferLevelModel(env, hw.noc, self.geometry, self.stats)
        else:
            from simulator.noc.flit import FlitLevelModel

            self._model = FlitLevelModel(env, hw.noc, self.geometry, self.stats)
        self._flit_bits = hw.noc.flit_bits
        # worm: one packet per transfer (no header flits, so the zero-load latency is unchanged)
        self._packet_max_flits = None if mode == "worm" else hw.noc.packet_max_flits

    def send(
        self, src: tuple[int, int], dst: tuple[int, int], nbytes: int, category: str = "fmap_transfer"
    ) -> simpy.Event:
        """Inject a transfer now; the event succeeds when its last byte is in ``dst``'s NI."""
        g = self.geometry
        s, d = g.node(src), g.node(dst)
        if nbytes < 0:
            raise ValueError(f"a transfer cannot carry {nbytes} bytes")
        if self._packet_max_flits is None:
            packets = [(max(1, -(-8 * nbytes // self._flit_bits)), nbytes)]
        else:
            packets = split_packets(self._flit_bits, self._packet_max_flits, nbytes)
        transfer = Transfer(len(packets), nbytes, category, self.env.now)
        event = transfer.event = DeliveryEvent(self.env, transfer)
        st = self.stats
        st.transfers_sent += 1
        st.packets_sent += len(packets)
        st.bytes_by_category[category] = st.bytes_by_category.get(category, 0) + nbytes
        event.callbacks.append(self._on_delivered)
        self._model.inject(transfer, s, d, packets)
        return event

    def _on_delivered(self, event) -> None:
        st = self.stats
        st.transfers_delivered += 1
        st.packets_delivered += event.transfer.packets

    def record_activity(self) -> None:
        """From now on, log when every router switch and link carries flits (for trace.json only).

        The models' hot paths are untouched unless this is called: the logging wraps them.
        """
        self._model.record_activity()

    def activity(self) -> dict[str, list[tuple[int, int]]]:
        """Router and link name -> (start, end) cycle intervals of one flit per cycle each."""
        g = self.geometry
        out: dict[str, list[tuple[int, int]]] = {}
        for (kind, idx), spans in sorted(self._model.activity().items()):
            name = g.router_name(idx) if kind == 0 else g.link_name(*divmod(idx, PORTS))
            out[name] = spans
        return out

    def in_flight(self) -> int:
        """Packets sent and not yet delivered (0 when the network is quiescent)."""
        return self.stats.in_flight_packets

    def stats_dict(self) -> dict:
        return self.stats.as_dict()

    @property
    def model_events(self) -> int:
        """SimPy events the network model itself scheduled (hops, clock ticks, deliveries)."""
        return self._model.events
