"""``python -m simulator run`` / ``report``: files in, run folder out; user errors are one sentence."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sim_helpers import ins, program, segment
from simulator.__main__ import main
from contracts.atomic import write_json
from contracts.program import dump_program
from simulator.runner import simulate_files
from repo_paths import REPO_ROOT

REPO = REPO_ROOT


def write_program(tmp_path, prog=None, name="program.json") -> str:
    prog = prog or program([segment({
        "node[0][0].pe": [ins(1, "GEMM", m=16, k=32, n=32)],
        "node[0][0].ni": [ins(2, "SEND", [1], peer="node[1][1]", bytes=512, msg=1, category="fmap_transfer")],
        "node[1][1].ni": [ins(3, "RECV", peer="node[0][0]", bytes=512, msg=1, category="fmap_transfer")],
        "node[1][1].dram.bank[0]": [ins(4, "DRAM_WRITE", [3], bytes=512, category="memory")],
    }, repeat=2)], predicted=1000)
    path = tmp_path / name
    path.write_text(dump_program(prog))
    return str(path)


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], cwd=REPO, capture_output=True, text=True)


def test_run_writes_the_run_folder_and_is_byte_deterministic(tmp_path):
    prog = write_program(tmp_path)
    main(["run", "--program", prog, "--hw", "pim-dram-8x8", "--out", str(tmp_path / "a"), "--trace"])
    write_json(str(tmp_path / "b.json"), simulate_files(prog, "pim-dram-8x8")[1])  # a second run, same writer
    a = tmp_path / "a"
    assert (a / "result.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    for f in ("hw.yaml", "meta.json", "trace.json", "report.md", "node_utilisation.png", "link_load.png",
              "latency_breakdown.png", "energy_breakdown.png"):
        assert (a / f).is_file(), f
    meta = json.loads((a / "meta.json").read_text())
    assert meta["events_per_s"] > 0 and meta["simulated_cycles_per_wall_s"] > 0 and "simpy" in meta["versions"]
    trace = json.loads((a / "trace.json").read_text())
    assert any(e.get("name") == "GEMM" for e in trace["traceEvents"])
    (a / "report.md").unlink()
    main(["report", "--run", str(a)])
    assert "Latency breakdown" in (a / "report.md").read_text()


def test_replay_on_another_config_with_overrides(tmp_path):
    """The recorded program runs unchanged on a 16x16 mesh with wider flits and slower DRAM."""
    prog = write_program(tmp_path)
    _hw, base, _meta, _events = simulate_files(prog, "pim-dram-8x8")
    main(["run", "--program", prog, "--hw", "pim-dram-16x16", "--out", str(tmp_path / "replay"),
          "--set", "noc.flit_bits=128", "--set", "dram.t_rcd_cycles=20"])
    rep = json.loads((tmp_path / "replay" / "result.json").read_text())
    assert rep["hw_name"] == "pim-dram-16x16" and rep["scheduled_for_hw"] == "pim-dram-8x8"
    assert rep["latency"]["cycles"] != base["latency"]["cycles"]
    assert "t_rcd_cycles: 20" in (tmp_path / "replay" / "hw.yaml").read_text()


def stream(d, unit):
    return next(s for s in d["segments"][0]["streams"] if s["unit"] == unit)


def first(d, unit):
    return stream(d, unit)["instructions"][0]


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: first(d, "node[0][0].pe").pop("m"), "instruction 1 (GEMM) lacks m"),
    (lambda d: stream(d, "node[0][0].pe").update(unit="node[9][9].pe"), "unit 'node[9][9].pe' does not exist in the hardware config"),
    (lambda d: first(d, "node[1][1].ni").update(deps=[77]), "instruction 3 on node[1][1].ni depends on unknown id 77"),
    (lambda d: d.update(kind="crossbar_chip"), "targets 'crossbar_chip' hardware"),
    (lambda d: first(d, "node[0][0].pe").update(bogus=1), "bogus"),
    (lambda d: first(d, "node[1][1].ni").update(bytes=4), "msg 1 sends 512 bytes but receives 4"),
])
def test_malformed_program_names_the_offence(tmp_path, capsys, mutate, needle):
    path = write_program(tmp_path)
    data = json.loads(open(path).read())
    mutate(data)
    open(path, "w").write(json.dumps(data))
    with pytest.raises(SystemExit) as e:
        main(["run", "--program", path, "--hw", "pim-dram-8x8", "--out", str(tmp_path / "out")])
    assert e.value.code != 0
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "out" / "result.json").exists()


@pytest.mark.parametrize("override,needle", [
    ("noc.flit_bits=wide", "noc.flit_bits"),
    ("dram.t_rcd=3", "'t_rcd' is not a field"),
])
def test_malformed_config_names_the_field(tmp_path, capsys, override, needle):
    with pytest.raises(SystemExit) as e:
        main(["run", "--program", write_program(tmp_path), "--hw", "pim-dram-8x8", "--out", str(tmp_path / "o"),
              "--set", override])
    assert e.value.code != 0 and needle in capsys.readouterr().err


def test_cli_user_error_is_one_line_without_traceback(tmp_path):
    proc = cli("run", "--program", str(tmp_path / "missing.json"), "--hw", "pim-dram-8x8", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_families_are_registered_once_and_hw_reports_the_family(capsys):
    """Both kinds are registered (schema, default method, reuse planner); an unknown kind is one sentence;
    ``python -m simulator hw`` prints what the pipeline needs about the family."""
    from contracts.errors import UserError
    from contracts.hardware.crossbar_chip import CrossbarChipConfig
    from contracts.hardware.pim_mesh import PimMeshConfig
    from simulator.families import family, known_kinds

    assert known_kinds() == ["crossbar_chip", "pim_mesh"]
    assert (family("pim_mesh").hw_schema, family("pim_mesh").default_method) == (PimMeshConfig, "allspark")
    assert (family("crossbar_chip").hw_schema, family("crossbar_chip").default_method) == (CrossbarChipConfig, "trex")
    with pytest.raises(UserError, match=r"result\.json has unknown kind 'nope' \(pim_mesh or crossbar_chip\)"):
        family("nope", "result.json")
    main(["hw", "--hw", "fefet-64"])
    out = json.loads(capsys.readouterr().out)
    assert (out["name"], out["kind"], out["default_method"], out["reuse_plan"]) == (
        "fefet-64", "crossbar_chip", "trex", "closed_form")
    assert len(out["digest"]) == 64
