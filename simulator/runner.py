"""``python -m simulator run`` and ``report``: load, validate, simulate, write the run folder.

A run folder holds: ``hw.yaml`` (the resolved hardware config, overrides
applied), ``result.json`` (depends on the inputs alone: byte-deterministic),
``meta.json`` (wall clock, versions, events/s, simulated cycles per wall
second), optional ``trace.json`` (Chrome/Perfetto), ``report.md``, PNGs and
``units.csv`` (one row per unit: :mod:`simulator.units_csv`); report,
PNGs and CSV are rendered from ``result.json`` alone.
Every file is written atomically through :mod:`contracts.atomic`.

The program's kind selects the hardware family (:func:`simulator.families.family`),
which supplies the engine, the result schema and the report; a program whose kind
does not match the hardware config is refused with one sentence.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import time
from importlib import metadata

from contracts.atomic import file_digest, read_json, run_folder_lock, write_json, write_text
from contracts.errors import UserError
from contracts.hardware.loader import dump_resolved, hw_digest, load_hw
from contracts.program import load_program
from simulator.families import family

log = logging.getLogger(__name__)

RESULT_FILE = "result.json"
META_FILE = "meta.json"
TRACE_FILE = "trace.json"
HW_FILE = "hw.yaml"
UNITS_FILE = "units.csv"


def simulate_files(program_path: str, hw_name: str, overrides: list[str] | None = None, *, mode: str = "full",
                   network_mode: str = "worm", trace: bool = False, trace_units: str | None = None):
    """Load and validate the inputs, run the matching engine; returns (hw, result, meta, trace events).

    ``trace_units`` (kinds and unit-name globs, see :mod:`simulator.trace_export`) selects the
    tracks of a PIM-mesh trace and implies ``trace``.
    """
    if trace_units is not None:
        from simulator.trace_export import TraceFilter

        TraceFilter(trace_units)  # a bad filter fails here, before anything is loaded or simulated
        trace = True
    hw = load_hw(hw_name, overrides)
    program = load_program(program_path, known_units=_known_units(hw))
    if program.kind != hw.kind:
        raise UserError(f"program {program_path!r} targets '{program.kind}' hardware but config '{hw.name}' is '{hw.kind}'")
    simulate = family(program.kind, f"program {program_path!r}").load("simulate")
    result, meta, events = simulate(program, hw, mode=mode, network_mode=network_mode, trace=trace,
                                    program_digest=file_digest(program_path), trace_units=trace_units)
    result["overrides"] = list(overrides or [])  # an input like the others: the report states every one
    return hw, result, meta, events


def run_command(args) -> None:
    """Simulate and write the run folder, holding the folder's lock (see :func:`contracts.atomic.run_folder_lock`).

    The inputs are loaded and validated before the folder is created, so bad
    input leaves no folder behind."""
    t0 = time.perf_counter()
    out = args.out
    hw, result, meta, events = simulate_files(
        args.program, args.hw, args.set, mode=getattr(args, "mode", "full"),
        network_mode=getattr(args, "network", "worm"), trace=bool(getattr(args, "trace", False)),
        trace_units=getattr(args, "trace_units", None),
    )
    with run_folder_lock(out):
        _write_run(args, out, t0, hw, result, meta, events)


def _write_run(args, out, t0, hw, result, meta, events) -> None:
    write_text(os.path.join(out, HW_FILE), dump_resolved(hw))
    write_json(os.path.join(out, RESULT_FILE), result)
    if events is not None:
        from simulator.trace_export import write_trace

        write_trace(os.path.join(out, TRACE_FILE), events)
    meta = dict(meta)
    meta.update({
        "program": os.path.abspath(args.program),
        "hw": args.hw,
        "overrides": list(args.set or []),
        "hw_digest": hw_digest(hw),
        "versions": _versions(),
        "host": platform.node(),
        "end_to_end_wall_s": time.perf_counter() - t0,
    })
    write_json(os.path.join(out, META_FILE), meta)
    _render(result, out)
    lat = result.get("latency", {})
    log.info("simulated %s cycles (%.4g ms) in %.1f s wall; run folder %s", lat.get("cycles"), lat.get("ms", 0.0),
             time.perf_counter() - t0, out)


def report_command(args) -> None:
    path = os.path.join(args.run, RESULT_FILE)
    if not os.path.isfile(path):
        raise UserError(f"run folder {args.run!r} has no {RESULT_FILE}")
    result = read_json(path, "result file")
    _validate_result(result, path)
    try:
        with run_folder_lock(args.run):
            _render(result, args.run)
    except UserError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError, OverflowError) as e:
        # the schema holds but the values do not fit together (a hand-edited file)
        what = f"field {e.args[0]!r} is missing" if isinstance(e, KeyError) and e.args else str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"result file {path!r} cannot be rendered: {what}; rerun 'python -m simulator run' to regenerate it") from None
    log.info("report written to %s", os.path.join(args.run, "report.md"))


def _validate_result(result, path: str) -> None:
    """A result.json read back for ``report`` must match the schema ``run`` writes (one sentence if not)."""
    from contracts.errors import describe_validation_error

    if not isinstance(result, dict):
        raise UserError(f"result file {path!r} must hold a JSON object")
    model = family(result.get("kind"), f"result file {path!r}").load("result_model")
    try:
        model.model_validate(result)
    except Exception as e:
        raise UserError(f"result file {path!r} is malformed: {describe_validation_error(e)}") from None


def _render(result: dict, out_dir: str) -> None:
    family(result.get("kind"), "result.json").load("render")(result, out_dir)
    from simulator.units_csv import units_csv

    write_text(os.path.join(out_dir, UNITS_FILE), units_csv(result))


def _known_units(hw) -> set[str] | None:
    """Unit names the config has; None when it admits any (crossbar chips size themselves to the mapping)."""
    return hw.unit_names()


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for pkg in ("simpy", "pydantic", "numpy", "matplotlib", "PyYAML"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out
