"""The scheduler side of the hardware families: which package schedules which hardware ``kind``.

``pim_mesh`` -> :mod:`scheduler.allspark` (Allspark partition, CP-SAT schedule,
layout, placement and the B / P / AH baselines); ``crossbar_chip`` ->
:mod:`scheduler.crossbar` (TReX mapping, Algorithm 1 and the TReX-paper
baselines). The packages keep the names of the methods they implement; this
registry maps the hardware kind to each one's ``solve`` (and, for a package
with a closed-form reuse planner, ``trex_plan``) in its ``cli`` module, to a
method check that loads neither OR-Tools nor a workload, and to the words
messages use for the family, so ``python -m scheduler`` and the studies never
branch on ``kind``. A family's default method is the simulator family's
(:mod:`simulator.families`): it is written once.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from contracts.errors import UserError
from simulator.families import family


def _check_allspark(method: str) -> None:
    """One sentence if ``method`` is not a PIM-mesh scheduling method."""
    from scheduler.allspark.problem import METHODS

    if method not in METHODS:
        raise UserError(f"unknown method '{method}' for a PIM mesh; choose one of {', '.join(METHODS)}")


def _check_crossbar(method: str) -> None:
    """One sentence if ``method`` is not a crossbar-chip method (see :func:`scheduler.crossbar.baselines.parse_method`)."""
    from scheduler.crossbar.baselines import parse_method

    parse_method(method)


@dataclass(frozen=True)
class SchedulerFamily:
    kind: str
    package: str  # its cli module has solve(args, hw), and trex_plan(args, hw) where plans_reuse
    check_method: Callable[[str], None]  # one sentence (UserError) if the method is not the family's
    method_names: tuple[str, ...]  # method names (before any ':parameters' where parametrised)
    parametrised: bool  # methods may carry ':parameters' (prune:p=0.3, ws:2)
    methods_hint: str  # how messages list the methods
    title: str  # how messages name the methods: "a PIM method"
    noun: str  # how messages name a config of the family: "a PIM mesh"
    plans_reuse: bool  # has a closed-form reuse planner (TReX Algorithm 1, ``trex-plan``)

    def cli(self):
        return importlib.import_module(f"{self.package}.cli")

    @property
    def default_method(self) -> str:
        return family(self.kind).default_method

    def has_method(self, method: str) -> bool:
        """Whether ``method`` names one of the family's methods (parameters are checked by ``check_method``)."""
        return (method.partition(":")[0] if self.parametrised else method) in self.method_names

    def trex_plan(self, args, hw) -> None:
        if not self.plans_reuse:
            raise UserError(f"trex-plan needs a crossbar_chip config, '{args.hw}' is a {hw.kind}")
        self.cli().trex_plan(args, hw)


FAMILIES = {f.kind: f for f in (
    SchedulerFamily("pim_mesh", "scheduler.allspark", _check_allspark, method_names=("allspark", "B", "P", "AH"),
                    parametrised=False, methods_hint="allspark, B, P, AH", title="PIM", noun="PIM mesh",
                    plans_reuse=False),
    SchedulerFamily("crossbar_chip", "scheduler.crossbar", _check_crossbar,
                    method_names=("trex", "retransformer", "prune", "ws"), parametrised=True,
                    methods_hint="trex, retransformer, prune:p=0.3 or ws:2", title="crossbar", noun="crossbar chip",
                    plans_reuse=True),
)}


def scheduler_family(kind: str) -> SchedulerFamily:
    fam = FAMILIES.get(kind)
    if fam is None:
        raise UserError(f"no scheduler for hardware kind {kind!r} ({' or '.join(FAMILIES)})")
    return fam
