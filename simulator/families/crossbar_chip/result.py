"""result.json of a crossbar-chip (TReX) simulation: the versioned file contract.

The file depends on the inputs alone (program, hardware config), so two runs
give a byte-identical result; wall-clock figures go to meta.json.

Stable keys (other tools, e.g. the TReX demo, read them)::

    schema_version, kind ("crossbar_chip"), model, hw, method, reuse_pattern (1-based encoders),
    n_encoders, n_reuse, include_tb_in_totals,
    totals:      energy_mj, delay_ms, delay_cycles, area_mm2, edap_mj_ms_mm2, tops_per_w, tops_per_mm2, fps,
                 macs, macs_baseline_model, tops_per_w_baseline_macs, tops_per_mm2_baseline_macs
                 (headline figures, Table II rows 8-10; the TB block is left out unless include_tb_in_totals)
    latency:     cycles, ms (simulated whole execution, TB included)
    simulated:   the same figure set as totals, from the SimPy run
    closed_form: the same figure set, from the closed form (Table II per instruction, no contention)
    des_matches_closed_form: bool (delay cycles equal)
    tb:          energy_mj, delay_ms, area_mm2, tiles, macs, edap_increase_pct, edap_block_share_pct,
                 edap_share_pct (the one fidelity.tb_edap_share selects), edap_share_reading, included_in_totals
    by_block:    {attention|tb|projection|mlp|predictor: energy_mj, delay_ms, area_mm2, edap_mj_ms_mm2, tiles, macs, in_totals}
    by_circuit:  energy_mj{write, communication, read, accumulator, adc, softmax}, delay_ms{...}
    tiles:       count, utilisation_mean/min/max, per_tile[{unit, layer, block, busy_cycles, utilisation}]
    softmax_units: [{unit, busy_cycles, utilisation}]
    checks:      instructions, macs_executed, macs_expected, breakdowns_sum_to_totals

TOPS count one multiply-accumulate as one operation (TReX Table IV). ``tops_per_w``
and ``tops_per_mm2`` use the MACs executed; the ``*_baseline_macs`` variants
use the MACs of the model without reuse (Table IV's TOPS/mm^2 column follows
that convention, its TOPS/W column the executed one).
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from simulator.families.crossbar_chip.summary import Executed, summarise
from contracts.errors import UserError

SCHEMA_VERSION = 1


class CrossbarResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(description="Version of this file format (unit: none).")
    kind: Literal["crossbar_chip"] = Field(description="Hardware family (unit: none).")
    model: str = Field(description="Workload model name (unit: none).")
    hw: str = Field(description="Hardware config name (unit: none).")
    method: str = Field(description="Mapping method: trex, retransformer, prune:p=..., ws:k (unit: none).")
    reuse_pattern: list[int] = Field(description="1-based encoders reusing attention (unit: none).")
    n_encoders: int = Field(ge=1, description="Encoders mapped (unit: count).")
    n_reuse: int = Field(ge=0, description="Encoders reusing attention (unit: count).")
    include_tb_in_totals: bool = Field(description="Whether the TB block is in the headline totals (unit: none).")
    totals: dict[str, float] = Field(description="Headline figures; units in the key names (mJ, ms, mm^2, TOPS).")
    latency: dict[str, float] = Field(description="Simulated execution: cycles and ms (unit: cycles, ms).")
    simulated: dict[str, float] = Field(description="Figures of the SimPy run (units in key names).")
    closed_form: dict[str, float] = Field(description="Figures of the closed form (units in key names).")
    des_matches_closed_form: bool = Field(description="Simulated delay cycles equal the closed form (unit: none).")
    tb: dict[str, Any] = Field(description="Transformation blocks' own figures (units in key names).")
    by_block: dict[str, dict[str, Any]] = Field(description="Fig. 11 breakdown (units in key names).")
    by_circuit: dict[str, Any] = Field(description="Fig. 12 breakdown (units in key names).")
    tiles: dict[str, Any] = Field(description="Tile count and per-tile utilisation (unit: fraction of delay).")
    softmax_units: list[dict[str, Any]] = Field(description="Softmax unit busy cycles and utilisation (unit: cycles, fraction).")
    checks: dict[str, Any] = Field(description="Conservation checks of the run (unit: count).")
    unmapped_macs: int = Field(ge=0, description="Stem/head MACs Table II does not map (unit: MAC).")
    overrides: list[str] = Field(default_factory=list, description="Hardware overrides (--set key=value) applied to hw, as given (unit: none).")


def _figures(summary: dict) -> dict[str, float]:
    return dict(summary["totals"])


def build_result(program, hw, sim_records: list[Executed], closed_records: list[Executed]) -> dict:
    include_tb = bool(hw.include_tb_in_totals)
    sim = summarise(program, hw, sim_records, include_tb=include_tb)
    ref = summarise(program, hw, closed_records, include_tb=include_tb)
    macs_exec = sim["executed"]["macs"]
    if macs_exec != program.macs_expected:
        raise UserError(f"the run executed {macs_exec} MACs but the program expects {program.macs_expected}")
    t = sim["totals"]
    sums_ok = (
        math.isclose(sum(b["energy_mj"] for b in sim["by_block"].values()), sim["executed"]["energy_mj"], rel_tol=1e-9)
        and math.isclose(sum(sim["by_circuit"]["energy_mj"].values()), sim["executed"]["energy_mj"], rel_tol=1e-9)
        and math.isclose(sum(b["delay_ms"] for b in sim["by_block"].values()),
                         sim["executed"]["delay_cycles"] * 1e3 / hw.clock_hz, rel_tol=1e-9)
        and math.isclose(sum(sim["by_circuit"]["delay_ms"].values()),
                         sim["executed"]["delay_cycles"] * 1e3 / hw.clock_hz, rel_tol=1e-9)
    )
    pattern = json.loads(program.notes.get("trex_reuse_pattern", "[]"))
    n_enc = len(program.segments)
    result = {
        "schema_version": SCHEMA_VERSION,
        "kind": "crossbar_chip",
        "model": program.provenance.workload_model,
        "hw": hw.name,
        "method": program.provenance.method,
        "reuse_pattern": pattern,
        "n_encoders": n_enc,
        "n_reuse": len(pattern),
        "include_tb_in_totals": include_tb,
        "totals": t,
        "latency": {"cycles": sim["executed"]["delay_cycles"],
                    "ms": sim["executed"]["delay_cycles"] * 1e3 / hw.clock_hz},
        "simulated": _figures(sim),
        "closed_form": _figures(ref),
        "des_matches_closed_form": sim["executed"]["delay_cycles"] == ref["executed"]["delay_cycles"],
        "tb": sim["tb"],
        "by_block": sim["by_block"],
        "by_circuit": sim["by_circuit"],
        "tiles": sim["tiles"],
        "softmax_units": sim["softmax_units"],
        "checks": {"instructions": sim["executed"]["instructions"], "macs_executed": macs_exec,
                   "macs_expected": program.macs_expected, "breakdowns_sum_to_totals": sums_ok},
        "unmapped_macs": int(program.notes.get("trex_unmapped_macs", "0")),
    }
    CrossbarResult.model_validate(result)
    return result
