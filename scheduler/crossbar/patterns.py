"""Choosing a reuse pattern for Algorithm 1 (TReX Fig. 5): torch-free.

The spec grammar and its validity rules live in one place,
``contracts.reuse_spec`` (torch-free; it is also what the tracer's
``--reuse`` uses)::

    strided:sl=2,start=5,n=4          encoders start, start+sl, ... (n of them)
    continuous:start=3,n=4            encoders start .. start+n-1
    pyramid:ncont=2,sl=2,start=3,n=4  strided - continuous(ncont) - strided
    list:3,5,7                        explicit encoders

This module only adds what Algorithm 1 needs: given N_reuse (and optionally a
family with some of its parameters), a valid spec with exactly N_reuse
reusing encoders.
"""

from __future__ import annotations

from contracts.errors import UserError
from contracts.reuse_spec import parse_spec as encoders_of
from contracts.reuse_spec import format_spec, split_spec

__all__ = ["default_spec", "encoders_of", "split_spec"]


def default_spec(n_reuse: int, n_encoders: int, family: str | None = None, params: dict[str, int] | None = None,
                 forbidden: frozenset[int] = frozenset()) -> str | None:
    """A valid spec with exactly ``n_reuse`` reusing encoders (None for zero).

    Without a family: strided with SL=2 starting as late as possible (Fig. 16:
    later starts and longer strides keep more accuracy); when SL=2 cannot fit,
    a pyramid with the shortest continuous run that fits, else continuous.
    A given family keeps its given parameters and only the start is chosen.
    ``forbidden``: encoders that cannot reuse besides encoder 1 (the first block
    of every stage of a hierarchical model, whose previous block is in another stage).
    """
    limit = n_encoders - 1 - len(set(forbidden) - {1})
    if not 0 <= n_reuse <= limit:
        raise UserError(f"cannot reuse attention in {n_reuse} of {n_encoders} encoders (at most {limit})")
    if n_reuse == 0:
        return None  # no reuse: the plain model
    params = dict(params or {})
    params.pop("n", None)
    params.pop("start", None)
    candidates: list[str] = []
    if family in (None, "strided"):
        sl = params.get("sl", 2)
        candidates += [f"strided:sl={sl},start={s},n={n_reuse}" for s in range(n_encoders, 1, -1)]
    if family in (None, "pyramid"):
        sl = params.get("sl", 2)
        conts = [params["ncont"]] if "ncont" in params else range(2, n_reuse - 1)
        for nc in conts:
            candidates += [f"pyramid:ncont={nc},sl={sl},start={s},n={n_reuse}" for s in range(n_encoders, 1, -1)]
    if family in (None, "continuous"):
        candidates += [f"continuous:start={s},n={n_reuse}" for s in range(n_encoders, 1, -1)]
    if family == "list":
        raise UserError("a 'list' pattern fixes its encoders; give strided, continuous or pyramid to let Algorithm 1 choose N_reuse")
    for spec in candidates:
        try:
            if not set(encoders_of(spec, n_encoders)) & set(forbidden):
                return spec
        except UserError:
            continue
    if forbidden and family is None:  # a hierarchical model: strided / continuous runs may not fit between stages
        allowed = [e for e in range(n_encoders, 1, -1) if e not in forbidden]
        return format_spec(sorted(allowed[:n_reuse]))
    raise UserError(f"no {family or 'uniform'} pattern with parameters {params} fits {n_reuse} reusing encoders in {n_encoders}")
