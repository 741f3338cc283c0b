"""Errors name the real cause (issue 13): overrides are blamed as overrides, an unknown YAML key comes
first with a suggestion, and the pipeline refuses a bad BATCH / IMG / METHOD / SET / REUSE before tracing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from contracts.errors import UserError
from contracts.hardware import load_hw
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
SRC = os.path.join(REPO, "hw_configs", "pim-dram-8x8.yaml")


def _err(name, overrides=None) -> str:
    with pytest.raises(UserError) as e:
        load_hw(name, overrides)
    return str(e.value)


def test_bad_override_value_is_blamed_on_the_override_not_the_yaml():
    msg = _err("pim-dram-8x8", ["noc.flit_bits=abc"])
    assert msg.startswith("override noc.flit_bits=abc: "), msg
    assert "yaml" not in msg and "valid integer" in msg


def test_override_that_breaks_a_cross_field_rule_names_the_override():
    msg = _err("fefet-64", ["layer_device.default=nosuch"])
    assert msg.startswith("override layer_device.default=nosuch: ") and "nosuch" in msg


def test_misspelt_override_key_suggests_the_field():
    assert _err("pim-dram-8x8", ["noc.flit_bitz=3"]) == \
        "override noc.flit_bitz=3: 'flit_bitz' is not a field of noc; did you mean 'flit_bits'?"


def test_override_may_set_a_schema_field_the_file_leaves_out(tmp_path):
    text = open(SRC).read().replace("  ni_latency_cycles: 1", "")
    path = tmp_path / "no-ni.yaml"
    path.write_text(text)
    assert load_hw(str(path), ["noc.ni_latency_cycles=3"]).noc.ni_latency_cycles == 3


def test_unknown_yaml_key_is_reported_first_with_a_suggestion(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(open(SRC).read().replace("flit_bits:", "flit_bitz:"))
    msg = _err(str(path))
    assert "unknown field 'flit_bitz' in noc; did you mean 'flit_bits'?" in msg, msg
    assert "more problem" not in msg  # the missing flit_bits is the same problem


def test_unknown_key_without_a_close_name_lists_the_allowed_ones(tmp_path):
    path = tmp_path / "extra.yaml"
    path.write_text(open(SRC).read().replace("  routing: xy", "  routing: xy\n  zzzzzz: 1"))
    msg = _err(str(path))
    assert "unknown field 'zzzzzz' in noc (allowed: buffer_depth_flits," in msg, msg


def _pipeline(tmp_path, *extra):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "pipeline", "sim", "--model", "vit-tiny-digits", "--img", "8",
                           "--hw", "pim-dram-8x8", "--out", str(out), *extra],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    return proc, out


@pytest.mark.parametrize("extra, needle", [
    (("--batch", "0"), "--batch (BATCH) must be at least 1"),
    (("--img", "abc"), "--img (IMG) must be a whole number"),
    (("--method", "Q"), "unknown method 'Q'"),
    (("--set", "noc.flit_bits=abc"), "override noc.flit_bits=abc"),
    (("--reuse", "zigzag:n=2"), "unknown family 'zigzag'"),
])
def test_pipeline_checks_every_argument_before_tracing(tmp_path, extra, needle):
    proc, out = _pipeline(tmp_path, *extra)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr, proc.stderr
    assert "[trace]" not in proc.stdout  # refused before the tracer started
    assert not out.exists()  # and nothing was written
