"""SimPy's event loop with less Python per event: same events, same order, same count.

The executor and the network models spend most of their time in SimPy's kernel,
not in the model: every event costs ``Environment.step`` (a method call, a
``try``, the callback loop) and, for a process, ``Process._resume`` (active
process bookkeeping, exception routing, the ``_target`` field). This module
keeps SimPy's data structures and rules and removes that per-event overhead:

* :class:`FastEnvironment` is a :class:`simpy.Environment` whose ``run()``
  (without ``until``) pops the event heap and runs the callbacks in one loop,
  exactly as ``step()`` does (time, priority, then scheduling order; a failed
  event that nobody defused still crashes the run). ``run(until=...)`` and
  ``step()`` are SimPy's own.
* :func:`start` drives a generator like :class:`simpy.Process` does for the
  cases the executor uses: it is started by an URGENT event at the current
  cycle, resumed by the callback of the event it yielded (at once if that
  event was already processed), and schedules one event when it returns.
  It can also yield a plain ``int``: a delay, served by one reusable wake-up
  event scheduled like :class:`simpy.Timeout` (priority NORMAL, next event
  id) instead of a new ``Timeout`` object per wait. The same wake-up event can
  stand in for a one-shot ``env.event()`` the generator waits on (the
  executor's "instruction completed" events): scheduling it is what
  ``succeed()`` does.

So a model driven this way schedules the same events in the same order as the
same model written with ``env.process`` and ``env.timeout`` (its event count
and every result are identical); only the Python around each event is shorter.

Abstracted away (against :class:`simpy.Process`): the value of the yielded
event is not sent back into the generator (the executor never reads it), a
failed event is not thrown into it (nothing in the executor fails; such an
event crashes the run instead), a driven generator is not an event other
processes can wait on, and it cannot be interrupted.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Generator

import simpy
from simpy.events import NORMAL, URGENT


class FastEnvironment(simpy.Environment):
    """A SimPy environment whose ``run()`` to exhaustion is one loop (see the module docstring)."""

    def run(self, until=None):
        if until is not None:
            return super().run(until)
        queue = self._queue
        pop = heappop
        while queue:
            self._now, _, _, event = pop(queue)
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
        return None


class _Driver:
    """Resumes one generator from the callbacks of the events it yields (see :func:`start`)."""

    __slots__ = ("env", "_send", "_resume", "wake", "_wake_callbacks", "_queue", "_eid")

    def __init__(self, env: simpy.Environment, generator: Generator):
        self.env = env
        self._send = generator.send
        self._resume = self.resume
        self._queue = env._queue
        self._eid = env._eid
        self.wake = _triggered(env)
        self._wake_callbacks = [self._resume]
        init = _triggered(env)
        init.callbacks = [self._resume]
        env.schedule(init, URGENT)  # what simpy.Process schedules to start its generator

    def resume(self, _event) -> None:
        send = self._send
        while True:
            try:
                nxt = send(None)
            except StopIteration:
                self.env.schedule(_triggered(self.env))  # a finished simpy.Process triggers itself
                return
            if nxt.__class__ is int:  # a delay: the reusable wake-up, scheduled as a Timeout would be
                wake = self.wake
                wake.callbacks = self._wake_callbacks
                heappush(self._queue, (self.env._now + nxt, NORMAL, next(self._eid), wake))
                return
            callbacks = nxt.callbacks
            if callbacks is not None:
                callbacks.append(self._resume)
                return
            # the event was processed already: go on at once, as a simpy.Process does


def _triggered(env: simpy.Environment) -> simpy.Event:
    """A successful event with no value, not yet scheduled (what ``succeed()`` marks before scheduling)."""
    ev = simpy.Event(env)
    ev._ok, ev._value = True, None
    return ev


def start(env: simpy.Environment, generator: Generator) -> _Driver:
    """Drive ``generator`` as a light SimPy process: it yields events, or an ``int`` delay in cycles.

    The driver's ``wake`` is a triggered (successful) event the generator may also hand out
    while it waits on something else: whoever schedules it (``env.schedule(wake)``, as
    ``Event.succeed`` would) resumes the generator and every callback appended to it.
    """
    return _Driver(env, generator)
