"""Allspark (Ge et al.): partition, CP-SAT schedule, layout, placement and lowering for PIM meshes.

Pipeline of this package::

    workload.json --partition.py--> block kinds, candidate partitions [u, v], per-node phase steps
                  --costs.py------> T^c + T^t + T^ws per (block kind, partition) from simulator.families.pim_mesh.costmodel
                  --cpsat.py------> temporal layers per partition (counts, no layer index), dp.py as hint
                  --layout.py-----> Algorithm 1 sub-array layouts, N_{alpha,beta}
                  --placement.py--> branch -> (temporal layer, sub-array), greedy on G_dp
                  --lower.py------> Program IR (one segment per block shape, repeat = blocks)

``baselines.py`` restricts the candidate set (B, P, AH) and reuses the same
solver; ``summary.py`` prints Table IV / Table V style text; ``cli.py`` is the
``python -m scheduler solve`` entry for PIM meshes.
"""
