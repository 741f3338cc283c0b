"""The ``pim_mesh`` family: Allspark's mesh of 3D-stacked-DRAM PIM nodes."""
