"""The engine's kernel (simulator.engine.kernel) runs the same events in the same order as SimPy.

A model of processes that wait on timeouts (zero delays included), on one-shot events other
processes trigger (some already processed when waited on, some with several waiters) and
that finish at different times is run twice: with ``simpy.Environment`` + ``env.process`` +
``env.timeout``, and with ``FastEnvironment`` + ``start`` + ``int`` delays. Every step's cycle,
the interleaving of the processes and the number of scheduled events must be identical.
"""

from __future__ import annotations

import random

import pytest
import simpy

from simulator.engine.kernel import FastEnvironment, start


def _model(env: simpy.Environment, light: bool, seed: int, n_procs: int = 12, steps: int = 60):
    rnd = random.Random(seed)
    plans = []
    for p in range(n_procs):
        plan = []
        for s in range(steps):
            r = rnd.random()
            if r < 0.6:
                plan.append(("delay", rnd.choice([0, 0, 1, 2, 3, 5, 8])))
            elif r < 0.8:
                plan.append(("fire", rnd.randrange(40)))
            else:
                plan.append(("wait", rnd.randrange(40)))
        plans.append(plan)
    events: dict[int, simpy.Event] = {}
    fired: set[int] = set()
    log: list[tuple[int, int, int]] = []

    def event(key: int) -> simpy.Event:
        if key not in events:
            events[key] = env.event()
        return events[key]

    def proc(p: int):
        for s, (what, arg) in enumerate(plans[p]):
            log.append((int(env.now), p, s))
            if what == "delay":
                yield arg if light else env.timeout(arg)
            elif what == "fire":
                if arg not in fired:
                    fired.add(arg)
                    event(arg).succeed()
            elif arg in fired:  # only wait for what has been fired: no deadlock by construction
                yield event(arg)
        log.append((int(env.now), p, -1))

    for p in range(n_procs):
        if light:
            start(env, proc(p))
        else:
            env.process(proc(p))
    env.run()
    return log, next(env._eid)


@pytest.mark.parametrize("seed", range(8))
def test_same_events_same_order_same_count_as_simpy(seed):
    want = _model(simpy.Environment(), False, seed)
    got = _model(FastEnvironment(), True, seed)
    assert got == want
    assert len(want[0]) > 12 * 30  # the model did run


def test_fast_run_loop_alone_matches_simpy_step():
    # stock processes on both environments: only the run loop differs
    assert _model(FastEnvironment(), False, 3) == _model(simpy.Environment(), False, 3)


def test_a_failed_event_nobody_defused_crashes_the_run_as_in_simpy():
    env = FastEnvironment()
    env.event().fail(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        env.run()


def test_run_until_is_simpys_own():
    env = FastEnvironment()

    def ticks():
        while True:
            yield 3

    start(env, ticks())
    env.run(until=10)
    assert env.now == 10


def test_the_wake_event_resumes_the_owner_and_every_callback_appended_to_it():
    env = FastEnvironment()
    seen = []
    holder = {}

    def waiter():
        seen.append(("wait", env.now))
        wake = holder["driver"].wake
        wake.callbacks = []
        yield wake  # stands in for a one-shot event another party schedules
        seen.append(("woken", env.now))
        yield 2
        seen.append(("after delay", env.now))

    holder["driver"] = start(env, waiter())

    def trigger():
        yield 5
        wake = holder["driver"].wake
        wake.callbacks.append(lambda _e: seen.append(("other callback", env.now)))
        env.schedule(wake)

    start(env, trigger())
    env.run()
    assert seen == [("wait", 0), ("woken", 5), ("other callback", 5), ("after delay", 7)]
