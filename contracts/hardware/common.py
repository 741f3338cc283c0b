"""What every hardware config has, whatever its family: version, kind, name, technology and clock.

The family schemas (:mod:`contracts.hardware.pim_mesh`,
:mod:`contracts.hardware.crossbar_chip`) derive from :class:`HwConfigHeader`
and narrow ``kind`` to their own literal, which is the tag the loader
dispatches on.
"""

from __future__ import annotations

from pydantic import Field

from contracts.base import HW_SCHEMA_VERSION, Frozen


class HwConfigHeader(Frozen):
    schema_version: int = Field(default=HW_SCHEMA_VERSION, description="Config format version (unit: none).")
    kind: str = Field(description="Selects the schema: the hardware family (unit: none).")
    name: str = Field(description="Config name (unit: none).")
    description: str = Field(default="", description="What the config is (unit: none).")
    technology_nm: int = Field(ge=1, le=10**6, description="Logic (CMOS) technology (unit: nm).")
    clock_hz: float = Field(ge=1e3, le=1e12, description="Logic clock, which discretises simulated time (unit: Hz).")
