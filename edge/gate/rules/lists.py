"""The lists the central platform pushes down, as one immutable snapshot for the decision core.

Households are keyed ``"building-unit-room"``
(:func:`~edge.gate.credentials.verified.household_key`). The snapshot is loaded from a JSON
file now; the sync layer replaces it atomically when a new version arrives.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from edge.core import limits
from edge.core.limits import LimitError, load_json
from edge.gate.credentials.trust import read_capped


class HouseholdStatus(StrEnum):
    NORMAL = "normal"
    HOME_QUARANTINE = "home_quarantine"
    SEALED = "sealed"
    CONTROLLED = "controlled"


class ColourClass(StrEnum):
    """分色: the community's classification of a resident or household."""

    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    BLUE = "blue"
    GREY = "grey"
    BLACK = "black"


class Household(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: HouseholdStatus = HouseholdStatus.NORMAL
    colour: ColourClass = ColourClass.GREEN
    quarantine_until: int | None = Field(
        default=None, description="end of home quarantine, Unix seconds; None = open-ended"
    )


class ListsSnapshot(BaseModel):
    """Everything the decision core needs to know from the central lists."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(default=0, ge=0, description="monotonic version of this snapshot")
    households: dict[str, Household] = Field(default_factory=dict)
    holder_colours: dict[str, ColourClass] = Field(
        default_factory=dict, description="per-holder colour class overriding the household's"
    )
    revoked_passes: frozenset[str] = Field(default_factory=frozenset)

    def household(self, key: str) -> Household | None:
        return self.households.get(key)

    def statuses(self) -> MappingProxyType[str, str]:
        """Household key → status string, for modules that must not import this one."""
        return MappingProxyType({k: v.status.value for k, v in self.households.items()})


def load_lists(path: Path) -> ListsSnapshot:
    """Read a lists snapshot from a JSON file; raises ``ValueError`` with the reason."""
    data = read_capped(path, limits.LIST_FILE_MAX_BYTES, "lists file")
    try:
        raw: Any = load_json(data, max_bytes=limits.LIST_FILE_MAX_BYTES)
    except LimitError as exc:
        raise ValueError(f"cannot read lists file {path}: {exc}") from exc
    return ListsSnapshot.model_validate(raw)
