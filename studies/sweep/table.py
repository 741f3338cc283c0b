"""The tidy table of a sweep: one row per point, fixed columns whose names carry their units.

Columns that do not apply to a point's kind (PIM-only breakdowns on a crossbar
point, crossbar area on a PIM point) or to a failed point are empty. The
column list is fixed (not data-dependent) and rows follow spec order, so the
same spec gives the same ``sweep.csv`` / ``sweep.parquet`` bytes. Wall-clock
figures never enter this table (they go to ``sweep.timing.csv``).

Units: ``*_cycles`` in clock cycles of the point's hardware, ``*_ms``
milliseconds, ``*_mJ`` millijoules, ``*_mm2`` square millimetres, ``*_pct``
percent, ``img_px`` pixels per side.
"""

from __future__ import annotations

import io

# (column, pandas dtype)
INPUT_COLUMNS = [
    ("point", "string"), ("status", "string"), ("error", "string"),
    ("model", "string"), ("img_px", "Int64"), ("batch", "Int64"), ("method", "string"), ("hw", "string"),
    ("hw_kind", "string"), ("overrides", "string"), ("reuse", "string"), ("target_delay_ms", "Float64"),
]
METRIC_COLUMNS = [
    ("n_reuse", "Int64"),
    ("latency_cycles", "Int64"), ("latency_ms", "Float64"), ("throughput_fps", "Float64"), ("energy_mJ", "Float64"),
    ("macs", "Int64"),
    # PIM mesh (Allspark)
    ("predicted_cycles", "Int64"), ("contention_cycles", "Int64"),
    ("compute_cycles", "Int64"), ("fmap_transfer_cycles", "Int64"), ("weight_share_cycles", "Int64"),
    ("memory_cycles", "Int64"), ("node_utilisation_pct", "Float64"),
    ("pe_energy_mJ", "Float64"), ("sram_energy_mJ", "Float64"), ("acu_energy_mJ", "Float64"),
    ("dram_energy_mJ", "Float64"), ("noc_energy_mJ", "Float64"),
    # crossbar chip (TReX)
    ("area_mm2", "Float64"), ("edap_mJ_ms_mm2", "Float64"), ("tops_per_W", "Float64"), ("tops_per_mm2", "Float64"),
    ("tb_edap_increase_pct", "Float64"),
]
COLUMNS = [c for c, _ in INPUT_COLUMNS + METRIC_COLUMNS]
DTYPES = dict(INPUT_COLUMNS + METRIC_COLUMNS)
TIMING_COLUMNS = ["point", "status", "skipped", "trace_wall_s", "schedule_wall_s", "solver_wall_s", "simulate_wall_s",
                  "point_wall_s", "host"]

PJ_PER_MJ = 1e9


def row_from_result(result: dict, n_reuse: int | None = None) -> dict:
    """The metric columns of one point from its result.json."""
    lat = result["latency"]
    row: dict = {"latency_cycles": int(lat["cycles"]), "latency_ms": float(lat["ms"]), "n_reuse": n_reuse}
    if result["kind"] == "pim_mesh":
        br = result["latency_breakdown"]["breakdown_cycles"]
        en = result["energy"]["breakdown_pj"]
        pred = result["prediction"]
        batch = int(result.get("batch", 1))
        row.update({
            "throughput_fps": batch / (float(lat["ms"]) * 1e-3) if lat["ms"] else None,
            "energy_mJ": result["energy"]["total_pj"] / PJ_PER_MJ,
            "macs": int(result["counts"]["macs_executed"]),
            "predicted_cycles": int(pred["predicted_cycles"]),
            "contention_cycles": int(pred["contention_cycles"]),
            "compute_cycles": int(br.get("compute", 0)),
            "fmap_transfer_cycles": int(br.get("fmap_transfer", 0)),
            "weight_share_cycles": int(br.get("weight_share", 0)),
            "memory_cycles": int(br.get("memory", 0)),
            "node_utilisation_pct": 100.0 * float(result["node_utilisation"]["overall"]),
            **{f"{k}_energy_mJ": float(en.get(k, 0.0)) / PJ_PER_MJ for k in ("pe", "sram", "acu", "dram", "noc")},
        })
    else:
        tot = result["totals"]
        row.update({
            "throughput_fps": float(tot["fps"]),
            "energy_mJ": float(tot["energy_mj"]),
            "macs": int(tot["macs"]),
            "area_mm2": float(tot["area_mm2"]),
            "edap_mJ_ms_mm2": float(tot["edap_mj_ms_mm2"]),
            "tops_per_W": float(tot["tops_per_w"]),
            "tops_per_mm2": float(tot["tops_per_mm2"]),
            "tb_edap_increase_pct": float(result.get("tb", {}).get("edap_increase_pct", 0.0)),
        })
    return row


def input_columns(point) -> dict:
    return {
        "point": point.folder, "model": point.model, "img_px": point.img, "batch": point.batch,
        "method": point.method, "hw": point.hw, "hw_kind": point.hw_kind, "overrides": " ".join(point.overrides),
        "reuse": point.reuse, "target_delay_ms": point.target_delay_ms,
    }


def frame(rows: list[dict]):
    """A pandas DataFrame with the fixed columns and nullable dtypes."""
    import pandas as pd

    data = {c: [r.get(c) for r in rows] for c in COLUMNS}
    return pd.DataFrame({c: pd.array(data[c], dtype=DTYPES[c]) for c in COLUMNS})


def csv_bytes(df) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n", float_format="%.10g")
    return buf.getvalue().encode()


def parquet_bytes(df) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", write_statistics=True)
    return buf.getvalue()
