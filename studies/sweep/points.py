"""Expand a validated spec into points; name each point's folder by its resolved inputs.

A point's *inputs* are everything its result depends on: model (canonical
name), input size (the model's default filled in), batch, method (the kind's
default filled in), hardware config name and the sha256 of the resolved config
after every override (so editing a YAML constant re-runs the points it
touches), the override list itself, the reuse pattern or Algorithm 1 target,
and the shared options. The folder is ``<readable name>-<digest[:10]>``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import asdict, dataclass, field

from studies.sweep.spec import SweepSpec

DIGEST_CHARS = 10
NAME_CHARS = 80


@dataclass(frozen=True)
class ModelInfo:
    """What the model zoo says about a model name (resolved in a worker, where torch is)."""

    name: str
    kind: str  # vision | nlp
    default_img: int | None


@dataclass(frozen=True)
class Point:
    """One fully resolved point of a sweep."""

    index: int  # position in spec order (0-based)
    model: str
    img: int | None  # None for sequence models
    batch: int
    method: str
    hw: str
    hw_kind: str
    hw_digest: str
    overrides: tuple[str, ...] = ()
    reuse: str | None = None
    target_delay_ms: float | None = None
    time_limit_s: float = 60.0
    mode: str = "full"
    network: str = "worm"
    digest: str = field(default="", compare=False)

    def inputs(self) -> dict:
        """The resolved inputs the digest covers (everything but the index and the digest)."""
        d = asdict(self)
        d.pop("index")
        d.pop("digest")
        d["overrides"] = list(self.overrides)
        return d

    @property
    def name(self) -> str:
        hw = re.sub(r"\.ya?ml$", "", self.hw.rsplit("/", 1)[-1])
        parts = [self.model, str(self.img) if self.img else "seq", hw, self.method, f"b{self.batch}"]
        if self.target_delay_ms is not None:
            parts.append(f"td{self.target_delay_ms:g}ms")
        if self.reuse:
            parts.append("reuse-" + self.reuse)
        if self.overrides:
            parts.append("set-" + "-".join(self.overrides))
        text = re.sub(r"[^A-Za-z0-9.]+", "-", "-".join(parts)).strip("-")
        return text[:NAME_CHARS].rstrip("-.")

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.digest[:DIGEST_CHARS]}"


def inputs_digest(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def expand(spec: SweepSpec, models: dict[str, ModelInfo]) -> list[Point]:
    """Every point of the spec in spec order; ``models`` maps each spec model name to its zoo entry."""
    from contracts.hardware.loader import hw_digest, load_hw
    from simulator.families import family

    points: list[Point] = []
    hw_cache: dict[tuple, tuple[str, str]] = {}
    for block in spec.grid:
        for model, img, batch, method, hw, sets, reuse, td in itertools.product(
            block.models, block.img, block.batch, block.methods, block.hw, block.sets, block.reuse,
            block.target_delay_ms,
        ):
            info = models[model]
            overrides = tuple(spec.set) + tuple(sets)
            key = (hw, overrides)
            if key not in hw_cache:
                cfg = load_hw(hw, list(overrides))
                hw_cache[key] = (cfg.kind, hw_digest(cfg))
            kind, digest = hw_cache[key]
            if method is None:
                method = family(kind).default_method
            p = Point(
                index=len(points), model=info.name,
                img=None if info.kind == "nlp" else (img or info.default_img),
                batch=batch, method=method, hw=hw, hw_kind=kind, hw_digest=digest, overrides=overrides,
                reuse=reuse, target_delay_ms=td, time_limit_s=spec.options.time_limit_s,
                mode=spec.options.mode, network=spec.options.network,
            )
            points.append(_with_digest(p))
    return points


def _with_digest(p: Point) -> Point:
    from dataclasses import replace

    return replace(p, digest=inputs_digest(p.inputs()))


def point_from_inputs(index: int, inputs: dict) -> Point:
    d = dict(inputs)
    d["overrides"] = tuple(d.get("overrides", ()))
    return _with_digest(Point(index=index, **d))
