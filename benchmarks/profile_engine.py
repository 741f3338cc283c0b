"""Profile the executor's event loop on one program: cProfile of ``Executor.run`` only (issue 11).

Loads a PIM-mesh program (``.json`` or ``.json.gz``), simulates it like ``python -m simulator run``
and prints the top entries of a cProfile of ``Executor.run`` (compile and summary excluded) by
internal time, with the CPU seconds and the SimPy event count of an unprofiled run beside it.
cProfile's overhead inflates call-heavy code: read the shares, not the seconds; for shares without
that overhead sample the same command with py-spy (``py-spy record -r 500 -f raw -- python
benchmarks/profile_engine.py ... --no-profile``).

    python benchmarks/profile_engine.py tests/golden/swin-b-224/program.json.gz [--mode full|block-reuse]
        [--network worm|transfer|flit] [--hw pim-dram-16x16] [--top 25] [--no-profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import os
import pstats
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("program")
    p.add_argument("--mode", default="full", choices=("full", "block-reuse"))
    p.add_argument("--network", default="worm")
    p.add_argument("--hw", default="pim-dram-16x16")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--no-profile", action="store_true", help="time the run only (for a sampling profiler)")
    a = p.parse_args(argv)
    sys.path.insert(0, REPO)
    import simulator.families.pim_mesh.units as units
    from contracts.hardware.loader import load_hw
    from contracts.program import load_program

    hw = load_hw(a.hw, [])
    path = a.program
    with tempfile.TemporaryDirectory() as tmp:
        if path.endswith(".gz"):
            plain = os.path.join(tmp, "program.json")
            with gzip.open(path, "rb") as f, open(plain, "wb") as g:
                g.write(f.read())
            path = plain
        program = load_program(path, known_units=hw.unit_names())
    original = units.Executor.run

    def run(self):
        if a.no_profile:
            c0 = time.process_time()
            result = original(self)
            print(f"Executor.run: {time.process_time() - c0:.3f} CPU s, {result.events:,} SimPy events, "
                  f"{result.total_cycles:,} cycles")
            return result
        prof = cProfile.Profile(time.process_time)
        prof.enable()
        result = original(self)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(a.top)
        return result

    units.Executor.run = run
    units.simulate(program, hw, mode=a.mode, network_mode=a.network, progress=False, program_digest="profile")


if __name__ == "__main__":
    main()
