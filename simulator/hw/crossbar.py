"""Schema of a crossbar chip: TReX-Sim's FeFET / SRAM analog crossbar tiles.

PLACEHOLDER owned by the crossbar (TReX-Sim) work: it is fleshed out there.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CrossbarChipConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = Field(default=1, description="Config format version (unit: none).")
    kind: Literal["crossbar_chip"] = Field(description="Selects this schema (unit: none).")
    name: str = Field(description="Config name (unit: none).")

    def unit_names(self) -> set[str]:
        return set()
