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
from studies.__main__ import main as studies_main
from contracts.hardware.loader import load_hw
from contracts.program import dump_program
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
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


@pytest.fixture
def no_render(monkeypatch):
    """Rendering PNGs costs seconds a case; the report is fuzzed on its own (test_fuzz_result_json_report)."""
    import simulator.runner as runner

    monkeypatch.setattr(runner, "_render", lambda result, out_dir: None)


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
    if os.environ.get("FUZZ_WORKLOAD"):  # a workload.json traced earlier (fuzzing without torch in the process)
        return os.environ["FUZZ_WORKLOAD"]
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
    from contracts.reuse_spec import parse_spec, split_spec

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


# --------------------------------------------------------------------------- program.json

NODES = ["node[0][0]", "node[0][1]", "node[1][0]", "node[1][1]"]
UNITS = [f"{n}.{u}" for n in NODES for u in ("pe", "acu", "ni", "dram.bank[0]")] + \
    ["node[9][9].pe", "node[0][0].dram.bank[3]", "node[0][0].xyz", "tile[0]", "node[00][1].pe", ""]
GOOD_SIZE = st.integers(1, 4096)
SIZE = st.one_of(GOOD_SIZE, GOOD_SIZE, GOOD_SIZE, GOOD_SIZE, st.sampled_from([0, -1, 10**9, 2**62, 10**40]))


@st.composite
def raw_instruction(draw, iid: int, unit: str, ids: list[int], msgs: list[int]):
    kind = unit.rsplit(".", 1)[-1]
    natural = {"pe": ["GEMM"], "acu": ["ACU"], "ni": ["SEND", "RECV"]}.get(kind, ["DRAM_READ", "DRAM_WRITE"])
    op = draw(st.sampled_from(natural)) if draw(st.integers(0, 5)) else \
        draw(st.sampled_from(["GEMM", "ACU", "SEND", "XBAR_READ", "NOP"]))
    d: dict = {"id": iid, "op": op}
    if ids and draw(st.booleans()):
        d["deps"] = draw(st.lists(st.one_of(st.sampled_from(ids), st.integers(-2, 200)), max_size=3))
    if op == "GEMM":
        d.update(m=draw(SIZE), k=draw(SIZE), n=draw(SIZE))
    elif op == "ACU":
        d.update(func=draw(st.sampled_from(["gelu", "softmax", "layernorm", "add", "reduce", "tanh"])), elements=draw(SIZE))
    elif op in ("DRAM_READ", "DRAM_WRITE"):
        d["bytes"] = draw(SIZE)
    elif op in ("SEND", "RECV"):
        d.update(peer=draw(st.sampled_from(NODES + ["node[5][5]", "x"])), bytes=draw(SIZE),
                 msg=draw(st.one_of(st.sampled_from(msgs), st.integers(-1, 50)) if msgs else st.integers(-1, 50)))
    elif op == "XBAR_READ":
        d.update(xbars=draw(SIZE), vectors=draw(SIZE))
    if draw(st.integers(0, 9)) == 0:  # a stray or mistyped field
        d[draw(st.sampled_from(["m", "bytes", "category", "hint_cycle", "deps", "bogus"]))] = draw(VALUES)
    return d


def _paired_messages(draw, n: int) -> list[dict]:
    """SEND/RECV pairs between random nodes (the well-formed part of a random program)."""
    out = []
    for msg in range(n):
        src, dst = draw(st.permutations(NODES))[:2]
        nbytes = draw(st.integers(1, 4096))
        out.append((msg, src, dst, nbytes))
    return out


@st.composite
def raw_program(draw):
    segments = []
    for s in range(draw(st.integers(1, 2))):
        pairs = _paired_messages(draw, draw(st.integers(0, 3)))
        streams: dict[str, list[dict]] = {}
        next_id = 0
        ids: list[int] = []
        for msg, src, dst, nbytes in pairs:
            for unit, op, peer in ((f"{src}.ni", "SEND", dst), (f"{dst}.ni", "RECV", src)):
                streams.setdefault(unit, []).append({"id": next_id, "op": op, "peer": peer, "bytes": nbytes, "msg": msg,
                                                     "category": "fmap_transfer"})
                ids.append(next_id)
                next_id += 1
        for unit in draw(st.lists(st.sampled_from(UNITS), max_size=5)):
            for _ in range(draw(st.integers(1, 3))):
                iid = draw(st.one_of(st.just(next_id), st.sampled_from(ids or [0]), st.just(-1))) \
                    if draw(st.integers(0, 7)) == 0 else next_id
                streams.setdefault(unit, []).append(draw(raw_instruction(iid, unit, ids, list(range(len(pairs))))))
                ids.append(iid)
                next_id += 1
        for unit in list(streams):  # shuffle each stream's order: may create cycles or RECV-before-SEND waits
            streams[unit] = draw(st.permutations(streams[unit]))
        segments.append({"name": f"s{s}", "repeat": draw(st.one_of(st.integers(1, 3), st.sampled_from([0, -1]))),
                         "stage": 1, "streams": [{"unit": u, "instructions": v} for u, v in streams.items()]})
    macs = 0
    for seg in segments:
        for stream in seg["streams"]:
            for i in stream["instructions"]:
                if i.get("op") == "GEMM" and all(isinstance(i.get(f), int) for f in "mkn"):
                    macs += i["m"] * i["k"] * i["n"] * (seg["repeat"] if isinstance(seg["repeat"], int) else 1)
    return {
        "schema_version": 1, "kind": "pim_mesh",
        "provenance": {"workload_model": "fuzz", "workload_digest": "0", "hw_name": "pim-dram-8x8", "hw_digest": "0",
                       "method": "fuzz", "solver": {"status": "fuzz"}},
        "macs_expected": draw(st.one_of(st.just(max(macs, 0)), st.integers(-1, 10))),
        "segments": segments,
    }


def _sim(tmp, data, *extra) -> tuple[int, str]:
    path = tmp / "program.json"
    path.write_text(json.dumps(data))
    return fh.run_main(sim_main, ["run", "--program", str(path), "--hw", "pim-dram-8x8", "--out", str(tmp / "out"), *extra])


NAMES_INSTRUCTION = ("instruction", "segment", "field", "msg", "unit", "MACs", "deadlock", "program file")


@given(data=raw_program(), network=st.sampled_from(["worm", "transfer", "flit"]),
       mode=st.sampled_from(["full", "block-reuse"]))
def test_fuzz_random_programs(tmp_path_factory, no_render, data, network, mode):
    tmp = tmp_path_factory.mktemp("prog")
    note(json.dumps(data))
    code, err = _sim(tmp, data, "--network", network, "--mode", mode)
    if code == 0:
        result = _check_result_folder(str(tmp / "out"))
        assert result["latency"]["cycles"] >= 0
    else:
        msg = fh.error_line(err)
        assert any(w in msg for w in NAMES_INSTRUCTION), msg
        if "deadlock" in msg:
            assert "stuck" in msg and " at instruction " in msg, msg


@pytest.fixture(scope="module")
def real_program(tiny_workload, tmp_path_factory):
    """The scheduler's program for the small ViT on the 8x8 mesh (1950 instructions)."""
    from scheduler.__main__ import main as sched_main

    path = tmp_path_factory.mktemp("real") / "program.json"
    fh.run_main(sched_main, ["solve", "--workload", tiny_workload, "--hw", "pim-dram-8x8", "--out", str(path)], seconds=120)
    return json.loads(path.read_text())


def _instructions(data):
    return [(si, ti, ii) for si, seg in enumerate(data["segments"]) for ti, s in enumerate(seg["streams"])
            for ii in range(len(s["instructions"]))]


@fh.scaled(0.3)  # about a second a case (1950 instructions)
@given(st.data())
def test_fuzz_mutated_real_program(tmp_path_factory, no_render, real_program, data):
    prog = copy.deepcopy(real_program)
    where = _instructions(prog)
    for _ in range(data.draw(st.integers(1, 3))):
        si, ti, ii = data.draw(st.sampled_from(where))
        seg = prog["segments"][si]
        stream = seg["streams"][ti]
        insn = stream["instructions"][ii]
        how = data.draw(st.sampled_from(["field", "delete", "dep", "dup_id", "unit", "drop", "repeat", "swap", "top"]))
        if how == "field":
            insn[data.draw(st.sampled_from(sorted(insn) + ["m", "bytes", "peer", "msg"]))] = data.draw(VALUES)
        elif how == "delete":
            insn.pop(data.draw(st.sampled_from(sorted(insn))), None)
        elif how == "dep":  # a dependency on a later instruction (cycle) or on nothing (dangling)
            if not isinstance(insn.get("deps"), list):
                insn["deps"] = []
            insn["deps"].append(data.draw(st.one_of(st.integers(0, 3000), st.integers(-5, -1))))
        elif how == "dup_id":
            other = seg["streams"][data.draw(st.integers(0, len(seg["streams"]) - 1))]["instructions"]
            if other:
                insn["id"] = other[0]["id"]
        elif how == "unit":
            stream["unit"] = data.draw(st.sampled_from(UNITS))
        elif how == "drop":  # drops a SEND or RECV half, a dependency target, ...
            stream["instructions"].pop(ii)
            where = _instructions(prog)
        elif how == "repeat":
            seg["repeat"] = data.draw(st.one_of(st.integers(-1, 3), st.just(10**9), VALUES))
        elif how == "swap" and len(stream["instructions"]) > 1:
            j = data.draw(st.integers(0, len(stream["instructions"]) - 1))
            stream["instructions"][ii], stream["instructions"][j] = stream["instructions"][j], stream["instructions"][ii]
        elif how == "top":
            prog[data.draw(st.sampled_from(["macs_expected", "kind", "schema_version", "provenance", "segments", "notes"]))] = \
                data.draw(VALUES)
            break  # the structure the other mutations index may be gone
        if not where:
            break
    tmp = tmp_path_factory.mktemp("mut")
    code, err = _sim(tmp, prog, "--mode", "block-reuse")
    if code == 0:
        _check_result_folder(str(tmp / "out"))
    else:
        assert any(w in fh.error_line(err) for w in NAMES_INSTRUCTION + ("schema_version",)), err


# --------------------------------------------------------------------------- result.json for `simulator report`


@pytest.fixture(scope="module")
def real_results(real_program, tiny_workload, tmp_path_factory):
    """result.json of the small ViT on both families (real runs)."""
    from scheduler.__main__ import main as sched_main

    d = tmp_path_factory.mktemp("results")
    (d / "p.json").write_text(json.dumps(real_program))
    fh.run_main(sim_main, ["run", "--program", str(d / "p.json"), "--hw", "pim-dram-8x8", "--out", str(d / "pim"),
                           "--mode", "block-reuse"], seconds=120)
    fh.run_main(sched_main, ["solve", "--workload", tiny_workload, "--hw", "fefet-64", "--out", str(d / "x.json")])
    fh.run_main(sim_main, ["run", "--program", str(d / "x.json"), "--hw", "fefet-64", "--out", str(d / "xbar")], seconds=120)
    return [json.loads((d / k / "result.json").read_text()) for k in ("pim", "xbar")]


def _json_paths(obj, prefix=()):
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(_json_paths(v, prefix + (k,)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            out.extend(_json_paths(v, prefix + (i,)))
    return out


@fh.scaled(0.12)  # rendering the PNGs costs seconds a case
@given(st.data())
def test_fuzz_result_json_report(tmp_path_factory, real_results, data):
    result = copy.deepcopy(data.draw(st.sampled_from(real_results)))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_json_paths(result)))
        parent = result
        for k in path[:-1]:
            parent = parent[k]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(VALUES)
    run = tmp_path_factory.mktemp("report")
    (run / "result.json").write_text(json.dumps(result))
    before = (run / "result.json").read_bytes()
    code, err = fh.run_main(sim_main, ["report", "--run", str(run)])
    assert (run / "result.json").read_bytes() == before  # the report never touches its input
    if code == 0:
        assert (run / "report.md").is_file()
    else:
        assert "result file" in fh.error_line(err), err


# --------------------------------------------------------------------------- workload.json


@fh.scaled(0.6)
@given(st.data())
def test_fuzz_workload_json(tmp_path_factory, tiny_workload, data):
    from scheduler.__main__ import main as sched_main

    with open(tiny_workload) as f:
        wl = json.load(f)
    paths = [p for p in _json_paths(wl) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = wl
        try:
            for k in path[:-1]:
                parent = parent[k]
            how = data.draw(st.sampled_from(["delete", "value", "perturb", "perturb"]))
            old = parent[path[-1]]
            if how == "delete" and isinstance(parent, dict):
                del parent[path[-1]]
            elif how == "perturb" and isinstance(old, int) and not isinstance(old, bool):
                # a plausible but inconsistent number (passes the schema, contradicts the rest of the file)
                parent[path[-1]] = max(1, data.draw(st.sampled_from([old + 1, old - 1, old * 2, old // 2, 1, 7])))
            else:
                parent[path[-1]] = data.draw(VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the path
    tmp = tmp_path_factory.mktemp("wl")
    (tmp / "workload.json").write_text(json.dumps(wl))
    hw = data.draw(st.sampled_from(["pim-dram-8x8", "fefet-64"]))
    code, err = fh.run_main(sched_main, ["solve", "--workload", str(tmp / "workload.json"), "--hw", hw,
                                         "--out", str(tmp / "program.json"), "--time-limit", "2"])
    if code == 0:  # a consistent-enough workload (else: one sentence, e.g. a schema field or "no schedule fits")
        json.loads((tmp / "program.json").read_text())


# --------------------------------------------------------------------------- command-line arguments (run / noc-synth / replay)

FLAG_VALUES = st.one_of(st.integers(-3, 40).map(str), st.sampled_from(["0", "1e-300", "nan", "inf", "-0.1", "1e9", "abc", ""]),
                        st.floats(0, 2).map(str))


@st.composite
def noc_argv(draw):
    argv = ["noc-synth", "--cycles", "300", "--warmup-cycles", "100", "--k", "3"]
    for flag in draw(st.lists(st.sampled_from(["--k", "--rate", "--packet-flits", "--cycles", "--warmup-cycles",
                                               "--sweep-step", "--max-rate", "--hotspot-fraction", "--seed"]),
                              max_size=4, unique=True)):
        value = draw(FLAG_VALUES)
        if flag in ("--k", "--cycles", "--warmup-cycles") and value.lstrip("-").isdigit() and int(value) > 8:
            value = "8" if flag == "--k" else value  # keep each case small; huge values are refused or merely slow
        argv += [flag, value]
    argv += draw(st.sampled_from([[], ["--sweep"], ["--flit-level"], ["--traffic", "transpose"], ["--traffic", "x"]]))
    return argv


@given(argv=noc_argv())
@example(argv=["noc-synth", "--cycles", "300", "--warmup-cycles", "100", "--k", "3", "--seed", "-1"])  # found: numpy traceback
@example(argv=["noc-synth", "--k", "3", "--sweep", "--sweep-step", "1e-300"])  # found: a sweep of 10**300 points (hang)
@example(argv=["noc-synth", "--k", "3", "--packet-flits", "-1", "--sweep"])  # found: the error landed inside the progress bar
@example(argv=["noc-synth", "--k", "3", "--cycles", "0", "--sweep"])  # found: the same, for --cycles
def test_fuzz_noc_arguments(tmp_path_factory, argv):
    out = tmp_path_factory.mktemp("noc")
    if "--sweep" in argv:
        argv = argv + ["--out", str(out)] + ([] if "--sweep-step" in argv else ["--sweep-step", "0.3"])
    fh.run_main(studies_main, argv)


@given(flags=st.lists(st.sampled_from([["--mode", "full"], ["--mode", "x"], ["--network", "flit"], ["--network", "?"],
                                       ["--trace"], ["--set", "noc.flit_bits=32"], ["--set", "x"], ["--hw", "fefet-64"],
                                       ["--hw", "nosuch"], ["--out"], ["--bogus"], ["--program", "/nonexistent"]]),
                      max_size=4))
def test_fuzz_replay_arguments(tmp_path_factory, no_render, flags):
    d = tmp_path_factory.mktemp("args")
    (d / "p.json").write_text(dump_program(PIM_PROGRAM))
    argv = ["run", "--program", str(d / "p.json"), "--hw", "pim-dram-8x8", "--out", str(d / "o")]
    for f in flags:
        argv += f
    fh.run_main(sim_main, argv)


@pytest.mark.parametrize("extra", [["--set", "noc.flit_bits=abc"], ["--hw", "nosuch"], ["--set", "mesh.rows=0"],
                                   ["--program", "/nonexistent/program.json"], ["--bogus"]])
def test_pipeline_replay_refuses_bad_arguments_in_one_sentence(tmp_path, extra):
    """A few subprocess cases: the real `python -m pipeline replay` (what `make replay` runs)."""
    import subprocess
    import sys

    (tmp_path / "p.json").write_text(dump_program(PIM_PROGRAM))
    argv = ["replay", "--program", str(tmp_path / "p.json"), "--hw", "pim-dram-8x8", "--out", str(tmp_path / "o"), *extra]
    proc = subprocess.run([sys.executable, "-m", "pipeline", *argv], cwd=REPO, capture_output=True, text=True, timeout=120)
    fh.check_outcome(proc.returncode, proc.stderr, argv)
    assert proc.returncode == 2 and not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- defects the fuzzers found (kept fixed)


@pytest.mark.parametrize("name, sets, needle", [
    ("pim-dram-8x8", ["clock_hz=.inf"], "finite"),  # was: exit 0 with Infinity in result.json
    ("pim-dram-8x8", ["pe_array.energy_pj_per_mac=.inf"], "finite"),  # was: Infinity in result.json
    ("pim-dram-8x8", ["acu.cycles_per_element.gelu=-1"], "cycles_per_element.gelu"),  # was: SimPy 'Negative delay' traceback
    ("pim-dram-8x8", ["mesh.rows=100000", "mesh.cols=100000"], "mesh.rows"),  # was: a hang building 10**10 unit names
    ("pim-dram-8x8", ["mesh.rows=256", "mesh.cols=257"], "mesh.cols"),
    ("pim-dram-8x8", ["noc.flit_bits={a: 1, a: 2}"], "override noc.flit_bits={a: 1, a: 2}: duplicate key 'a'"),
    ("fefet-64", ["clock_hz=0.5"], "clock_hz"),
])
def test_found_hw_defects_stay_fixed(name, sets, needle):
    cfg, msg = fh.check_user_error(load_hw, name, sets, seconds=10)
    assert msg is not None and needle in msg, msg


def test_found_method_and_program_defects_stay_fixed(tmp_path, no_render):
    from scheduler.crossbar.baselines import parse_method

    _cfg, msg = fh.check_user_error(parse_method, "ws:k=inf", seconds=5)  # was: OverflowError traceback
    assert "finite" in msg
    data = json.loads(dump_program(PIM_PROGRAM))
    data["macs_expected"] += 1  # was: exit 3 from the engine's MAC invariant after the whole run
    code, err = _sim(tmp_path, data)
    assert code == 2 and "macs_expected=" in fh.error_line(err)
