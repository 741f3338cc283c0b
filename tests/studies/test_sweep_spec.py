"""Sweep specs: strict validation with one-sentence errors, point expansion, digest-keyed folders (no Ray)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from contracts.errors import UserError
from studies.sweep.points import ModelInfo, expand
from studies.sweep.spec import load_spec, parse_spec
from repo_paths import REPO_ROOT

REPO = REPO_ROOT
SPECS = os.path.join(REPO, "studies", "specs")
TINY = {"vit-tiny-digits": ModelInfo("vit-tiny-digits", "vision", 8), "deit-s": ModelInfo("deit-s", "vision", 224)}


def base(**block):
    return {"name": "t", "grid": [{"models": ["vit-tiny-digits"], "hw": ["pim-dram-8x8"], **block}]}


@pytest.mark.parametrize("raw, needle", [
    ({"name": "t", "grid": [{"models": ["m"], "hw": ["pim-dram-8x8"], "colour": ["red"]}]}, "unknown field 'colour' in grid.0"),
    (base(img=["8"]), "grid.0.img.0"),
    (base(img=[0]), "positive"),
    (base(batch=[True]), "grid.0.batch.0"),
    ({"name": "t", "grid": [{"models": ["vit-tiny-digits"]}]}, "grid.0.hw"),
    ({"name": "t", "grid": []}, "grid"),
    ({"name": "a b", "grid": [{"models": ["x"], "hw": ["pim-dram-8x8"]}]}, "name"),
    ({"name": "t", "options": {"mode": "fast"}, "grid": [{"models": ["x"], "hw": ["pim-dram-8x8"]}]}, "options.mode"),
    (base(hw=["no-such-hw"]), "unknown hardware config"),
    (base(sets=[["noc.no_such_field=3"]]), "no_such_field"),
    (base(sets=[["noc.flit_bits"]]), "key.path=value"),
    (base(methods=["trex"]), "not a PIM method"),
    (base(reuse=["strided:sl=2,start=5,n=5"]), "crossbar configs only"),
    ({"name": "t", "grid": [{"models": ["deit-s"], "hw": ["fefet-64"], "methods": ["P"]}]}, "not a crossbar method"),
    ([1, 2], "must be a mapping"),
])
def test_bad_spec_is_one_sentence(raw, needle):
    with pytest.raises(UserError) as e:
        parse_spec(raw)
    msg = str(e.value)
    assert needle in msg and "\n" not in msg


def test_malformed_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\ngrid: [\n")
    with pytest.raises(UserError, match="not valid YAML at line"):
        load_spec(str(bad))
    with pytest.raises(UserError, match="does not exist"):
        load_spec(str(tmp_path / "none.yaml"))


def test_cli_bad_spec_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\ngrid:\n  - models: [vit-tiny-digits]\n    hw: [pim-dram-8x8]\n    img: [eight]\n")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "studies", "sweep", str(bad), "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "grid.0.img.0" in lines[0], proc.stderr
    assert not out.exists()


def test_example_specs_are_valid():
    names = sorted(f for f in os.listdir(SPECS) if f.endswith(".yaml"))
    assert {"smoke.yaml", "trex-deit-s.yaml", "allspark-methods.yaml"} <= set(names)
    for name in names:
        spec = load_spec(os.path.join(SPECS, name))
        assert spec.grid


def test_expansion_order_defaults_and_digests():
    spec = parse_spec({
        "name": "t",
        "grid": [
            {"models": ["vit-tiny-digits"], "methods": ["allspark", "B"], "hw": ["pim-dram-8x8"],
             "sets": [["noc.flit_bits=128"], ["noc.flit_bits=128", "dram.t_rcd_cycles=12"]]},
            {"models": ["deit-s"], "hw": ["fefet-64"], "target_delay_ms": [None, 7]},
        ],
    })
    pts = expand(spec, TINY)
    assert [(p.method, p.overrides) for p in pts[:4]] == [
        ("allspark", ("noc.flit_bits=128",)), ("allspark", ("noc.flit_bits=128", "dram.t_rcd_cycles=12")),
        ("B", ("noc.flit_bits=128",)), ("B", ("noc.flit_bits=128", "dram.t_rcd_cycles=12")),
    ]
    assert [p.index for p in pts] == list(range(6))
    assert pts[0].img == 8 and pts[4].img == 224 and pts[4].method == "trex" and pts[5].target_delay_ms == 7.0
    assert pts[4].hw_kind == "crossbar_chip" and pts[0].hw_kind == "pim_mesh"
    digests = [p.digest for p in pts]
    assert len(set(digests)) == 6
    # the overrides change the resolved config, hence the digest; the same inputs give the same folder
    assert pts[0].hw_digest != pts[1].hw_digest
    again = expand(spec, TINY)
    assert [p.folder for p in again] == [p.folder for p in pts]
    assert pts[1].folder.startswith("vit-tiny-digits-8-pim-dram-8x8-allspark-b1-set-noc.flit-bits-128")
    assert pts[1].folder.endswith(pts[1].digest[:10])
    # a different option is a different point
    other = expand(parse_spec({**spec.model_dump(), "options": {"time_limit_s": 5.0}}), TINY)
    assert other[0].digest != pts[0].digest


def test_shared_overrides_apply_to_every_block():
    raw = {"name": "t", "set": ["noc.flit_bits=128"], "grid": [{"models": ["vit-tiny-digits"], "hw": ["pim-dram-8x8"]}]}
    (p,) = expand(parse_spec(raw), TINY)
    assert p.overrides == ("noc.flit_bits=128",)
    raw["grid"].append({"models": ["deit-s"], "hw": ["fefet-64"]})
    with pytest.raises(UserError, match="grid block 2: override noc.flit_bits=128: 'noc' is not a field"):
        parse_spec(raw)


def test_unknown_model_is_one_sentence():
    from studies.sweep.engine import _resolve_models

    with pytest.raises(UserError, match="unknown model 'vit-tinyy-digits'") as e:
        _resolve_models(parse_spec(base(models=["vit-tinyy-digits"])))
    assert "\n" not in str(e.value)
