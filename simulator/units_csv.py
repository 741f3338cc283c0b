"""``units.csv``: one row per hardware unit of a run, rendered from ``result.json`` alone.

Columns: ``unit`` (its name in result.json), ``kind``, ``busy_cycles``,
``utilisation`` (busy fraction of the latency), ``bytes`` and ``energy_pj``.
A cell is empty where the quantity does not apply to that kind of unit (an
SRAM buffer has no busy cycles; a crossbar tile's bytes are not counted).

PIM meshes: every PE array, ACU, network interface (``ni``) and DRAM bank
(``dram_bank``), every node's SRAM buffer (``sram``: GEMM buffer traffic, its
access energy + leakage), every router (flits switched -> utilisation, its
leakage) and every directed link (bytes carried, flit-hop energy). The energy
column sums to ``energy.total_pj``. Crossbar chips: every tile and softmax unit
with its busy cycles, utilisation and dynamic energy.

Rows follow the mesh in numeric order (``node[2]`` before ``node[10]``).
"""

from __future__ import annotations

import csv
import io
import re

HEADER = ["unit", "kind", "busy_cycles", "utilisation", "bytes", "energy_pj"]
_NUM = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """'node[10][2].pe' sorts after 'node[2][2].pe': numbers compare as numbers."""
    return tuple(int(p) if p.isdigit() else p for p in _NUM.split(name))


def _kind(unit: str) -> str:
    if ".dram.bank[" in unit:
        return "dram_bank"
    return unit.rsplit(".", 1)[-1]


def _f(x: float | None, digits: int = 6) -> str:
    return "" if x is None else f"{x:.{digits}g}"


def _e(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def pim_rows(r: dict) -> list[list[str]]:
    rows = []
    for unit, v in r["units"].items():
        rows.append([unit, _kind(unit), str(v["busy_cycles"]), _f(v["busy_fraction"]), str(v.get("bytes", 0)),
                     _e(v.get("energy_pj"))])
    for node, pj in r.get("buffer_energy_pj", {}).items():
        rows.append([f"{node}.sram", "sram", "", "", str(r.get("buffer_traffic_bytes", {}).get(node, 0)), _e(pj)])
    for name, v in r["routers"].items():
        rows.append([name, "router", "", _f(v["busy_fraction"]), "", _e(v.get("energy_pj"))])
    for name, v in r["links"].items():
        rows.append([name, "link", str(v["busy_cycles"]), _f(v["busy_fraction"]), str(v["bytes"]), _e(v.get("energy_pj"))])
    return sorted(rows, key=lambda row: (_ORDER.get(row[1], 9), natural_key(row[0])))


_ORDER = {"pe": 0, "acu": 1, "ni": 2, "dram_bank": 3, "sram": 4, "router": 5, "link": 6}


def crossbar_rows(r: dict) -> list[list[str]]:
    rows = []
    for t in r["tiles"]["per_tile"]:
        rows.append([t["unit"], "tile", str(t["busy_cycles"]), _f(t["utilisation"]), "", _e(t.get("energy_pj"))])
    for u in r["softmax_units"]:
        rows.append([u["unit"], "softmax", str(u["busy_cycles"]), _f(u["utilisation"]), "", _e(u.get("energy_pj"))])
    return sorted(rows, key=lambda row: (row[1], natural_key(row[0])))


def units_csv(result: dict) -> str:
    from simulator.families import family

    rows = family(result.get("kind"), "result.json").load("units_rows")(result)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows(rows)
    return buf.getvalue()
