"""TReX reuse patterns (Section V-B, Step 2; Fig. 5 and Fig. 6a): which encoders reuse attention.

Torch-free: the tracer, the CLI and the tests import it without pulling torch in.

A pattern is a set of 1-based encoder indices whose attention block is removed
and replaced by a transformation block fed with the attention output of the
last earlier encoder that still computes attention. Encoder 1 never reuses
(there is no earlier attention to reuse).

The uniform families of Fig. 5 and how their parameters place the encoders:

* ``strided:sl=SL,start=S,n=K`` -- encoders S, S+SL, S+2*SL, ... (K of them), SL >= 2.
* ``continuous:start=S,n=K`` -- encoders S, S+1, ..., S+K-1.
* ``pyramid:ncont=C,sl=SL,start=S,n=K`` -- strided, then continuous, then strided:
  ``b = (K - C) // 2`` strided encoders from S with stride SL, then C consecutive
  encoders starting SL after the last strided one, then the remaining
  ``K - C - b`` encoders with stride SL after the run. C >= 2 and at least one
  strided encoder on each side (K - C >= 2), so a pyramid is never a plain
  strided or continuous pattern. Example: ``pyramid:ncont=2,sl=2,start=3,n=4``
  -> encoders 3, 5, 6, 8.
* ``list:3,5,7`` -- an explicit set (any valid set, not necessarily uniform).
* ``none`` -- no reuse.

With these rules DeiT-S (12 encoders) and N_reuse = 4 yields every family
plotted in Fig. 16 (strided SL 2 and 3, pyramid SL 2 and 3 with N_cont = 2,
continuous) plus pyramid SL 4; strided SL 4 does not fit, as in the figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.errors import UserError

FAMILIES = ("strided", "continuous", "pyramid", "list", "none")
_PARAMS = {"strided": ("sl", "start", "n"), "continuous": ("start", "n"), "pyramid": ("ncont", "sl", "start", "n")}


@dataclass(frozen=True)
class Pattern:
    """One reuse pattern: its family, its spec string and its 1-based reusing encoders."""

    family: str
    spec: str
    encoders: tuple[int, ...]

    @property
    def n_reuse(self) -> int:
        return len(self.encoders)


def strided_encoders(sl: int, start: int, n: int) -> list[int]:
    return [start + j * sl for j in range(n)]


def continuous_encoders(start: int, n: int) -> list[int]:
    return list(range(start, start + n))


def pyramid_encoders(ncont: int, sl: int, start: int, n: int) -> list[int]:
    before = (n - ncont) // 2
    after = n - ncont - before
    encoders = strided_encoders(sl, start, before)
    run_start = encoders[-1] + sl
    encoders += continuous_encoders(run_start, ncont)
    encoders += strided_encoders(sl, encoders[-1] + sl, after)
    return encoders


def split_spec(spec: str, partial: bool = False) -> tuple[str, dict[str, int]]:
    """'strided:sl=2,start=5,n=4' -> ('strided', {'sl': 2, 'start': 5, 'n': 4}).

    With ``partial=True`` parameters may be missing (Algorithm 1 chooses start
    and n for a given family); unknown families and parameters are always errors.
    A ``list`` spec returns its encoders as {'e0': .., 'e1': ..}.
    """
    family, _, body = spec.strip().partition(":")
    family = family.strip().lower()
    if family not in FAMILIES:
        raise UserError(f"reuse pattern '{spec}' has unknown family '{family}' (expected one of "
                        f"strided, continuous, pyramid, list, none)")
    if family == "none":
        return family, {}
    if family == "list":
        try:
            return family, {f"e{i}": int(t) for i, t in enumerate(t for t in body.split(",") if t.strip())}
        except ValueError:
            raise UserError(f"reuse pattern '{spec}': a list pattern is comma-separated encoder numbers") from None
    params: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in body.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or key not in _PARAMS[family]:
            raise UserError(
                f"reuse pattern '{spec}': '{item}' is not a parameter of a {family} pattern "
                f"(expected {', '.join(k + '=<int>' for k in _PARAMS[family])})"
            )
        try:
            params[key] = int(value)
        except ValueError:
            raise UserError(f"reuse pattern '{spec}': {key} must be an integer, got '{value.strip()}'") from None
    missing = [k for k in _PARAMS[family] if k not in params]
    if missing and not partial:
        raise UserError(f"reuse pattern '{spec}' lacks {', '.join(missing)} (a {family} pattern needs "
                        f"{', '.join(_PARAMS[family])})")
    return family, params


def _family_encoders(family: str, p: dict[str, int], spec: str) -> list[int]:
    if p["n"] < 1:
        raise UserError(f"reuse pattern '{spec}': n must be at least 1, got {p['n']}")
    if family == "continuous":
        return continuous_encoders(p["start"], p["n"])
    if p["sl"] < 2:
        raise UserError(f"reuse pattern '{spec}': the stride sl must be at least 2 (sl=1 is the continuous pattern)")
    if family == "strided":
        return strided_encoders(p["sl"], p["start"], p["n"])
    if p["ncont"] < 2:
        raise UserError(f"reuse pattern '{spec}': a pyramid needs ncont >= 2 continuous encoders")
    if p["n"] - p["ncont"] < 2:
        raise UserError(f"reuse pattern '{spec}': a pyramid needs n - ncont >= 2 so that strided encoders "
                        f"surround the continuous run")
    return pyramid_encoders(p["ncont"], p["sl"], p["start"], p["n"])


def check_encoders(encoders: list[int], n_encoders: int, spec: str) -> list[int]:
    """Validate a set of reusing encoders against a model with ``n_encoders`` encoders."""
    if len(set(encoders)) != len(encoders):
        raise UserError(f"reuse pattern '{spec}' names an encoder twice")
    if encoders and min(encoders) < 2:
        raise UserError(f"reuse pattern '{spec}' reuses attention in encoder {min(encoders)}, but only encoders "
                        f"2..{n_encoders} can reuse (encoder 1 has no earlier attention)")
    if encoders and max(encoders) > n_encoders:
        raise UserError(f"reuse pattern '{spec}' needs encoder {max(encoders)}, but the model has only "
                        f"{n_encoders} encoders")
    return sorted(encoders)


def parse_spec(spec: str, n_encoders: int) -> list[int]:
    """A pattern spec -> sorted 1-based reusing encoders; UserError (one sentence) if invalid."""
    family, params = split_spec(spec)
    if family == "none":
        return []
    if family == "list":
        encoders = [params[k] for k in sorted(params, key=lambda k: int(k[1:]))]
        if not encoders:
            raise UserError(f"reuse pattern '{spec}' lists no encoders")
    else:
        if params["n"] > max(n_encoders - 1, 0):  # refuse before building a list of n encoders (n may be 10**12)
            raise UserError(f"reuse pattern '{spec}' asks for n={params['n']} reusing encoders, but a model with "
                            f"{n_encoders} encoders has at most {max(n_encoders - 1, 0)} that can reuse")
        encoders = _family_encoders(family, params, spec)
    return check_encoders(encoders, n_encoders, spec)


def format_spec(encoders: list[int]) -> str:
    """The ``list:`` spec of an explicit set of encoders."""
    return "list:" + ",".join(str(e) for e in sorted(encoders)) if encoders else "none"


def enumerate_patterns(n_encoders: int, n_reuse: int) -> list[Pattern]:
    """Every valid uniform pattern (Fig. 5/6a) with exactly ``n_reuse`` reusing encoders.

    Order: strided by (SL, start), continuous by start, pyramid by (N_cont, SL, start).
    Patterns that place the same encoders (only when n_reuse = 1) are listed once.
    """
    if not 1 <= n_reuse <= n_encoders - 1:
        raise UserError(f"N_reuse must be between 1 and {n_encoders - 1} for a model with {n_encoders} encoders, "
                        f"got {n_reuse}")
    candidates: list[tuple[str, str, list[int]]] = []
    for sl in range(2, n_encoders):
        for start in range(2, n_encoders + 1):
            enc = strided_encoders(sl, start, n_reuse)
            if enc[-1] <= n_encoders:
                candidates.append(("strided", f"strided:sl={sl},start={start},n={n_reuse}", enc))
    for start in range(2, n_encoders - n_reuse + 2):
        candidates.append(("continuous", f"continuous:start={start},n={n_reuse}", continuous_encoders(start, n_reuse)))
    for ncont in range(2, n_reuse - 1):
        for sl in range(2, n_encoders):
            for start in range(2, n_encoders + 1):
                enc = pyramid_encoders(ncont, sl, start, n_reuse)
                if enc[-1] <= n_encoders:
                    candidates.append(("pyramid", f"pyramid:ncont={ncont},sl={sl},start={start},n={n_reuse}", enc))
    seen: set[tuple[int, ...]] = set()
    patterns = []
    for family, spec, enc in candidates:
        key = tuple(enc)
        if key not in seen:
            seen.add(key)
            patterns.append(Pattern(family=family, spec=spec, encoders=key))
    return patterns


def source_encoders(reuse: list[int], n_encoders: int) -> dict[int, int]:
    """Reusing encoder -> the encoder whose attention output it transforms.

    The source is the last earlier encoder that still computes attention: in a
    continuous run every reusing encoder transforms that same attention output
    (each with its own transformation block), never another TB's output.
    """
    reused = set(check_encoders(list(reuse), n_encoders, format_spec(list(reuse))))
    sources: dict[int, int] = {}
    last_computing = 0
    for e in range(1, n_encoders + 1):
        if e in reused:
            sources[e] = last_computing
        else:
            last_computing = e
    return sources
