"""The scheduler side of the hardware families: which package schedules which hardware ``kind``.

``pim_mesh`` -> :mod:`scheduler.allspark` (Allspark partition, CP-SAT schedule,
layout, placement and the B / P / AH baselines); ``crossbar_chip`` ->
:mod:`scheduler.crossbar` (TReX mapping, Algorithm 1 and the TReX-paper
baselines). The packages keep the names of the methods they implement; this
registry maps the hardware kind to each one's ``solve`` and ``check_method``
(in its ``cli`` module), so ``python -m scheduler`` never branches on ``kind``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from contracts.errors import UserError


@dataclass(frozen=True)
class SchedulerFamily:
    kind: str
    package: str  # its cli module has solve(args, hw) and check_method(method)

    def cli(self):
        return importlib.import_module(f"{self.package}.cli")


FAMILIES = {f.kind: f for f in (SchedulerFamily("pim_mesh", "scheduler.allspark"),
                                SchedulerFamily("crossbar_chip", "scheduler.crossbar"))}


def scheduler_family(kind: str) -> SchedulerFamily:
    fam = FAMILIES.get(kind)
    if fam is None:
        raise UserError(f"no scheduler for hardware kind {kind!r} ({' or '.join(FAMILIES)})")
    return fam
