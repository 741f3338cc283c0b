"""The pydantic base of every file contract, the schema versions, and validation in one sentence.

Every model that is read from or written to disk derives from :class:`Strict`
(``extra="forbid"``: an unknown or misspelt field is an error, never silently
dropped). Inputs that are configuration (hardware configs, the WorkloadGraph)
derive from :class:`Frozen`, which also makes instances immutable and refuses
NaN and infinity. The Program IR stays mutable (a caller may blank the
solver's wall time before comparing two programs).

Each file format carries an integer ``schema_version``; the current value of
each lives here, and a loader refuses a file of another version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from contracts.errors import UserError, describe_validation_error

PROGRAM_SCHEMA_VERSION = 1  # program.json (contracts.program.Program)
WORKLOAD_SCHEMA_VERSION = 1  # workload.json (contracts.workload.WorkloadGraph)
HW_SCHEMA_VERSION = 1  # hw_configs/*.yaml (contracts.hardware)

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base of every on-disk model: unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")


class Frozen(Strict):
    """Base of configuration inputs: strict, immutable, finite numbers only."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)


def validate_as(model: type[M], data: Any, what: str,
                describe: Callable[[Exception], str] = describe_validation_error) -> M:
    """``model.model_validate(data)``, or a :class:`UserError` "<what> is malformed: <first problem>"."""
    try:
        return model.model_validate(data)
    except Exception as e:  # pydantic.ValidationError
        raise UserError(f"{what} is malformed: {describe(e)}") from None
