"""Property tests on small random PIM programs (hypothesis): determinism, dependencies, conservation, bounds."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim_helpers import ins, program, run, segment, small_hw
from contracts.program import validate_program

HW = small_hw()
NODES = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2)]


@st.composite
def random_programs(draw):
    """Instructions created in order; deps only point backwards, so every program is acyclic."""
    n = draw(st.integers(1, 18))
    streams: dict[str, list] = {}
    created: list[int] = []
    next_id, msg = 1, 1
    for _ in range(n):
        kind = draw(st.sampled_from(["GEMM", "ACU", "DRAM_READ", "DRAM_WRITE", "XFER"]))
        node = draw(st.sampled_from(NODES))
        deps = sorted(set(draw(st.lists(st.sampled_from(created), max_size=3)))) if created else []
        name = f"node[{node[0]}][{node[1]}]"
        if kind == "GEMM":
            m, k, n_ = (draw(st.integers(1, 40)) for _ in range(3))
            streams.setdefault(f"{name}.pe", []).append(ins(next_id, "GEMM", deps, m=m, k=k, n=n_))
        elif kind == "ACU":
            streams.setdefault(f"{name}.acu", []).append(
                ins(next_id, "ACU", deps, func=draw(st.sampled_from(["softmax", "gelu", "add"])), elements=draw(st.integers(0, 500))))
        elif kind.startswith("DRAM"):
            streams.setdefault(f"{name}.dram.bank[0]", []).append(
                ins(next_id, kind, deps, bytes=draw(st.integers(0, 3000)), category="memory"))
        else:
            dst = draw(st.sampled_from([x for x in NODES if x != node]))
            dname = f"node[{dst[0]}][{dst[1]}]"
            nbytes = draw(st.integers(1, 600))
            cat = draw(st.sampled_from(["fmap_transfer", "weight_share"]))
            streams.setdefault(f"{name}.ni", []).append(ins(next_id, "SEND", deps, peer=dname, bytes=nbytes, msg=msg, category=cat))
            created.append(next_id)
            next_id += 1
            streams.setdefault(f"{dname}.ni", []).append(ins(next_id, "RECV", [], peer=name, bytes=nbytes, msg=msg, category=cat))
            msg += 1
        created.append(next_id)
        next_id += 1
    repeat = draw(st.integers(1, 3))
    prog = program([segment(streams, repeat=repeat)])
    validate_program(prog, HW.unit_names())
    return prog


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def spans_of(events):
    return {e["args"]["id"]: (e["args"]["start_cycle"], e["args"]["end_cycle"]) for e in events if e.get("ph") == "X" and "id" in e["args"]}


@SETTINGS
@given(random_programs())
def test_same_program_same_result(prog):
    a, _, _ = run(prog)
    b, _, _ = run(prog)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@SETTINGS
@given(random_programs())
def test_dependencies_stream_order_and_messages_are_respected(prog):
    seg = prog.segments[0]
    prog1 = prog.model_copy(update={"segments": [seg.model_copy(update={"repeat": 1})],
                                    "macs_expected": prog.macs_expected // seg.repeat})
    _, _, events = run(prog1, trace=True)
    spans = spans_of(events)
    sends = {}
    for s in seg.streams:
        for a, b in zip(s.instructions, s.instructions[1:]):
            assert spans[b.id][0] >= spans[a.id][1]
        for i in s.instructions:
            for d in i.deps:
                assert spans[i.id][0] >= spans[d][1]
            if i.op == "SEND":
                sends[i.msg] = i.id
    for s in seg.streams:
        for i in s.instructions:
            if i.op == "RECV":
                assert spans[i.id][1] == max(spans[i.id][0], spans[sends[i.msg]][1])


@SETTINGS
@given(random_programs())
def test_conservation_and_makespan_bounds(prog):
    result, _, _ = run(prog)
    seg = prog.segments[0]
    sent = sum(i.bytes for s in seg.streams for i in s.instructions if i.op == "SEND") * seg.repeat
    c = result["counts"]
    assert c["bytes_sent"] == c["bytes_received"] == sent
    assert c["macs_executed"] == prog.macs_expected
    assert c["instructions_executed"] == prog.instruction_count(expanded=True)
    assert result["latency"]["cycles"] >= result["prediction"]["contention_free_cycles"]
    assert sum(result["latency_breakdown"]["breakdown_cycles"].values()) == result["latency"]["cycles"]
    n_sends = sum(1 for s in seg.streams for i in s.instructions if i.op == "SEND")
    if n_sends <= 1:  # nothing to contend with: the closed form exactly
        assert result["latency"]["cycles"] == result["prediction"]["contention_free_cycles"]


@SETTINGS
@given(random_programs())
def test_block_reuse_matches_full(prog):
    full, _, _ = run(prog, mode="full")
    reuse, _, _ = run(prog, mode="block-reuse")
    assert full["latency"] == reuse["latency"]
    assert full["latency_breakdown"] == reuse["latency_breakdown"]
    assert full["units"] == reuse["units"]
    assert full["links"] == reuse["links"]
    assert full["energy"] == reuse["energy"]
