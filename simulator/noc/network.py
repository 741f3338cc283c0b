"""The network front of a PIM mesh: ``MeshNetwork`` looks its model up by name and carries transfers.

``MeshNetwork`` is what the program executor sends through. It carries a
transfer of ``nbytes`` from one node's network interface (NI) to another's and
returns a SimPy event that succeeds when the last byte is in the destination
NI. The mesh is XY-routed with input-queued, wormhole routers; three models of
the same router sit behind the front, registered by name in
:data:`simulator.noc.models.NETWORK_MODELS`:

* ``mode="worm"`` (default, here and in ``python -m simulator run --network``;
  :mod:`simulator.noc.worm`): the per-packet machinery with ONE worm of all
  F flits per transfer; one event per transfer per router, which is what
  makes a whole-model run simulate in seconds. At zero load it gives the same
  latency as ``transfer``.
* ``mode="transfer"`` (:mod:`simulator.noc.transfer`): one SimPy event per
  packet per router. A packet's head reserves the virtual channels (VCs), the
  links and the input ports of its XY path as a wormhole would; a packet that
  cannot get a VC waits in its input VC and keeps holding the VCs behind it
  (input-queue / head-of-line blocking), and the tail of a packet cannot leave
  a router faster than the next router drains its buffer (one-hop credit
  back-pressure). It agrees with the flit model within about 1 % on average
  packet latency below 70 % of saturation (``benchmarks/bench_noc.py``).
* ``mode="flit"`` (:mod:`simulator.noc.flit`): a cycle-by-cycle model of
  every flit: input buffers per VC, credit-based flow control, atomic VC
  allocation, round-robin winner-take-all switch allocation, one flit per
  link per cycle. It is slow and meant for validating the others on small
  cases.

The router every model shares (fields of ``hw.noc``)
----------------------------------------------------
* A transfer of F = max(1, ceil(8*nbytes/flit_bits)) flits is cut into
  packets of at most ``packet_max_flits`` flits (``worm``: one packet); there
  are no header flits (:mod:`simulator.noc.geometry`).
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

At zero load every model reproduces the shared closed form
:func:`simulator.families.pim_mesh.costmodel.noc_zero_load_cycles` exactly:
2*ni + (h+1)*R + h*L + F-1. That holds as long as a buffer covers the credit
round trip (``buffer_depth_flits >= 2L+R+1``) or a packet fits in one buffer;
with smaller buffers the models (correctly) stall and are slower than the
closed form. A transfer with ``src == dst`` loops back through the local
router (h = 0).

Statistics (every mode): :class:`simulator.noc.stats.NocStats`, per link, per
router and per category, and the energy of the flit-hops.

Abstracted away: the payload values, routing other than XY, adaptive or
escape VCs, NI buffer limits on the sending side (an NI queues any number of
packets), and ejection back-pressure (the NI sinks one flit per cycle).
"""

from __future__ import annotations

import simpy

from contracts.hardware.pim_mesh import PimMeshConfig
from simulator.noc.base import DeliveryEvent, Transfer
from simulator.noc.geometry import PORTS, MeshGeometry, split_packets
from simulator.noc.models import DEFAULT_NETWORK_MODEL, NETWORK_MODELS
from simulator.noc.stats import NocStats


class MeshNetwork:
    """The NoC of a PIM mesh; ``send`` returns an event that succeeds when the last byte arrived.

    ``rows``/``cols`` default to ``hw.mesh``; pass them to build another mesh size with the
    same router and link parameters (synthetic traffic on a k x k mesh).
    """

    def __init__(
        self,
        env: simpy.Environment,
        hw: PimMeshConfig,
        mode: str = DEFAULT_NETWORK_MODEL,
        rows: int | None = None,
        cols: int | None = None,
    ):
        model = NETWORK_MODELS.get(mode)
        if model is None:
            raise ValueError(f"network mode must be one of {', '.join(NETWORK_MODELS)}, not {mode!r}")
        self.env = env
        self.geometry = MeshGeometry(rows or hw.mesh.rows, cols or hw.mesh.cols)
        self.stats = NocStats(self.geometry, hw.noc.flit_bits, hw.noc.energy_pj_per_bit_hop)
        self._model = model(env, hw.noc, self.geometry, self.stats)
        self._flit_bits = hw.noc.flit_bits
        self._packet_max_flits = self._model.packet_max_flits

    def send(
        self, src: tuple[int, int], dst: tuple[int, int], nbytes: int, category: str = "fmap_transfer"
    ) -> simpy.Event:
        """Inject a transfer now; the event succeeds when its last byte is in ``dst``'s NI."""
        g = self.geometry
        s, d = g.node(src), g.node(dst)
        if nbytes < 0:
            raise ValueError(f"a transfer cannot carry {nbytes} bytes")
        packets = split_packets(self._flit_bits, self._packet_max_flits, nbytes)
        transfer = Transfer(len(packets), self.env.now)
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
