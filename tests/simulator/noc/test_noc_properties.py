"""Mesh NoC properties on random small traffic (hypothesis), both models.

Every transfer takes at least its zero-load closed form; everything sent is
delivered (nothing in flight at the end); the counters conserve flits (sum over
links = sum of F x hops); the same sends give the same delivery cycles.
"""

from __future__ import annotations

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.families.pim_mesh.costmodel import hops_between, noc_zero_load_cycles
from simulator.noc.geometry import flits_for
from simulator.noc.network import MeshNetwork
from contracts.hardware import load_hw

HW = load_hw("pim-dram-8x8")
NODE = st.tuples(st.integers(0, 2), st.integers(0, 2))
SEND = st.tuples(st.integers(0, 40), NODE, NODE, st.integers(0, 700))  # (start cycle, src, dst, bytes)


def _run(mode, sends):
    env = simpy.Environment()
    net = MeshNetwork(env, HW, mode, rows=3, cols=3)
    done = [None] * len(sends)

    def one(i, t, src, dst, nbytes):
        yield env.timeout(t)
        yield net.send(src, dst, nbytes)
        done[i] = env.now - t

    for i, s in enumerate(sends):
        env.process(one(i, *s))
    env.run()
    return done, net


@settings(max_examples=25, deadline=None)
@given(st.lists(SEND, min_size=1, max_size=12), st.sampled_from(["transfer", "flit"]))
def test_random_traffic_is_delivered_no_faster_than_the_closed_form(sends, mode):
    sends = [s for s in sends if s[1] != s[2]]
    done, net = _run(mode, sends)
    for (t, src, dst, nbytes), took in zip(sends, done):
        assert took is not None and took >= noc_zero_load_cycles(HW, nbytes, hops_between(src, dst))
    d = net.stats_dict()
    assert d["in_flight_packets"] == 0 and d["transfers_delivered"] == len(sends)
    expected_hops = sum(flits_for(HW.noc.flit_bits, n) * hops_between(s, t) for _, s, t, n in sends)
    assert d["flit_hops"] == sum(v["flits"] for v in d["links"].values()) == expected_hops
    assert d["bytes_by_category"].get("fmap_transfer", 0) == sum(n for *_, n in sends)
    again, _ = _run(mode, sends)
    assert again == done
