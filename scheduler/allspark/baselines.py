"""The baselines of Allspark Section VIII-A, solved by the same model under the same memory constraint.

* ``B`` -- branch level: every branch on one node ([1,1]);
* ``P`` -- patch level only ([u,1]: the tokens of a branch over u nodes, TransPIM-style);
* ``AH`` -- attention-head level only ([1,v]: the heads of a branch over v nodes, ViTCoD/DOTA-style).

They differ from Allspark only in their candidate partitions
(:func:`problem.partitions_for`); the CP-SAT model, costs, layout and lowering
are shared, so a speed-up is a difference of partitioning and nothing else.
With one node per branch the weights of B (and of AH with few heads) do not
fit in a node: they may share weights among ``share`` nodes of different
branches (vertical runs of a column, or snakes over whole columns for B),
paying the sharing time. When a baseline still cannot fit (P keeps a whole
FFN weight slice per node, Eq. 10), :func:`solve_method` says so in one
sentence; ``memory_blind`` gives the latency it would have with the memory
constraint lifted, for comparison tables.
"""

from __future__ import annotations

from contracts.errors import UserError

from scheduler.allspark.cpsat import solve_schedule
from scheduler.allspark.dp import dp_schedule
from scheduler.allspark.problem import METHODS, Problem, Schedule, build_problem

def check_method(method: str) -> str:
    if method not in METHODS:
        raise UserError(f"unknown method '{method}' for a PIM mesh; choose one of {', '.join(METHODS)}")
    return method


def solve_method(wl, hw, method: str, batch: int = 1, time_limit: float = 60.0) -> tuple[Problem, Schedule]:
    problem = build_problem(wl, hw, check_method(method), batch)
    return problem, solve_schedule(problem, time_limit)


def memory_blind(problem: Problem) -> Schedule:
    """The method's fastest schedule with constraint (5) lifted (exact DP): for comparisons only."""
    return dp_schedule(problem)
