"""Property-based fuzzing of every file and string the tool reads (issue 12).

Loaders under test: hardware YAML (mutated keys, types, units, duplicate
keys, negative / zero / huge values), ``--set`` strings, reuse-pattern
strings, crossbar method strings, ``program.json`` (dangling deps, cycles,
unmatched SEND/RECV, unknown units, zero / negative sizes, duplicate ids,
random mutations), ``workload.json`` and ``result.json`` (``simulator report``).
Each case runs the real entry point (``main(argv)`` of the command line, in
process) and must end in exit 0 with a valid result or exit 2 with one
sentence naming the field or instruction (see ``fuzz_helpers``). Example
counts come from the hypothesis profile (``HYPOTHESIS_PROFILE=ci`` in
``make test``, ``deep`` in ``make fuzz``).
"""

from __future__ import annotations

import copy
import json
import math
import os

import pytest
import yaml
from hypothesis import example, given, note
from hypothesis import strategies as st

import fuzz_helpers as fh
from sim_helpers import ins, program, segment
from simulator.__main__ import main as sim_main
from simulator.hw.loader import load_hw
from simulator.ir import dump_program

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HW_DIR = os.path.join(REPO, "hw_configs")


def _raw(name: str) -> dict:
    with open(os.path.join(HW_DIR, name + ".yaml")) as f:
        return yaml.safe_load(f)


PIM_RAW = _raw("pim-dram-8x8")
XBAR_RAW = _raw("fefet-64")


def _paths(d, prefix=()):
    out = []
    for k, v in d.items():
        out.append(prefix + (k,))
        if isinstance(v, dict):
            out.extend(_paths(v, prefix + (k,)))
    return out


def _get_parent(d, path):
    for k in path[:-1]:
        d = d[k]
    return d


VALUES = st.one_of(
    st.integers(min_value=-3, max_value=3),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([2**31, 2**63, 10**18, 10**300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, -1e-9]),
    st.text(max_size=8),
    st.sampled_from(["400 MHz", "8 MiB", "64b", "1e9", "0x40", "yes", "~", "[]", "{}"]),
    st.booleans(),
    st.none(),
    st.lists(st.integers(-2, 2), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(-2, 2), max_size=2),
)


@st.composite
def mutated_config(draw, base: dict):
    """(yaml text, names involved in the mutations) of a mutated hardware config."""
    data = copy.deepcopy(base)
    involved: set[str] = set()
    dup_lines = []
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data)]
        path = draw(st.sampled_from(paths))
        parent = _get_parent(data, path)
        key = path[-1]
        if key not in parent:
            continue
        involved.update(str(p) for p in path)
        how = draw(st.sampled_from(["delete", "rename", "value", "value", "unit", "duplicate"]))
        if how == "delete":
            del parent[key]
        elif how == "rename":
            new = draw(st.sampled_from([key + "z", key[:-1], key.upper(), key[::-1], "x" + key]))
            if new in parent or not new:
                continue
            parent[new] = parent.pop(key)
            involved.add(new)
        elif how == "value":
            parent[key] = draw(VALUES)
        elif how == "unit":
            v = parent[key]
            parent[key] = f"{v} {draw(st.sampled_from(['MHz', 'bits', 'B', 'ns', 'pJ']))}"
        else:
            if not isinstance(parent[key], (int, float, str)) or isinstance(parent[key], bool):
                continue
            dup_lines.append((path, draw(VALUES.filter(lambda v: not isinstance(v, (list, dict))))))
    text = yaml.safe_dump(data, sort_keys=False)
    for path, value in dup_lines:  # a duplicate key: repeat the key's line right after it
        indent = "  " * (len(path) - 1)
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith(f"{indent}{path[-1]}:") and not line.startswith(indent + " "):
                lines.insert(i + 1, f"{indent}{path[-1]}: {yaml.safe_dump(value).splitlines()[0]}")
                break
        text = "\n".join(lines) + "\n"
    return text, involved


def _names_field(msg: str, involved: set[str]) -> bool:
    return any(name in msg for name in involved) or "duplicate key" in msg or "not valid YAML" in msg


PIM_PROGRAM = program([segment({
    "node[0][0].pe": [ins(1, "GEMM", m=16, k=32, n=32)],
    "node[0][0].acu": [ins(5, "ACU", [1], func="gelu", elements=512)],
    "node[0][0].ni": [ins(2, "SEND", [1], peer="node[1][1]", bytes=512, msg=1, category="fmap_transfer")],
    "node[1][1].ni": [ins(3, "RECV", peer="node[0][0]", bytes=512, msg=1, category="fmap_transfer")],
    "node[1][1].dram.bank[0]": [ins(4, "DRAM_WRITE", [3], bytes=512, category="memory")],
}, repeat=2)], predicted=1000)


@pytest.fixture(scope="module")
def no_render():
    """Rendering PNGs costs seconds a case; the report is fuzzed on its own (test_fuzz_result_json)."""
    import simulator.runner as runner

    saved = runner._render
    runner._render = lambda result, out_dir: None
    yield
    runner._render = saved


def _check_result_folder(out: str) -> dict:
    with open(os.path.join(out, "result.json")) as f:
        text = f.read()
    assert "Infinity" not in text and "NaN" not in text, "result.json holds a non-finite number"
    return json.loads(text)


# --------------------------------------------------------------------------- hardware YAML


@given(case=mutated_config(PIM_RAW))
def test_fuzz_pim_hw_yaml(tmp_path_factory, no_render, case):
    text, involved = case
    d = tmp_path_factory.mktemp("hw")
    (d / "hw.yaml").write_text(text)
    (d / "p.json").write_text(dump_program(PIM_PROGRAM))
    note(text)
    code, err = fh.run_main(sim_main, ["run", "--program", str(d / "p.json"), "--hw", str(d / "hw.yaml"),
                                       "--out", str(d / "out")])
    if code == 0:
        _check_result_folder(str(d / "out"))
    else:
        msg = fh.error_line(err)
        assert _names_field(msg, involved) or "segment" in msg, msg


@pytest.fixture(scope="module")
def tiny_workload(tmp_path_factory):
    """The small registered ViT traced once (8x8 digits images): a real workload.json."""
    from workloads.tracer import trace, write_graph

    path = tmp_path_factory.mktemp("wl") / "workload.json"
    write_graph(trace("vit-tiny-digits", img_size=8).graph, str(path))
    return str(path)


@given(case=mutated_config(XBAR_RAW))
def test_fuzz_crossbar_hw_yaml(tmp_path_factory, no_render, tiny_workload, case):
    from scheduler.__main__ import main as sched_main

    text, involved = case
    d = tmp_path_factory.mktemp("xhw")
    (d / "hw.yaml").write_text(text)
    note(text)
    code, err = fh.run_main(sched_main, ["solve", "--workload", tiny_workload, "--hw", str(d / "hw.yaml"),
                                         "--out", str(d / "p.json")])
    if code == 2:
        assert _names_field(fh.error_line(err), involved), err
        return
    code, err = fh.run_main(sim_main, ["run", "--program", str(d / "p.json"), "--hw", str(d / "hw.yaml"),
                                       "--out", str(d / "out")])
    if code == 0:
        _check_result_folder(str(d / "out"))


# --------------------------------------------------------------------------- --set strings

PIM_KEYS = [".".join(p) for p in _paths(PIM_RAW)] + [".".join(p) for p in _paths(XBAR_RAW)]
SET_STRINGS = st.one_of(
    st.text(max_size=30),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(PIM_KEYS), st.one_of(st.text(max_size=12), VALUES.map(str))),
    st.builds(lambda k, s, v: f"{k}{s}={v}", st.sampled_from(PIM_KEYS), st.sampled_from(["z", ".x", "..", " ", "[0]"]),
              st.integers(-5, 5)),
    st.sampled_from(["=", "==", ".=1", "a..b=1", "noc=1", "noc.flit_bits={a: 1, a: 2}", "noc.flit_bits=!!python/none",
                     "kind=crossbar_chip", "mesh.rows=1e400", "clock_hz=.nan", "acu.cycles_per_element.gelu=-3",
                     "dram.interface_bits=7", "noc.flit_bits=0", "mesh={rows: 2}", "acu.lanes=&a 1"]),
)


@given(sets=st.lists(SET_STRINGS, min_size=1, max_size=3), name=st.sampled_from(["pim-dram-8x8", "fefet-64"]))
def test_fuzz_set_strings(sets, name):
    cfg, msg = fh.check_user_error(load_hw, name, sets)
    if msg is not None:
        assert msg.startswith("override") or "hardware config" in msg, msg
    else:
        for value in cfg.model_dump().values():
            if isinstance(value, float):
                assert math.isfinite(value)


# --------------------------------------------------------------------------- reuse patterns and methods

PATTERN = st.one_of(
    st.text(max_size=25),
    st.builds(lambda fam, body: f"{fam}:{body}", st.sampled_from(["strided", "continuous", "pyramid", "list", "none", "Strided", ""]),
              st.lists(st.one_of(
                  st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["sl", "start", "n", "ncont", "x", ""]),
                            st.one_of(st.integers(-3, 20), st.sampled_from([10**12, 10**100]), st.text(max_size=3))),
                  st.integers(-3, 20).map(str)), max_size=5).map(",".join)),
)


@given(spec=PATTERN, n_encoders=st.integers(1, 24))
@example(spec="continuous:start=2,n=1000000000000", n_encoders=12)  # found: built a list of 10**12 encoders (hang)
@example(spec="strided:sl=2,start=3,n=\n", n_encoders=12)  # found: a newline in the error broke the one-line rule
def test_fuzz_reuse_patterns(spec, n_encoders):
    from workloads.reuse.patterns import parse_spec, split_spec

    enc, msg = fh.check_user_error(parse_spec, spec, n_encoders, seconds=5)
    if msg is None:
        assert enc == sorted(set(enc)) and all(2 <= e <= n_encoders for e in enc)
    fh.check_user_error(split_spec, spec, partial=True, seconds=5)


@given(method=st.one_of(st.text(max_size=16), st.builds(
    lambda n, b: f"{n}:{b}", st.sampled_from(["trex", "prune", "ws", "retransformer", "allspark", "x"]),
    st.lists(st.one_of(st.floats().map(str), st.sampled_from(["p=0.3", "k=2", "k=inf", "p=nan", "=", "k=1e400", "p=-0"])),
             max_size=3).map(",".join))))
def test_fuzz_crossbar_method_strings(method):
    from scheduler.crossbar.baselines import parse_method

    fh.check_user_error(parse_method, method, seconds=5)
