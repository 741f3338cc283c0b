"""CP-SAT model of Allspark Section VI, formulated to scale: temporal layers are counted, not indexed.

The paper's ILP has one binary X_{s,i,j,alpha,beta} per (branch count, temporal
layer, partition): sum_s |U_s| |V_s| N^br_s (2 N^br_s + 1) binaries, which stalls
beyond 224 x 224 inputs. The layers of one block are interchangeable (a layer's
time depends only on its partition, Eq. 18-20), so we count them instead:

* ``n[k,c]`` integer: temporal layers of block kind k that use candidate c,
  at most ceil(N^br / N_{alpha,beta});
* constraints 1-2 become ``sum_c N_{alpha,beta} n >= N^br`` and ``sum_c n <= N^br``
  (room for every branch, at least one branch per layer): the branch counts per
  layer are then filled greedily (constraint 3 holds by construction, one
  partition per layer);
* ``used[k,c]`` boolean ``<=> n > 0``; Term 1 of Eq. 11 (``resident[k]``) is the
  [1,1] candidate being used; constraint 4's decreasing order is the canonical
  expansion of the counts (problem.canonical_layers).
* constraint 5: ``sum_k W_k + max_k V^dyn_k + fixed <= node_cap`` with
  ``W_k >= resident * all weights`` and ``W_k >= sum_c used * w_c - M resident``
  (Eq. 11-16: reuse = one chunk per distinct partition) and
  ``V^dyn_k >= sum_c n * (p q N_bt) + used_c * peak_c`` (Eq. 7-10).
* objective Eq. 17: ``sum n * (N_bk (T^c + T^t) N_bt + transition)`` plus the
  weight-sharing part, dropped when the kind's weights are resident.

Determinism: one worker, fixed random seed, linearization level 2; the DP
optimum (memory-blind) is given as a hint. Solver wall time is reported, never
used.
"""

from __future__ import annotations

import logging
import time

from ortools.sat.python import cp_model

from contracts.errors import UserError

from scheduler.allspark.dp import dp_schedule
from scheduler.allspark.problem import KindSchedule, Problem, Schedule, canonical_layers, evaluate

log = logging.getLogger(__name__)

SEED = 20240601  # fixed CP-SAT random seed (determinism)


def _mib(b: float) -> str:
    return f"{b / 2**20:.2f} MiB"


class _Model:
    """Variables and constraints shared by the latency model and the minimum-memory model."""

    def __init__(self, problem: Problem, capacity: int | None):
        self.p = problem
        m = self.m = cp_model.CpModel()
        self.n, self.used, self.resident = [], [], []
        self.weights, self.workspace, self.time_terms = [], [], []
        big_w = sum(max([c.weight_bytes for c in kp.candidates] + [kp.full_weight_bytes]) * max(1, len(kp.candidates))
                    for kp in problem.kinds) + 1
        ws_cap = 0
        for ki, kp in enumerate(problem.kinds):
            nbr = kp.kind.branches
            if not kp.candidates:
                raise UserError(f"block kind {kp.kind.key} of stage {kp.kind.stage} has no partition that fits the "
                                f"{problem.hw.mesh.rows}x{problem.hw.mesh.cols} node array")
            ns, us = [], []
            for ci, c in enumerate(kp.candidates):
                ub = -(-nbr // c.cap)  # more layers of one partition than it needs alone only add time
                n = m.NewIntVar(0, ub, f"n_{ki}_{ci}")
                u = m.NewBoolVar(f"used_{ki}_{ci}")
                m.Add(n <= ub * u)
                m.Add(n >= u)
                ns.append(n)
                us.append(u)
            m.Add(sum(c.cap * n for c, n in zip(kp.candidates, ns)) >= nbr)  # constraints 1-2: room for all
            m.Add(sum(ns) <= nbr)  # every layer carries at least one branch
            res = m.NewBoolVar(f"resident_{ki}")
            res_idx = [ci for ci, c in enumerate(kp.candidates) if c.resident_capable]
            if res_idx:
                m.Add(res == us[res_idx[0]])
            else:
                m.Add(res == 0)
            w = m.NewIntVar(0, big_w, f"W_{ki}")
            m.Add(w >= kp.full_weight_bytes * res)
            m.Add(w >= sum(c.weight_bytes * u for c, u in zip(kp.candidates, us)) - big_w * res)
            max_ws = sum(c.feature_bytes for c in kp.candidates) * nbr + max(c.peak_bytes for c in kp.candidates)
            ws_cap = max(ws_cap, max_ws)
            ws = m.NewIntVar(0, max_ws, f"Vdyn_{ki}")
            vf = sum(c.feature_bytes * n for c, n in zip(kp.candidates, ns))
            for c, u in zip(kp.candidates, us):
                m.Add(ws >= vf + c.peak_bytes * u)
            # time: non-sharing part always, sharing part unless resident
            count = kp.kind.count
            base = sum(n * (count * c.block.total_without_sharing + c.trans.total_without_sharing)
                       for c, n in zip(kp.candidates, ns))
            share_coefs = [count * c.block.weight_share + c.trans.weight_share for c in kp.candidates]
            share_ub = sum(share_coefs) * nbr
            share = m.NewIntVar(0, max(0, share_ub), f"Tws_{ki}")
            if share_ub:
                m.Add(share >= sum(k * n for k, n in zip(share_coefs, ns)) - share_ub * res)
            self.time_terms.append(base + share)
            self.n.append(ns)
            self.used.append(us)
            self.resident.append(res)
            self.weights.append(w)
            self.workspace.append(ws)
        self.ws_max = m.NewIntVar(0, ws_cap, "Vdyn_max")
        for ws in self.workspace:
            m.Add(self.ws_max >= ws)
        self.memory = sum(self.weights) + self.ws_max + problem.fixed_weight_bytes
        if capacity is not None:
            m.Add(self.memory <= capacity)
        m.Minimize(sum(self.time_terms))  # Eq. 17; minimum_memory() replaces it

    def hint(self, sched: Schedule) -> None:
        for ki, (kp, ks) in enumerate(zip(self.p.kinds, sched.kinds)):
            counts: dict = {}
            for part, _ in ks.layers:
                counts[part] = counts.get(part, 0) + 1
            for ci, c in enumerate(kp.candidates):
                n = counts.get(c.part, 0)
                self.m.AddHint(self.n[ki][ci], n)
                self.m.AddHint(self.used[ki][ci], 1 if n else 0)

    def solve(self, time_limit: float) -> tuple[cp_model.CpSolver, int, float]:
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1  # deterministic
        solver.parameters.random_seed = SEED
        # the full LP relaxation (cuts on the cover and big-M rows) is what proves optimality quickly on one
        # worker: measured on Swin-B 640, level 1 stalls at a 19 % gap after 60 s, level 2 closes it in 0.3 s
        solver.parameters.linearization_level = 2
        solver.parameters.max_time_in_seconds = time_limit
        t0 = time.perf_counter()
        status = solver.Solve(self.m)
        return solver, status, time.perf_counter() - t0

    def extract(self, solver: cp_model.CpSolver, method: str) -> Schedule:
        kinds = []
        for ki, kp in enumerate(self.p.kinds):
            counts, caps = {}, {}
            for ci, c in enumerate(kp.candidates):
                n = solver.Value(self.n[ki][ci])
                if n:
                    counts[c.part] = n
                    caps[c.part] = c.cap
            layers = canonical_layers(counts, caps, kp.kind.branches)
            kinds.append(KindSchedule(layers, bool(solver.Value(self.resident[ki]))))
        return Schedule(method, kinds)


def _status_name(solver: cp_model.CpSolver, status: int) -> str:
    return solver.StatusName(status)


def solve_schedule(problem: Problem, time_limit: float = 60.0) -> Schedule:
    """Minimum-latency schedule under the memory constraint; UserError when none exists."""
    model = _Model(problem, problem.capacity_bytes)
    hint = dp_schedule(problem)
    model.hint(hint)
    solver, status, wall = model.solve(time_limit)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if status == cp_model.INFEASIBLE:
            raise UserError(infeasible_message(problem, time_limit))
        raise UserError(f"CP-SAT found no schedule within {time_limit:g} s (status {_status_name(solver, status)}); "
                        f"raise --time-limit")
    sched = model.extract(solver, problem.method)
    obj, bound = solver.ObjectiveValue(), solver.BestObjectiveBound()
    sched.solver = {
        "status": _status_name(solver, status), "objective": obj, "best_bound": bound,
        "gap": abs(obj - bound) / max(1.0, abs(obj)), "wall_s": wall,
    }
    ev = evaluate(problem, sched)
    if ev.cycles != round(obj):  # the tables the solver saw must give back its objective
        raise AssertionError(f"schedule evaluates to {ev.cycles} cycles, CP-SAT objective {obj}")
    log.info("CP-SAT %s: objective %d cycles, bound %d, %.3f s", sched.solver["status"], obj, bound, wall)
    return sched


def minimum_memory(problem: Problem, time_limit: float = 30.0) -> tuple[int, Schedule | None]:
    """The smallest per-node memory any schedule of this method needs (CP-SAT, memory as objective)."""
    model = _Model(problem, None)
    model.m.Minimize(model.memory)
    solver, status, _ = model.solve(time_limit)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return -1, None
    return round(solver.ObjectiveValue()), model.extract(solver, problem.method)


def infeasible_message(problem: Problem, time_limit: float = 30.0) -> str:
    need, sched = minimum_memory(problem, time_limit)
    cap = problem.capacity_bytes
    if sched is None:
        return f"no {problem.method} schedule exists and its minimum memory could not be found; each node has {_mib(cap)}"
    ev = evaluate(problem, sched)
    worst = max(range(len(problem.kinds)), key=lambda i: (ev.weights[i] + ev.workspace[i], -i))
    kp = problem.kinds[worst]
    return (f"no {problem.method} schedule fits in the node memory: the smallest one needs {_mib(need)} per node, "
            f"the largest part of it for stage {kp.kind.stage} ({_mib(ev.weights[worst])} of weights for its "
            f"{kp.kind.count} blocks + {_mib(ev.workspace[worst])} workspace), but each node has {_mib(cap)}")
