"""The community's rule profile: what the decision core enforces.

Pushed down by the central platform or set in the config file; validated with pydantic so a
bad profile is refused before it can reach the door.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    RESIDENT = "resident"
    TENANT = "tenant"
    STAFF = "staff"
    VISITOR = "visitor"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Rules(BaseModel):
    """Rule profile. Each field documents its unit; every field has a safe default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(default=0, ge=0, description="monotonic version of this profile")
    roles_in: frozenset[Role] = Field(
        default=frozenset({Role.RESIDENT, Role.TENANT, Role.STAFF}),
        description="roles admitted on entry",
    )
    roles_out: frozenset[Role] = Field(
        default=frozenset({Role.RESIDENT, Role.TENANT, Role.STAFF, Role.VISITOR}),
        description="roles allowed to exit",
    )
    require_registered_household: bool = Field(
        default=False,
        description="refuse passes whose household is missing from the synced lists",
    )
