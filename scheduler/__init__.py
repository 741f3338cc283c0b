"""vitsim scheduler: workload + hardware config -> Program (the only OR-Tools user).

``scheduler.allspark``: Allspark partition, CP-SAT schedule, layout, placement
and the B / P / AH baselines for PIM meshes. ``scheduler.crossbar``: TReX
layer-to-crossbar mapping, Algorithm 1 and the TReX-paper baselines for
crossbar chips. Neither imports torch or SimPy.
"""
