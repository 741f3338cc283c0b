"""The ``crossbar_chip`` family: TReX's FeFET/SRAM crossbar chips.

Schema :class:`contracts.hardware.crossbar_chip.CrossbarChipConfig`; cost model
:mod:`.costmodel` (TReX-Sim, shared with the scheduler); unit models
:mod:`.units` (crossbar tiles and softmax units); result builder and closed-form
schedule :mod:`.summary`, schema :mod:`.result`, report :mod:`.report`.
"""

from contracts.hardware.crossbar_chip import CrossbarChipConfig
from simulator.families import Family, register_family

FAMILY = register_family(Family(
    kind="crossbar_chip",
    description="FeFET/SRAM analog crossbar chip (TReX)",
    hw_schema=CrossbarChipConfig,
    default_method="trex",
    reuse_plan="closed_form",
    simulate="simulator.families.crossbar_chip.units:simulate",
    result_model="simulator.families.crossbar_chip.result:CrossbarResult",
    render="simulator.families.crossbar_chip.report:render",
    units_rows="simulator.units_csv:crossbar_rows",
))
