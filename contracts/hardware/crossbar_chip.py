"""Schema of a crossbar chip: TReX-Sim's FeFET / SRAM analog crossbar tiles.

Modelled (TReX Sections IV and VI, Tables I-III): weights programmed into
Xbar_size x Xbar_size crossbars, N_X_PE crossbars per PE, N_PE_Tile PEs per
tile; a layer occupies whole tiles and a tile never holds two layers; flash
ADCs; one digital LUT softmax unit per attention head (Fig. 9). Each layer role
maps to a device type (``layer_device``), which is how the FeFET/SRAM hybrid
of Section VII-D is expressed. Values live in ``hw_configs/*.yaml`` with a
comment giving their source.

The field names used by the noise model (``workloads.reuse.noise``) are part of
the contract: crossbar.size, crossbar.adc_bits, crossbar.weight_bits,
crossbar.input_bits, devices.<dev>.bits_per_cell, devices.<dev>.read_variation,
devices.<dev>.write_variation, layer_device.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from contracts.base import Frozen
from contracts.hardware.common import HwConfigHeader


# Bounds far above any published chip (TReX: 64x64 crossbars, 8-bit weights,
# ns-scale reads) that keep derived cycle counts and totals finite; a value
# outside them is rejected at load with one sentence (issue 12, "Numbers").
MAX_DELAY_S = 1.0  # any per-event delay (unit: s)
MAX_ENERGY_PJ = 1e9  # any per-event energy (unit: pJ)
MAX_COUNT = 1 << 16  # any count or width


class CrossbarGeometry(Frozen):
    size: int = Field(ge=2, le=MAX_COUNT, description="Xbar_size: rows = columns of one crossbar (unit: cells).")
    crossbars_per_pe: int = Field(ge=1, le=MAX_COUNT, description="N_X_PE (unit: crossbars).")
    pes_per_tile: int = Field(ge=1, le=MAX_COUNT, description="N_PE_Tile (unit: PEs).")
    adc_bits: int = Field(ge=1, le=64, description="Flash ADC precision (unit: bits).")
    weight_bits: int = Field(ge=1, le=64, description="Weight precision (unit: bits).")
    input_bits: int = Field(ge=1, le=64, description="Input (activation) precision (unit: bits).")
    input_split_bits: int = Field(ge=1, le=64, description="Bits fed per crossbar read (input splitting) (unit: bits).")


class Device(Frozen):
    bits_per_cell: int = Field(ge=1, le=64, description="Bits stored per cell (unit: bits).")
    read_variation: float = Field(ge=0, le=10, description="Relative sigma of conductance on read (unit: fraction).")
    write_variation: float = Field(ge=0, le=10, description="Relative sigma of conductance after a write (unit: fraction).")
    r_on_ohm: float | None = Field(default=None, gt=0, description="On resistance (unit: ohm).")
    r_off_ohm: float | None = Field(default=None, gt=0, description="Off resistance (unit: ohm).")
    e_read_pj: float = Field(ge=0, le=MAX_ENERGY_PJ, description="E_R,X: energy of one crossbar read (unit: pJ).")
    e_write_pj: float = Field(ge=0, le=MAX_ENERGY_PJ, description="E_W,X: energy of writing one crossbar (unit: pJ).")
    d_read_s: float = Field(ge=0, le=MAX_DELAY_S, description="D_R,X: delay of one crossbar read (unit: s).")
    d_write_s: float = Field(ge=0, le=MAX_DELAY_S, description="D_W,X: delay of writing one crossbar (unit: s).")
    area_mm2: float = Field(ge=0, le=1e6, description="A_X: area of one crossbar incl. peripherals (unit: mm^2).")


class SoftmaxUnitConfig(Frozen):
    """Digital LUT softmax unit of Fig. 9: select (x_max), exponent (LUT), divide circuits.

    Table II rows 5-6 use only the sums E_Select+E_Exponent+E_Div and
    D_Select+D_Exponent+D_Div per element of the t x t score matrix, so the
    sums are the parameters (the three circuits are not separately identifiable
    from any published figure).
    """

    delay_per_element_s: float = Field(ge=0, le=MAX_DELAY_S, description="D_Select + D_Exponent + D_Div per score element (unit: s).")
    energy_per_element_pj: float = Field(ge=0, le=MAX_ENERGY_PJ, description="E_Select + E_Exponent + E_Div per score element (unit: pJ).")
    units_per_head: int = Field(default=1, ge=1, le=MAX_COUNT, description="Softmax units per attention head (Fig. 9: one) (unit: units).")


class AccumulatorConfig(Frozen):
    """Tile/global accumulators that add partial sums of row chunks and weight slices (Fig. 8a)."""

    energy_pj_per_element: float = Field(default=0.0, ge=0, le=MAX_ENERGY_PJ, description="Energy per partial sum added (unit: pJ).")
    elements_per_cycle: int | None = Field(
        default=None, ge=1, le=MAX_COUNT, description="Accumulator throughput; null = folded into D_R,X as in Table II (unit: elements/cycle)."
    )


class InterconnectConfig(Frozen):
    """Chip interconnect moving layer outputs between tiles (intra/inter-tile communication, Fig. 12)."""

    energy_pj_per_byte: float = Field(default=0.0, ge=0, le=MAX_ENERGY_PJ, description="Energy per byte moved (unit: pJ).")
    bytes_per_cycle: int | None = Field(
        default=None, ge=1, le=MAX_COUNT, description="Bandwidth of one port; null = folded into D_R,X as in Table II (unit: bytes/cycle)."
    )
    ports: int = Field(default=1, ge=1, le=MAX_COUNT, description="Transfers the interconnect carries at once (unit: transfers).")


class ReadCircuitSplit(Frozen):
    """How one crossbar read's energy and delay divide among the circuits of Fig. 12.

    Table III gives E_R,X and D_R,X for a whole crossbar read including its
    peripherals; the circuit breakdown only divides them (totals unchanged).
    Each group of fractions must sum to 1.
    """

    energy_fractions: dict[str, float] = Field(
        description="Share of E_R,X per circuit: read, adc, accumulator, communication (unit: fraction)."
    )
    delay_fractions: dict[str, float] = Field(
        description="Share of D_R,X per circuit: read, adc, accumulator, communication (unit: fraction)."
    )

    @model_validator(mode="after")
    def _fractions(self):
        allowed = {"read", "adc", "accumulator", "communication"}
        for name, fr in (("energy_fractions", self.energy_fractions), ("delay_fractions", self.delay_fractions)):
            bad = sorted(set(fr) - allowed)
            if bad:
                raise ValueError(f"{name} has unknown circuit '{bad[0]}' (allowed: {', '.join(sorted(allowed))})")
            if any(v < 0 for v in fr.values()) or abs(sum(fr.values()) - 1.0) > 1e-9:
                raise ValueError(f"{name} must be non-negative and sum to 1")
        return self


class CrossbarFidelity(Frozen):
    """Named readings of the TReX text where it allows more than one (each default cites its sentence).

    ``tb_edap_share``: what "the contribution [of the transformation blocks] to EDAP" means.

    * ``block_product`` (default): Fig. 11 is "the EDAP distribution ... across Attention (Attn),
      transformation (TB), Projection (Proj) and MLP blocks", so each block has its own EDAP, the
      product of its own energy, critical-path delay and area, and the TB's share is its EDAP over
      the sum of the blocks' EDAPs (Sec. VII-B: "their contribution to EDAP is minimal (less than 1%)").
    * ``marginal``: the rise of the whole chip's EDAP when the TB's energy, delay and area are
      added to the totals (the reading before this switch existed).

    The result carries both figures (``tb.edap_block_share_pct``, ``tb.edap_increase_pct``);
    ``tb.edap_share_pct`` is the one this switch selects.
    """

    tb_edap_share: Literal["block_product", "marginal"] = Field(
        default="block_product",
        description="TB share of EDAP: of the per-block EDAP distribution, or marginal rise of the chip's EDAP (unit: none).",
    )


class CrossbarChipConfig(HwConfigHeader):
    kind: Literal["crossbar_chip"] = Field(description="Selects this schema (unit: none).")
    crossbar: CrossbarGeometry
    devices: dict[str, Device] = Field(description="Device types by name, e.g. fefet, sram (unit: none).")
    layer_device: dict[str, str] = Field(
        description="Layer role -> device name; key 'default' for roles not listed (unit: none)."
    )
    softmax: SoftmaxUnitConfig | None = Field(
        default=None, description="Digital softmax unit (Fig. 9); required by the crossbar mapper and engine (unit: none)."
    )
    accumulator: AccumulatorConfig = Field(default_factory=AccumulatorConfig, description="Partial-sum accumulators (unit: none).")
    interconnect: InterconnectConfig = Field(default_factory=InterconnectConfig, description="Tile interconnect (unit: none).")
    read_split: ReadCircuitSplit | None = Field(
        default=None, description="Division of crossbar read cost among circuits for Fig. 12 breakdowns (unit: none)."
    )
    include_tb_in_totals: bool = Field(
        default=False,
        description=(
            "Accounting switch: add the TReX transformation blocks to the headline energy/delay/area "
            "(Table II rows 8-10 as printed leave them out) (unit: none)."
        ),
    )
    fidelity: CrossbarFidelity = Field(
        default_factory=lambda: CrossbarFidelity(), description="Readings of the paper text (unit: none)."
    )
    extra: dict[str, float] = Field(
        default_factory=dict,
        description="Further model constants (softmax circuits, peripherals, calibration) named with their unit suffix.",
    )

    @model_validator(mode="after")
    def _devices_exist(self):
        if "default" not in self.layer_device:
            raise ValueError("layer_device needs a 'default' entry")
        for role, dev in self.layer_device.items():
            if dev not in self.devices:
                raise ValueError(f"layer_device.{role} names device '{dev}', which is not in devices")
        return self

    @property
    def xbars_per_tile(self) -> int:
        return self.crossbar.crossbars_per_pe * self.crossbar.pes_per_tile

    def device_for(self, role: str) -> Device:
        return self.devices[self.layer_device.get(role, self.layer_device["default"])]

    def device_name_for(self, role: str) -> str:
        return self.layer_device.get(role, self.layer_device["default"])

    def unit_names(self) -> None:
        """None: the chip admits any number of tiles and softmax units (the mapping sizes it),
        so a program is checked only for the form of its unit names (``validate_program``)."""
        return None

    def unit_names_for(self, tiles: int = 0, softmax_units: int = 0) -> set[str]:
        """The unit names of a chip sized to ``tiles`` tiles and ``softmax_units`` softmax units."""
        return {f"tile[{i}]" for i in range(tiles)} | {f"softmax[{i}]" for i in range(softmax_units)}
