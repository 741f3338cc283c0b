"""The network models of the mesh, registered by name (what ``--network`` and ``MeshNetwork(mode=...)`` take).

* ``worm`` (default, :mod:`simulator.noc.worm`): one worm per transfer, one
  SimPy event per transfer per router;
* ``transfer`` (:mod:`simulator.noc.transfer`): packets of at most
  ``noc.packet_max_flits``, one SimPy event per packet per router;
* ``flit`` (:mod:`simulator.noc.flit`): every flit, cycle by cycle.

Every model is a :class:`simulator.noc.base.NetworkModel`, built as
``Model(env, hw.noc, geometry, stats)``. The front (:mod:`simulator.noc.network`)
imports this registry; no model imports the front.
"""

from __future__ import annotations

from simulator.noc.flit import FlitLevelModel
from simulator.noc.transfer import TransferLevelModel
from simulator.noc.worm import WormModel

NETWORK_MODELS = {"worm": WormModel, "transfer": TransferLevelModel, "flit": FlitLevelModel}
DEFAULT_NETWORK_MODEL = "worm"
