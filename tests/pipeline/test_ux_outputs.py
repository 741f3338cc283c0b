"""What a run folder says: units.csv beside result.json, and reports with one metric per figure."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from sim_helpers import ins, program, segment
from simulator.__main__ import main
from contracts.program import dump_program

UNITS_HEADER = ["unit", "kind", "busy_cycles", "utilisation", "bytes", "energy_pj"]


def _prog():
    return program([
        segment({
            "node[0][0].pe": [ins(1, "GEMM", m=16, k=32, n=32)],
            "node[0][0].ni": [ins(2, "SEND", [1], peer="node[1][1]", bytes=512, msg=1, category="fmap_transfer")],
            "node[1][1].ni": [ins(3, "RECV", peer="node[0][0]", bytes=512, msg=1, category="fmap_transfer")],
            "node[1][1].dram.bank[0]": [ins(4, "DRAM_WRITE", [3], bytes=512, category="memory")],
            "node[1][1].acu": [ins(5, "ACU", [4], func="gelu", elements=512)],
        }, repeat=2, name="enc", stage=1),
        segment({"node[2][2].acu": [ins(6, "ACU", func="add", elements=64)]}, name="head", stage=None),
    ], predicted=1000)


@pytest.fixture(scope="module")
def pim_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("ux")
    path = d / "program.json"
    path.write_text(dump_program(_prog()))
    out = d / "run"
    main(["run", "--program", str(path), "--hw", "pim-dram-8x8", "--out", str(out), "--set", "noc.flit_bits=32"])
    return out


def _rows(run):
    with open(run / "units.csv", newline="") as f:
        return list(csv.reader(f))


def test_units_csv_has_one_row_per_unit_and_its_energy_sums_to_the_total(pim_run):
    result = json.loads((pim_run / "result.json").read_text())
    rows = _rows(pim_run)
    assert rows[0] == UNITS_HEADER
    body = rows[1:]
    names = [r[0] for r in body]
    assert len(names) == len(set(names))
    expected = set(result["units"]) | set(result["routers"]) | set(result["links"]) | {
        f"{n}.sram" for n in result["buffer_energy_pj"]}
    assert set(names) == expected
    kinds = {r[1] for r in body}
    assert {"pe", "acu", "ni", "dram_bank", "sram", "router", "link"} <= kinds
    total = math.fsum(float(r[5]) for r in body)
    assert total == pytest.approx(result["energy"]["total_pj"], rel=1e-6)
    pe = next(r for r in body if r[0] == "node[0][0].pe")
    assert int(pe[2]) == result["units"]["node[0][0].pe"]["busy_cycles"] > 0
    bank = next(r for r in body if r[0] == "node[1][1].dram.bank[0]")
    assert int(bank[4]) == 2 * 512
    # numeric order: node[2] before node[10] would need a 16x16 mesh; at least rows follow mesh order
    pes = [n for n in names if n.endswith(".pe")]
    assert pes[:3] == ["node[0][0].pe", "node[0][1].pe", "node[0][2].pe"]


def test_report_states_every_override(pim_run):
    text = (pim_run / "report.md").read_text()
    assert "noc.flit_bits=32" in text
    assert json.loads((pim_run / "result.json").read_text())["overrides"] == ["noc.flit_bits=32"]


def test_report_labels_the_none_stage_and_the_summed_bank_queueing(pim_run):
    text = (pim_run / "report.md").read_text()
    assert "| none |" not in text
    assert "outside stages (head)" in text
    assert "summed over" in text and "bank queueing" in text


def test_busiest_links_sorted_numerically_without_a_list_of_ties():
    from simulator.families.pim_mesh.report import busiest_links

    links = {f"link[{r}][0]->[{r + 1}][0]": {"busy_fraction": 0.5, "bytes": 64, "flits": 8} for r in range(12)}
    links["link[10][0]->[11][0]"] = {"busy_fraction": 0.9, "bytes": 640, "flits": 80}
    lines = busiest_links(links, top=10)
    text = "\n".join(lines)
    assert lines[0].startswith("| `link[10][0]->[11][0]`")
    # the 11 links tied at 50 % are one row, not ten rows that hide the eleventh
    assert text.count("50.0 %") == 1 and "11 links" in text


def test_heat_map_title_names_the_metric_it_colours(pim_run):
    from simulator.families.pim_mesh.report import node_heatmap_title

    result = json.loads((pim_run / "result.json").read_text())
    title = node_heatmap_title(result)
    assert "Eq. 21" not in title and "PE-array busy" in title


def test_link_plot_separates_directions(pim_run):
    from simulator.families.pim_mesh.report import link_segments

    result = json.loads((pim_run / "result.json").read_text())
    segs = link_segments({"link[0][0]->[0][1]": {"busy_fraction": 0.2}, "link[0][1]->[0][0]": {"busy_fraction": 0.4}})
    (a, _), (b, _) = segs
    # the two directions of one physical link are drawn as two segments that do not overlap
    assert a != b and abs(a[0][1] - b[0][1]) > 0.15 and result["links"]


def test_crossbar_report_has_no_raw_python_containers():
    from simulator.families.crossbar_chip.report import markdown

    result = {
        "model": "m", "hw": "fefet-64", "method": "trex", "reuse_pattern": [3, 5], "n_encoders": 12, "n_reuse": 2,
        "include_tb_in_totals": False, "overrides": [],
        "totals": {"energy_mj": 1.0, "delay_ms": 2.0, "area_mm2": 3.0, "edap_mj_ms_mm2": 6.0, "tops_per_w": 1.0,
                   "tops_per_mm2": 1.0, "fps": 500.0, "macs": 10, "macs_baseline_model": 12,
                   "tops_per_w_baseline_macs": 1.0, "tops_per_mm2_baseline_macs": 1.0},
        "latency": {"cycles": 10, "ms": 2.0},
        "simulated": {"energy_mj": 1.0}, "closed_form": {"energy_mj": 1.0}, "des_matches_closed_form": True,
        "tb": {"energy_mj": 0.1, "delay_ms": 0.1, "area_mm2": 0.1, "tiles": 2, "edap_increase_pct": 1.0},
        "by_block": {"attention": {"energy_mj": 1.0, "delay_ms": 1.0, "area_mm2": 1.0, "tiles": 3, "in_totals": True}},
        "by_circuit": {"energy_mj": {"read": 1.0}, "delay_ms": {"read": 1.0}, "note": "read path 0.5 / 0.5"},
        "tiles": {"count": 3, "utilisation_mean": 0.5, "utilisation_min": 0.1, "utilisation_max": 0.9, "per_tile": []},
        "softmax_units": [{"unit": "softmax[0]", "busy_cycles": 1, "utilisation": 0.1}],
        "checks": {"instructions": 5, "macs_executed": 10, "macs_expected": 10, "breakdowns_sum_to_totals": True},
        "unmapped_macs": 0,
    }
    text = markdown(result)
    for raw in ("{'", "['", "[3, 5]", "True}", ": True,"):
        assert raw not in text, raw
    assert "encoders 3, 5" in text
