"""The program executor: one SimPy process per hardware unit walking its in-order stream.

One executor drives every hardware family: a family supplies a cost function
(unit, instruction -> :class:`OpCost`) and, where it has them, a network, node
buffers and a shared resource; the streams, dependencies, barriers and the
critical-path attribution below are the same for all. The PIM mesh
(:mod:`simulator.families.pim_mesh.units`) uses every feature; a crossbar chip
(:mod:`simulator.families.crossbar_chip.units`) has fixed-latency tiles and
softmax units and, when its interconnect has a bandwidth, SHARED transfers.

Modelled
--------
* Every unit that appears in the program (``node[r][c].pe``, ``.acu``, ``.ni``,
  ``.dram.bank[b]``; ``tile[i]``, ``softmax[h]``) is ONE SimPy process for the
  whole run (a generator driven by :func:`simulator.engine.kernel.start`, which
  schedules the same events in the same order as ``env.process`` with less
  Python per event; the families run it on
  :class:`~simulator.engine.kernel.FastEnvironment`). It walks its instruction
  stream in order: an instruction starts when the unit has finished its
  previous instruction and every dependency has completed; the unit is busy
  until the instruction completes (in-order issue, one at a time).
* Fixed-latency instructions (GEMM, ACU, DRAM; crossbar reads, writes,
  softmax, accumulation) take exactly the closed-form duration of the family's
  cost model; the engine yields one delay (a timeout) per instruction. A process
  waits on a completion event only when a dependency is not yet done: the first
  waiter's reusable wake-up event stands in for it (later waiters append to it)
  and the finishing unit schedules it as ``succeed()`` would, so a program costs
  about one SimPy event per instruction plus one per real wait, and no event
  object is allocated for either.
* SEND asks the network (``MeshNetwork.send``) to carry its bytes and
  completes when the last byte is in the destination's network interface;
  RECV completes at ``max(its start, delivery of the matching SEND)``. All
  contention on the mesh happens inside the network model.
* SHARED instructions hold one slot of the executor's ``shared`` resource
  (supplied by the family, e.g. a crossbar chip's interconnect ports: any
  object with ``request(op index) -> event`` and ``release(event)``) for their
  fixed duration; they start when the slot is granted, and the wait for it
  counts as a stall before the instruction.
* Each instruction may hold part of its node's SRAM buffer while it runs
  (``buffer_bytes``); a buffer that is full makes the instruction wait
  (back-pressure), and the wait is recorded.
* Segments run in order with a global barrier between segments and between
  repetitions of a segment (the Program IR's execution model). A controller
  process opens each repetition and closes it when every unit has arrived.
* ``block-reuse`` mode simulates the first repetition of a repeated segment
  and advances the clock by ``(repeat - 1)`` times its duration: exact,
  because at the barrier every queue is drained and nothing is in flight, so
  every repetition starts from the same state. Counters of the skipped
  repetitions are the simulated repetition's counters scaled.
* ``on_repetition(segment index, repetition, start, end)`` is called once per
  simulated repetition with every instruction's start and end cycle (indexed
  like :attr:`CompiledSegment.ops`), for a family that builds its own records.

Latency attribution (critical path)
-----------------------------------
Each completed instruction records the predecessor that decided its start:
the unit's previous instruction or the dependency that finished last (ties go
to the unit's previous instruction, then to the lowest dependency index). A
RECV that waited for its message records the SEND instead. Walking back from
the instruction that finished last in a repetition to the repetition's start
visits a chain of back-to-back intervals: each interval is charged to the
instruction's category (``compute``, ``fmap_transfer``, ``weight_share``,
``memory``) and a stall before an instruction (for buffer space or a shared
slot) to ``buffer_stall``. The charges therefore sum exactly to the
repetition's duration; the sum over repetitions is the total latency. The chain's network queueing (a SEND's
duration beyond its zero-load latency) plus its buffer stalls is reported as
the contention on the critical path.

Abstracted away: instruction fetch/decode, pipelining of one unit's
consecutive instructions (a unit is busy for the whole duration), and the
values computed.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections import deque
from dataclasses import dataclass
from heapq import heappush
from typing import Any, Callable

import simpy
from simpy.events import NORMAL

from contracts.errors import UserError
from contracts.program import Instruction, Program, Segment, node_of
from simulator.engine.kernel import start

log = logging.getLogger(__name__)

FIXED, SEND, RECV, SHARED = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class OpCost:
    """What the hardware model says about one instruction (see the families' ``units`` modules)."""

    kind: int  # FIXED, SEND, RECV or SHARED
    duration_cycles: int  # fixed latency; for SEND its zero-load network latency; RECV 0
    energy_pj: tuple[tuple[str, float], ...]  # (component, pJ) of the instruction's static energy
    buffer_bytes: int  # SRAM buffer held while the instruction runs (in the buffer of the unit's node)
    macs: int  # multiply-accumulates executed
    src: tuple[int, int] | None = None  # SEND/RECV: mesh coordinates of sender
    dst: tuple[int, int] | None = None  # SEND/RECV: mesh coordinates of receiver


CostFunction = Callable[[str, Instruction, str], OpCost]  # (unit, instruction, where) -> cost


@dataclass(frozen=True, slots=True)
class CompiledOp:
    """One instruction of a segment, with dense indices instead of ids."""

    index: int
    id: int
    unit: str
    op: str
    category: str
    deps: tuple[int, ...]
    kind: int
    duration_cycles: int
    buffer_bytes: int
    macs: int
    nbytes: int
    node: str | None
    src: tuple[int, int] | None
    dst: tuple[int, int] | None
    partner: int  # RECV: index of the matching SEND; SEND: index of the RECV; else -1
    msg: int | None
    tl: int | None
    hint_cycle: int | None
    energy_pj: tuple[tuple[str, float], ...]

    def describe(self) -> str:
        text = f"instruction {self.id} ({self.op}"
        if self.kind == SEND:
            text += f" msg {self.msg} to node[{self.dst[0]}][{self.dst[1]}]"
        elif self.kind == RECV:
            text += f" msg {self.msg} from node[{self.src[0]}][{self.src[1]}]"
        return text + ")"


@dataclass(frozen=True)
class CompiledSegment:
    name: str
    stage: int | None
    repeat: int
    hint_cycles: int | None
    ops: tuple[CompiledOp, ...]
    streams: dict[str, tuple[int, ...]]  # unit -> op indices in stream order
    temporal_layers: tuple[tuple[int | None, tuple[int, ...], int], ...]  # (tl, op indices, occupied nodes)
    energy_pj: dict[str, float]  # static energy of one repetition by component
    macs: int  # MACs of one repetition


def compile_segment(seg: Segment, cost: CostFunction) -> CompiledSegment:
    """Resolve ids to dense indices and ask the hardware model for every instruction's cost."""
    where = f"segment '{seg.name}'"
    index_of: dict[int, int] = {}
    flat: list[tuple[str, Instruction]] = []
    for stream in sorted(seg.streams, key=lambda s: s.unit):
        for ins in stream.instructions:
            index_of[ins.id] = len(flat)
            flat.append((stream.unit, ins))
    msg_index: dict[tuple[str, int], int] = {}
    for i, (unit, ins) in enumerate(flat):
        if ins.op in ("SEND", "RECV"):
            msg_index[(ins.op, ins.msg)] = i
    ops: list[CompiledOp] = []
    energy: dict[str, float] = {}
    macs = 0
    for i, (unit, ins) in enumerate(flat):
        c = cost(unit, ins, where)
        partner = -1
        if ins.op == "SEND":
            partner = msg_index.get(("RECV", ins.msg), -1)
        elif ins.op == "RECV":
            partner = msg_index.get(("SEND", ins.msg), -1)
        if ins.op in ("SEND", "RECV") and partner < 0:
            raise UserError(f"{where}: {ins.op} {ins.id} (msg {ins.msg}) on {unit} has no matching partner")
        try:
            deps = tuple(index_of[d] for d in ins.deps)
        except KeyError as e:
            raise UserError(f"{where}: instruction {ins.id} on {unit} depends on unknown id {e.args[0]}") from None
        ops.append(
            CompiledOp(
                index=i, id=ins.id, unit=unit, op=ins.op, category=ins.category, deps=deps, kind=c.kind,
                duration_cycles=c.duration_cycles, buffer_bytes=c.buffer_bytes, macs=c.macs,
                nbytes=ins.bytes or 0, node=node_of(unit), src=c.src, dst=c.dst, partner=partner, msg=ins.msg,
                tl=ins.tl, hint_cycle=ins.hint_cycle, energy_pj=c.energy_pj,
            )
        )
        for comp, pj in c.energy_pj:
            energy[comp] = energy.get(comp, 0.0) + pj
        macs += c.macs
    by_unit: dict[str, list[int]] = {}
    for op in ops:
        by_unit.setdefault(op.unit, []).append(op.index)
    streams = {unit: tuple(idx) for unit, idx in sorted(by_unit.items())}
    return CompiledSegment(
        name=seg.name, stage=seg.stage, repeat=seg.repeat, hint_cycles=seg.hint_cycles, ops=tuple(ops),
        streams=streams, temporal_layers=_temporal_layers(ops),
        energy_pj=dict(sorted(energy.items())), macs=macs,
    )


def _temporal_layers(ops: list[CompiledOp]) -> tuple[tuple[int | None, tuple[int, ...], int], ...]:
    """Group node instructions by temporal layer (``tl``); untagged ones form one group (Eq. 21)."""
    groups: dict[int | None, list[int]] = {}
    for op in ops:
        if op.node is not None:
            groups.setdefault(op.tl, []).append(op.index)
    out = []
    for tl in sorted(groups, key=lambda t: (t is None, t if t is not None else 0)):
        idx = groups[tl]
        nodes = len({ops[i].node for i in idx})
        out.append((tl, tuple(idx), nodes))
    return tuple(out)


class NodeBuffer:
    """Occupancy of one node's SRAM buffer: bounded, granted first come first served.

    Acquiring space that is free costs no SimPy event; an instruction that does
    not fit waits on an event that :meth:`release` triggers once enough space
    is back, in arrival order (no overtaking, so no starvation).
    """

    __slots__ = ("env", "name", "capacity_bytes", "used_bytes", "peak_bytes", "_queue")

    def __init__(self, env: simpy.Environment, name: str, capacity_bytes: int):
        self.env = env
        self.name = name
        self.capacity_bytes = capacity_bytes
        self.used_bytes = 0
        self.peak_bytes = 0
        self._queue: deque = deque()

    def try_acquire(self, nbytes: int) -> bool:
        if self._queue or self.used_bytes + nbytes > self.capacity_bytes:
            return False
        self.used_bytes += nbytes
        if self.used_bytes > self.peak_bytes:
            self.peak_bytes = self.used_bytes
        return True

    def wait(self, nbytes: int) -> simpy.Event:
        ev = self.env.event()
        self._queue.append((nbytes, ev))
        return ev

    def release(self, nbytes: int) -> None:
        self.used_bytes -= nbytes
        q = self._queue
        while q and self.used_bytes + q[0][0] <= self.capacity_bytes:
            n, ev = q.popleft()
            self.used_bytes += n
            if self.used_bytes > self.peak_bytes:
                self.peak_bytes = self.used_bytes
            ev.succeed()


@dataclass
class RepetitionRecord:
    """Timing of one simulated repetition of a segment (and how many it stands for)."""

    segment: int
    repetition: int
    weight: int  # repetitions this record stands for (repeat in block-reuse mode, else 1)
    start_cycle: int
    cycles: int
    breakdown_cycles: dict[str, int]
    critical_path_queueing_cycles: int
    temporal_layers: list[tuple[int | None, int, int]]  # (tl, span cycles, occupied nodes)
    buffer_stall_cycles: int  # all buffer stalls of the repetition, times its weight


@dataclass
class ExecutionResult:
    records: list[RepetitionRecord]
    total_cycles: int
    events: int
    instructions_executed: int
    macs_executed: int
    bytes_sent: int
    bytes_received: int
    network_stats_scale: list[tuple[dict, dict, int]]  # (before, after, extra repetitions) for block-reuse
    unit_busy_cycles: dict[str, int]  # unit -> cycles busy over the whole run
    dram_queue_wait_cycles: int  # bank requests ready but queued behind the bank's previous request
    buffer_peak_bytes: dict[str, int]  # node -> peak SRAM buffer occupancy
    buffer_bytes_in_use: int  # summed over nodes at the end of the run (0 when quiescent)
    trace: list[tuple[str, str, str, int, int, int, int]] | None = None  # (unit, op, category, id, start, end, seg)


class _RepetitionState:
    __slots__ = ("seg", "index", "start_cycle", "start", "end", "pred", "stall", "waiters", "arrived")

    def __init__(self, seg: CompiledSegment, index: int, start_cycle: int):
        n = len(seg.ops)
        self.seg = seg
        self.index = index
        self.start_cycle = start_cycle
        self.start: list[int | None] = [None] * n
        self.end: list[int | None] = [None] * n
        self.pred = [-1] * n
        self.stall = [0] * n
        self.waiters: dict[int, simpy.Event] = {}
        self.arrived = 0


class Executor:
    """Runs compiled segments on one SimPy environment; see the module docstring."""

    def __init__(
        self,
        env: simpy.Environment,
        segments: list[CompiledSegment],
        network: Any = None,
        buffers: dict[str, NodeBuffer] | None = None,
        *,
        shared: Any = None,
        on_repetition: Callable[[int, int, list, list], None] | None = None,
        block_reuse: bool = False,
        record_trace: bool = False,
        network_stats: Callable[[], dict] | None = None,
        network_in_flight: Callable[[], int] | None = None,
        progress: Callable[[int], None] | None = None,
    ):
        self.env = env
        self.segments = segments
        self.network = network
        self.buffers = buffers if buffers is not None else {}
        self.shared = shared
        self._on_repetition = on_repetition
        self.block_reuse = block_reuse
        self.record_trace = record_trace
        self._network_stats = network_stats
        self._network_in_flight = network_in_flight
        self._progress = progress
        self.units = sorted({u for s in segments for u in s.streams})
        # the plan of simulated repetitions: (segment index, repetition index, weight)
        self.plan: list[tuple[int, int, int]] = []
        for si, seg in enumerate(segments):
            if block_reuse:
                self.plan.append((si, 0, seg.repeat))
            else:
                self.plan.extend((si, r, 1) for r in range(seg.repeat))
        self._starts = [env.event() for _ in self.plan]
        self._all_arrived: simpy.Event | None = None
        self.state: _RepetitionState | None = None
        self._weight = 1
        # unit -> (what, its instruction, what it waits on) of its latest wait; formatted only for a deadlock
        self._waiting_for: dict[str, tuple] = {}
        # per segment: instructions, bytes sent, bytes received of one repetition
        self._static = [(len(seg.ops), sum(op.nbytes for op in seg.ops if op.kind == SEND),
                         sum(op.nbytes for op in seg.ops if op.kind == RECV)) for seg in segments]
        self._finished = False
        self.records: list[RepetitionRecord] = []
        self._busy: dict[str, int] = {u: 0 for u in self.units}
        self._dram_wait = 0
        self._instructions = 0
        self._macs = 0
        self._sent = 0
        self._received = 0
        self._scale: list[tuple[dict, dict, int]] = []
        self._trace: list | None = [] if record_trace else None
        self._wakes: dict[str, simpy.Event] = {}  # unit -> its driver's reusable wake-up event

    # ------------------------------------------------------------------ running

    def run(self) -> ExecutionResult:
        env = self.env
        for unit in self.units:  # processes started in sorted order: deterministic
            self._wakes[unit] = start(env, self._unit_process(unit)).wake
        env.process(self._controller())
        with quiet_gc():
            env.run()
        if not self._finished:
            raise UserError(self._deadlock_message())
        events = _scheduled_event_count(env)
        return ExecutionResult(
            records=self.records, total_cycles=int(env.now), events=events,
            instructions_executed=self._instructions, macs_executed=self._macs,
            bytes_sent=self._sent, bytes_received=self._received, network_stats_scale=self._scale,
            unit_busy_cycles=dict(sorted(self._busy.items())), dram_queue_wait_cycles=self._dram_wait,
            buffer_peak_bytes={n: b.peak_bytes for n, b in sorted(self.buffers.items())},
            buffer_bytes_in_use=sum(b.used_bytes for b in self.buffers.values()), trace=self._trace,
        )

    def _controller(self):
        env = self.env
        for k, (si, rep, weight) in enumerate(self.plan):
            seg = self.segments[si]
            self.state = _RepetitionState(seg, rep, int(env.now))
            self._weight = weight
            self._all_arrived = env.event()
            before = self._network_stats() if (weight > 1 and self._network_stats) else None
            if not self.units:
                self._all_arrived.succeed()
            self._starts[k].succeed()
            yield self._all_arrived
            self._close_repetition(si, rep, weight)
            if before is not None:
                self._scale.append((before, self._network_stats(), weight - 1))
            if weight > 1:  # block-reuse: the identical successors take exactly as long
                yield env.timeout((weight - 1) * self.records[-1].cycles)
            if self._progress:
                self._progress(weight)
        self._finished = True

    def _unit_process(self, unit: str):
        """Walk ``unit``'s stream in every planned repetition: wait, hold the buffer, run, complete.

        Only what decides WHEN things happen is done here; everything that can be derived from
        the start and end cycles afterwards (critical-path predecessors, stalls, busy cycles,
        bank queueing, counters, trace records) is done once per repetition in
        :meth:`_close_repetition`, so the loop costs as little Python per SimPy event as it can.
        ``_waiting_for`` records each wait that may never end (what a deadlock report names).
        """
        env = self.env
        buffers = self.buffers
        send = self.network.send if self.network is not None else None
        shared = self.shared
        waiting_for = self._waiting_for
        n_units = len(self.units)
        wake = self._wakes[unit]
        queue, eid = env._queue, env._eid
        for k in range(len(self.plan)):
            yield self._starts[k]
            st = self.state
            ops = st.seg.ops
            end, start_at, waiters = st.end, st.start, st.waiters
            for i in st.seg.streams.get(unit, ()):
                op = ops[i]
                for d in op.deps:
                    if end[d] is None:
                        waiting_for[unit] = ("op", op, ops[d])
                        yield _completion(waiters, d, wake)
                nb = op.buffer_bytes
                if nb:
                    buf = buffers[op.node]
                    if not buf.try_acquire(nb):
                        waiting_for[unit] = ("buffer", op, op)
                        yield buf.wait(nb)
                t0 = env._now
                kind = op.kind
                if kind == FIXED:
                    if op.duration_cycles:
                        yield op.duration_cycles  # a delay (simulator.engine.kernel)
                elif kind == SEND:
                    waiting_for[unit] = ("network", op, op)
                    yield send(op.src, op.dst, op.nbytes, op.category)
                elif kind == SHARED:
                    waiting_for[unit] = ("shared", op, op)
                    req = shared.request(i)
                    yield req
                    t0 = env._now
                    yield op.duration_cycles
                    shared.release(req)
                else:  # RECV
                    p = op.partner
                    if end[p] is None:
                        waiting_for[unit] = ("op", op, ops[p])
                        yield _completion(waiters, p, wake)
                start_at[i] = t0
                end[i] = env._now
                if nb:
                    buf.release(nb)
                if waiters:
                    ev = waiters.pop(i, None)
                    if ev is not None:  # what ev.succeed() schedules
                        heappush(queue, (env._now, NORMAL, next(eid), ev))
            waiting_for.pop(unit, None)
            st.arrived += 1
            if st.arrived == n_units:
                self._all_arrived.succeed()

    # ------------------------------------------------------------------ accounting

    def _close_repetition(self, si: int, rep: int, weight: int) -> None:
        st = self.state
        seg = st.seg
        if None in st.end:  # cannot happen once every unit arrived; guards the engine itself
            missing = next(seg.ops[i] for i, e in enumerate(st.end) if e is None)
            raise RuntimeError(f"segment '{seg.name}': {missing.describe()} on {missing.unit} never completed")
        if self._network_in_flight is not None and self._network_in_flight():
            raise RuntimeError(f"segment '{seg.name}' repetition {rep}: network not drained at the barrier")
        cycles = int(self.env.now) - st.start_cycle
        self._account(si, st, weight)
        if self._on_repetition is not None:
            self._on_repetition(si, rep, st.start, st.end)
        breakdown, queueing = critical_path_breakdown(seg, st.start, st.end, st.pred, st.stall, st.start_cycle)
        tls = []
        for tl, idx, nodes in seg.temporal_layers:
            span = max(map(st.end.__getitem__, idx)) - min(map(st.start.__getitem__, idx))
            tls.append((tl, span, nodes))
        self.records.append(
            RepetitionRecord(
                segment=si, repetition=rep, weight=weight, start_cycle=st.start_cycle, cycles=cycles,
                breakdown_cycles=breakdown, critical_path_queueing_cycles=queueing, temporal_layers=tls,
                buffer_stall_cycles=sum(st.stall) * weight,
            )
        )

    def _account(self, si: int, st: _RepetitionState, w: int) -> None:
        """Everything the run loop leaves out, derived from one repetition's start and end cycles.

        For each instruction, in its unit's stream order: the predecessor that decided its start
        (the unit's previous instruction, else the dependency that finished last; ties to the
        previous instruction, then to the lowest dependency index; a RECV that waited for its
        message names the SEND), its stall (start minus ready), the unit's busy cycles and a DRAM
        bank's queueing behind its previous request; the counters; the trace records.
        """
        seg = st.seg
        ops = seg.ops
        end, start, pred_of, stall_of = st.end, st.start, st.pred, st.stall
        t_start = st.start_cycle
        busy = self._busy
        dram_wait = 0
        trace = self._trace
        for unit, stream in seg.streams.items():
            is_bank = ".dram.bank[" in unit
            prev = -1
            ready_prev = t_start
            b = 0
            for i in stream:
                op = ops[i]
                pred, ready = prev, ready_prev
                dep_ready = t_start
                for d in op.deps:
                    e = end[d]
                    if e > ready:
                        pred, ready = d, e
                    if e > dep_ready:
                        dep_ready = e
                if is_bank and prev >= 0 and ready_prev > dep_ready:  # queued behind the bank's previous request
                    dram_wait += ready_prev - dep_ready
                t0 = start[i]
                stall_of[i] = t0 - ready
                if op.kind == RECV and end[op.partner] > t0:
                    pred = op.partner
                pred_of[i] = pred
                e = end[i]
                b += e - t0
                prev, ready_prev = i, e
            busy[unit] = busy.get(unit, 0) + b * w
            if trace is not None:
                for i in stream:
                    op = ops[i]
                    trace.append((unit, op.op, op.category, op.id, start[i], end[i], si))
        self._dram_wait += dram_wait * w
        n_ins, sent, received = self._static[si]
        self._instructions += n_ins * w
        self._macs += seg.macs * w
        self._sent += sent * w
        self._received += received * w

    def _describe_wait(self, unit: str) -> str:
        what, _op, op = self._waiting_for.get(unit, (None, None, None))
        if what == "op":
            return f"waits for {op.describe()} on {op.unit}"
        if what == "buffer":
            return f"waits for {op.buffer_bytes} bytes of {op.node}'s SRAM buffer"
        if what == "network":
            return "waits for the network to deliver its message"
        if what == "shared":
            return "waits for a slot of the shared resource"
        return "waiting"

    def _deadlock_message(self) -> str:
        st = self.state
        stuck = [(u, w[1]) for u, w in sorted(self._waiting_for.items())]
        where = f"segment '{st.seg.name}' repetition {st.index}" if st else "the program"
        parts = []
        for unit, op in stuck[:6]:
            parts.append(f"{unit} at {op.describe()} ({self._describe_wait(unit)})")
        more = f" and {len(stuck) - 6} more unit(s)" if len(stuck) > 6 else ""
        return (f"deadlock in {where} at cycle {int(self.env.now)}: no event left but "
                f"{len(stuck)} unit(s) are stuck: " + "; ".join(parts) + more)


def _completion(waiters: dict[int, simpy.Event], index: int, wake: simpy.Event) -> simpy.Event:
    """The event that instruction ``index`` completing triggers: the first waiter's wake-up event.

    Later waiters append their callbacks to the same event; the unit that finishes ``index``
    schedules it (what ``succeed()`` does), which resumes them all in the order they waited.
    """
    ev = waiters.get(index)
    if ev is None:
        ev = waiters[index] = wake
        wake.callbacks = []
    return ev


def critical_path_breakdown(seg: CompiledSegment, start, end, pred, stall, t0: int) -> tuple[dict[str, int], int]:
    """Charge a repetition's duration to categories along its critical path (see module docstring).

    Returns (cycles by category, network queueing + buffer stalls on the path).
    """
    ops = seg.ops
    breakdown: dict[str, int] = {}
    queueing = 0
    if not ops:
        return breakdown, 0
    cur = end.index(max(end))  # the instruction that finished last; ties to the lowest index
    total = end[cur] - t0
    charged = 0
    while cur >= 0:
        op = ops[cur]
        if op.kind == RECV and pred[cur] == op.partner and end[op.partner] >= start[cur]:
            cur = op.partner  # the RECV waited: the time belongs to its SEND
            continue
        run = end[cur] - start[cur]
        if run:
            breakdown[op.category] = breakdown.get(op.category, 0) + run
        if stall[cur]:
            breakdown["buffer_stall"] = breakdown.get("buffer_stall", 0) + stall[cur]
            queueing += stall[cur]
        if op.kind == SEND:
            queueing += max(0, run - op.duration_cycles)
        charged += run + stall[cur]
        cur = pred[cur]
    if charged != total:
        raise RuntimeError(f"segment '{seg.name}': critical path covers {charged} of {total} cycles")
    return dict(sorted(breakdown.items())), queueing


@contextlib.contextmanager
def quiet_gc(gen0_threshold: int = 100_000):
    """Keep Python's cyclic garbage collector out of the run's way; restored afterwards.

    A program is hundreds of thousands of long-lived objects (instructions, compiled ops,
    routes); every full collection walked all of them again (about a fifth of a Swin-B run's
    CPU time). ``gc.freeze()`` moves them out of the collector's sight for the run, and a
    higher first-generation threshold makes the (rare) cyclic garbage of the run itself be
    collected in fewer, larger passes. The simulation's results do not depend on the
    collector; only memory freed by reference counting is freed at once, as before.
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(gen0_threshold, old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def _scheduled_event_count(env: simpy.Environment) -> int:
    """SimPy numbers every scheduled event from an itertools.count; its next value is the count."""
    counter = getattr(env, "_eid", None)
    return next(counter) if counter is not None else -1


def compile_program(program: Program, cost: CostFunction) -> list[CompiledSegment]:
    return [compile_segment(seg, cost) for seg in program.segments]
