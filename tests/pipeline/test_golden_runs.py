"""Golden files: ``make sim`` on DeiT-S / fefet-64 and PVT-v2-b2 / its default mesh writes today's files byte for byte.

``tests/golden/<case>/`` holds the ``workload.json``, ``program.json`` (gzipped,
``gzip -9 -n``) and ``result.json`` that ``make sim MODEL=deit-s HW=fefet-64`` and
``make sim MODEL=pvt-v2-b2`` (default hardware: ``pim-dram-8x8``) wrote on main
before the issue-14 restructuring (commit 79af097), with their sha256 in
``SHA256SUMS``. Together with ``test_golden_swin_b.py`` these pin both hardware
families end to end: trace, schedule/mapping and simulation. Any change that moves
one byte of these files fails here; speed figures live in ``meta.json`` and are not
compared. Each case runs in a few seconds, so both run in the fast suite.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from repo_paths import REPO_ROOT


CASES = {
    "deit-s-224-fefet-64": ["--model", "deit-s", "--img", "224", "--hw", "fefet-64"],
    "pvt-v2-b2-224": ["--model", "pvt-v2-b2", "--img", "224"],
}
FILES = ("workload.json", "program.json", "result.json")


def _sums(case: str) -> dict[str, str]:
    with open(os.path.join(REPO_ROOT, "tests", "golden", case, "SHA256SUMS")) as f:
        return {name: digest for digest, name in (line.split() for line in f if line.strip())}


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_sums_match_the_committed_files(case):
    import gzip

    golden = os.path.join(REPO_ROOT, "tests", "golden", case)
    sums = _sums(case)
    assert _sha256(os.path.join(golden, "result.json")) == sums["result.json"]
    assert _sha256(os.path.join(golden, "workload.json")) == sums["workload.json"]
    with gzip.open(os.path.join(golden, "program.json.gz"), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == sums["program.json"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_make_sim_writes_the_golden_files_byte_for_byte(case, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "pipeline", "sim", *CASES[case], "--out", str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    sums = _sums(case)
    for name in FILES:
        assert _sha256(str(out / name)) == sums[name], f"{case}: {name} differs from the golden file"
