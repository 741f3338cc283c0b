"""Schedule -> Program IR for a PIM mesh (DESIGN.md "The Program IR", contracts/program.py).

Segments, in execution order:

* ``pre``: the stem (patch embedding) GEMMs, data-parallel over every node;
* per stage: ``stage{s}.merge`` (repeat 1) when the stage begins with patch
  merging / a stage embedding: phase 0 on the stage's own temporal layers, and
  ``stage{s}`` with one block of each block kind of the stage in order
  (repeat = blocks of each kind: identical blocks run back to back); a stage
  whose kinds do not interleave periodically (a TReX reuse pattern) gets one
  segment ``stage{s}.r{n}`` per run of consecutive identical blocks
  (:func:`partition.stage_segments`);
* ``post``: final norm / head GEMMs, data-parallel over every node.

Inside a block segment every temporal layer, every occupied sub-array and every
node (i, j) of it gets the steps of :func:`partition.node_steps`:

* GEMM step: ``DRAM_READ`` (the loop-tiling read traffic) -> ``GEMM`` ->
  ``DRAM_WRITE`` (the output) on the node's bank and PE array;
* ACU step: one ``ACU`` instruction;
* ring step: ``DRAM_READ`` of the node's own chunk, one SEND to the ring
  successor carrying every round's chunk (all b heads together: transfer-level
  granularity, see costs.py), one RECV from the predecessor, one
  ``DRAM_WRITE`` of all received chunks.

Each node's steps form one chain (an instruction depends on the node's
previous instruction when they sit on different units; the unit's stream
order does the rest), so a node never overlaps transfer with compute (Eq. 17).
Weight-sharing rings (category ``weight_share``) run once per batch, the rest
once per image. ``hint_cycle`` is the start the cost model predicts: every step
starts when the same step of the slowest node (largest shares) would, on a
phase-barrier timeline; ``Segment.hint_cycles`` sums the temporal layers, and
``Program.predicted_cycles`` equals the CP-SAT objective plus stem and head.
"""

from __future__ import annotations

from collections import defaultdict

from simulator.families.pim_mesh import costmodel as cm
from contracts.hardware.pim_mesh import PimMeshConfig
from contracts.program import Program, Provenance, Segment, SolverInfo
from contracts.workload import WorkloadGraph

from scheduler.allspark import costs
from scheduler.allspark.layout import share_groups, structured_layout
from scheduler.allspark.blocks import BlockKind, GemmSpec, Transition, specs_from_ops, split_at, stage_segments
from scheduler.allspark.partition import Partition
from scheduler.allspark.steps import Acu, Gemm, Ring, Step, node_steps, transition_steps
from scheduler.allspark.placement import Placement, place
from scheduler.allspark.problem import Problem, Schedule, data_parallel_split

Node = tuple[int, int]


def node_name(n: Node) -> str:
    return f"node[{n[0]}][{n[1]}]"


class SegmentBuilder:
    """Accumulates one segment's streams, ids and message numbers."""

    def __init__(self, name: str, stage: int | None, repeat: int = 1):
        self.name, self.stage, self.repeat = name, stage, repeat
        self.streams: dict[str, list[dict]] = defaultdict(list)
        self.next_id = 0
        self.next_msg = 0
        self.last: dict[Node, tuple[int, str]] = {}  # node -> (last instruction id, unit)
        self.hint_cycles = 0
        self.macs = 0

    def emit(self, node: Node, unit_suffix: str, op: str, hint: int, extra_deps: tuple[int, ...] = (),
             chain: bool = True, **fields) -> int:
        unit = f"{node_name(node)}.{unit_suffix}"
        deps = list(extra_deps)
        if chain and node in self.last:
            last_id, last_unit = self.last[node]
            if last_unit != unit and last_id not in deps:
                deps.append(last_id)
        iid = self.next_id
        self.next_id += 1
        # plain dicts, validated in one pydantic-core pass per segment (hot path: ~1e5 instructions)
        self.streams[unit].append(dict(id=iid, op=op, deps=sorted(deps), hint_cycle=hint, **fields))
        if chain:
            self.last[node] = (iid, unit)
        if op == "GEMM":
            self.macs += fields["m"] * fields["k"] * fields["n"]
        return iid

    def segment(self) -> Segment:
        return Segment.model_validate(dict(
            name=self.name, repeat=self.repeat, stage=self.stage, hint_cycles=self.hint_cycles,
            streams=[dict(unit=u, instructions=self.streams[u]) for u in sorted(self.streams)]))


def _key(step: Step) -> tuple:
    if isinstance(step, Gemm):
        return ("gemm", step.phase, step.layer)
    if isinstance(step, Acu):
        return ("acu", step.phase, step.func)
    return ("ring", step.phase, step.what)


class LayerLowering:
    """Lowers one temporal layer (all its sub-arrays) into a SegmentBuilder."""

    def __init__(self, sb: SegmentBuilder, hw: PimMeshConfig, stage: int, block: int | None, tl: int, batch: int):
        self.sb, self.hw, self.stage, self.block, self.tl, self.batch = sb, hw, stage, block, tl, batch
        self.bank = "dram.bank[0]"

    def _common(self, step: Step, category: str, image: int) -> dict:
        phase = step.phase
        layer = step.layer if isinstance(step, Gemm) else (step.what if isinstance(step, Ring) else step.func)
        return dict(stage=self.stage, block=self.block, tl=self.tl, phase=phase, layer=layer, category=category)

    def local_step(self, node: Node, step: Step, t0: int) -> None:
        sb, hw = self.sb, self.hw
        if isinstance(step, Gemm):
            r, g, w = costs.gemm_step_cycles(hw, step)
            til = cm.gemm_tiling(hw, step.m, step.k, step.n)
            f = self._common(step, "compute", 0)
            sb.emit(node, self.bank, "DRAM_READ", t0, bytes=til.dram_read_bytes, **{**f, "category": "memory"})
            sb.emit(node, "pe", "GEMM", t0 + r, m=step.m, k=step.k, n=step.n, **f)
            sb.emit(node, self.bank, "DRAM_WRITE", t0 + r + g, bytes=til.dram_write_bytes, **{**f, "category": "memory"})
        else:
            sb.emit(node, "acu", "ACU", t0, func=step.func, elements=step.elements, **self._common(step, "compute", 0))

    def ring(self, members: list[Node], step: Ring, t0: int) -> None:
        """One cyclic dataflow over ``members`` (ring order): read own chunk, SEND/RECV, write what arrived."""
        sb, hw = self.sb, self.hw
        f = self._common(step, step.category, 0)
        mem = {**f, "category": "memory"}
        chunk, n, nbytes = step.chunk_bytes, len(members), step.rounds * step.chunk_bytes
        read = cm.dram_cycles(hw, chunk, write=False)
        reads = {x: sb.emit(x, self.bank, "DRAM_READ", t0, bytes=chunk, **mem) for x in members}
        msgs = []
        for pos, x in enumerate(members):
            msg = sb.next_msg
            sb.next_msg += 1
            msgs.append(msg)
            sb.emit(x, "ni", "SEND", t0 + read, extra_deps=(reads[x],), peer=node_name(members[(pos + 1) % n]),
                    bytes=nbytes, msg=msg, **f)
        recvs = {}
        for pos, x in enumerate(members):
            pred = (pos - 1) % n
            recvs[x] = sb.emit(x, "ni", "RECV", t0 + read, peer=node_name(members[pred]), bytes=nbytes,
                               msg=msgs[pred], **f)
        end = t0 + read + costs.ring_transfer_cycles(hw, step)
        for x in members:
            sb.emit(x, self.bank, "DRAM_WRITE", end, extra_deps=(recvs[x],), bytes=nbytes, **mem)


def _batched(steps: list[tuple[Step, bool]], batch: int) -> list[tuple[Step, int]]:
    """Weight-sharing steps once, every other step once per image, phase group by phase group."""
    out, pending = [], []

    def flush():
        for img in range(batch):
            out.extend((s, img) for s in pending)
        pending.clear()

    for s, is_ws in steps:
        if is_ws:
            flush()
            out.append((s, -1))
        else:
            pending.append(s)
    flush()
    return out


def _template_times(hw: PimMeshConfig, steps: list[tuple[Step, int]]) -> tuple[dict[tuple, int], int]:
    """Phase-barrier start of each step key (slowest node's steps) and the layer's duration."""
    t, starts, seen = 0, {}, defaultdict(int)
    for s, img in steps:
        k = _key(s) + (img,)
        occ = seen[k]
        seen[k] += 1
        starts[k + (occ,)] = t
        t += costs.step_cycles(hw, s)
    return starts, t


def lower_layer(sb: SegmentBuilder, hw: PimMeshConfig, batch: int, stage: int, block: int | None, tl: int,
                part: Partition, branches: list[int], step_fn, t_offset: int) -> int:
    """Emit one temporal layer; ``step_fn(branch, i, j)`` gives a node's steps. Returns the layer's duration."""
    layout = structured_layout(hw.mesh.rows, hw.mesh.cols, part)
    lw = LayerLowering(sb, hw, stage, block, tl, batch)
    # per node: its step list and where it sits
    node_steps_: dict[Node, list[tuple[Step, int]]] = {}
    where: dict[Node, tuple[int, int, int]] = {}
    for k, branch in enumerate(branches):
        sa = layout[k]
        for i in range(part.u):
            for j in range(part.v):
                node = sa.node(i, j)
                node_steps_[node] = _batched(step_fn(branch, i, j), batch)
                where[node] = (k, i, j)
    # branch 0, node (0, 0) holds the largest shares (splits give the remainder to the first parts)
    template, duration = _template_times(hw, _batched(step_fn(0, 0, 0), batch))
    groups: dict[Node, list[Node]] = {}
    if part.g != part.u:  # baseline sharing groups span sub-arrays; idle members relay weights
        ws_only = [(s, img) for s, img in node_steps_[next(iter(node_steps_))] if img == -1]
        for grp in share_groups(hw.mesh.rows, hw.mesh.cols, part):
            if any(x in node_steps_ for x in grp):
                for x in grp:
                    groups[x] = grp
                    if x not in node_steps_:
                        node_steps_[x] = list(ws_only)
    pos = {x: 0 for x in node_steps_}
    occ: dict[Node, dict] = {x: defaultdict(int) for x in node_steps_}

    def hint_for(x: Node, s: Step, img: int) -> int:
        k = _key(s) + (img,)
        o = occ[x][k]
        occ[x][k] += 1
        return t_offset + template.get(k + (o,), 0)

    def members_of(x: Node, s: Ring) -> list[Node]:
        if s.axis == "share":
            return groups[x]
        k, i, j = where[x]
        sa = layout[k]
        if s.axis == "u":
            return [sa.node(ii, j) for ii in range(part.u)]
        return [sa.node(i, jj) for jj in range(part.v)]

    order = sorted(node_steps_)
    while True:
        progressed = False
        for x in order:  # run every node up to its next ring
            lst = node_steps_[x]
            while pos[x] < len(lst) and not isinstance(lst[pos[x]][0], Ring):
                s, img = lst[pos[x]]
                lw.local_step(x, s, hint_for(x, s, img))
                pos[x] += 1
                progressed = True
        waiting = [x for x in order if pos[x] < len(node_steps_[x])]
        if not waiting:
            break
        done_groups = set()
        for x in waiting:
            if pos[x] >= len(node_steps_[x]):
                continue
            s, img = node_steps_[x][pos[x]]
            if not isinstance(s, Ring):
                continue  # moved on by a ring just emitted; its local steps run in the next sweep
            members = members_of(x, s)
            key = tuple(members)
            if key in done_groups:
                continue
            heads = [node_steps_[m][pos[m]] if pos[m] < len(node_steps_[m]) else None for m in members]
            if all(h is not None and isinstance(h[0], Ring) and _key(h[0]) == _key(s) for h in heads):
                hint = hint_for(x, s, img)
                for m in members:
                    if m != x:
                        hint_for(m, s, img)
                lw.ring(members, s, hint)
                for m in members:
                    pos[m] += 1
                done_groups.add(key)
                progressed = True
        if not progressed:
            raise RuntimeError(f"lowering of {sb.name} layer {tl} is stuck: ring partners disagree")
    return duration


def lower_data_parallel(sb: SegmentBuilder, hw: PimMeshConfig, specs: list[GemmSpec], batch: int) -> None:
    """Stem / head GEMMs spread over every node (rows, or columns when rows are fewer than nodes)."""
    nodes = [(r, c) for r in range(hw.mesh.rows) for c in range(hw.mesh.cols)]
    lw = LayerLowering(sb, hw, 0, None, 0, batch)
    t_node = defaultdict(int)
    for g in specs:
        mode = data_parallel_split(g, len(nodes))
        for idx, x in enumerate(nodes):
            if mode == "rows":
                m, n = split_at(g.rows * batch, len(nodes), idx), g.n
            else:
                m, n = g.rows * batch, split_at(g.n, len(nodes), idx)
            if m <= 0 or n <= 0:
                continue
            step = Gemm(g.layer, 0, m, g.k, n)
            lw.local_step(x, step, t_node[x])
            t_node[x] += costs.step_cycles(hw, step)
    sb.hint_cycles = max(t_node.values(), default=0)


def _flat_specs(ops) -> list[GemmSpec]:
    return [GemmSpec(g.layer, 0, "linear", g.rows * g.heads, g.k, g.n, 1, g.weight_elems)
            for g in specs_from_ops(list(ops), 1)]


def lower_program(wl: WorkloadGraph, problem: Problem, sched: Schedule, hw_name: str, hw_digest: str) -> tuple[Program, dict]:
    """The Program and the placements (per kind key) used."""
    hw = problem.hw
    batch, elem, rows = problem.batch, hw.bytes_per_element, hw.mesh.rows
    segments: list[Segment] = []
    placements: dict[str, Placement] = {}
    macs = 0
    def data_parallel_segment(name: str, ops) -> None:
        """Stem / head: no branches, spread data-parallel over every node."""
        nonlocal macs
        specs = _flat_specs(ops)
        if specs:
            sb = SegmentBuilder(name, None)
            lower_data_parallel(sb, hw, specs, batch)
            segments.append(sb.segment())
            macs += sb.macs

    data_parallel_segment("pre", wl.pre_ops)
    kinds_by_stage: dict[int, list[int]] = defaultdict(list)
    for ki, kp in enumerate(problem.kinds):
        kinds_by_stage[kp.kind.stage].append(ki)
        ks = sched.kinds[ki]
        placements[kp.kind.key] = place(kp.kind, ks.layers, hw.mesh.rows, hw.mesh.cols)
    for stage in sorted(kinds_by_stage):
        kis = kinds_by_stage[stage]
        first = problem.kinds[kis[0]]
        if first.transition is not None:
            tr: Transition = first.transition
            ks = sched.kinds[kis[0]]
            sb = SegmentBuilder(f"stage{stage}.merge", stage)
            t = 0
            for tl, (part, _) in enumerate(ks.layers):
                branches = placements[first.kind.key].layers[tl]
                fn = (lambda b, i, j, part=part, kind=first.kind, res=ks.resident:
                      transition_steps(tr, kind, part, b, i, j, elem, res, rows))
                t += lower_layer(sb, hw, batch, stage, None, tl, part, branches, fn, t)
            sb.hint_cycles = t
            segments.append(sb.segment())
            macs += sb.macs
        runs = stage_segments([problem.kinds[ki].kind for ki in kis])
        for r, (members, repeat) in enumerate(runs):
            sb = SegmentBuilder(f"stage{stage}" if len(runs) == 1 else f"stage{stage}.r{r}", stage, repeat)
            t = 0
            for ki in (kis[m] for m in members):
                kind: BlockKind = problem.kinds[ki].kind
                ks = sched.kinds[ki]
                for tl, (part, _) in enumerate(ks.layers):
                    branches = placements[kind.key].layers[tl]
                    fn = (lambda b, i, j, part=part, kind=kind, res=ks.resident:
                          node_steps(kind, part, b, i, j, elem, res, rows))
                    t += lower_layer(sb, hw, batch, stage, kind.block_indices[0], tl, part, branches, fn, t)
            sb.hint_cycles = t
            segments.append(sb.segment())
            macs += sb.macs * repeat
    data_parallel_segment("post", wl.post_ops)
    solver = sched.solver
    program = Program(
        kind="pim_mesh",
        provenance=Provenance(
            workload_model=wl.model, workload_digest=wl.digest(), hw_name=hw_name, hw_digest=hw_digest,
            method=sched.method, batch=batch,
            solver=SolverInfo(status=str(solver.get("status")), objective=solver.get("objective"),
                              best_bound=solver.get("best_bound"), gap=solver.get("gap"), wall_s=solver.get("wall_s")),
        ),
        macs_expected=macs,
        predicted_cycles=sum(s.hint_cycles * s.repeat for s in segments),
        segments=segments,
    )
    return program, placements
