"""The ``pim_mesh`` family: Allspark's mesh of 3D-stacked-DRAM PIM nodes.

Schema :class:`contracts.hardware.pim_mesh.PimMeshConfig`; cost model
:mod:`.costmodel` (shared with the scheduler); unit models :mod:`.units` (PE
array, ACU, DRAM banks, network interface, SRAM buffer on the generic
executor, mesh network from :mod:`simulator.noc`); result builder
:mod:`.summary`, schema :mod:`.result`, report :mod:`.report`.
"""

from contracts.hardware.pim_mesh import PimMeshConfig
from simulator.families import Family, register_family

FAMILY = register_family(Family(
    kind="pim_mesh",
    description="mesh of 3D-stacked-DRAM processing-in-memory nodes (Allspark)",
    hw_schema=PimMeshConfig,
    default_method="allspark",
    reuse_plan="simulated",
    simulate="simulator.families.pim_mesh.units:simulate",
    result_model="simulator.families.pim_mesh.result:PimResult",
    render="simulator.families.pim_mesh.report:render",
    units_rows="simulator.units_csv:pim_rows",
))
