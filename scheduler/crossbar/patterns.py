"""TReX reuse-pattern specs (Fig. 5): parse, check, and choose a default (torch-free).

Grammar (shared with ``workloads.reuse``; kept here so the scheduler never
imports workload code)::

    strided:sl=2,start=5,n=5          encoders start, start+sl, ... (n of them)
    continuous:start=3,n=4            encoders start .. start+n-1
    pyramid:ncont=2,sl=2,start=3,n=4  strided - continuous(ncont) - strided
    list:3,5,7                        explicit encoders

Encoders are numbered from 1; a valid pattern has exactly ``n`` distinct
encoders in 2..N_encoders (encoder 1 has no earlier attention to reuse).
The pyramid's strided parts split the remaining ``n - ncont`` encoders, the
smaller half before the continuous run; it needs ncont >= 2 and n - ncont >= 2,
and strided needs sl >= 2 (as workloads/reuse/patterns.py).
"""

from __future__ import annotations

from simulator.errors import UserError

FAMILIES = ("strided", "continuous", "pyramid", "list")


def _kv(body: str, spec: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in filter(None, body.split(",")):
        if "=" not in part:
            raise UserError(f"reuse spec '{spec}': '{part}' is not of the form key=value")
        k, v = part.split("=", 1)
        try:
            out[k.strip()] = int(v)
        except ValueError:
            raise UserError(f"reuse spec '{spec}': {k.strip()}={v!r} is not an integer") from None
    return out


def parse_spec(spec: str) -> tuple[str, dict[str, int]]:
    """'strided:sl=2,start=5,n=5' -> ('strided', {'sl': 2, 'start': 5, 'n': 5})."""
    family, _, body = spec.partition(":")
    family = family.strip()
    if family not in FAMILIES:
        raise UserError(f"reuse spec '{spec}': unknown pattern '{family}' (use one of {', '.join(FAMILIES)})")
    if family == "list":
        try:
            return family, {f"e{i}": int(x) for i, x in enumerate(filter(None, body.split(",")))}
        except ValueError:
            raise UserError(f"reuse spec '{spec}': list entries must be integers") from None
    return family, _kv(body, spec)


def encoders_of(spec: str, n_encoders: int) -> list[int]:
    """The 1-based encoders that reuse attention; UserError if the spec is not valid for the model."""
    family, p = parse_spec(spec)
    need = {"strided": ("sl", "start", "n"), "continuous": ("start", "n"), "pyramid": ("ncont", "sl", "start", "n")}
    missing = [k for k in need.get(family, ()) if k not in p]
    if missing:
        raise UserError(f"reuse spec '{spec}' lacks {', '.join(missing)}")
    if family == "list":
        enc = [p[k] for k in sorted(p, key=lambda k: int(k[1:]))]
    elif family == "strided":
        if p["sl"] < 2:
            raise UserError(f"reuse spec '{spec}': a strided pattern needs sl >= 2 (sl=1 is continuous)")
        enc = [p["start"] + i * p["sl"] for i in range(p["n"])]
    elif family == "continuous":
        enc = [p["start"] + i for i in range(p["n"])]
    else:
        ncont, sl, n = p["ncont"], p["sl"], p["n"]
        if ncont < 2 or n - ncont < 2:
            raise UserError(f"reuse spec '{spec}': a pyramid needs ncont >= 2 and n - ncont >= 2")
        before = (n - ncont) // 2
        after = n - ncont - before
        enc = [p["start"] + i * sl for i in range(before)]
        first = enc[-1] + sl if enc else p["start"]
        enc += [first + i for i in range(ncont)]
        enc += [enc[-1] + sl * (i + 1) for i in range(after)]
    if len(set(enc)) != len(enc):
        raise UserError(f"reuse spec '{spec}' names an encoder twice")
    bad = [e for e in enc if not 2 <= e <= n_encoders]
    if bad:
        raise UserError(
            f"reuse spec '{spec}' names encoder {bad[0]}, outside 2..{n_encoders} (encoder 1 cannot reuse attention)"
        )
    return sorted(enc)


def default_spec(n_reuse: int, n_encoders: int, family: str | None = None, params: dict[str, int] | None = None) -> str | None:
    """A valid spec with exactly ``n_reuse`` reusing encoders (None for zero).

    Without a family: strided with SL=2 starting as late as possible (Fig. 16:
    later starts and longer strides keep more accuracy); when SL=2 cannot fit,
    a pyramid with the shortest continuous run that fits, else continuous.
    A given family keeps its given parameters and only the start is chosen.
    """
    if not 0 <= n_reuse <= n_encoders - 1:
        raise UserError(f"cannot reuse attention in {n_reuse} of {n_encoders} encoders (at most {n_encoders - 1})")
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
            encoders_of(spec, n_encoders)
            return spec
        except UserError:
            continue
    raise UserError(f"no {family or 'uniform'} pattern with parameters {params} fits {n_reuse} reusing encoders in {n_encoders}")
