"""Hardware families: one sub-package per hardware ``kind``, registered once, looked up by kind.

A family bundles what the simulator needs to run and report one kind of
hardware: its schema (in :mod:`contracts.hardware`, which the scheduler reads
too), its cost model, its unit models for the generic executor
(``<family>/units.py``: the only family module that imports SimPy), the result
builder and result schema, and the report. It also states the two facts the
pipeline needs (``python -m simulator hw`` reports them): the scheduling method
of a run unless one is given, and how ``TARGET_DELAY_MS`` picks the number of
reusing encoders (``closed_form``: TReX Algorithm 1, ``python -m scheduler
trex-plan``; ``simulated``: a bisection over simulated latencies). The runner,
the CLIs, the pipeline and the studies look a family up with :func:`family`
instead of branching on ``kind``.

Each family registers itself from its package ``__init__`` with
:func:`register_family`; the heavy modules (SimPy, matplotlib) are named by
dotted path and imported only when a run or a report needs them, so
``import simulator`` stays cheap.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from contracts.errors import UserError

__all__ = ["Family", "family", "known_kinds", "register_family"]


@dataclass(frozen=True)
class Family:
    """One hardware family; every callable is named as ``"module:attribute"`` and loaded on first use."""

    kind: str
    description: str
    hw_schema: type  # its config class in contracts.hardware
    default_method: str  # the scheduling method of a run unless --method / METHOD names one
    reuse_plan: str  # how TARGET_DELAY_MS picks N_reuse: "closed_form" or "simulated"
    simulate: str  # (program, hw, *, mode, network_mode, trace, program_digest, trace_units) -> (result, meta, events)
    result_model: str  # the pydantic model result.json of this kind validates against
    render: str  # (result, out_dir) -> None: report.md and plots
    units_rows: str  # (result) -> rows of units.csv

    def load(self, what: str):
        module, _, attr = getattr(self, what).partition(":")
        return getattr(importlib.import_module(module), attr)

    def describe(self) -> dict[str, str]:
        """The family's facts ``python -m simulator hw`` prints beside the config's name and digest."""
        return {"kind": self.kind, "default_method": self.default_method, "reuse_plan": self.reuse_plan}


_FAMILIES: dict[str, Family] = {}


def register_family(fam: Family) -> Family:
    if fam.kind in _FAMILIES:
        raise ValueError(f"hardware family '{fam.kind}' is registered twice")
    _FAMILIES[fam.kind] = fam
    return fam


def known_kinds() -> list[str]:
    return sorted(_FAMILIES)


def family(kind, what: str = "hardware") -> Family:
    """The family registered for ``kind``; one sentence naming the known kinds otherwise."""
    fam = _FAMILIES.get(kind) if isinstance(kind, str) else None
    if fam is None:
        raise UserError(f"{what} has unknown kind {kind!r} ({' or '.join(_FAMILIES)})")
    return fam


# The built-in families register here, PIM first, whichever module of theirs is imported first (importing
# simulator.families.crossbar_chip.costmodel runs this file to its end before the crossbar package), so the
# registration order, and the order messages name the kinds in, does not depend on import history.
from simulator.families import pim_mesh  # noqa: E402,F401,I001
from simulator.families import crossbar_chip  # noqa: E402,F401
