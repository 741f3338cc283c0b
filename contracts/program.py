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
durations: durations come from the hardware config inside the simulator. An
:data:`Instruction` is a union of op types tagged by ``op`` (:class:`Gemm`,
:class:`Acu`, :class:`DramRead`, :class:`DramWrite`, :class:`Send`,
:class:`Recv`, :class:`XbarWrite`, :class:`XbarRead`, :class:`Softmax`,
:class:`Accum`, :class:`Xfer`): each declares the sizes it needs, so the
schema itself rejects a missing size or one the op does not have. In memory
every instruction answers every size (None where its op has none).

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
from typing import Annotated, Any, Literal, Union

from pydantic import Field, TypeAdapter

from contracts.base import PROGRAM_SCHEMA_VERSION, Strict, validate_as
from contracts.errors import UserError, describe_validation_error
from contracts.graph import CycleError, check_acyclic

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

# The sizes an instruction may carry; each op type below declares the ones it has.
M = Annotated[int, Field(ge=1, description="GEMM rows (unit: elements).")]
K = Annotated[int, Field(ge=1, description="GEMM reduction length (unit: elements).")]
N = Annotated[int, Field(ge=1, description="GEMM columns (unit: elements).")]
Func = Annotated[str, Field(description="ACU function: softmax, layernorm, gelu, add, reduce (unit: none).")]
Elements = Annotated[int, Field(ge=0, description="Elements processed (unit: elements).")]
Bytes = Annotated[int, Field(ge=0, description="Bytes moved (unit: bytes).")]
Peer = Annotated[str, Field(description="SEND destination / RECV source node, e.g. 'node[3][6]' (unit: none).")]
Msg = Annotated[int, Field(ge=0, description="SEND/RECV pairing id, unique per segment (unit: none).")]
Xbars = Annotated[int, Field(ge=1, description="Crossbars touched (unit: crossbars).")]
Rows = Annotated[int, Field(ge=1, description="Rows written per crossbar / softmax rows (unit: rows).")]
Cols = Annotated[int, Field(ge=1, description="Softmax row length (unit: elements).")]
Vectors = Annotated[int, Field(ge=1, description="Input vectors read through crossbars (unit: vectors).")]

SIZE_FIELDS = ("m", "k", "n", "func", "elements", "bytes", "peer", "msg", "xbars", "rows", "cols", "vectors")


class InstructionBase(Strict):
    """What every instruction has: identity, dependencies, breakdown bucket and provenance.

    A size the op does not carry (``ins.bytes`` of a GEMM, ``ins.m`` of a SEND)
    reads as None, so a reader may look at any size of any instruction; in a
    file such a field is an error ("unknown field").
    """

    id: int = Field(ge=0, description="Unique id within the segment (unit: none).")
    op: str = Field(description="Instruction kind, the tag of the union (unit: none).")
    deps: list[int] = Field(default_factory=list, description="Ids this instruction waits for (unit: none).")
    category: Category = Field(default="compute", description="Latency/energy breakdown bucket (unit: none).")
    # provenance of the work, for breakdowns
    stage: int | None = Field(default=None, description="Model stage (unit: none).")
    block: int | None = Field(default=None, description="Block index (unit: none).")
    tl: int | None = Field(default=None, description="Temporal layer within the block (unit: none).")
    phase: int | None = Field(default=None, description="Allspark phase 1..9 (Fig. 7) (unit: none).")
    layer: str | None = Field(default=None, description="Layer role, e.g. qkv, attn_qk, proj, fc1, tb_fc (unit: none).")
    hint_cycle: int | None = Field(default=None, ge=0, description="Scheduler-predicted start, relative to the segment start (unit: cycles).")


class Gemm(InstructionBase):
    """PE array: m x k x n multiply-accumulate."""

    op: Literal["GEMM"] = "GEMM"
    m: M
    k: K
    n: N


class Acu(InstructionBase):
    """Auxiliary unit: softmax / layernorm / gelu / add / reduce over ``elements``."""

    op: Literal["ACU"] = "ACU"
    func: Func
    elements: Elements


class _BankAccess(InstructionBase):
    """DRAM bank: read or write ``bytes``."""

    bytes: Bytes


class DramRead(_BankAccess):
    op: Literal["DRAM_READ"] = "DRAM_READ"


class DramWrite(_BankAccess):
    op: Literal["DRAM_WRITE"] = "DRAM_WRITE"


class _Message(InstructionBase):
    """Network interface: SEND ``bytes`` to / RECV them from ``peer`` (a node), the pair matched by ``msg``."""

    peer: Peer
    bytes: Bytes
    msg: Msg


class Send(_Message):
    op: Literal["SEND"] = "SEND"


class Recv(_Message):
    op: Literal["RECV"] = "RECV"


class XbarWrite(InstructionBase):
    """Crossbar tile: program ``rows`` rows into each of ``xbars`` crossbars."""

    op: Literal["XBAR_WRITE"] = "XBAR_WRITE"
    xbars: Xbars
    rows: Rows


class XbarRead(InstructionBase):
    """Crossbar tile: ``vectors`` input vectors through ``xbars`` crossbars holding ``elements`` weights."""

    op: Literal["XBAR_READ"] = "XBAR_READ"
    xbars: Xbars
    vectors: Vectors
    elements: int | None = Field(
        default=None, ge=0, description="Weights held by the crossbars read; MACs = vectors x elements (unit: elements)."
    )


class Softmax(InstructionBase):
    """Softmax unit: ``rows`` rows of ``cols`` elements."""

    op: Literal["SOFTMAX"] = "SOFTMAX"
    rows: Rows
    cols: Cols


class Accum(InstructionBase):
    """Crossbar tile: accumulate ``elements`` partial sums."""

    op: Literal["ACCUM"] = "ACCUM"
    elements: Elements


class Xfer(InstructionBase):
    """Crossbar chip: move ``bytes`` between tiles over the chip interconnect."""

    op: Literal["XFER"] = "XFER"
    bytes: Bytes


OP_TYPES: tuple[type[InstructionBase], ...] = (Gemm, Acu, DramRead, DramWrite, Send, Recv, XbarWrite, XbarRead,
                                            Softmax, Accum, Xfer)
OP_TYPE: dict[str, type[InstructionBase]] = {t.model_fields["op"].default: t for t in OP_TYPES}
for _t in OP_TYPES:  # a size the op type has no field for reads as None (a class attribute, not a field)
    for _f in SIZE_FIELDS:
        if _f not in _t.model_fields:
            setattr(_t, _f, None)
del _t, _f

Instruction = Annotated[Union[Gemm, Acu, DramRead, DramWrite, Send, Recv, XbarWrite, XbarRead, Softmax, Accum, Xfer],
                        Field(discriminator="op")]
"""One instruction: the op type named by its ``op`` field, which fixes the sizes it requires and allows."""

_INSTRUCTION = TypeAdapter(Instruction)


def make_instruction(**fields: Any) -> Instruction:
    """The instruction of type ``fields['op']``; ValueError in one sentence (e.g. "instruction 1 (GEMM) lacks k, n")."""
    try:
        return _INSTRUCTION.validate_python(fields)
    except ValueError as e:  # pydantic.ValidationError
        raise ValueError(describe_program_error(e)) from None


def describe_program_error(err: Exception) -> str:
    """:func:`describe_validation_error` for the Program IR: no union tags in field paths, and an
    instruction that lacks sizes its op needs named as such, "instruction 3 (GEMM) lacks k, n"."""
    items = err.errors() if callable(getattr(err, "errors", None)) else None
    if not items:
        return describe_validation_error(err)
    out: list[dict] = []
    lacking: dict[tuple, dict] = {}
    op_at: dict[tuple, str] = {}  # instruction path -> its op, for "unknown field" hints
    for item in items:
        loc = tuple(item.get("loc", ()))
        if item.get("type") in _TAG_ERRORS and _after_instruction(loc, len(loc)):
            out.append({**item, "loc": loc + ("op",), "msg": _TAG_ERRORS[item["type"]]})
            continue
        j = next((j for j, p in enumerate(loc) if p in OP_TYPE and _after_instruction(loc, j)), None)
        if j is None:
            out.append(item)
            continue
        tag, at, rest = loc[j], loc[:j], loc[j + 1:]
        op_at[at] = tag
        if item.get("type") == "missing" and len(rest) == 1 and rest[0] in SIZE_FIELDS:
            if at not in lacking:
                data = item.get("input")
                iid = data.get("id") if isinstance(data, dict) else None
                lacking[at] = {"type": "value_error", "loc": at, "msg": f"instruction {iid} ({tag}) lacks ",
                               "fields": []}
                out.append(lacking[at])
            lacking[at]["fields"].append(str(rest[0]))
            continue
        out.append({**item, "loc": at + rest})
    for item in lacking.values():
        item["msg"] += ", ".join(item.pop("fields"))
    return describe_validation_error(out, fields_at=lambda parent: list(OP_TYPE[op_at[parent]].model_fields)
                                     if parent in op_at else [])


_TAG_ERRORS = {  # a bad or missing ``op``, worded as for any other field
    "union_tag_invalid": "Input should be " + ", ".join(f"'{t}'" for t in list(OP_TYPE)[:-1]) + f" or '{list(OP_TYPE)[-1]}'",
    "union_tag_not_found": "Field required",
}


def _after_instruction(loc: tuple, j: int) -> bool:
    """Is ``loc[j]`` where an instruction's union tag goes: first in the path, or after 'instructions', <index>?"""
    return j == 0 or (j >= 2 and loc[j - 2] == "instructions" and isinstance(loc[j - 1], int))


class Stream(Strict):
    unit: str = Field(description="Hierarchical unit name, e.g. node[3][5].pe (unit: none).")
    instructions: list[Instruction] = Field(description="In-order instructions of the unit (unit: none).")


class Segment(Strict):
    name: str = Field(description="Human name, e.g. 'stage3.block' or 'patch_embed' (unit: none).")
    repeat: int = Field(default=1, ge=1, description="Times the segment runs back to back, barrier between (unit: count).")
    stage: int | None = Field(default=None, description="Model stage of the segment (unit: none).")
    streams: list[Stream] = Field(description="One in-order stream per unit that has work (unit: none).")
    hint_cycles: int | None = Field(default=None, ge=0, description="Scheduler-predicted duration of one repetition (unit: cycles).")


class SolverInfo(Strict):
    status: str = Field(description="CP-SAT status, e.g. OPTIMAL, FEASIBLE, or 'closed-form' (unit: none).")
    objective: float | None = Field(default=None, description="Objective value (unit: cycles).")
    best_bound: float | None = Field(default=None, description="Best proven bound (unit: cycles).")
    gap: float | None = Field(default=None, ge=0, description="Relative optimality gap (unit: fraction).")
    wall_s: float | None = Field(default=None, ge=0, description="Solver wall time (unit: seconds). Not part of determinism checks.")


class Provenance(Strict):
    workload_model: str = Field(description="Registered model name (unit: none).")
    workload_digest: str = Field(description="sha256 of the workload.json contents (unit: none).")
    hw_name: str = Field(description="Hardware config the schedule was made for (unit: none).")
    hw_digest: str = Field(description="sha256 of the resolved hardware config (unit: none).")
    method: str = Field(description="Scheduling method: allspark, B, P, AH, trex, ... (unit: none).")
    batch: int = Field(default=1, ge=1, description="Batch size N_bt (unit: images).")
    solver: SolverInfo


class Program(Strict):
    schema_version: int = Field(default=PROGRAM_SCHEMA_VERSION, description="Version of this file format (unit: none).")
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
        _check_acyclic(seg, {s.id: recvs[msg][1].id for msg, (_, s) in sends.items()}, where)
    if program.kind == "pim_mesh":
        held = sum(i.m * i.k * i.n * seg.repeat for seg in program.segments for s in seg.streams
                   for i in s.instructions if i.op == "GEMM")
        if held != program.macs_expected:
            raise UserError(f"program says macs_expected={program.macs_expected} but its GEMM instructions hold "
                            f"{held} MACs (m x k x n x segment repeat)")


def _check_acyclic(seg: Segment, recv_of: dict[int, int], where: str) -> None:
    """The segment's wait-for graph (stream order, deps, SEND -> RECV) has no cycle."""
    preds: dict[int, list[int]] = {}
    for stream in seg.streams:
        prev = None
        for ins in stream.instructions:
            preds[ins.id] = ins.deps if prev is None else [prev, *ins.deps]
            prev = ins.id
    for send_id, recv_id in recv_of.items():
        preds[recv_id] = [*preds[recv_id], send_id]
    try:
        check_acyclic(preds)
    except CycleError as e:
        raise UserError(f"{where}: dependencies form a cycle (involving instructions {sorted(set(e.cycle))[:5]})") from None


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
    if not isinstance(data, dict) or data.get("schema_version") != PROGRAM_SCHEMA_VERSION:
        got = data.get("schema_version") if isinstance(data, dict) else None
        raise UserError(f"program file {path!r} has schema_version {got!r}, expected {PROGRAM_SCHEMA_VERSION}")
    program = validate_as(Program, data, f"program file {path!r}", describe=describe_program_error)
    validate_program(program, known_units)
    return program
