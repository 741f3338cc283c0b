"""Closed-form cost of one instruction on a PIM node: one function, two users.

The scheduler (``scheduler.allspark``) uses these functions to predict the
latency of a schedule; the SimPy engine (``simulator.engine``) uses the very
same functions for the fixed latency of each instruction. Contention (bank
queues, router ports, links) is what the DES adds on top, so on a program
without contention simulated cycles equal the sum of these terms exactly.

Modelled
--------
* GEMM on an r x r NVDLA-style PE array: each cycle one output row position
  takes ``rows`` reduction elements times ``cols`` output elements
  (Atomic-C x Atomic-K), so ``m * ceil(k/rows) * ceil(n/cols)`` cycles, plus a
  fixed pipeline fill. A small loop-tiling search over the SRAM buffer
  (output-stationary: an output tile stays in the buffer while the reduction
  streams through) gives the DRAM traffic the GEMM needs; the lowering emits
  that traffic as DRAM_READ / DRAM_WRITE instructions on the node's bank.
* ACU: ``ceil(elements * cycles_per_element[func] / lanes)`` cycles.
* DRAM bank, closed-page per request: each row touched costs activate
  (tRCD), then for reads CAS latency (tCL), then the data beats at
  ``interface_bits`` per cycle, then write recovery (tWR, writes only) and
  precharge (tRP). Requests to one bank are served one at a time.
* NoC at zero load (XY routing, wormhole): NI inject, h+1 routers, h links,
  NI eject for the head flit; the tail follows F-1 cycles behind; the packets
  of one transfer follow back to back with no header flits.
* Energy, dynamic: one constant per action (Accelergy's split): a MAC, a byte
  through the SRAM buffer, an ACU element, a DRAM row activation, a bit read or
  written at the bank, a flit-hop (``flit_bits`` x pJ/bit/hop). Static: the
  leakage power of every unit of every node (PE MACs, SRAM bytes, ACU lanes,
  router input-buffer bits) plus DRAM refresh (every row activated once per
  ``refresh_window_ms``), drawn for the whole simulated time whether a unit is
  busy or idle (no power gating): :func:`static_power_mw`.

Abstracted away
---------------
Refresh as a timing event (it costs energy, not bank time), DRAM background
(standby) power of the bank periphery, bank-level parallelism inside one request, overlap of DRAM traffic
with PE compute inside one GEMM (the lowering serialises read -> compute ->
write; double buffering is not modelled), SRAM bank conflicts, and values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from contracts.hardware.pim_mesh import PimMeshConfig
from simulator.noc.geometry import flits_for

ACCUM_BYTES = 4  # INT32 partial sums held in the buffer for an output tile (NVDLA accumulates in 32 bit)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# --------------------------------------------------------------------------- GEMM


@dataclass(frozen=True)
class GemmTiling:
    """Result of the loop-tiling search for one GEMM on one node."""

    tile_m: int
    tile_n: int
    tile_k: int
    dram_read_bytes: int  # input + weight traffic DRAM -> buffer
    dram_write_bytes: int  # output traffic buffer -> DRAM
    compute_cycles: int


def gemm_compute_cycles(hw: PimMeshConfig, m: int, k: int, n: int) -> int:
    pe = hw.pe_array
    per_cycle_k = pe.rows * pe.macs_per_pe_per_cycle
    return m * ceil_div(k, per_cycle_k) * ceil_div(n, pe.cols) + pe.pipeline_fill_cycles


def gemm_cycles(hw: PimMeshConfig, m: int, k: int, n: int) -> int:
    """Duration of a GEMM instruction on the PE array (operands already in the buffer)."""
    return gemm_compute_cycles(hw, m, k, n)


def _tile_candidates(extent: int, quantum: int) -> list[int]:
    """Tile sizes to try: multiples of the PE width, powers of two up to the extent, and the extent."""
    cands = {extent}
    t = quantum
    while t < extent:
        cands.add(t)
        t *= 2
    return sorted(cands)


@lru_cache(maxsize=65536)
def _gemm_tiling_cached(buffer_bytes: int, elem: int, rows: int, cols: int, m: int, k: int, n: int) -> tuple:
    best = None
    tk = min(k, rows)  # the reduction streams through rows elements at a time
    for tm in _tile_candidates(m, 1 if m < rows else rows):
        for tn in _tile_candidates(n, cols):
            use = (tm * tk + tk * tn) * elem + tm * tn * ACCUM_BYTES
            if use > buffer_bytes:
                continue
            # output-stationary: every (m-tile, n-tile) pair streams its A rows and W columns once
            reads = (m * k * ceil_div(n, tn) + k * n * ceil_div(m, tm)) * elem
            key = (reads, -tm * tn, tm, tn)
            if best is None or key < best[0]:
                best = (key, tm, tn, reads)
    if best is None:  # even the smallest tile does not fit: one PE-wide tile, streamed
        tm, tn = 1, cols
        reads = (m * k * ceil_div(n, tn) + k * n * m) * elem
        best = ((reads,), tm, tn, reads)
    _, tm, tn, reads = best
    return tm, tn, tk, reads, m * n * elem


def gemm_tiling(hw: PimMeshConfig, m: int, k: int, n: int) -> GemmTiling:
    """Loop-tiling search over the node's SRAM buffer: minimal DRAM traffic for the GEMM."""
    pe = hw.pe_array
    tm, tn, tk, reads, writes = _gemm_tiling_cached(
        hw.buffers.sram_bytes, hw.bytes_per_element, pe.rows * pe.macs_per_pe_per_cycle, pe.cols, m, k, n
    )
    return GemmTiling(tm, tn, tk, reads, writes, gemm_compute_cycles(hw, m, k, n))


def gemm_buffer_traffic_bytes(hw: PimMeshConfig, m: int, k: int, n: int) -> int:
    """Bytes through the SRAM buffer for one GEMM: each DRAM byte is written into and read out of it once."""
    t = gemm_tiling(hw, m, k, n)
    return 2 * (t.dram_read_bytes + t.dram_write_bytes)


def gemm_energy_pj(hw: PimMeshConfig, m: int, k: int, n: int) -> dict[str, float]:
    """PE MAC energy (``pe_mac``) and SRAM buffer energy (``sram_buffer``) of one GEMM."""
    return {
        "pe_mac": m * k * n * hw.pe_array.energy_pj_per_mac,
        "sram_buffer": gemm_buffer_traffic_bytes(hw, m, k, n) * hw.buffers.energy_pj_per_byte,
    }


# --------------------------------------------------------------------------- ACU


def acu_cycles(hw: PimMeshConfig, func: str, elements: int) -> int:
    try:
        cpe = hw.acu.cycles_per_element[func]
    except KeyError:
        raise KeyError(f"ACU function '{func}' has no cycles_per_element in config '{hw.name}'") from None
    return ceil_div(math.ceil(elements * cpe), hw.acu.lanes)


def acu_energy_pj(hw: PimMeshConfig, func: str, elements: int) -> float:
    return elements * hw.acu.energy_pj_per_element[func]


# --------------------------------------------------------------------------- DRAM


def dram_rows(hw: PimMeshConfig, nbytes: int) -> int:
    return ceil_div(nbytes, hw.dram.row_bytes) if nbytes > 0 else 0


def dram_cycles(hw: PimMeshConfig, nbytes: int, write: bool) -> int:
    """Closed-page service time of one request of ``nbytes`` on an idle bank."""
    if nbytes <= 0:
        return 0
    d = hw.dram
    beat = d.interface_bits // 8
    full_rows, rest = divmod(nbytes, d.row_bytes)
    per_row_fixed = d.t_rcd_cycles + d.t_rp_cycles + (d.t_wr_cycles if write else d.t_cl_cycles)
    cycles = full_rows * (per_row_fixed + ceil_div(d.row_bytes, beat))
    if rest:
        cycles += per_row_fixed + ceil_div(rest, beat)
    return cycles


def dram_energy_parts(hw: PimMeshConfig, nbytes: int, write: bool) -> dict[str, float]:
    """One request: ``dram_activate`` (rows touched x activate+precharge) and ``dram_read`` / ``dram_write`` (bits)."""
    return {
        "dram_activate": dram_rows(hw, nbytes) * hw.dram.activate_energy_pj,
        ("dram_write" if write else "dram_read"): 8 * nbytes * hw.dram.energy_pj_per_bit,
    }


def dram_energy_pj(hw: PimMeshConfig, nbytes: int) -> float:
    return 8 * nbytes * hw.dram.energy_pj_per_bit + dram_rows(hw, nbytes) * hw.dram.activate_energy_pj


def dram_refresh_power_mw(hw: PimMeshConfig) -> float:
    """Refresh of one node's DRAM: every row activated + precharged once per ``refresh_window_ms``."""
    rows = hw.dram.banks_per_node * (hw.dram.bank_capacity_bytes // hw.dram.row_bytes)
    return rows * hw.dram.activate_energy_pj / (hw.dram.refresh_window_ms * 1e-3) * 1e-9  # pJ/s -> mW


# --------------------------------------------------------------------------- static power

ROUTER_PORTS = 5  # local + four mesh directions


def static_power_mw(hw: PimMeshConfig) -> dict[str, float]:
    """Static power of ONE node by component: leakage of each unit plus DRAM refresh (unit: mW)."""
    pe, noc = hw.pe_array, hw.noc
    router_bits = ROUTER_PORTS * noc.virtual_channels * noc.buffer_depth_flits * noc.flit_bits
    return {
        "static_pe": pe.rows * pe.cols * pe.macs_per_pe_per_cycle * pe.leakage_uw_per_mac * 1e-3,
        "static_sram": hw.buffers.sram_bytes * hw.buffers.leakage_nw_per_byte * 1e-6,
        "static_acu": hw.acu.lanes * hw.acu.leakage_uw_per_lane * 1e-3,
        "static_noc": router_bits * noc.leakage_nw_per_buffer_bit * 1e-6,
        "dram_refresh": dram_refresh_power_mw(hw),
    }


def static_energy_pj(hw: PimMeshConfig, cycles: int) -> dict[str, float]:
    """Static energy of the whole mesh over ``cycles`` of the logic clock, by component (unit: pJ)."""
    seconds = cycles / hw.clock_hz
    nodes = hw.mesh.rows * hw.mesh.cols
    return {k: mw * 1e9 * seconds * nodes for k, mw in static_power_mw(hw).items()}  # mW x s = 1e9 pJ


# --------------------------------------------------------------------------- NoC


def hops_between(a: tuple[int, int], b: tuple[int, int]) -> int:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def noc_zero_load_cycles(hw: PimMeshConfig, nbytes: int, hops: int) -> int:
    """Latency of a transfer on an empty network: head through NI, h+1 routers, h links, NI; tail F-1 behind."""
    if hops < 1:
        raise ValueError("a NoC transfer needs at least one hop")
    c = hw.noc
    return 2 * c.ni_latency_cycles + (hops + 1) * c.router_pipeline_cycles + hops * c.link_latency_cycles + flits_for(c.flit_bits, nbytes) - 1


def noc_energy_pj(hw: PimMeshConfig, nbytes: int, hops: int) -> float:
    """1.1 pJ/bit/hop (Allspark Table III) over the flits actually sent; a hop is one link traversal."""
    return flits_for(hw.noc.flit_bits, nbytes) * hw.noc.flit_bits * hops * hw.noc.energy_pj_per_bit_hop
