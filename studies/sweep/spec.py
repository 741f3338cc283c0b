"""Sweep specs: a YAML file naming the axes of a study, validated strictly.

A spec is one or more *grid blocks*; each block is the Cartesian product of
its axes, and the points of the sweep are the blocks' points in order (the
product runs over the axes in the order models, img, batch, methods, hw, sets,
reuse, target_delay_ms, the last axis varying fastest)::

    name: example
    options: {time_limit_s: 20, mode: full, network: worm}
    set: []                      # overrides applied to every point (``--set`` on the command line adds here)
    grid:
      - models: [vit-tiny-digits]
        img: [8]                 # input side in pixels; null = the model's default
        batch: [1]
        methods: [allspark, P]   # PIM: allspark | B | P | AH; crossbar: trex | retransformer | prune:p=0.3 | ws:2
        hw: [pim-dram-8x8]       # hw_configs/<name>.yaml or a path
        sets: [[], [dram.bank_capacity_bytes=1024]]   # one override list per variant
      - models: [deit-s]
        hw: [fefet-64]
        reuse: [null, "strided:sl=2,start=5,n=5"]     # crossbar only: TReX reuse pattern
        target_delay_ms: [null, 7]                    # crossbar only: Algorithm 1 picks N_reuse

A block without ``grid`` is allowed: the axes may sit at the top level for a
one-block spec. Every mistake (unknown key, wrong type, unknown hardware
config, a malformed override, a crossbar-only axis on a PIM config) is one
:class:`~contracts.errors.UserError` sentence. Model names are checked when
the sweep resolves them (that needs the torch model zoo, loaded in a worker).
"""

from __future__ import annotations

import os
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contracts.errors import UserError, describe_validation_error

AXES = ("models", "img", "batch", "methods", "hw", "sets", "reuse", "target_delay_ms")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Options(_Strict):
    """Settings shared by every point (part of each point's digest)."""

    time_limit_s: float = Field(60.0, gt=0, description="CP-SAT time limit per schedule (Allspark)")
    mode: Literal["full", "block-reuse"] = "full"
    network: Literal["worm", "transfer", "flit"] = "worm"


class Grid(_Strict):
    """One grid block: the Cartesian product of its axes."""

    models: list[str] = Field(min_length=1)
    img: list[int | None] = Field(default=[None], min_length=1)
    batch: list[int] = Field(default=[1], min_length=1)
    methods: list[str | None] = Field(default=[None], min_length=1)
    hw: list[str] = Field(min_length=1)
    sets: list[list[str]] = Field(default=[[]], min_length=1)
    reuse: list[str | None] = Field(default=[None], min_length=1)
    target_delay_ms: list[float | None] = Field(default=[None], min_length=1)

    @field_validator("img", "batch")
    @classmethod
    def _positive(cls, v):
        for x in v:
            if x is not None and x < 1:
                raise ValueError(f"must be positive integers, got {x}")
        return v

    @field_validator("target_delay_ms")
    @classmethod
    def _positive_delay(cls, v):
        for x in v:
            if x is not None and not x > 0:
                raise ValueError(f"must be positive, got {x:g}")
        return v

    @field_validator("sets")
    @classmethod
    def _overrides(cls, v):
        for lst in v:
            for s in lst:
                if "=" not in s:
                    raise ValueError(f"override {s!r} is not of the form key.path=value")
        return v


class SweepSpec(_Strict):
    """A whole sweep: a name, shared options and overrides, and the grid blocks."""

    name: str = Field(min_length=1)
    description: str = ""
    options: Options = Options()
    set: list[str] = []
    grid: list[Grid] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        if not all(c.isalnum() or c in "-_." for c in v):
            raise ValueError("may hold only letters, digits, '-', '_' and '.'")
        return v


def parse_spec(raw: Any, where: str = "sweep spec") -> SweepSpec:
    """Validate a parsed YAML/dict spec; one sentence naming the first problem otherwise."""
    if not isinstance(raw, dict):
        raise UserError(f"{where} must be a mapping with 'name' and 'grid', got {type(raw).__name__}")
    if "grid" not in raw and any(k in raw for k in AXES):
        block = {k: raw[k] for k in AXES if k in raw}
        raw = {k: v for k, v in raw.items() if k not in AXES}
        raw["grid"] = [block]
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as e:
        raise UserError(f"{where}: {describe_validation_error(e)}") from None
    _check_semantics(spec, where)
    return spec


def load_spec(path: str) -> SweepSpec:
    """Read and validate a spec file."""
    if not os.path.isfile(path):
        raise UserError(f"sweep spec {path!r} does not exist")
    try:
        with open(path) as f:
            raw = yaml.safe_load(f)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"sweep spec {path!r} is not valid YAML{at}") from None
    except UnicodeDecodeError:
        raise UserError(f"sweep spec {path!r} is not a text file") from None
    return parse_spec(raw, f"sweep spec {path!r}")


def hw_kind(name: str, where: str, overrides: list[str] | None = None) -> str:
    from contracts.hardware.loader import load_hw

    try:
        return load_hw(name, overrides).kind
    except UserError as e:
        raise UserError(f"{where}: {e}") from None


def _check_semantics(spec: SweepSpec, where: str) -> None:
    from scheduler.families import scheduler_family

    for i, block in enumerate(spec.grid):
        at = f"{where}, grid block {i + 1}"
        for hw in block.hw:
            for sets in block.sets:
                kind = hw_kind(hw, at, list(spec.set) + list(sets))  # unknown config / bad override
            sf = scheduler_family(kind)
            bad = [m for m in block.methods if m is not None and not sf.has_method(m)]
            if bad:
                raise UserError(f"{at}: method {bad[0]!r} is not a {sf.title} method (use {sf.methods_hint}) "
                                f"for hardware '{hw}'")
            if not sf.plans_reuse and (any(r is not None for r in block.reuse)
                                       or any(t is not None for t in block.target_delay_ms)):
                raise UserError(f"{at}: 'reuse' and 'target_delay_ms' apply to crossbar configs only, "
                                f"but '{hw}' is a {sf.noun} (put them in a block of their own)")
