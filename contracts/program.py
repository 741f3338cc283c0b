"""The Program IR: what the scheduler hands to the simulator (file contract).

A Program is a list of **segments** executed in order. A segment holds one
in-order instruction **stream** per hardware unit and a ``repeat`` count: a
stage of N identical transformer blocks is one segment with ``repeat=N``, so a
Swin-B program stays small. Between two segments (and between two repetitions
of one segment) there is a global barrier: every unit has drained before the
next begins. This is the Allspark execution model (blocks run one after
another, each on all nodes) and it is what makes the simulator's block-reuse
fast mode exact: the state at every block boundary is the same.

Instructions carry sizes (bytes, GEMM m x k x n, crossbar rows), never
durations: durations come from the hardware config inside the simulator.

Units are named hierarchically, the same everywhere (config, program, stats,
trace)::

    node[3][5].pe            PE array of PIM node (row 3, column 5)
    node[3][5].acu           auxiliary computing unit (softmax / LayerNorm / GELU)
    node[3][5].ni            network interface: issues SEND and RECV
    node[3][5].dram.bank[0]  DRAM bank of the node
    tile[12]                 crossbar tile (TReX)
    softmax[0]               digital softmax unit (TReX, one per head)
    link[3][5]->[3][6], router[3][5]   (derived by the simulator, not streams)

Dependencies: ``deps`` name instruction ids of the same segment (any unit).
A RECV completes when the SEND with the same ``msg`` has been delivered; a
SEND may start when its own deps are done. Ids are unique within a segment.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict, deque
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.errors import UserError, describe_validation_error

SCHEMA_VERSION = 1

OpName = Literal[
    "GEMM",  # PE array: m x k x n multiply-accumulate
    "ACU",  # auxiliary unit: softmax / layernorm / gelu / add / reduce over `elements`
    "DRAM_READ",  # bank: read `bytes`
    "DRAM_WRITE",  # bank: write `bytes`
    "SEND",  # network interface: send `bytes` to `peer` (a node), matched by `msg`
    "RECV",  # network interface: receive `bytes` from `peer`, matched by `msg`
    "XBAR_WRITE",  # crossbar tile: program `rows` rows into each of `xbars` crossbars
    "XBAR_READ",  # crossbar tile: `vectors` input vectors through `xbars` crossbars
    "SOFTMAX",  # softmax unit: `rows` rows of `cols` elements
    "ACCUM",  # crossbar tile: accumulate `elements` partial sums
    "XFER",  # crossbar chip: move `bytes` between tiles over the chip interconnect
]

Category = Literal[
    "compute",  # PE / ACU / crossbar read work of the model
    "fmap_transfer",  # feature-map / K / V movement between nodes (Allspark Fig. 13)
    "weight_share",  # weight-sharing transfers between nodes (Allspark Sec. VI-C)
    "memory",  # DRAM traffic
    "xbar_write",  # run-time crossbar programming (K^T, V) (TReX)
    "softmax",
    "communication",
    "accumulate",
]

_UNIT_RE = re.compile(
    r"^(node\[\d+\]\[\d+\]\.(pe|acu|ni|dram\.bank\[\d+\])|tile\[\d+\]|softmax\[\d+\])$"
)
_NODE_RE = re.compile(r"^node\[(\d+)\]\[(\d+)\]$")

_REQUIRED: dict[str, tuple[str, ...]] = {
    "GEMM": ("m", "k", "n"),
    "ACU": ("func", "elements"),
    "DRAM_READ": ("bytes",),
    "DRAM_WRITE": ("bytes",),
    "SEND": ("peer", "bytes", "msg"),
    "RECV": ("peer", "bytes", "msg"),
    "XBAR_WRITE": ("xbars", "rows"),
    "XBAR_READ": ("xbars", "vectors"),
    "SOFTMAX": ("rows", "cols"),
    "ACCUM": ("elements",),
    "XFER": ("bytes",),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Instruction(_Strict):
    id: int = Field(ge=0, description="Unique id within the segment (unit: none).")
    op: OpName = Field(description="Instruction kind (unit: none).")
    deps: list[int] = Field(default_factory=list, description="Ids this instruction waits for (unit: none).")
    category: Category = Field(default="compute", description="Latency/energy breakdown bucket (unit: none).")
    # sizes (which are required depends on op; see _REQUIRED)
    m: int | None = Field(default=None, ge=1, description="GEMM rows (unit: elements).")
    k: int | None = Field(default=None, ge=1, description="GEMM reduction length (unit: elements).")
    n: int | None = Field(default=None, ge=1, description="GEMM columns (unit: elements).")
    func: str | None = Field(default=None, description="ACU function: softmax, layernorm, gelu, add, reduce (unit: none).")
    elements: int | None = Field(default=None, ge=0, description="Elements processed (unit: elements).")
    bytes: int | None = Field(default=None, ge=0, description="Bytes moved (unit: bytes).")
    peer: str | None = Field(default=None, description="SEND destination / RECV source node, e.g. 'node[3][6]' (unit: none).")
    msg: int | None = Field(default=None, ge=0, description="SEND/RECV pairing id, unique per segment (unit: none).")
    xbars: int | None = Field(default=None, ge=1, description="Crossbars touched (unit: crossbars).")
    rows: int | None = Field(default=None, ge=1, description="Rows written per crossbar / softmax rows (unit: rows).")
    cols: int | None = Field(default=None, ge=1, description="Softmax row length (unit: elements).")
    vectors: int | None = Field(default=None, ge=1, description="Input vectors read through crossbars (unit: vectors).")
    # provenance of the work, for breakdowns
    stage: int | None = Field(default=None, description="Model stage (unit: none).")
    block: int | None = Field(default=None, description="Block index (unit: none).")
    tl: int | None = Field(default=None, description="Temporal layer within the block (unit: none).")
    phase: int | None = Field(default=None, description="Allspark phase 1..9 (Fig. 7) (unit: none).")
    layer: str | None = Field(default=None, description="Layer role, e.g. qkv, attn_qk, proj, fc1, tb_fc (unit: none).")
    hint_cycle: int | None = Field(default=None, ge=0, description="Scheduler-predicted start, relative to the segment start (unit: cycles).")

    @model_validator(mode="after")
    def _sizes_present(self):
        missing = [f for f in _REQUIRED[self.op] if getattr(self, f) is None]
        if missing:
            raise ValueError(f"instruction {self.id} ({self.op}) lacks {', '.join(missing)}")
        return self


class Stream(_Strict):
    unit: str = Field(description="Hierarchical unit name, e.g. node[3][5].pe (unit: none).")
    instructions: list[Instruction] = Field(description="In-order instructions of the unit (unit: none).")


class Segment(_Strict):
    name: str = Field(description="Human name, e.g. 'stage3.block' or 'patch_embed' (unit: none).")
    repeat: int = Field(default=1, ge=1, description="Times the segment runs back to back, barrier between (unit: count).")
    stage: int | None = Field(default=None, description="Model stage of the segment (unit: none).")
    streams: list[Stream] = Field(description="One in-order stream per unit that has work (unit: none).")
    hint_cycles: int | None = Field(default=None, ge=0, description="Scheduler-predicted duration of one repetition (unit: cycles).")


class SolverInfo(_Strict):
    status: str = Field(description="CP-SAT status, e.g. OPTIMAL, FEASIBLE, or 'closed-form' (unit: none).")
    objective: float | None = Field(default=None, description="Objective value (unit: cycles).")
    best_bound: float | None = Field(default=None, description="Best proven bound (unit: cycles).")
    gap: float | None = Field(default=None, ge=0, description="Relative optimality gap (unit: fraction).")
    wall_s: float | None = Field(default=None, ge=0, description="Solver wall time (unit: seconds). Not part of determinism checks.")


class Provenance(_Strict):
    workload_model: str = Field(description="Registered model name (unit: none).")
    workload_digest: str = Field(description="sha256 of the workload.json contents (unit: none).")
    hw_name: str = Field(description="Hardware config the schedule was made for (unit: none).")
    hw_digest: str = Field(description="sha256 of the resolved hardware config (unit: none).")
    method: str = Field(description="Scheduling method: allspark, B, P, AH, trex, ... (unit: none).")
    batch: int = Field(default=1, ge=1, description="Batch size N_bt (unit: images).")
    solver: SolverInfo


class Program(_Strict):
    schema_version: int = Field(default=SCHEMA_VERSION, description="Version of this file format (unit: none).")
    kind: Literal["pim_mesh", "crossbar_chip"] = Field(description="Hardware family the program targets (unit: none).")
    provenance: Provenance
    macs_expected: int = Field(ge=0, description="MACs the program must execute: the workload's MACs it covers (unit: MAC).")
    predicted_cycles: int | None = Field(default=None, ge=0, description="Scheduler-predicted total latency (unit: cycles).")
    segments: list[Segment] = Field(description="Segments in execution order (unit: none).")
    notes: dict[str, str] = Field(default_factory=dict, description="Free-form facts for the report, e.g. schedule tables (unit: none).")

    def units(self) -> list[str]:
        return sorted({s.unit for seg in self.segments for s in seg.streams})

    def instruction_count(self, expanded: bool = False) -> int:
        return sum(
            len(s.instructions) * (seg.repeat if expanded else 1) for seg in self.segments for s in seg.streams
        )


def node_of(unit: str) -> str | None:
    """'node[3][5].pe' -> 'node[3][5]'; None for non-node units."""
    if unit.startswith("node["):
        return unit.split(".", 1)[0]
    return None


def validate_program(program: Program, known_units: set[str] | None = None) -> None:
    """Structural checks beyond the schema; raises UserError naming the offence.

    unique ids per segment, deps that exist, no cycles (deps + stream order +
    SEND->RECV), matched SEND/RECV (same msg, bytes, peers), unit names well
    formed and (if ``known_units`` given) present in the hardware config;
    for a PIM program, ``macs_expected`` equal to the MACs its GEMMs hold
    (the engine checks the same count as an invariant after the run).
    """
    for seg in program.segments:
        where = f"segment '{seg.name}'"
        seen_units: set[str] = set()
        ids: dict[int, tuple[str, Instruction]] = {}
        sends: dict[int, tuple[str, Instruction]] = {}
        recvs: dict[int, tuple[str, Instruction]] = {}
        for stream in seg.streams:
            if not _UNIT_RE.match(stream.unit):
                raise UserError(f"{where}: unit name '{stream.unit}' is not a valid unit name")
            if known_units is not None and stream.unit not in known_units:
                raise UserError(f"{where}: unit '{stream.unit}' does not exist in the hardware config")
            if stream.unit in seen_units:
                raise UserError(f"{where}: unit '{stream.unit}' has two streams")
            seen_units.add(stream.unit)
            for ins in stream.instructions:
                if ins.id in ids:
                    raise UserError(f"{where}: instruction id {ins.id} is used twice")
                ids[ins.id] = (stream.unit, ins)
                if ins.op in ("SEND", "RECV"):
                    if not stream.unit.endswith(".ni"):
                        raise UserError(f"{where}: instruction {ins.id} ({ins.op}) must be on a node's .ni unit, not '{stream.unit}'")
                    if not _NODE_RE.match(ins.peer or ""):
                        raise UserError(f"{where}: instruction {ins.id} has peer '{ins.peer}', expected node[r][c]")
                    table = sends if ins.op == "SEND" else recvs
                    if ins.msg in table:
                        raise UserError(f"{where}: msg {ins.msg} has two {ins.op}s (instructions {table[ins.msg][1].id} and {ins.id})")
                    table[ins.msg] = (stream.unit, ins)
        for iid, (unit, ins) in ids.items():
            for d in ins.deps:
                if d not in ids:
                    raise UserError(f"{where}: instruction {iid} on {unit} depends on unknown id {d}")
        for msg, (sunit, s) in sends.items():
            if msg not in recvs:
                raise UserError(f"{where}: SEND {s.id} (msg {msg}) on {sunit} has no matching RECV")
            runit, r = recvs[msg]
            if s.bytes != r.bytes:
                raise UserError(f"{where}: msg {msg} sends {s.bytes} bytes but receives {r.bytes}")
            if s.peer != node_of(runit) or r.peer != node_of(sunit):
                raise UserError(f"{where}: msg {msg} peers do not match ({sunit} -> {s.peer}, {runit} <- {r.peer})")
            if node_of(sunit) == node_of(runit):
                raise UserError(f"{where}: msg {msg} is sent from {sunit} to its own node")
        for msg, (runit, r) in recvs.items():
            if msg not in sends:
                raise UserError(f"{where}: RECV {r.id} (msg {msg}) on {runit} has no matching SEND")
        _check_acyclic(seg, ids, sends, recvs, where)
    if program.kind == "pim_mesh":
        held = sum(i.m * i.k * i.n * seg.repeat for seg in program.segments for s in seg.streams
                   for i in s.instructions if i.op == "GEMM")
        if held != program.macs_expected:
            raise UserError(f"program says macs_expected={program.macs_expected} but its GEMM instructions hold "
                            f"{held} MACs (m x k x n x segment repeat)")


def _check_acyclic(seg, ids, sends, recvs, where) -> None:
    succ: dict[int, list[int]] = defaultdict(list)
    indeg: dict[int, int] = {i: 0 for i in ids}

    def edge(a: int, b: int) -> None:
        succ[a].append(b)
        indeg[b] += 1

    for stream in seg.streams:
        prev = None
        for ins in stream.instructions:
            if prev is not None:
                edge(prev, ins.id)
            prev = ins.id
            for d in ins.deps:
                edge(d, ins.id)
    for msg, (_, s) in sends.items():
        edge(s.id, recvs[msg][1].id)
    queue = deque(sorted(i for i, n in indeg.items() if n == 0))
    done = 0
    while queue:
        i = queue.popleft()
        done += 1
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                queue.append(j)
    if done != len(ids):
        stuck = sorted(i for i, n in indeg.items() if n > 0)[:5]
        raise UserError(f"{where}: dependencies form a cycle (involving instructions {stuck})")


def program_digest(program: Program) -> str:
    return hashlib.sha256(dump_program(program).encode()).hexdigest()


def dump_program(program: Program) -> str:
    """Deterministic, compact JSON (None fields dropped). The solver's wall time is
    left out: it is not a function of the inputs and goes to the sidecar
    ``program.meta.json`` written by :func:`write_program`."""
    data = program.model_dump(mode="json", exclude_none=True, exclude={"provenance": {"solver": {"wall_s"}}})
    return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"


def write_program(path: str, program: Program, extra_meta: dict | None = None) -> None:
    """Write program.json (inputs-only, byte-deterministic) and program.meta.json (wall times)."""
    import os

    from contracts.atomic import write_json, write_text

    write_text(path, dump_program(program))
    meta = {"solver_wall_s": program.provenance.solver.wall_s, **(extra_meta or {})}
    write_json(os.path.splitext(path)[0] + ".meta.json", meta)


def load_program(path: str, known_units: set[str] | None = None) -> Program:
    """Read, schema-validate and structurally validate a program.json."""
    from contracts.atomic import read_json

    data = read_json(path, "program file")
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        got = data.get("schema_version") if isinstance(data, dict) else None
        raise UserError(f"program file {path!r} has schema_version {got!r}, expected {SCHEMA_VERSION}")
    try:
        program = Program.model_validate(data)
    except Exception as e:
        raise UserError(f"program file {path!r} is malformed: {describe_validation_error(e)}") from None
    validate_program(program, known_units)
    return program
