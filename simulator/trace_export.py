"""Chrome / Perfetto ``trace.json`` of a simulation: one track per hardware unit, router and link.

Every executed instruction becomes a complete event (``"ph": "X"``) on the
track of its unit, grouped by node (one process per node, one thread per
unit); each segment (all its simulated repetitions) appears on a ``program``
track. Routers and links are counter tracks (``"ph": "C"``) in two processes
of their own, ``routers`` and ``links``: a link's counter is the flits per
cycle it carries (1 while a packet crosses it, 0 when idle), a router's the
flits per cycle its switch moves (0 to 5, ejection included), as the network
model granted them. Time stamps are in microseconds at the config's clock
(Chrome's unit); the cycle numbers ride in ``args``. In block-reuse mode only
the simulated repetition of a repeated segment is in the trace (its
program-track slice carries the segment's ``repeat``); the clock still jumps
over the reused repetitions.

``--trace-units`` keeps the file usable on whole models: a comma-separated list
of unit kinds (``program``, ``pe``, ``acu``, ``ni``, ``bank``, ``router``,
``link``) and unit-name globs, where ``*`` and ``?`` are the only wildcards and
brackets are literal (``node[0][*].pe``, ``link[3][*``); a track is written when
any item selects it. The network records its activity only when a router or
link track is selected, so an untraced run does no extra work.

Abstracted away: instruction sizes beyond id, category and cycles; in the
transfer-level network a packet's flits are drawn as crossing a link back to
back (credit pacing inside a packet is not shown).
"""

from __future__ import annotations

import json
import re
from typing import Iterable

from contracts.atomic import write_text
from contracts.errors import UserError


TRACE_KINDS = ("program", "pe", "acu", "ni", "bank", "router", "link")
_KIND_ALIASES = {"dram": "bank", "routers": "router", "links": "link", "banks": "bank"}


def unit_kind(name: str) -> str:
    """'node[1][2].pe' -> 'pe', 'node[0][0].dram.bank[3]' -> 'bank', 'router[..]' -> 'router', 'link[..]' -> 'link'."""
    if name.startswith("router["):
        return "router"
    if name.startswith("link["):
        return "link"
    if ".dram.bank[" in name:
        return "bank"
    return name.rsplit(".", 1)[-1].split("[", 1)[0]


class TraceFilter:
    """Which tracks a trace keeps: unit kinds and unit-name globs (see the module docstring)."""

    def __init__(self, spec: str | None = None):
        self.spec = spec
        self.kinds: set[str] = set()
        self.patterns: list[re.Pattern] = []
        self.globs: list[str] = []
        if spec is None:
            self.kinds = set(TRACE_KINDS)
            return
        items = [t.strip() for t in spec.split(",")]
        if not any(items):
            raise UserError(f"--trace-units {spec!r} selects nothing; give unit kinds ({', '.join(TRACE_KINDS)}) "
                            f"or unit-name globs such as node[0][*].pe")
        for item in items:
            if not item:
                continue
            kind = _KIND_ALIASES.get(item, item)
            if kind in TRACE_KINDS:
                self.kinds.add(kind)
            elif "*" in item or "?" in item or "[" in item:
                rx = re.escape(item).replace(r"\*", ".*").replace(r"\?", ".")
                self.patterns.append(re.compile(rx + r"\Z"))
                self.globs.append(item)
            else:
                raise UserError(f"--trace-units: unknown unit kind {item!r}; kinds are {', '.join(TRACE_KINDS)}, "
                                f"or give a unit-name glob such as node[0][*].pe or link[3][*")

    def wants(self, name: str) -> bool:
        if unit_kind(name) in self.kinds:
            return True
        return any(p.match(name) for p in self.patterns)

    @property
    def wants_network(self) -> bool:
        """Could a router or link track be selected? (Then the network must record its activity.)"""
        if "router" in self.kinds or "link" in self.kinds:
            return True
        return any(g.startswith(("router", "link", "*", "?")) for g in self.globs)


def chrome_trace_events(records: Iterable[tuple] | None, segments, clock_hz: float,
                        network_activity: dict[str, list[tuple[int, int]]] | None = None,
                        units: TraceFilter | None = None) -> list[dict]:
    """Build trace events from the executor's records ``(unit, op, category, id, start, end, segment)``.

    ``network_activity`` maps router and link names to their (start, end) cycle intervals of one
    flit per cycle each (:meth:`simulator.noc.network.MeshNetwork.activity`); ``units`` filters tracks.
    """
    us_per_cycle = 1e6 / clock_hz
    records = list(records or [])
    flt = units
    program_track = units is None or "program" in units.kinds or any(p.match("program") for p in units.patterns)
    if units is not None:
        keep: dict[str, bool] = {}
        kept = []
        for r in records:
            k = keep.get(r[0])
            if k is None:
                k = keep[r[0]] = units.wants(r[0])
            if k:
                kept.append(r)
        spans_from = records
        records = kept
    else:
        spans_from = records
    units = sorted({r[0] for r in records})
    groups = sorted({u.split(".", 1)[0] for u in units})
    pid_of = {g: i + 1 for i, g in enumerate(groups)}
    tid_of = {u: i + 1 for i, u in enumerate(units)}
    events: list[dict] = [{"name": "process_name", "ph": "M", "pid": 0, "tid": 0, "args": {"name": "program"}}]
    for g in groups:
        events.append({"name": "process_name", "ph": "M", "pid": pid_of[g], "tid": 0, "args": {"name": g}})
        events.append({"name": "process_sort_index", "ph": "M", "pid": pid_of[g], "tid": 0, "args": {"sort_index": pid_of[g]}})
    for u in units:
        events.append({"name": "thread_name", "ph": "M", "pid": pid_of[u.split(".", 1)[0]], "tid": tid_of[u],
                       "args": {"name": u}})
    for unit, op, category, iid, start, end, seg in records:
        events.append({
            "name": op, "cat": category, "ph": "X", "pid": pid_of[unit.split(".", 1)[0]], "tid": tid_of[unit],
            "ts": start * us_per_cycle, "dur": (end - start) * us_per_cycle,
            "args": {"id": iid, "start_cycle": start, "end_cycle": end, "segment": segments[seg].name},
        })
    if program_track:
        spans: dict[int, list[int]] = {}
        for _unit, _op, _category, _iid, start, end, seg in spans_from:
            lo_hi = spans.get(seg)
            if lo_hi is None:
                spans[seg] = [start, end]
            else:
                if start < lo_hi[0]:
                    lo_hi[0] = start
                if end > lo_hi[1]:
                    lo_hi[1] = end
        for seg, (lo, hi) in sorted(spans.items()):
            s = segments[seg]
            events.append({"name": s.name, "cat": "segment", "ph": "X", "pid": 0, "tid": 0, "ts": lo * us_per_cycle,
                           "dur": (hi - lo) * us_per_cycle,
                           "args": {"repeat": s.repeat, "start_cycle": lo, "end_cycle": hi}})
    if network_activity:
        events.extend(_network_counters(network_activity, flt, len(groups) + 1, us_per_cycle))
    return events


def _network_counters(activity: dict[str, list[tuple[int, int]]], units: TraceFilter | None, pid0: int,
                      us_per_cycle: float) -> list[dict]:
    """Counter tracks: flits per cycle of every selected router and link, as a step function."""
    out: list[dict] = []
    for kind, pid, label in (("router", pid0, "routers"), ("link", pid0 + 1, "links")):
        names = [n for n in sorted(activity) if unit_kind(n) == kind and (units is None or units.wants(n))]
        if not names:
            continue
        out.append({"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": label}})
        out.append({"name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0, "args": {"sort_index": pid}})
        for name in names:
            for t, v in step_function(activity[name]):
                out.append({"name": name, "ph": "C", "pid": pid, "ts": t * us_per_cycle,
                            "args": {"flits_per_cycle": v}})
    return out


def step_function(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(cycle, value) steps of the number of intervals covering each cycle; unchanged values dropped."""
    delta: dict[int, int] = {}
    for a, b in intervals:
        if b > a:
            delta[a] = delta.get(a, 0) + 1
            delta[b] = delta.get(b, 0) - 1
    steps = []
    v = 0
    for t in sorted(delta):
        d = delta[t]
        if d:
            v += d
            steps.append((t, v))
    return steps


def write_trace(path: str, events: list[dict]) -> None:
    """Write ``{"traceEvents": [...]}`` atomically (one event per line keeps big traces diffable)."""
    lines = ",\n".join(json.dumps(e, sort_keys=True, separators=(",", ":")) for e in events)
    write_text(path, '{"displayTimeUnit":"ns","traceEvents":[\n' + lines + "\n]}\n")
