"""The worm and transfer network models under contention: pinned to the model before the issue-11 speed work.

Issue 11 made the transfer-level model cheaper per event (a packet is its own hop event,
keeps G/S/VC of its last two channels only, no per-packet lists) and moved the executor
onto :mod:`simulator.engine.kernel`; none of it may change a cycle. Twelve sources send
480 random transfers (1 B .. 5 kB) on a 4x4 mesh under six router configurations (credit-
paced 2-flit buffers, one VC, three VCs with 6-flit packets in 5-flit buffers, a long
pipeline, zero-latency links) with three seeds each. The digests of every delivery cycle
and of the statistics were recorded with the models of commit f8c70b8 (before the change)
and must come out the same, on SimPy's stock environment and on the engine's kernel.
"""

from __future__ import annotations

import hashlib
import json
import random

import pytest
import simpy

from contracts.hardware import load_hw
from simulator.engine.kernel import FastEnvironment
from simulator.noc.network import MeshNetwork

CASES = [
    [],
    ["noc.buffer_depth_flits=2"],
    ["noc.virtual_channels=1"],
    ["noc.virtual_channels=3", "noc.packet_max_flits=6", "noc.buffer_depth_flits=5"],
    ["noc.router_pipeline_cycles=4", "noc.link_latency_cycles=3", "noc.buffer_depth_flits=16"],
    ["noc.link_latency_cycles=0", "noc.router_pipeline_cycles=1"],
]

# recorded at commit f8c70b8 (before issue 11): mode/case index/seed -> digest of deliveries + statistics
RECORDED = {
    "transfer/0/1": "ca9974ee6fffca24",
    "transfer/0/2": "baf6dd45838d7743",
    "transfer/0/3": "778e1c5a7d8bd3d3",
    "transfer/1/1": "2d758f869e23a805",
    "transfer/1/2": "2a59b654d46b0334",
    "transfer/1/3": "3a900fac288e6e7c",
    "transfer/2/1": "d09109717a11a4d3",
    "transfer/2/2": "47e5c9badcdfe681",
    "transfer/2/3": "76b2ceb111f7122a",
    "transfer/3/1": "ba8898923ce89a9d",
    "transfer/3/2": "143f759ff858ccd8",
    "transfer/3/3": "aa8cea35d697fcd7",
    "transfer/4/1": "4600355ba6fd22e5",
    "transfer/4/2": "de1b67385ce661fb",
    "transfer/4/3": "c58037e74376a595",
    "transfer/5/1": "81678e844715ae0f",
    "transfer/5/2": "bd5064ea41cab95f",
    "transfer/5/3": "7a020c454b513b27",
    "worm/0/1": "66ec2617e1815a1a",
    "worm/0/2": "2921e0b405914b00",
    "worm/0/3": "edd9423c4652a1a0",
    "worm/1/1": "81a124c5cd5af32f",
    "worm/1/2": "77b6a5c7b3f08e8c",
    "worm/1/3": "f8bc837eaa4e8190",
    "worm/2/1": "37588bce2c291734",
    "worm/2/2": "811080b376b71004",
    "worm/2/3": "1228f8743bce4259",
    "worm/3/1": "3bc5a1d0f92bcce6",
    "worm/3/2": "6075767778e7ce75",
    "worm/3/3": "ef5154485753a60e",
    "worm/4/1": "34a1a9205d7a77f3",
    "worm/4/2": "26c58f4cd45561c1",
    "worm/4/3": "ceed1cfa7b1556e1",
    "worm/5/1": "26b4b15852ed3318",
    "worm/5/2": "c0803b03d5755f06",
    "worm/5/3": "11ffa33ab0781c4d"
}


def _digest(env: simpy.Environment, mode: str, overrides: list[str], seed: int) -> str:
    hw = load_hw("pim-dram-8x8", overrides)
    net = MeshNetwork(env, hw, mode, 4, 4)
    rnd = random.Random(seed)
    log = []

    def source(k):
        for j in range(40):
            yield env.timeout(rnd.randint(0, 30))
            s = (rnd.randrange(4), rnd.randrange(4))
            d = (rnd.randrange(4), rnd.randrange(4))
            ev = net.send(s, d, rnd.choice([1, 64, 200, 1000, 5000]))
            ev.callbacks.append(lambda e, k=k, j=j: log.append((k, j, env.now)))

    for k in range(12):
        env.process(source(k))
    env.run()
    assert net.in_flight() == 0
    return hashlib.sha256(json.dumps([sorted(log), net.stats_dict()], sort_keys=True).encode()).hexdigest()[:16]


@pytest.mark.parametrize("environment", [simpy.Environment, FastEnvironment], ids=["simpy", "kernel"])
@pytest.mark.parametrize("mode", ["worm", "transfer"])
def test_contended_deliveries_match_the_model_before_the_speed_work(environment, mode):
    got = {f"{mode}/{i}/{seed}": _digest(environment(), mode, ov, seed)
           for i, ov in enumerate(CASES) for seed in (1, 2, 3)}
    want = {k: v for k, v in RECORDED.items() if k.startswith(mode + "/")}
    assert got == want
