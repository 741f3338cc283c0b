"""The file contracts between stages: Program IR validation, hardware config loading, atomic writes."""

from __future__ import annotations

import json
import os

import pytest

from contracts.atomic import write_json, write_text
from contracts.errors import UserError
from contracts.hardware import load_hw
from contracts.program import (Acu, Gemm, Program, Provenance, Recv, Segment, Send, SolverInfo, Stream, load_program,
                               make_instruction, validate_program)


def _prog(streams: list[Stream]) -> Program:
    return Program(
        kind="pim_mesh",
        provenance=Provenance(
            workload_model="toy", workload_digest="0", hw_name="pim-dram-16x16", hw_digest="0", method="allspark",
            solver=SolverInfo(status="OPTIMAL"),
        ),
        macs_expected=0,
        segments=[Segment(name="s", streams=streams)],
    )


def _send_recv(bytes_recv: int = 64) -> list[Stream]:
    return [
        Stream(unit="node[0][0].ni", instructions=[Send(id=1, peer="node[0][1]", bytes=64, msg=7)]),
        Stream(unit="node[0][1].ni", instructions=[Recv(id=2, peer="node[0][0]", bytes=bytes_recv, msg=7)]),
    ]


def test_valid_program_passes_and_roundtrips(tmp_path):
    prog = _prog(_send_recv())
    hw = load_hw("pim-dram-16x16")
    validate_program(prog, hw.unit_names())
    path = tmp_path / "p.json"
    path.write_text(json.dumps(prog.model_dump(mode="json")))
    assert load_program(str(path), hw.unit_names()) == prog


@pytest.mark.parametrize(
    "streams, fragment",
    [
        (_send_recv(bytes_recv=32), "sends 64 bytes but receives 32"),
        (_send_recv()[:1], "has no matching RECV"),
        ([Stream(unit="node[0][0].pe", instructions=[Gemm(id=1, m=1, k=1, n=1, deps=[9])])], "unknown id 9"),
        (
            [Stream(unit="node[0][0].pe", instructions=[Gemm(id=1, m=1, k=1, n=1, deps=[2]),
                                                         Gemm(id=2, m=1, k=1, n=1)])],
            "cycle",
        ),
        (
            [Stream(unit="node[0][0].pe", instructions=[Gemm(id=1, m=1, k=1, n=1)]),
             Stream(unit="node[0][0].acu", instructions=[Acu(id=1, func="gelu", elements=4)])],
            "id 1 is used twice",
        ),
        ([Stream(unit="node[99][0].pe", instructions=[Gemm(id=1, m=1, k=1, n=1)])], "does not exist in the hardware config"),
        ([Stream(unit="node[0][0].pe", instructions=[Send(id=1, peer="node[0][1]", bytes=1, msg=1)])], "must be on a node's .ni unit"),
    ],
)
def test_invalid_programs_name_the_offence(streams, fragment):
    with pytest.raises(UserError, match=fragment):
        validate_program(_prog(streams), load_hw("pim-dram-16x16").unit_names())


def test_instruction_without_its_sizes_is_rejected():
    with pytest.raises(ValueError, match="lacks k, n"):
        make_instruction(id=1, op="GEMM", m=4)


def test_corrupt_program_file_is_one_sentence(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        load_program(str(bad))
    bad.write_text(json.dumps({"schema_version": 1, "kind": "pim_mesh"}))
    with pytest.raises(UserError, match="malformed: field 'provenance'"):
        load_program(str(bad))


def test_hw_loader_rejects_duplicate_keys_and_bad_overrides(tmp_path):
    src = open(os.path.join("hw_configs", "pim-dram-16x16.yaml")).read()
    dup = tmp_path / "dup.yaml"
    dup.write_text(src + "\nclock_hz: 1.0e+9\n")
    with pytest.raises(UserError, match="duplicate key 'clock_hz'"):
        load_hw(str(dup))
    with pytest.raises(UserError, match="'nosuch' is not a field"):
        load_hw("pim-dram-16x16", ["noc.nosuch=3"])
    with pytest.raises(UserError, match="override mesh.rows=-1: Input should be greater"):
        load_hw("pim-dram-16x16", ["mesh.rows=-1"])
    with pytest.raises(UserError, match="did you mean pim-dram-16x16"):
        load_hw("pim-dram-16x61")


def test_override_applies_before_validation():
    hw = load_hw("pim-dram-16x16", ["noc.flit_bits=128", "mesh.rows=4"])
    assert hw.noc.flit_bits == 128 and hw.mesh.rows == 4


def test_atomic_write_never_leaves_partial_files(tmp_path):
    target = tmp_path / "r.json"
    write_json(str(target), {"b": 1, "a": 2})
    assert target.read_text() == '{\n "a": 2,\n "b": 1\n}\n'

    class Boom:
        def __str__(self):
            raise RuntimeError("boom")

    with pytest.raises(TypeError):
        write_json(str(target), {"x": Boom()})
    assert json.loads(target.read_text()) == {"a": 2, "b": 1}  # the earlier result is intact
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary left behind
    write_text(str(target), "x")
    assert target.read_text() == "x"
