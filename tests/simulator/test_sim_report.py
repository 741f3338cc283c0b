"""report.md is rendered from result.json alone and says how much of the prediction error is contention."""

from __future__ import annotations

import json

from sim_helpers import run
from simulator.families.pim_mesh.report import markdown, render
from test_sim_engine import contended


def test_report_from_result_alone(tmp_path):
    result, _, _ = run(contended(2))
    result = json.loads(json.dumps(result))  # exactly what result.json holds
    text = markdown(result)
    c = result["prediction"]["contention_cycles"]
    assert f"Contention accounts for {c:,} cycles of the difference" in text
    assert "relative error -100.00 %" in text
    assert "## Latency breakdown (Allspark Fig. 13a)" in text and "## Node utilisation (Allspark Eq. 21)" in text
    render(result, str(tmp_path))
    for name in ("report.md", "node_utilisation.png", "link_load.png", "latency_breakdown.png", "energy_breakdown.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "report.md").read_text() == markdown(result)
