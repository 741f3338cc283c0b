"""Chrome / Perfetto ``trace.json`` of a simulation: one track per hardware unit.

Every executed instruction becomes a complete event (``"ph": "X"``) on the
track of its unit, grouped by node (one process per node, one thread per
unit); each segment (all its simulated repetitions) appears on a ``program``
track. Time stamps are in
microseconds at the config's clock (Chrome's unit); the cycle numbers ride in
``args``. In block-reuse mode only the simulated repetition of a repeated
segment is in the trace (its program-track slice carries the segment's
``repeat``); the clock still jumps over the reused repetitions.

Abstracted away: router and link occupancy (the network model's own
statistics cover them) and instruction sizes beyond id, category and cycles.
"""

from __future__ import annotations

import json
from typing import Iterable

from simulator.atomic import write_text


def chrome_trace_events(records: Iterable[tuple] | None, segments, clock_hz: float) -> list[dict]:
    """Build trace events from the executor's records ``(unit, op, category, id, start, end, segment)``."""
    us_per_cycle = 1e6 / clock_hz
    records = list(records or [])
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
    spans: dict[int, list[int]] = {}
    for unit, op, category, iid, start, end, seg in records:
        events.append({
            "name": op, "cat": category, "ph": "X", "pid": pid_of[unit.split(".", 1)[0]], "tid": tid_of[unit],
            "ts": start * us_per_cycle, "dur": (end - start) * us_per_cycle,
            "args": {"id": iid, "start_cycle": start, "end_cycle": end, "segment": segments[seg].name},
        })
        lo_hi = spans.setdefault(seg, [start, end])
        lo_hi[0] = min(lo_hi[0], start)
        lo_hi[1] = max(lo_hi[1], end)
    for seg, (lo, hi) in sorted(spans.items()):
        s = segments[seg]
        events.append({"name": s.name, "cat": "segment", "ph": "X", "pid": 0, "tid": 0, "ts": lo * us_per_cycle,
                       "dur": (hi - lo) * us_per_cycle, "args": {"repeat": s.repeat, "start_cycle": lo, "end_cycle": hi}})
    return events


def write_trace(path: str, events: list[dict]) -> None:
    """Write ``{"traceEvents": [...]}`` atomically (one event per line keeps big traces diffable)."""
    lines = ",\n".join(json.dumps(e, sort_keys=True, separators=(",", ":")) for e in events)
    write_text(path, '{"displayTimeUnit":"ns","traceEvents":[\n' + lines + "\n]}\n")
