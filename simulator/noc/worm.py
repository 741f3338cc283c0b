"""Whole-transfer model of the mesh (``mode="worm"``, the default network of ``python -m simulator run``).

Modelled: the per-packet wormhole rules of :mod:`simulator.noc.transfer`, but
a transfer travels as ONE worm of all its F flits instead of packets of at
most ``packet_max_flits``. At zero load this is exactly the same latency (the
packets of a transfer follow back to back with no header flits, so F flits
in one worm arrive at the same cycle); under contention other traffic
interleaves with a transfer only at transfer boundaries instead of packet
boundaries. It costs one event per transfer per router, which is what makes
a whole Swin-B inference (millions of packets of weight-sharing traffic)
simulate in seconds; its difference from ``transfer`` on a real program is
measured in ``benchmarks/bench_sim.py``.

Abstracted away (against ``transfer``): packet boundaries inside a transfer.
"""

from __future__ import annotations

import simpy

from contracts.hardware.pim_mesh import Noc
from simulator.noc.geometry import MeshGeometry
from simulator.noc.stats import NocStats
from simulator.noc.transfer import TransferLevelModel


class WormModel(TransferLevelModel):
    """The per-packet model fed one packet (worm) per transfer."""

    def __init__(self, env: simpy.Environment, noc: Noc, geometry: MeshGeometry, stats: NocStats):
        super().__init__(env, noc, geometry, stats)
        self.packet_max_flits = None  # one worm of all F flits (no header flits: zero-load latency unchanged)
