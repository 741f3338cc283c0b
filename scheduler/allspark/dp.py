"""Exact dynamic program over branch counts, memory-blind: CP-SAT's hint and a cross-check.

Per block kind, ``f(b)`` = least cycles to run ``b`` branches in temporal
layers: ``f(0) = 0``, ``f(b) = min_c T_c + f(max(0, b - N_c))`` (a layer of
candidate c carries up to N_{alpha,beta} branches and costs T_c whatever it
carries, Eq. 18-20). Term 1 of Eq. 11 is the second branch of the recursion: a
[1,1] layer makes the kind's weights resident, so every layer then costs its
time without weight sharing.

Ignoring constraint (5) makes this a relaxation: its optimum is a lower bound
of the CP-SAT optimum and equals it whenever the DP schedule fits the node
memory, which a test checks.
"""

from __future__ import annotations

from scheduler.allspark.problem import KindProblem, KindSchedule, Problem, Schedule, canonical_layers, evaluate


def _cover(kp: KindProblem, resident: bool) -> tuple[list[int], list[int]]:
    """f[b] and the candidate index chosen for the first layer at b."""
    nbr = kp.kind.branches
    times = [c.time(kp.kind.count, resident) for c in kp.candidates]
    caps = [c.cap for c in kp.candidates]
    f = [0] * (nbr + 1)
    choice = [-1] * (nbr + 1)
    for b in range(1, nbr + 1):
        best, arg = None, -1
        for ci, (t, cap) in enumerate(zip(times, caps)):
            val = t + f[max(0, b - cap)]
            if best is None or val < best:
                best, arg = val, ci
        f[b], choice[b] = best, arg
    return f, choice


def _layers(kp: KindProblem, choice: list[int], b: int, first: int | None = None) -> list:
    picks = []
    if first is not None:
        picks.append(first)
        b = max(0, b - kp.candidates[first].cap)
    while b > 0:
        ci = choice[b]
        picks.append(ci)
        b = max(0, b - kp.candidates[ci].cap)
    counts, caps = {}, {}
    for ci in picks:
        c = kp.candidates[ci]
        counts[c.part] = counts.get(c.part, 0) + 1
        caps[c.part] = c.cap
    return canonical_layers(counts, caps, kp.kind.branches)


def dp_kind(kp: KindProblem) -> tuple[int, KindSchedule]:
    nbr = kp.kind.branches
    f, choice = _cover(kp, resident=False)
    best = (f[nbr], KindSchedule(_layers(kp, choice, nbr), False))
    res = [ci for ci, c in enumerate(kp.candidates) if c.resident_capable]
    if res:
        r = res[0]
        fr, choice_r = _cover(kp, resident=True)
        c = kp.candidates[r]
        val = c.time(kp.kind.count, True) + fr[max(0, nbr - c.cap)]
        if val < best[0]:
            best = (val, KindSchedule(_layers(kp, choice_r, nbr, first=r), True))
    return best


def dp_schedule(problem: Problem) -> Schedule:
    """Memory-blind optimum (a lower bound of the constrained optimum)."""
    kinds = []
    for kp in problem.kinds:
        ks = dp_kind(kp)[1]
        resident_parts = {c.part for c in kp.candidates if c.resident_capable}
        ks.resident = any(p in resident_parts for p, _ in ks.layers)  # Term 1 whenever [1,1] is used
        kinds.append(ks)
    sched = Schedule(problem.method, kinds)
    ev = evaluate(problem, sched)
    sched.solver = {"status": "DP (memory-blind)", "objective": float(ev.cycles), "best_bound": float(ev.cycles),
                    "gap": 0.0, "wall_s": None}
    return sched
