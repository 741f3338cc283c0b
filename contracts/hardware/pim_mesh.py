"""Schema of a PIM mesh: the Allspark 3D-stacked-DRAM processing-in-memory system.

Modelled (Allspark Section III-B, Table III): an H_A x W_A mesh of PIM nodes,
each with an r x r NVDLA-style PE array, SRAM buffers, an auxiliary computing
unit (ACU) for softmax / LayerNorm / GELU, a network interface and router, and
one or more DRAM banks of the stacked DRAM die. Values live in the YAML files
of ``hw_configs/`` with a comment giving their source; this module only says
what each field means and its unit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Set
from typing import Literal

from pydantic import Field, field_validator, model_validator

from contracts.base import Frozen
from contracts.hardware.common import HwConfigHeader

# Bounds that keep every derived quantity meaningful (issue 12, "Numbers"): a
# value outside them is rejected at load with one sentence naming the field,
# instead of overflowing a float (cycles -> milliseconds), building an
# astronomically large mesh, or giving a unit no bandwidth. They are far above
# any published design (Allspark: 16x16 nodes, 400 MHz, 8 MiB banks, tRCD of 6
# cycles), so no real config is refused.
MAX_MESH_SIDE = 256  # nodes per mesh side
MAX_NODES = 65536  # nodes in the mesh
MAX_CYCLES_FIELD = 10**6  # any per-event latency (unit: cycles)
MAX_BYTES = 2**48  # any capacity (unit: bytes)
MAX_WIDTH = 2**20  # any per-cycle width (unit: bits or bytes per cycle)
MAX_ENERGY_PJ = 1e9  # any per-event energy (unit: pJ)


class MeshShape(Frozen):
    rows: int = Field(ge=1, le=MAX_MESH_SIDE, description="H_A, node rows (unit: nodes).")
    cols: int = Field(ge=1, le=MAX_MESH_SIDE, description="W_A, node columns (unit: nodes).")


class PeArray(Frozen):
    rows: int = Field(ge=1, le=MAX_WIDTH, description="PE array rows r (unit: PEs).")
    cols: int = Field(ge=1, le=MAX_WIDTH, description="PE array columns r (unit: PEs).")
    macs_per_pe_per_cycle: int = Field(default=1, ge=1, le=MAX_WIDTH, description="MACs per PE per cycle (unit: MAC/cycle).")
    pipeline_fill_cycles: int = Field(default=0, ge=0, le=MAX_CYCLES_FIELD, description="Fixed start-up latency of one GEMM (unit: cycles).")
    energy_pj_per_mac: float = Field(ge=0, le=MAX_ENERGY_PJ, description="Energy of one 8-bit MAC incl. PE-local registers (unit: pJ).")
    leakage_uw_per_mac: float = Field(ge=0, le=MAX_ENERGY_PJ, description="Static (leakage) power of one MAC unit, drawn whether busy or idle (unit: uW).")


class Buffers(Frozen):
    sram_bytes: int = Field(ge=1, le=MAX_BYTES, description="SRAM buffers for inputs, weights and outputs (unit: bytes).")
    energy_pj_per_byte: float = Field(ge=0, le=MAX_ENERGY_PJ, description="SRAM buffer access energy (unit: pJ/byte).")
    bytes_per_cycle: int = Field(ge=1, le=MAX_WIDTH, description="Buffer <-> PE bandwidth (unit: bytes/cycle).")
    leakage_nw_per_byte: float = Field(ge=0, le=MAX_ENERGY_PJ, description="Static (leakage) power of the SRAM buffer per byte of capacity (unit: nW/byte).")


class Acu(Frozen):
    lanes: int = Field(ge=1, le=MAX_WIDTH, description="Elements the ACU processes per cycle (unit: elements/cycle).")
    cycles_per_element: dict[str, float] = Field(
        description="Per-function cost in lane-cycles per element: softmax, layernorm, gelu, add, reduce (unit: cycles/element)."
    )
    energy_pj_per_element: dict[str, float] = Field(description="Per-function energy (unit: pJ/element).")
    leakage_uw_per_lane: float = Field(ge=0, le=MAX_ENERGY_PJ, description="Static (leakage) power of one ACU lane (unit: uW).")

    @field_validator("cycles_per_element", "energy_pj_per_element")
    @classmethod
    def _per_function(cls, v: dict[str, float], info):
        limit = MAX_CYCLES_FIELD if info.field_name == "cycles_per_element" else MAX_ENERGY_PJ
        for func, x in v.items():
            if not 0 <= x <= limit:
                raise ValueError(f"{info.field_name}.{func} must lie in [0, {limit:g}], got {x}")
        return v


class Dram(Frozen):
    banks_per_node: int = Field(ge=1, le=1024, description="DRAM banks per node (unit: banks).")
    bank_capacity_bytes: int = Field(ge=1, le=MAX_BYTES, description="Capacity of one bank (unit: bytes).")
    interface_bits: int = Field(ge=8, le=MAX_WIDTH, description="Bank interface width per cycle of the logic clock (unit: bits).")
    row_bytes: int = Field(ge=1, le=MAX_BYTES, description="Row (page) size of a bank (unit: bytes).")
    t_rcd_cycles: int = Field(ge=0, le=MAX_CYCLES_FIELD, description="Activate to read/write (unit: cycles of the logic clock).")
    t_cl_cycles: int = Field(ge=0, le=MAX_CYCLES_FIELD, description="Read (CAS) latency (unit: cycles).")
    t_wr_cycles: int = Field(ge=0, le=MAX_CYCLES_FIELD, description="Write recovery (unit: cycles).")
    t_rp_cycles: int = Field(ge=0, le=MAX_CYCLES_FIELD, description="Precharge (unit: cycles).")
    energy_pj_per_bit: float = Field(ge=0, le=MAX_ENERGY_PJ, description="Read/write energy (unit: pJ/bit).")
    activate_energy_pj: float = Field(ge=0, le=MAX_ENERGY_PJ, description="Energy of one row activation + precharge (unit: pJ).")
    refresh_window_ms: float = Field(gt=0, le=1e6, description="Every row is refreshed (one activate + precharge) once per window, tREFW (unit: ms).")


class Noc(Frozen):
    flit_bits: int = Field(ge=8, le=MAX_WIDTH, description="Flit width = link bandwidth per cycle (unit: bits).")
    router_pipeline_cycles: int = Field(ge=1, le=MAX_CYCLES_FIELD, description="Router traversal per hop (unit: cycles).")
    link_latency_cycles: int = Field(ge=0, le=MAX_CYCLES_FIELD, description="Wire delay per hop on top of the router (unit: cycles).")
    buffer_depth_flits: int = Field(ge=1, le=MAX_WIDTH, description="Input buffer depth per virtual channel (unit: flits).")
    virtual_channels: int = Field(ge=1, le=64, description="Virtual channels per input port (unit: count).")
    packet_max_flits: int = Field(ge=1, le=MAX_WIDTH, description="Largest packet; longer transfers are split (unit: flits).")
    routing: Literal["xy"] = Field(default="xy", description="Dimension-order routing (unit: none).")
    energy_pj_per_bit_hop: float = Field(ge=0, le=MAX_ENERGY_PJ, description="Router + link energy (unit: pJ/bit/hop).")
    ni_latency_cycles: int = Field(default=1, ge=0, le=MAX_CYCLES_FIELD, description="Network-interface injection/ejection (unit: cycles).")
    leakage_nw_per_buffer_bit: float = Field(
        ge=0, le=MAX_ENERGY_PJ, description="Static (leakage) power of the router per bit of input buffer: 5 ports x VCs x depth x flit_bits bits (unit: nW/bit)."
    )


class PimFidelity(Frozen):
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


class PimMeshConfig(HwConfigHeader):
    kind: Literal["pim_mesh"] = Field(description="Selects this schema (unit: none).")
    bytes_per_element: int = Field(ge=1, le=64, description="Datatype width: INT8 in Allspark (unit: bytes).")
    mesh: MeshShape
    pe_array: PeArray
    buffers: Buffers
    acu: Acu
    dram: Dram
    noc: Noc
    fidelity: PimFidelity = Field(default_factory=PimFidelity, description="Readings of the paper text (unit: none).")

    @model_validator(mode="after")
    def _sizes(self):
        nodes = self.mesh.rows * self.mesh.cols
        if nodes > MAX_NODES:
            raise ValueError(f"mesh of {self.mesh.rows}x{self.mesh.cols} = {nodes} nodes exceeds {MAX_NODES}")
        return self

    @property
    def node_capacity_bytes(self) -> int:
        return self.dram.banks_per_node * self.dram.bank_capacity_bytes

    @property
    def macs_per_cycle(self) -> int:
        return self.pe_array.rows * self.pe_array.cols * self.pe_array.macs_per_pe_per_cycle

    def node_names(self) -> list[str]:
        return [f"node[{r}][{c}]" for r in range(self.mesh.rows) for c in range(self.mesh.cols)]

    def unit_names(self) -> "MeshUnits":
        """The units of the mesh as a set (membership is computed, not stored: a big mesh costs nothing)."""
        return MeshUnits(self.mesh.rows, self.mesh.cols, self.dram.banks_per_node)


_UNIT_RE = re.compile(r"^node\[(\d+)\]\[(\d+)\]\.(?:pe|acu|ni|dram\.bank\[(\d+)\])$")


class MeshUnits(Set):
    """Set of a mesh's unit names (``node[r][c].pe`` / ``.acu`` / ``.ni`` / ``.dram.bank[b]``)."""

    def __init__(self, rows: int, cols: int, banks: int):
        self.rows, self.cols, self.banks = rows, cols, banks

    def __contains__(self, name: object) -> bool:
        m = _UNIT_RE.match(name) if isinstance(name, str) else None
        if m is None or any(len(g) > 1 and g.startswith("0") for g in m.groups() if g):
            return False
        r, c, b = int(m.group(1)), int(m.group(2)), m.group(3)
        return r < self.rows and c < self.cols and (b is None or int(b) < self.banks)

    def __iter__(self) -> Iterator[str]:
        for r in range(self.rows):
            for c in range(self.cols):
                node = f"node[{r}][{c}]"
                yield from (f"{node}.pe", f"{node}.acu", f"{node}.ni")
                yield from (f"{node}.dram.bank[{b}]" for b in range(self.banks))

    def __len__(self) -> int:
        return self.rows * self.cols * (3 + self.banks)
