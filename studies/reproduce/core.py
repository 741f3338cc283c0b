"""The machinery of `make reproduce`: points, comparison rows, per-figure folders and fidelity.md.

A figure module (``studies/reproduce/<figure>.py``) declares

* ``FIGURE`` (folder name), ``TITLE``;
* ``points(fast, cache) -> list[Point]``: the independent runs its figure needs; each point names a
  module-level function and JSON-able keyword arguments, so it can run in this process, in another
  process or on a Ray worker, in any order;
* ``rows(results) -> list[Row]``: ours beside the paper's value (:func:`compare`), from the points'
  results alone (``results[point.key]``).

Plots live in :mod:`studies.reproduce.plots` (measurement apart from drawing). Paper values live in
:mod:`studies.reproduce.paper_values` and are read by :func:`compare` only.
"""

from __future__ import annotations

import csv
import importlib
import io
import math
import os
from dataclasses import dataclass, field

from contracts.atomic import write_text
from studies.reproduce.paper_values import CONTRADICTIONS, PAPER


@dataclass(frozen=True)
class Point:
    """One independent run: ``fn`` ('module:function') called with ``kwargs``; ``key`` is unique per figure."""

    figure: str
    key: str
    fn: str
    kwargs: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.figure}/{self.key}"


def run_point(point: Point) -> dict:
    """Run one point in this process (the function returns a JSON-able dict)."""
    mod, _, name = point.fn.partition(":")
    return getattr(importlib.import_module(mod), name)(**point.kwargs)


@dataclass
class Row:
    figure: str
    metric: str
    paper: float
    ours: float | None
    rel_error: float | None
    tolerance: float
    within: bool
    reason: str
    cite: str
    mode: str


def compare(figure: str, metric: str, ours: float | None, reason: str = "") -> Row:
    """Ours beside the paper's value for ``(figure, metric)``; ``reason`` says why where not within."""
    ref = PAPER[(figure, metric)]
    if ours is None or (isinstance(ours, float) and math.isnan(ours)):
        return Row(figure, metric, ref.value, None, None, ref.tol, False, reason or "not measured", ref.cite, ref.mode)
    ours = float(ours)
    err = (ours - ref.value) / abs(ref.value) if ref.value else (0.0 if ours == 0 else math.inf)
    if ref.mode == "rel":
        within = abs(err) <= ref.tol + 1e-12
    elif ref.mode == "below":
        within = ours < ref.value
    elif ref.mode == "above":
        within = ours >= ref.value * (1 - ref.tol) - 1e-12
    elif ref.mode in ("exact", "true"):
        within = ours == ref.value
    else:
        raise ValueError(f"unknown comparison mode {ref.mode!r}")
    if within:
        reason = ""
    elif not reason:
        reason = CONTRADICTIONS.get(figure, "")
    return Row(figure, metric, ref.value, ours, err, ref.tol, within, reason, ref.cite, ref.mode)


def _fmt(v: float | None, digits: int = 6) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(int(v))
    return format(v, f".{digits}g")


def data_csv(rows: list[Row]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["metric", "ours", "paper", "rel_error", "tolerance", "comparison", "within", "reason", "citation"])
    for r in rows:
        w.writerow([r.metric, _fmt(r.ours), _fmt(r.paper), _fmt(r.rel_error, 4), _fmt(r.tolerance, 4), r.mode,
                    "yes" if r.within else "no", r.reason, r.cite])
    return buf.getvalue()


def write_data(folder: str, rows: list[Row]) -> None:
    os.makedirs(folder, exist_ok=True)
    write_text(os.path.join(folder, "data.csv"), data_csv(rows))


def write_series(path: str, table: list[dict]) -> None:
    """The figure's own bars/lines (no paper values) as CSV, columns in first-seen order."""
    cols: list[str] = []
    for r in table:
        cols += [k for k in r if k not in cols]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in table:
        w.writerow([_fmt(r[c], 8) if isinstance(r.get(c), float) else r.get(c, "") for c in cols])
    write_text(path, buf.getvalue())


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def fidelity_md(rows_by_figure: dict[str, list[Row]], titles: dict[str, str], wall_s: float | None, fast: bool,
                errors: dict[str, str]) -> str:
    all_rows = [r for rows in rows_by_figure.values() for r in rows]
    n_in = sum(r.within for r in all_rows)
    lines = ["# Fidelity of vitsim against the Allspark and TReX papers", "",
             f"Written by `make reproduce{' FAST=1' if fast else ''}`"
             + (f"; measured wall time of this run: **{wall_s:.1f} s** ({wall_s / 60:.1f} min)." if wall_s is not None else "."),
             f"{n_in} of {len(all_rows)} metrics within tolerance. Paper values and their citations: "
             "`studies/reproduce/paper_values.py`; each figure's folder holds `data.csv` and a PNG.", "",
             "Comparison modes: `rel` |ours - paper| / paper <= tolerance; `below` / `above` the paper's bound "
             "(above: with the tolerance); `exact` equal; `true` a statement of the paper that holds (1) or not (0) "
             "on our figures.", ""]
    if errors:
        lines += ["## Points that failed", ""] + [f"* `{k}`: {v}" for k, v in sorted(errors.items())] + [""]
    for fig, rows in rows_by_figure.items():
        lines += [f"## {titles.get(fig, fig)} (`{fig}/`)", "",
                  "| metric | paper | ours | error | tolerance | within | reason where not (note where within) |",
                  "| --- | ---: | ---: | ---: | ---: | :---: | --- |"]
        contradiction = CONTRADICTIONS.get(fig, "")
        for r in rows:
            reason = r.reason
            if contradiction and contradiction in reason:
                reason = reason.replace(contradiction, "the paper contradicts itself, see the note below the table")
            err = "" if r.rel_error is None else f"{r.rel_error:+.1%}"
            tol = {"rel": f"{r.tolerance:.0%}", "above": f">= paper x (1 - {r.tolerance:.0%})", "below": "< paper",
                   "exact": "equal", "true": "holds"}[r.mode]
            lines.append(f"| {_md_cell(r.metric)} | {_fmt(r.paper, 5)} | {_fmt(r.ours, 5)} | {err} | {tol} | "
                         f"{'yes' if r.within else '**no**'} | {_md_cell(reason)} |")
        lines.append("")
        if contradiction and any(not r.within for r in rows):
            lines += [f"**Why no reading reaches the paper here.** {contradiction}", ""]
    return "\n".join(lines)
