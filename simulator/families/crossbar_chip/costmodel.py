"""Closed-form cost of crossbar-chip work (TReX Table II): one module, two users.

The mapper (``scheduler.crossbar``) predicts delay/energy/area with these
functions and Algorithm 1 searches N_reuse with them; the SimPy engine
(``simulator.families.crossbar_chip.units``) takes every instruction's fixed latency and
energy from the very same functions. On a program without contention the
simulated delay therefore equals the closed form exactly.

Modelled (TReX Section VI-B, Table II; geometry and devices from Table III)
---------------------------------------------------------------------------
* Crossbars of a layer, Eq. 5 extended by weight-bit slicing:
  ``ceil(in/X) * ceil(out/X) * ceil(weight_bits / bits_per_cell)``.
* Tiles of a layer: whole tiles of ``N_X_PE * N_PE_Tile`` crossbars (a tile
  never holds two layers, Section VI-A), filled PE by PE.
* Row 1, read energy: ``t_L * N_X,L * E_R,X`` (one read of one input vector
  through one crossbar costs E_R,X, all input bits and peripherals included).
* Row 2, write energy: ``N_X,L * E_W,X``.
* Row 3, read delay: ``t_L * D_R,X * N_X,PE``: the crossbars of a PE are read
  one after another, PEs and tiles in parallel. A tile whose busiest PE holds
  fewer than N_X_PE crossbars finishes sooner (``min(xbars, N_X_PE)``); this
  equals Table II whenever a layer fills at least one PE.
* Row 4, write delay: ``D_W,X * N_X,PE`` under the same PE rule.
* Rows 5-6, softmax: per head, ``t^2`` elements at the unit's per-element
  energy and delay (heads run on their own units in parallel).
* Row 7, area: tiles x crossbars per tile x A_X of the layer's device.
* Accumulators and the tile interconnect: optional explicit costs (the
  shipped configs fold them into E_R,X / D_R,X as Table II does).

Abstracted away
---------------
Values, IR drop and device noise (handled by the accuracy model in
``workloads.reuse``), LayerNorm/GELU/residual digital logic (Table II does not
count it), buffer capacities.

Time is an integer number of clock cycles: every instruction's duration is
its Table II delay converted to cycles (``seconds_to_cycles``), so the
closed form and the DES add the same integers.
"""

from __future__ import annotations

import math

from contracts.hardware.crossbar_chip import CrossbarChipConfig

CIRCUITS = ("write", "communication", "read", "accumulator", "adc", "softmax")

# Layer role (Instruction.layer) -> block of the Fig. 11 breakdown.
BLOCK_OF_ROLE = {
    "q": "attention", "k": "attention", "v": "attention", "attn_qk": "attention", "attn_av": "attention",
    "softmax": "attention", "proj": "projection", "fc1": "mlp", "fc2": "mlp", "tb_fc": "tb",
    "pred_fc1": "predictor", "pred_fc2": "predictor", "pred_fc3": "predictor", "pred_fc4": "predictor",
}
BLOCKS = ("attention", "tb", "projection", "mlp", "predictor")


def block_of(role: str | None) -> str:
    return BLOCK_OF_ROLE.get(role or "", "other")


def seconds_to_cycles(seconds: float, clock_hz: float) -> int:
    """Whole cycles covering ``seconds``; values within 1e-9 relative of an integer snap to it.

    The snap keeps 0.02 us at 1 GHz equal to 20 cycles despite binary floating point.
    """
    c = seconds * clock_hz
    r = round(c)
    if abs(c - r) <= 1e-9 * max(1.0, abs(c)):
        return int(r)
    return int(math.ceil(c))


def weight_slices(weight_bits: int, bits_per_cell: int) -> int:
    """Crossbars holding one weight's bits side by side (bit slicing)."""
    return -(-weight_bits // bits_per_cell)


def crossbars_for(in_dim: int, out_dim: int, size: int, slices: int) -> int:
    """Eq. 5 times the weight slices: crossbars mapping an in_dim x out_dim weight matrix."""
    return -(-in_dim // size) * -(-out_dim // size) * slices


def tiles_for(xbars: int, xbars_per_tile: int) -> int:
    return -(-xbars // xbars_per_tile)


def busiest_pe(xbars_on_tile: int, crossbars_per_pe: int) -> int:
    """Crossbars on the fullest PE of a tile filled PE by PE."""
    return min(xbars_on_tile, crossbars_per_pe)


def read_cycles(hw: CrossbarChipConfig, role: str, vectors: int, xbars_on_tile: int) -> int:
    """Table II row 3 for one tile: vectors x D_R,X x (crossbars on the busiest PE)."""
    dev = hw.device_for(role)
    n = busiest_pe(xbars_on_tile, hw.crossbar.crossbars_per_pe)
    return seconds_to_cycles(vectors * n * dev.d_read_s, hw.clock_hz)


def write_cycles(hw: CrossbarChipConfig, role: str, xbars_on_tile: int) -> int:
    """Table II row 4 for one tile: D_W,X x (crossbars on the busiest PE)."""
    dev = hw.device_for(role)
    n = busiest_pe(xbars_on_tile, hw.crossbar.crossbars_per_pe)
    return seconds_to_cycles(n * dev.d_write_s, hw.clock_hz)


def read_energy_pj(hw: CrossbarChipConfig, role: str, vectors: int, xbars: int) -> float:
    """Table II row 1: t_L x N_X x E_R,X."""
    return vectors * xbars * hw.device_for(role).e_read_pj


def write_energy_pj(hw: CrossbarChipConfig, role: str, xbars: int) -> float:
    """Table II row 2: N_X x E_W,X."""
    return xbars * hw.device_for(role).e_write_pj


def _softmax(hw: CrossbarChipConfig):
    if hw.softmax is None:
        from contracts.errors import UserError

        raise UserError(f"hardware config '{hw.name}' lacks the 'softmax' section a crossbar chip needs")
    return hw.softmax


def softmax_cycles(hw: CrossbarChipConfig, rows: int, cols: int) -> int:
    """Table II row 6 for one head: rows x cols x (D_Select + D_Exponent + D_Div)."""
    return seconds_to_cycles(rows * cols * _softmax(hw).delay_per_element_s, hw.clock_hz)


def softmax_energy_pj(hw: CrossbarChipConfig, rows: int, cols: int) -> float:
    """Table II row 5 for one head: rows x cols x (E_Select + E_Exponent + E_Div)."""
    return rows * cols * _softmax(hw).energy_per_element_pj


def accum_cycles(hw: CrossbarChipConfig, elements: int) -> int:
    per = hw.accumulator.elements_per_cycle
    return 0 if per is None else -(-elements // per)


def accum_energy_pj(hw: CrossbarChipConfig, elements: int) -> float:
    return elements * hw.accumulator.energy_pj_per_element


def xfer_cycles(hw: CrossbarChipConfig, nbytes: int) -> int:
    per = hw.interconnect.bytes_per_cycle
    return 0 if per is None else -(-nbytes // per)


def xfer_energy_pj(hw: CrossbarChipConfig, nbytes: int) -> float:
    return nbytes * hw.interconnect.energy_pj_per_byte


def tile_area_mm2(hw: CrossbarChipConfig, role: str) -> float:
    """Row 7 per tile: a whole tile of the layer's device."""
    return hw.xbars_per_tile * hw.device_for(role).area_mm2


def split_read(hw: CrossbarChipConfig, energy_pj: float, cycles: int) -> tuple[dict[str, float], dict[str, float]]:
    """Divide a crossbar read's energy and delay among the circuits of Fig. 12 (sums preserved)."""
    if hw.read_split is None:
        return {"read": energy_pj}, {"read": float(cycles)}
    e = {k: energy_pj * v for k, v in sorted(hw.read_split.energy_fractions.items())}
    d = {k: cycles * v for k, v in sorted(hw.read_split.delay_fractions.items())}
    return e, d


def instruction_cost(hw: CrossbarChipConfig, ins) -> tuple[int, dict[str, float], dict[str, float]]:
    """Fixed latency and energy of one crossbar-chip instruction.

    ``ins`` is any object with the Program-IR instruction attributes (op,
    layer, xbars, vectors, rows, cols, elements, bytes). Returns
    ``(cycles, energy_pj_by_circuit, delay_cycles_by_circuit)``; the circuit
    dicts each sum to the instruction's energy and cycles.
    """
    op, role = ins.op, ins.layer or "default"
    if op == "XBAR_READ":
        cycles = read_cycles(hw, role, ins.vectors, ins.xbars)
        e, d = split_read(hw, read_energy_pj(hw, role, ins.vectors, ins.xbars), cycles)
        return cycles, e, d
    if op == "XBAR_WRITE":
        cycles = write_cycles(hw, role, ins.xbars)
        return cycles, {"write": write_energy_pj(hw, role, ins.xbars)}, {"write": float(cycles)}
    if op == "SOFTMAX":
        cycles = softmax_cycles(hw, ins.rows, ins.cols)
        return cycles, {"softmax": softmax_energy_pj(hw, ins.rows, ins.cols)}, {"softmax": float(cycles)}
    if op == "ACCUM":
        cycles = accum_cycles(hw, ins.elements)
        return cycles, {"accumulator": accum_energy_pj(hw, ins.elements)}, {"accumulator": float(cycles)}
    if op == "XFER":
        cycles = xfer_cycles(hw, ins.bytes)
        return cycles, {"communication": xfer_energy_pj(hw, ins.bytes)}, {"communication": float(cycles)}
    from contracts.errors import UserError

    raise UserError(f"instruction {ins.id} ({op}) cannot run on a crossbar chip")
