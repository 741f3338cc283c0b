"""Counters of one mesh network: per link, per router, per category, and the NoC energy (pure Python).

Modelled
--------
Per directed link ``link[r][c]->[r2][c2]`` the flits, busy cycles (one flit
per cycle, so equal to flits) and payload bytes; per router ``router[r][c]``
the flits its switch moved (ejection included; divide by 5 ports x cycles for
a switch utilisation); packets and transfers sent and delivered; bytes by
traffic category; total flit-hops, where a hop is one LINK traversal (the
1.1 pJ/bit/hop of Allspark Table III covers the router and the link of that
hop), and energy = flit-hops x flit_bits x pJ/bit/hop, the same definition as
:func:`simulator.families.pim_mesh.costmodel.noc_energy_pj`.

Every network model fills the same counters. A model that counts per route
rather than per link (:mod:`simulator.noc.transfer`) registers a folder that
spreads its totals over the links and routers before anything is read.

Abstracted away: per-cycle occupancy (only totals are kept; the activity
intervals of ``trace.json`` come from the models themselves).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.noc.geometry import PORTS, MeshGeometry


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
