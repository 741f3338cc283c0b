"""What every network model shares: its interface, the transfer it delivers and the completion event.

Modelled: a model is built from the router parameters (``hw.noc``), the mesh
geometry and the statistics it fills; the front hands it each transfer as
packets. A transfer's last byte arrives when the latest of its packets does;
the models report each packet's arrival cycle and the transfer's completion
event is scheduled once, for that cycle (one SimPy event per transfer).

Abstracted away: partial delivery (a transfer is usable only when complete).
"""

from __future__ import annotations

import simpy

from contracts.hardware.pim_mesh import Noc
from simulator.noc.geometry import MeshGeometry
from simulator.noc.stats import NocStats


class NetworkModel:
    """A model of the mesh behind :class:`simulator.noc.network.MeshNetwork`.

    ``packet_max_flits`` is the packet size the front cuts transfers into (None: one packet per
    transfer); ``events`` counts the SimPy events the model scheduled. Subclasses implement
    :meth:`inject`, :meth:`record_activity` and :meth:`activity`.
    """

    def __init__(self, env: simpy.Environment, noc: Noc, geometry: MeshGeometry, stats: NocStats):
        self.packet_max_flits: int | None = noc.packet_max_flits
        self.env = env
        self.geometry = geometry
        self.stats = stats
        self.events = 0
        self.R = noc.router_pipeline_cycles
        self.B = noc.buffer_depth_flits
        self.V = noc.virtual_channels

    def inject(self, transfer: "Transfer", src: int, dst: int, packets: list[tuple[int, int]]) -> None:
        """Put the packets [(flits, bytes)] of ``transfer`` from node ``src`` to node ``dst`` on the network now."""
        raise NotImplementedError

    def record_activity(self) -> None:
        """From now on, log the busy intervals of routers and links (tracing only)."""
        raise NotImplementedError

    def activity(self) -> dict[tuple[int, int], list[tuple[int, int]]]:
        """(0, router) / (1, link index) -> busy (start, end) cycle intervals."""
        raise NotImplementedError


class Transfer:
    """One ``send``: its packets, its completion event and the cycle its last byte arrived."""

    __slots__ = ("event", "remaining", "done_at", "packets", "sent_at")

    def __init__(self, packets: int, sent_at: int):
        self.event: DeliveryEvent | None = None
        self.remaining = packets
        self.packets = packets
        self.done_at = 0
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

    def __init__(self, env: simpy.Environment, transfer: Transfer):
        super().__init__(env)
        self.transfer = transfer

    def succeed_at(self, delay: int) -> None:
        self._ok = True
        self._value = None
        self.env.schedule(self, simpy.events.NORMAL, delay)
