"""Geometry of the mesh network-on-chip: node numbering, XY routes, flits and packets (pure Python).

Modelled
--------
* A rows x cols mesh; node n sits at row ``n // cols``, column ``n % cols``.
  Every router has 5 ports: 0 is the local port (the node's network
  interface), then north, east, south and west.
* Dimension-order (XY) routing: columns first, then rows; a route ends with
  the destination router's local port. A transfer with ``src == dst`` loops
  back through the local router (0 hops).
* A transfer of ``nbytes`` is F = max(1, ceil(8*nbytes/flit_bits)) flits
  (:func:`flits_for`, the one place this formula lives: the closed-form cost
  model uses it too) and is cut into packets of at most ``packet_max_flits``
  flits with no header flits (:func:`split_packets`).

Abstracted away: routing other than XY, topologies other than a 2D mesh, and
header or tail overhead flits. This module imports no SimPy, so the PIM cost
model (which the scheduler imports) can share it.
"""

from __future__ import annotations

from dataclasses import dataclass

# Port numbering of a router: 0 is the local port (NI), then the four mesh directions.
LOCAL, NORTH, EAST, SOUTH, WEST = 0, 1, 2, 3, 4
PORTS = 5
OPPOSITE = (LOCAL, SOUTH, WEST, NORTH, EAST)
_STEP = ((0, 0), (-1, 0), (0, 1), (1, 0), (0, -1))  # (d_row, d_col) of each port


def flits_for(flit_bits: int, nbytes: int) -> int:
    """Flits of a transfer of ``nbytes``: max(1, ceil(8*nbytes/flit_bits)) (an empty transfer is one flit)."""
    return max(1, -(-8 * nbytes // flit_bits))


def split_packets(flit_bits: int, packet_max_flits: int | None, nbytes: int) -> list[tuple[int, int]]:
    """Cut a transfer into packets: [(flits, payload bytes)], bytes summing to ``nbytes``.

    F = :func:`flits_for` flits in all (no header flits), in packets of at most ``packet_max_flits``
    (None: one packet of all F flits); a packet carries the bytes that fall into its flits.
    """
    total = flits_for(flit_bits, nbytes)
    if packet_max_flits is None or total <= packet_max_flits:
        return [(total, nbytes)]
    if flit_bits % 8 == 0:  # whole bytes per flit: every packet but the last carries a full payload
        k = -(-total // packet_max_flits) - 1  # packets before the last one
        payload = packet_max_flits * flit_bits // 8
        out = [(packet_max_flits, payload)] * k
        out.append((total - k * packet_max_flits, nbytes - k * payload))
        return out
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
