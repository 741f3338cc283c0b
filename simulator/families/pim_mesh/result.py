"""result.json of a PIM-mesh simulation: the versioned file contract of ``simulator run``.

Everything here depends on the inputs alone (program, hardware config, mode),
so two runs give a byte-identical file; wall-clock figures and versions go to
``meta.json``. The report (``simulator.families.pim_mesh.report``) is rendered from this file
alone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 2  # 2: energy gains static power, refresh, per-action / per-component / per-stage breakdowns, EDP


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Latency(_Strict):
    cycles: int = Field(ge=0, description="Simulated end-to-end latency (unit: cycles).")
    ms: float = Field(ge=0, description="The same at the config's clock (unit: ms).")


class Prediction(_Strict):
    predicted_cycles: int | None = Field(description="Scheduler's predicted latency from program.json (unit: cycles).")
    simulated_cycles: int = Field(ge=0, description="Simulated latency (unit: cycles).")
    contention_free_cycles: int = Field(
        ge=0, description="Latency of a contention-free replay of the same program: closed-form durations, zero-load network (unit: cycles)."
    )
    contention_cycles: int = Field(description="simulated - contention_free: what contention costs (unit: cycles).")
    model_difference_cycles: int | None = Field(
        description="contention_free - predicted: difference not due to contention (scheduler's model vs the program's execution rules) (unit: cycles)."
    )
    relative_error: float | None = Field(description="(predicted - simulated) / simulated (unit: fraction).")
    contention_share_of_difference: float | None = Field(
        description="contention_cycles / (simulated - predicted); None when they are equal (unit: fraction)."
    )
    critical_path_queueing_cycles: int = Field(
        ge=0, description="Network queueing (SEND time beyond zero-load) plus buffer stalls on the critical path (unit: cycles)."
    )


class Energy(_Strict):
    total_pj: float = Field(ge=0, description="Total energy of the run, all images of the batch: dynamic + static (unit: pJ).")
    per_inference_pj: float = Field(ge=0, description="total_pj / batch (unit: pJ per image).")
    dynamic_pj: float = Field(ge=0, description="Energy of the actions (MACs, buffer bytes, ACU elements, DRAM rows and bits, flit-hops) (unit: pJ).")
    static_pj: float = Field(ge=0, description="Leakage of every unit plus DRAM refresh over the simulated time (unit: pJ).")
    static_power_mw: float = Field(ge=0, description="Static power of the whole mesh: leakage + refresh (unit: mW).")
    edp_j_s: float = Field(ge=0, description="Energy-delay product: energy per inference x latency (unit: J*s).")
    breakdown_pj: dict[str, float] = Field(
        description="By action and static term: pe_mac, sram_buffer, acu, dram_activate, dram_read, dram_write, noc_flit_hop, "
                    "static_pe, static_sram, static_acu, static_noc, dram_refresh; sums to total_pj (unit: pJ)."
    )
    by_component_pj: dict[str, float] = Field(description="Dynamic + static by component: pe, sram, acu, dram, noc; sums to total_pj (unit: pJ).")
    by_stage_pj: dict[str, float] = Field(
        description="By model stage ('none' = segments outside any stage): dynamic energy of its instructions + static power x its "
                    "simulated time; sums to total_pj (unit: pJ)."
    )
    method: str = Field(description="How the energy was counted (unit: none).")


class LatencyBreakdown(_Strict):
    total_cycles: int = Field(ge=0, description="Equals latency.cycles (unit: cycles).")
    breakdown_cycles: dict[str, int] = Field(
        description="By category along the critical path: compute, fmap_transfer, weight_share, memory, buffer_stall, ...; sums to total_cycles (unit: cycles)."
    )
    method: str = Field(description="How the latency was attributed (unit: none).")


class NodeUtilisation(_Strict):
    overall: float = Field(ge=0, le=1, description="Allspark Eq. 21 over all stages (unit: fraction).")
    per_stage: dict[str, float] = Field(description="Allspark Eq. 21 per model stage; key is the stage number or 'none' (unit: fraction).")
    per_node_pe_busy: dict[str, float] = Field(description="PE-array busy fraction of every node, for the heat map (unit: fraction).")
    method: str = Field(description="How occupied nodes and temporal-layer times were measured (unit: none).")


class Busy(_Strict):
    busy_cycles: int = Field(ge=0, description="Cycles an instruction occupied the unit; a SEND until delivery, a RECV while it waits for its message (unit: cycles).")
    busy_fraction: float = Field(ge=0, le=1, description="busy_cycles / latency (unit: fraction).")
    bytes: int = Field(default=0, ge=0, description="Bytes its instructions moved: DRAM read + written, NI sent + received; 0 for PE and ACU (unit: bytes).")
    energy_pj: float = Field(default=0.0, ge=0, description="Dynamic energy of its instructions + its leakage (refresh for a bank); NoC flit-hops are charged to links (unit: pJ).")


class RouterLoad(_Strict):
    flits_switched: int = Field(ge=0, description="Flits the router's switch moved, ejection included (unit: flits).")
    busy_fraction: float = Field(ge=0, le=1, description="Switch utilisation: flits_switched / (5 ports x latency) (unit: fraction).")
    energy_pj: float = Field(default=0.0, ge=0, description="Router leakage (input buffers) over the simulated time (unit: pJ).")


class LinkLoad(_Strict):
    busy_cycles: int = Field(ge=0, description="Cycles the link carried a flit or was reserved by a packet (unit: cycles).")
    busy_fraction: float = Field(ge=0, le=1, description="busy_cycles / latency (unit: fraction).")
    bytes: int = Field(ge=0, description="Bytes moved over the link (unit: bytes).")
    flits: int = Field(ge=0, description="Flits moved over the link (unit: flits).")
    energy_pj: float = Field(default=0.0, ge=0, description="Flit-hop energy of the flits it carried (the network's NoC energy split by flits) (unit: pJ).")


class SegmentResult(_Strict):
    name: str = Field(description="Segment name from the program (unit: none).")
    stage: int | None = Field(description="Model stage (unit: none).")
    repeat: int = Field(ge=1, description="Repetitions in the program (unit: count).")
    simulated_repetitions: int = Field(ge=1, description="Repetitions actually simulated (1 in block-reuse mode) (unit: count).")
    cycles_per_repetition: int = Field(ge=0, description="Duration of one repetition; the maximum if repetitions differ (unit: cycles).")
    total_cycles: int = Field(ge=0, description="Duration of all repetitions (unit: cycles).")
    contention_free_cycles_per_repetition: int = Field(ge=0, description="Contention-free replay of one repetition (unit: cycles).")
    predicted_cycles_per_repetition: int | None = Field(description="Scheduler's hint_cycles of the segment (unit: cycles).")
    breakdown_cycles: dict[str, int] = Field(description="Critical-path attribution of total_cycles (unit: cycles).")


class Counts(_Strict):
    instructions_expected: int = Field(ge=0, description="Instructions of the program with repeats expanded (unit: count).")
    instructions_executed: int = Field(ge=0, description="Instructions completed (unit: count).")
    macs_expected: int = Field(ge=0, description="program.macs_expected (unit: MAC).")
    macs_executed: int = Field(ge=0, description="MACs executed by GEMM instructions (unit: MAC).")
    bytes_sent: int = Field(ge=0, description="Bytes of completed SENDs (unit: bytes).")
    bytes_received: int = Field(ge=0, description="Bytes of completed RECVs (unit: bytes).")
    noc_bytes_by_category: dict[str, int] = Field(description="Bytes the network delivered by category (unit: bytes).")
    dram_bytes_read: int = Field(ge=0, description="Bytes read from DRAM banks (unit: bytes).")
    dram_bytes_written: int = Field(ge=0, description="Bytes written to DRAM banks (unit: bytes).")
    dram_queue_wait_cycles: int = Field(ge=0, description="Sum over bank requests of time ready but queued behind the bank's previous request (unit: cycles).")
    buffer_stall_cycles: int = Field(ge=0, description="Sum over instructions of time waiting for SRAM buffer space (unit: cycles).")
    sim_events: int = Field(ge=0, description="SimPy events scheduled (unit: count).")


class PimResult(_Strict):
    schema_version: int = Field(default=SCHEMA_VERSION, description="Version of this file format (unit: none).")
    kind: Literal["pim_mesh"] = Field(default="pim_mesh", description="Hardware family (unit: none).")
    model: str = Field(description="Workload model of the program (unit: none).")
    method: str = Field(description="Scheduling method of the program (unit: none).")
    batch: int = Field(ge=1, description="Batch size (unit: images).")
    program_digest: str = Field(description="sha256 of the program file simulated (of its canonical dump when simulated in memory) (unit: none).")
    hw_name: str = Field(description="Hardware config simulated (unit: none).")
    hw_digest: str = Field(description="sha256 of the resolved hardware config (unit: none).")
    scheduled_for_hw: str = Field(description="Hardware config the program was scheduled for (unit: none).")
    mode: Literal["full", "block-reuse"] = Field(description="Simulation mode that ran (unit: none).")
    network_mode: str = Field(description="NoC granularity: transfer or flit (unit: none).")
    mesh_rows: int = Field(ge=1, description="H_A (unit: nodes).")
    mesh_cols: int = Field(ge=1, description="W_A (unit: nodes).")
    clock_hz: float = Field(gt=0, description="Logic clock (unit: Hz).")
    latency: Latency
    prediction: Prediction
    energy: Energy
    latency_breakdown: LatencyBreakdown
    node_utilisation: NodeUtilisation
    segments: list[SegmentResult]
    units: dict[str, Busy] = Field(description="Busy fraction of every PE array, ACU, network interface and DRAM bank (unit: none).")
    routers: dict[str, RouterLoad] = Field(description="Switch load of every mesh router (unit: none).")
    links: dict[str, LinkLoad] = Field(description="Load of every mesh link (unit: none).")
    buffer_peak_bytes: dict[str, int] = Field(description="Peak SRAM buffer occupancy per node (unit: bytes).")
    buffer_capacity_bytes: int = Field(ge=1, description="SRAM buffer per node (unit: bytes).")
    buffer_traffic_bytes: dict[str, int] = Field(default_factory=dict, description="Bytes through each node's SRAM buffer for GEMM tiles (unit: bytes).")
    buffer_energy_pj: dict[str, float] = Field(default_factory=dict, description="SRAM buffer access energy + leakage per node (unit: pJ).")
    overrides: list[str] = Field(default_factory=list, description="Hardware overrides (--set key=value) applied to hw_name, as given (unit: none).")
    counts: Counts
    invariants_checked: list[str] = Field(description="End-of-run checks that passed (unit: none).")
