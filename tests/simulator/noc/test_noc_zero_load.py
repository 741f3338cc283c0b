"""Mesh NoC: exact zero-load latency, small contention scenarios and counters, in both models."""

from __future__ import annotations

import pytest
import simpy

from simulator.families.pim_mesh.costmodel import noc_energy_pj, noc_zero_load_cycles
from simulator.noc.geometry import flits_for, split_packets
from simulator.noc.network import MeshNetwork
from contracts.hardware import load_hw

MODES = ("transfer", "flit")
SIZES = (0, 1, 7, 8, 9, 64, 127, 128, 129, 1000, 4096, 10000)  # 1 flit ... 1250 flits (79 packets)


@pytest.fixture(scope="module")
def hw8():
    return load_hw("pim-dram-8x8")


def _one(hw, mode, src, dst, nbytes, rows=None, cols=None):
    env = simpy.Environment()
    net = MeshNetwork(env, hw, mode, rows, cols)
    ev = net.send(src, dst, nbytes)
    done = []
    ev.callbacks.append(lambda e: done.append(env.now))
    env.run()  # (the flit model may still return a last credit after the delivery)
    assert ev.processed and ev.ok
    assert net.in_flight() == 0
    return done[0], net


@pytest.mark.parametrize("mode", MODES)
def test_zero_load_equals_closed_form_for_every_hop_count_and_size(hw8, mode):
    # destinations at 1..14 hops from (0, 0), X only, Y only and both
    dsts = [(0, c) for c in range(1, 8)] + [(r, 0) for r in range(1, 8)] + [(r, r) for r in range(1, 8)] + [(7, 6)]
    for dst in dsts:
        h = dst[0] + dst[1]
        for nbytes in SIZES:
            got, _ = _one(hw8, mode, (0, 0), dst, nbytes)
            assert got == noc_zero_load_cycles(hw8, nbytes, h), (mode, dst, nbytes)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "overrides",
    [
        ["noc.ni_latency_cycles=0"],
        ["noc.link_latency_cycles=0", "noc.router_pipeline_cycles=1"],
        ["noc.router_pipeline_cycles=4", "noc.link_latency_cycles=3", "noc.buffer_depth_flits=16"],
        ["noc.virtual_channels=3", "noc.packet_max_flits=6", "noc.buffer_depth_flits=5"],
        ["noc.flit_bits=128", "noc.packet_max_flits=5"],
    ],
)
def test_zero_load_exact_under_other_router_parameters(mode, overrides):
    hw = load_hw("pim-dram-8x8", overrides)
    for dst, nbytes in [((0, 1), 3), ((3, 5), 200), ((7, 7), 5000), ((5, 0), 64)]:
        got, _ = _one(hw, mode, (0, 0), dst, nbytes)
        assert got == noc_zero_load_cycles(hw, nbytes, dst[0] + dst[1]), (overrides, dst, nbytes)


@pytest.mark.parametrize(
    "overrides",
    [
        ["noc.buffer_depth_flits=1"],
        ["noc.buffer_depth_flits=3", "noc.link_latency_cycles=2"],
        ["noc.buffer_depth_flits=2", "noc.router_pipeline_cycles=3", "noc.ni_latency_cycles=0"],
        ["noc.buffer_depth_flits=4", "noc.virtual_channels=1"],
    ],
)
def test_small_buffers_slow_both_models_alike(overrides):
    # a buffer smaller than the credit round trip (2L+R+1) paces a packet: depth flits, then a wait
    # for the first credit. Then the closed form is optimistic, and both models agree exactly.
    hw = load_hw("pim-dram-8x8", overrides + ["noc.packet_max_flits=16"])
    for dst, nbytes in [((0, 3), 128), ((2, 5), 40), ((6, 1), 96)]:
        t, _ = _one(hw, "transfer", (0, 0), dst, nbytes)
        f, _ = _one(hw, "flit", (0, 0), dst, nbytes)
        assert t == f > noc_zero_load_cycles(hw, nbytes, dst[0] + dst[1])


def test_one_virtual_channel_puts_a_bubble_between_packets():
    # With atomic VC allocation and a single VC, a transfer's next packet may enter a buffer only
    # after the previous tail's credit is back, so a multi-packet transfer is slower than the
    # closed form (which assumes packets back to back). Both models agree on how much.
    hw = load_hw("pim-dram-8x8", ["noc.virtual_channels=1", "noc.packet_max_flits=4"])
    single, _ = _one(hw, "flit", (0, 0), (3, 5), 32)  # 4 flits: one packet, exact
    assert single == noc_zero_load_cycles(hw, 32, 8)
    t, _ = _one(hw, "transfer", (0, 0), (3, 5), 200)  # 25 flits: 7 packets
    f, _ = _one(hw, "flit", (0, 0), (3, 5), 200)
    assert t == f > noc_zero_load_cycles(hw, 200, 8)


@pytest.mark.parametrize("mode", MODES)
def test_loopback_is_the_closed_form_at_zero_hops(hw8, mode):
    # src == dst goes NI -> local router -> NI: 2*ni + R + F-1 (the closed form at h = 0)
    got, net = _one(hw8, mode, (2, 3), (2, 3), 256)
    c = hw8.noc
    assert got == 2 * c.ni_latency_cycles + c.router_pipeline_cycles + flits_for(hw8.noc.flit_bits, 256) - 1
    assert net.stats.flit_hops == 0


def test_packets_split_without_header_flits():
    assert split_packets(64, 16, 0) == [(1, 0)]
    assert split_packets(64, 16, 128) == [(16, 128)]
    assert split_packets(64, 16, 129) == [(16, 128), (1, 1)]
    assert split_packets(64, 16, 300) == [(16, 128), (16, 128), (6, 44)]
    assert sum(b for _, b in split_packets(24, 3, 1001)) == 1001


@pytest.mark.parametrize("mode", MODES)
def test_one_ni_serialises_two_transfers(hw8, mode):
    # two 16-flit transfers from one NI to one destination: the second's last flit is 16 cycles behind
    env = simpy.Environment()
    net = MeshNetwork(env, hw8, mode)
    done = []
    for _ in range(2):
        net.send((1, 1), (1, 4), 128).callbacks.append(lambda e: done.append(env.now))
    env.run()
    first = noc_zero_load_cycles(hw8, 128, 3)
    assert done == [first, first + 16]


@pytest.mark.parametrize("mode", MODES)
def test_two_sources_share_the_ejection_port(hw8, mode):
    # (0,0) and (0,4) both send 16 flits to (0,2), 2 hops each: their heads reach router (0,2)
    # in the same cycle; the ejection port carries one flit per cycle, so one finishes 16 later
    env = simpy.Environment()
    net = MeshNetwork(env, hw8, mode)
    done = []
    for src in [(0, 0), (0, 4)]:
        net.send(src, (0, 2), 128).callbacks.append(lambda e: done.append(env.now))
    env.run()
    first = noc_zero_load_cycles(hw8, 128, 2)
    assert sorted(done) == [first, first + 16]
    assert net.stats.in_flight_packets == 0


@pytest.mark.parametrize("mode", MODES)
def test_a_later_send_waits_for_the_link_it_shares(hw8, mode):
    # (0,0)->(0,3) starts at 0; (0,1)->(0,3) starts when the first head is at router (0,1) and
    # wants the same link (0,1)->(0,2): it waits until the first packet's tail has crossed it
    env = simpy.Environment()
    net = MeshNetwork(env, hw8, mode)
    done = {}
    c = hw8.noc

    def second():
        yield env.timeout(c.ni_latency_cycles + c.router_pipeline_cycles + c.link_latency_cycles)
        ev = net.send((0, 1), (0, 3), 128)
        yield ev
        done["b"] = env.now

    def first():
        yield net.send((0, 0), (0, 3), 128)
        done["a"] = env.now

    env.process(first())
    env.process(second())
    env.run()
    assert done["a"] == noc_zero_load_cycles(hw8, 128, 3)
    # b's head is eligible at router (0,1) in the same cycle as a's head (both after ni + R - 1 there);
    # a asked first, so b crosses 16 cycles (a's flits) later and keeps that delay to the end
    assert done["b"] == done["a"] + 16


@pytest.mark.parametrize("mode", MODES)
def test_counters_and_energy_follow_the_path(hw8, mode):
    nbytes = 1000
    _, net = _one(hw8, mode, (1, 1), (3, 2), nbytes)  # X: (1,1)->(1,2); Y: (1,2)->(2,2)->(3,2)
    d = net.stats_dict()
    F = flits_for(hw8.noc.flit_bits, nbytes)
    path = ["link[1][1]->[1][2]", "link[1][2]->[2][2]", "link[2][2]->[3][2]"]
    for name in path:
        assert d["links"][name] == {"busy_cycles": F, "bytes": nbytes, "flits": F}
    assert sum(v["flits"] for v in d["links"].values()) == 3 * F
    for name in ["router[1][1]", "router[1][2]", "router[2][2]", "router[3][2]"]:
        assert d["routers"][name]["flits_switched"] == F
    assert d["flit_hops"] == 3 * F
    assert d["energy_pj"] == pytest.approx(noc_energy_pj(hw8, nbytes, 3))
    assert d["bytes_by_category"] == {"fmap_transfer": nbytes}
    assert d["packets_sent"] == d["packets_delivered"] == len(split_packets(64, 16, nbytes))
    assert d["in_flight_packets"] == 0 and d["in_flight_transfers"] == 0
    assert len(d["links"]) == 2 * 2 * 8 * 7  # every directed link of the 8x8 mesh is listed


def _random_traffic(hw, mode, seed):
    import random

    env = simpy.Environment()
    net = MeshNetwork(env, hw, mode, 4, 4)
    done = []

    def node(src):
        rng = random.Random(seed * 100 + src[0] * 4 + src[1])  # same sends whatever the timing
        for _ in range(6):
            yield env.timeout(rng.randrange(0, 30))
            dst = (rng.randrange(4), rng.randrange(4))
            if dst != src:
                t = env.now
                yield net.send(src, dst, rng.choice([8, 128, 300, 1024]), rng.choice(["fmap_transfer", "weight_share"]))
                done.append((src, t, env.now))

    for r in range(4):
        for c in range(4):
            env.process(node((r, c)))
    env.run()
    return done, net.stats_dict()


@pytest.mark.parametrize("mode", MODES)
def test_contended_traffic_is_deterministic_and_drains(hw8, mode):
    a = _random_traffic(hw8, mode, 7)
    b = _random_traffic(hw8, mode, 7)
    assert a == b
    assert a[1]["in_flight_packets"] == 0
    # under contention every transfer takes at least its zero-load latency
    for (src, t0, t1) in a[0]:
        assert t1 - t0 >= noc_zero_load_cycles(hw8, 8, 1)


def test_both_models_count_the_same_traffic(hw8):
    # counters depend on the routes only, so the same sends give the same link/router totals
    t = _random_traffic(hw8, "transfer", 3)[1]
    f = _random_traffic(hw8, "flit", 3)[1]
    assert t["links"] == f["links"] and t["routers"] == f["routers"] and t["flit_hops"] == f["flit_hops"]


def test_mesh_size_from_arguments_and_bad_inputs(hw8):
    env = simpy.Environment()
    net = MeshNetwork(env, hw8, "transfer", rows=3, cols=5)
    assert len(net.stats_dict()["routers"]) == 15
    with pytest.raises(ValueError, match="outside"):
        net.send((0, 0), (3, 0), 8)
    with pytest.raises(ValueError, match="mode"):
        MeshNetwork(env, hw8, "packet")


def _split_packets_by_flit(flit_bits, packet_max_flits, nbytes):
    """The definition, packet by packet: a packet carries the bytes that fall into its flits."""
    total = flits_for(flit_bits, nbytes)
    if packet_max_flits is None:
        return [(total, nbytes)]

    def bytes_before(flit):  # payload bytes in flits [0, flit); the last flit ends the transfer
        return nbytes if flit == total else min(nbytes, flit * flit_bits // 8)

    starts = list(range(0, total, packet_max_flits))
    return [(e - s, bytes_before(e) - bytes_before(s)) for s, e in zip(starts, starts[1:] + [total])]


def test_split_packets_closed_form_equals_the_packet_by_packet_definition():
    sizes = list(range(0, 300)) + [1000, 4095, 4096, 4097, 65536, 123457, 10**6 + 3]
    for flit_bits in (8, 12, 16, 24, 64, 100, 128, 256):
        for pmf in (None, 1, 2, 3, 5, 8, 16, 17):
            for nbytes in sizes:
                assert split_packets(flit_bits, pmf, nbytes) == _split_packets_by_flit(flit_bits, pmf, nbytes), (
                    flit_bits, pmf, nbytes)
