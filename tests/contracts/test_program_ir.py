"""The Program IR as a discriminated union of op types, and the one strict base of the file contracts."""

from __future__ import annotations

import copy
import pickle

import pytest

from contracts.base import HW_SCHEMA_VERSION, PROGRAM_SCHEMA_VERSION, WORKLOAD_SCHEMA_VERSION, Frozen, Strict
from contracts.hardware import load_hw
from contracts.hardware.crossbar_chip import CrossbarChipConfig
from contracts.hardware.pim_mesh import PimMeshConfig
from contracts.program import OP_TYPE, SIZE_FIELDS, Gemm, Program, Send, make_instruction
from contracts.workload import WorkloadGraph

SIZES = {"m": 2, "k": 3, "n": 4, "func": "gelu", "elements": 5, "bytes": 6, "peer": "node[0][1]", "msg": 7,
         "xbars": 8, "rows": 9, "cols": 10, "vectors": 11}


@pytest.mark.parametrize("op", sorted(OP_TYPE))
def test_each_op_takes_exactly_its_sizes(op):
    own = [f for f in OP_TYPE[op].model_fields if f in SIZE_FIELDS]
    ins = make_instruction(id=1, op=op, **{f: SIZES[f] for f in own})
    assert type(ins) is OP_TYPE[op] and ins.op == op
    for f in SIZE_FIELDS:  # every size reads, None where the op has none
        assert getattr(ins, f) == (SIZES[f] if f in own else None)
    other = next(f for f in SIZE_FIELDS if f not in own)
    with pytest.raises(ValueError, match=f"unknown field '{other}'"):
        make_instruction(id=1, op=op, **{f: SIZES[f] for f in own}, **{other: SIZES[other]})
    required = [f for f in own if OP_TYPE[op].model_fields[f].is_required()]
    with pytest.raises(ValueError, match=rf"instruction 1 \({op}\) lacks {', '.join(required)}$"):
        make_instruction(id=1, op=op)


def test_an_unknown_or_missing_op_is_named_as_the_op_field():
    with pytest.raises(ValueError, match="field 'op': Input should be 'GEMM', 'ACU', .* or 'XFER'"):
        make_instruction(id=1, op="NOP")
    with pytest.raises(ValueError, match="field 'op': Field required"):
        make_instruction(id=1)


def test_instructions_copy_and_pickle():
    ins = Send(id=3, peer="node[0][1]", bytes=64, msg=1, deps=[1])
    for twin in (copy.deepcopy(ins), pickle.loads(pickle.dumps(ins)), ins.model_copy()):
        assert twin == ins and twin.m is None
    with pytest.raises(AttributeError):
        Gemm(id=1, m=1, k=1, n=1).no_such_attribute


def test_every_file_contract_derives_from_the_strict_base_and_keeps_its_version():
    for model in (Program, WorkloadGraph, PimMeshConfig, CrossbarChipConfig):
        assert issubclass(model, Strict) and model.model_config["extra"] == "forbid"
    for model in (WorkloadGraph, PimMeshConfig, CrossbarChipConfig):
        assert issubclass(model, Frozen) and model.model_config["frozen"] and not model.model_config["allow_inf_nan"]
    assert (PROGRAM_SCHEMA_VERSION, WORKLOAD_SCHEMA_VERSION, HW_SCHEMA_VERSION) == (1, 1, 1)
    assert load_hw("pim-dram-8x8").schema_version == load_hw("fefet-64").schema_version == HW_SCHEMA_VERSION
