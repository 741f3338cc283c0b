"""Schema of a PIM mesh: the Allspark 3D-stacked-DRAM processing-in-memory system.

Modelled (Allspark Section III-B, Table III): an H_A x W_A mesh of PIM nodes,
each with an r x r NVDLA-style PE array, SRAM buffers, an auxiliary computing
unit (ACU) for softmax / LayerNorm / GELU, a network interface and router, and
one or more DRAM banks of the stacked DRAM die. Values live in the YAML files
of ``hw_configs/`` with a comment giving their source; this module only says
what each field means and its unit.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MeshShape(_Strict):
    rows: int = Field(ge=1, description="H_A, node rows (unit: nodes).")
    cols: int = Field(ge=1, description="W_A, node columns (unit: nodes).")


class PeArray(_Strict):
    rows: int = Field(ge=1, description="PE array rows r (unit: PEs).")
    cols: int = Field(ge=1, description="PE array columns r (unit: PEs).")
    macs_per_pe_per_cycle: int = Field(default=1, ge=1, description="MACs per PE per cycle (unit: MAC/cycle).")
    pipeline_fill_cycles: int = Field(default=0, ge=0, description="Fixed start-up latency of one GEMM (unit: cycles).")
    energy_pj_per_mac: float = Field(ge=0, description="Energy of one 8-bit MAC incl. PE-local registers (unit: pJ).")
    leakage_uw_per_mac: float = Field(ge=0, description="Static (leakage) power of one MAC unit, drawn whether busy or idle (unit: uW).")


class Buffers(_Strict):
    sram_bytes: int = Field(ge=1, description="SRAM buffers for inputs, weights and outputs (unit: bytes).")
    energy_pj_per_byte: float = Field(ge=0, description="SRAM buffer access energy (unit: pJ/byte).")
    bytes_per_cycle: int = Field(ge=1, description="Buffer <-> PE bandwidth (unit: bytes/cycle).")
    leakage_nw_per_byte: float = Field(ge=0, description="Static (leakage) power of the SRAM buffer per byte of capacity (unit: nW/byte).")


class Acu(_Strict):
    lanes: int = Field(ge=1, description="Elements the ACU processes per cycle (unit: elements/cycle).")
    cycles_per_element: dict[str, float] = Field(
        description="Per-function cost in lane-cycles per element: softmax, layernorm, gelu, add, reduce (unit: cycles/element)."
    )
    energy_pj_per_element: dict[str, float] = Field(description="Per-function energy (unit: pJ/element).")
    leakage_uw_per_lane: float = Field(ge=0, description="Static (leakage) power of one ACU lane (unit: uW).")


class Dram(_Strict):
    banks_per_node: int = Field(ge=1, description="DRAM banks per node (unit: banks).")
    bank_capacity_bytes: int = Field(ge=1, description="Capacity of one bank (unit: bytes).")
    interface_bits: int = Field(ge=8, description="Bank interface width per cycle of the logic clock (unit: bits).")
    row_bytes: int = Field(ge=1, description="Row (page) size of a bank (unit: bytes).")
    t_rcd_cycles: int = Field(ge=0, description="Activate to read/write (unit: cycles of the logic clock).")
    t_cl_cycles: int = Field(ge=0, description="Read (CAS) latency (unit: cycles).")
    t_wr_cycles: int = Field(ge=0, description="Write recovery (unit: cycles).")
    t_rp_cycles: int = Field(ge=0, description="Precharge (unit: cycles).")
    energy_pj_per_bit: float = Field(ge=0, description="Read/write energy (unit: pJ/bit).")
    activate_energy_pj: float = Field(ge=0, description="Energy of one row activation + precharge (unit: pJ).")
    refresh_window_ms: float = Field(gt=0, description="Every row is refreshed (one activate + precharge) once per window, tREFW (unit: ms).")


class Noc(_Strict):
    flit_bits: int = Field(ge=8, description="Flit width = link bandwidth per cycle (unit: bits).")
    router_pipeline_cycles: int = Field(ge=1, description="Router traversal per hop (unit: cycles).")
    link_latency_cycles: int = Field(ge=0, description="Wire delay per hop on top of the router (unit: cycles).")
    buffer_depth_flits: int = Field(ge=1, description="Input buffer depth per virtual channel (unit: flits).")
    virtual_channels: int = Field(ge=1, description="Virtual channels per input port (unit: count).")
    packet_max_flits: int = Field(ge=1, description="Largest packet; longer transfers are split (unit: flits).")
    routing: Literal["xy"] = Field(default="xy", description="Dimension-order routing (unit: none).")
    energy_pj_per_bit_hop: float = Field(ge=0, description="Router + link energy (unit: pJ/bit/hop).")
    ni_latency_cycles: int = Field(default=1, ge=0, description="Network-interface injection/ejection (unit: cycles).")
    leakage_nw_per_buffer_bit: float = Field(
        ge=0, description="Static (leakage) power of the router per bit of input buffer: 5 ports x VCs x depth x flit_bits bits (unit: nW/bit)."
    )


class PimFidelity(_Strict):
    """Named readings of the Allspark text where it allows more than one (each default cites its sentence).

    ``subsampled_attention``: how a global sub-sampled attention block (Twins-SVT GSA) is split into
    computational branches.

    * ``windows`` (default): the GSA block keeps the local regions of the block before it as its
      branches; each region's queries attend to the whole sub-sampled key/value set, which the
      regions interchange. Follows Sec. III-A: "all input patches of each transformer block at s-th
      stage are divided into ... small-sized local regions ..., each of which independently serves
      as an input to the computational branch", and "LVT models ... interchange feature matrices or
      KV matrices between local regions" (the second block of the dual-block pair "enabling
      cross-region interaction through ... global sub-sampling (Twins [7])").
    * ``global``: the GSA block is one branch of all H x W queries (the block as traced), the reading
      before this switch existed.
    """

    subsampled_attention: Literal["windows", "global"] = Field(
        default="windows",
        description="Branches of a global sub-sampled attention block: the local regions (windows) or one global branch (unit: none).",
    )


class PimMeshConfig(_Strict):
    schema_version: int = Field(default=1, description="Config format version (unit: none).")
    kind: Literal["pim_mesh"] = Field(description="Selects this schema (unit: none).")
    name: str = Field(description="Config name (unit: none).")
    description: str = Field(default="", description="What the config is (unit: none).")
    technology_nm: int = Field(ge=1, description="Logic die technology (unit: nm).")
    clock_hz: float = Field(gt=0, description="Logic clock (unit: Hz).")
    bytes_per_element: int = Field(ge=1, description="Datatype width: INT8 in Allspark (unit: bytes).")
    mesh: MeshShape
    pe_array: PeArray
    buffers: Buffers
    acu: Acu
    dram: Dram
    noc: Noc
    fidelity: PimFidelity = Field(default_factory=PimFidelity, description="Readings of the paper text (unit: none).")

    @property
    def node_capacity_bytes(self) -> int:
        return self.dram.banks_per_node * self.dram.bank_capacity_bytes

    @property
    def macs_per_cycle(self) -> int:
        return self.pe_array.rows * self.pe_array.cols * self.pe_array.macs_per_pe_per_cycle

    def node_names(self) -> list[str]:
        return [f"node[{r}][{c}]" for r in range(self.mesh.rows) for c in range(self.mesh.cols)]

    def unit_names(self) -> set[str]:
        units: set[str] = set()
        for node in self.node_names():
            units.update({f"{node}.pe", f"{node}.acu", f"{node}.ni"})
            units.update(f"{node}.dram.bank[{b}]" for b in range(self.dram.banks_per_node))
        return units
