"""The sweep engine: a YAML spec of axes -> points -> trace/schedule/simulate on Ray -> one tidy table.

Library entry points (stable):

* :func:`run_sweep(spec_or_path, out_dir, address=None, *, num_cpus=None, sets=None, progress=True)
  <studies.sweep.engine.run_sweep>` -> ``pandas.DataFrame`` (one row per point, spec order; the same
  table as ``out_dir/sweep.csv`` / ``sweep.parquet``);
* :func:`load_spec(path) <studies.sweep.spec.load_spec>`, :func:`parse_spec(dict)
  <studies.sweep.spec.parse_spec>` -> :class:`SweepSpec`;
* :func:`load_table(out_dir) <studies.sweep.engine.load_table>` -> the DataFrame of a finished sweep;
* :data:`COLUMNS <studies.sweep.table.COLUMNS>`: the table's columns.

What is modelled: nothing new. Each point runs the project's stages
(:mod:`studies.sweep.execute`); this package only expands, schedules on Ray,
resumes and tabulates.
"""

from studies.sweep.engine import init_ray, load_table, run_sweep
from studies.sweep.points import Point
from studies.sweep.spec import Grid, Options, SweepSpec, load_spec, parse_spec
from studies.sweep.table import COLUMNS

__all__ = ["run_sweep", "load_table", "init_ray", "load_spec", "parse_spec", "SweepSpec", "Grid", "Options",
           "Point", "COLUMNS"]
