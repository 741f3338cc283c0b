"""``python -m scheduler solve`` for PIM meshes: workload + config -> program.json and a summary.

Prints the solver status / objective / bound / gap / wall time, Table IV
(temporal layers and partitions), Table V (memory per node) and the node
utilisation of Eq. 21; ``--summary`` adds the per-layer cost breakdown. The
same tables are stored in ``Program.notes``.
"""

from __future__ import annotations

import logging

from contracts.errors import UserError
from contracts.hardware import hw_digest
from contracts.program import validate_program, write_program
from contracts.workload import load_workload

from scheduler.allspark import summary as summ
from scheduler.allspark.baselines import solve_method
from scheduler.allspark.lower import lower_program

log = logging.getLogger(__name__)


def solve(args, hw) -> None:
    if args.batch < 1:
        raise UserError(f"--batch must be at least 1, got {args.batch}")
    wl = load_workload(args.workload)
    problem, sched = solve_method(wl, hw, args.method, args.batch, args.time_limit)
    program, placements = lower_program(wl, problem, sched, hw.name, hw_digest(hw))
    expected = wl.total_macs * args.batch
    if program.macs_expected != expected:
        raise UserError(f"the {args.method} program covers {program.macs_expected} MACs but the workload has "
                        f"{expected}; an op of the workload is not lowered")
    validate_program(program, hw.unit_names())
    text = summ.summary_text(problem, sched, placements, detail=args.summary)
    stored = summ.summary_text(problem, sched, placements, detail=args.summary, include_wall=False)
    program.notes.update({"schedule_summary": stored, "table_iv": summ.table_iv(problem, sched),
                          "table_v": summ.table_v(problem, sched)})
    write_program(args.out, program)
    print(text)
    print(f"program: {args.out} ({program.instruction_count()} instructions, "
          f"{program.instruction_count(expanded=True)} expanded; predicted {program.predicted_cycles} cycles = "
          f"{program.predicted_cycles / hw.clock_hz * 1e3:.3f} ms)")
