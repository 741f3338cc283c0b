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

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CrossbarGeometry(_Strict):
    size: int = Field(ge=2, description="Xbar_size: rows = columns of one crossbar (unit: cells).")
    crossbars_per_pe: int = Field(ge=1, description="N_X_PE (unit: crossbars).")
    pes_per_tile: int = Field(ge=1, description="N_PE_Tile (unit: PEs).")
    adc_bits: int = Field(ge=1, description="Flash ADC precision (unit: bits).")
    weight_bits: int = Field(ge=1, description="Weight precision (unit: bits).")
    input_bits: int = Field(ge=1, description="Input (activation) precision (unit: bits).")
    input_split_bits: int = Field(ge=1, description="Bits fed per crossbar read (input splitting) (unit: bits).")


class Device(_Strict):
    bits_per_cell: int = Field(ge=1, description="Bits stored per cell (unit: bits).")
    read_variation: float = Field(ge=0, description="Relative sigma of conductance on read (unit: fraction).")
    write_variation: float = Field(ge=0, description="Relative sigma of conductance after a write (unit: fraction).")
    r_on_ohm: float | None = Field(default=None, gt=0, description="On resistance (unit: ohm).")
    r_off_ohm: float | None = Field(default=None, gt=0, description="Off resistance (unit: ohm).")
    e_read_pj: float = Field(ge=0, description="E_R,X: energy of one crossbar read (unit: pJ).")
    e_write_pj: float = Field(ge=0, description="E_W,X: energy of writing one crossbar (unit: pJ).")
    d_read_s: float = Field(ge=0, description="D_R,X: delay of one crossbar read (unit: s).")
    d_write_s: float = Field(ge=0, description="D_W,X: delay of writing one crossbar (unit: s).")
    area_mm2: float = Field(ge=0, description="A_X: area of one crossbar incl. peripherals (unit: mm^2).")


class CrossbarChipConfig(_Strict):
    schema_version: int = Field(default=1, description="Config format version (unit: none).")
    kind: Literal["crossbar_chip"] = Field(description="Selects this schema (unit: none).")
    name: str = Field(description="Config name (unit: none).")
    description: str = Field(default="", description="What the config is (unit: none).")
    technology_nm: int = Field(ge=1, description="CMOS technology (unit: nm).")
    clock_hz: float = Field(gt=0, description="Clock that discretises simulated time (unit: Hz).")
    crossbar: CrossbarGeometry
    devices: dict[str, Device] = Field(description="Device types by name, e.g. fefet, sram (unit: none).")
    layer_device: dict[str, str] = Field(
        description="Layer role -> device name; key 'default' for roles not listed (unit: none)."
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

    def device_for(self, role: str) -> Device:
        return self.devices[self.layer_device.get(role, self.layer_device["default"])]

    def device_name_for(self, role: str) -> str:
        return self.layer_device.get(role, self.layer_device["default"])

    def unit_names(self, tiles: int = 0, softmax_units: int = 0) -> set[str]:
        """Tiles and softmax units are sized by the mapping; the chip admits any count."""
        return {f"tile[{i}]" for i in range(tiles)} | {f"softmax[{i}]" for i in range(softmax_units)}
