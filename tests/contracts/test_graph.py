"""contracts.graph: the one topological order / longest path every stage uses."""

from __future__ import annotations

import random

import pytest

from contracts.graph import CycleError, check_acyclic, longest_path, topological_order


def _random_dag(rng: random.Random, n: int) -> dict[int, tuple[int, ...]]:
    ids = rng.sample(range(10 * n), n)  # sparse, unordered ids
    return {b: tuple(sorted(rng.sample(ids[:i], min(i, rng.randint(0, 3))))) for i, b in enumerate(ids)}


def _smallest_ready_first(preds):
    """The order definition, written the slow obvious way."""
    left = dict(preds)
    done: list = []
    while left:
        node = min(n for n, ps in left.items() if all(p in done for p in ps))
        done.append(node)
        del left[node]
    return done


@pytest.mark.parametrize("seed", range(20))
def test_order_is_the_smallest_ready_first_order(seed):
    preds = _random_dag(random.Random(seed), 40)
    assert topological_order(preds) == _smallest_ready_first(preds)


def test_order_respects_every_edge_and_names_sources_given_only_as_predecessors():
    order = topological_order({3: (1, 2), 2: (1,), 5: (4,)})
    assert order == [1, 2, 3, 4, 5]
    pos = {n: i for i, n in enumerate(order)}
    assert pos[1] < pos[2] < pos[3] and pos[4] < pos[5]


def test_a_cycle_is_reported_with_its_nodes():
    with pytest.raises(CycleError) as e:
        check_acyclic({1: (3,), 2: (1,), 3: (2,), 4: ()})
    assert sorted(set(e.value.cycle)) == [1, 2, 3]
    with pytest.raises(CycleError):
        topological_order({1: (1,)})


def test_longest_path_gives_earliest_starts_and_the_critical_length():
    preds = {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c")}
    dur = {"a": 2, "b": 5, "c": 1, "d": 3}
    order, start, end = longest_path(preds, dur.__getitem__, t0=10)
    assert order == ["a", "b", "c", "d"]
    assert start == {"a": 10, "b": 12, "c": 12, "d": 17}
    assert max(end.values()) == 20
