"""The community's rule profile: what the decision core enforces.

Pushed down by the central platform or set in the config file; validated with pydantic so a
bad profile is refused before it can reach the door.

Each rule has a :class:`Mode`: ``off`` (not checked), ``soft`` (allow and flag), ``guard``
(refuse until a guard confirms or registers the person) or ``hard`` (refuse).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.gate.credentials.verified import Role
from edge.gate.rules.lists import ColourClass


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Mode(StrEnum):
    """How a rule acts when it is not met."""

    OFF = "off"
    SOFT = "soft"  # allow, and flag it for the guard and the records
    GUARD = "guard"  # refuse until a guard confirms / registers the person
    HARD = "hard"  # refuse


class OfflinePolicy(StrEnum):
    """What to do when the online health-code platform cannot answer."""

    DENY = "deny"
    GUARD_CONFIRM = "guard_confirm"
    ALLOW_AND_FLAG = "allow_and_flag"

    @property
    def mode(self) -> Mode:
        return {
            OfflinePolicy.DENY: Mode.HARD,
            OfflinePolicy.GUARD_CONFIRM: Mode.GUARD,
            OfflinePolicy.ALLOW_AND_FLAG: Mode.SOFT,
        }[self]


_C = ColourClass
DEFAULT_COLOUR_IN = {
    _C.RED: Mode.HARD,  # from high-risk areas: the community handles them, not the door
    _C.YELLOW: Mode.GUARD,  # checked and registered by the guard before going home
    _C.GREEN: Mode.OFF,
    _C.BLUE: Mode.SOFT,  # was away and is back: flag so the community reclassifies
    _C.GREY: Mode.SOFT,  # could not be contacted: flag to update contact details
    _C.BLACK: Mode.GUARD,  # dwelling listed empty: someone entering must be checked
}
DEFAULT_COLOUR_OUT = {
    _C.RED: Mode.HARD,
    _C.YELLOW: Mode.HARD,
    _C.GREEN: Mode.OFF,
    _C.BLUE: Mode.OFF,
    _C.GREY: Mode.SOFT,
    _C.BLACK: Mode.OFF,
}


class Rules(BaseModel):
    """Rule profile. Each field documents its unit; every field has a safe default.

    The defaults check the pass, the household status and the colour classes; health proofs
    (health code, test, vaccination) are ``off`` until a profile turns them on.
    """

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
    # health proofs
    health_directions: frozenset[Direction] = Field(
        default=frozenset({Direction.IN}),
        description="directions in which health code, test and vaccination are checked",
    )
    health_code: Mode = Field(
        default=Mode.OFF, description="online regional health code (健康码) must be green"
    )
    health_code_offline: OfflinePolicy = Field(
        default=OfflinePolicy.GUARD_CONFIRM,
        description="when the health-code platform cannot answer: deny, guard_confirm, "
        "allow_and_flag",
    )
    test: Mode = Field(default=Mode.OFF, description="a negative test within test_window_h")
    test_window_h: int = Field(
        default=48,
        ge=0,
        le=720,
        description="hours a negative test stays valid, from its sample time; 0 = no test needed",
    )
    test_types: frozenset[str] = Field(
        default=frozenset({"nucleic_acid"}),
        description="test types accepted: nucleic_acid, rapid_antigen, other",
    )
    vaccination: Mode = Field(
        default=Mode.OFF,
        description="a complete vaccination series (or a valid recovery certificate)",
    )
    temperature: Mode = Field(
        default=Mode.HARD, description="refuse a reading at or above temperature_threshold_c"
    )
    temperature_threshold_c: float = Field(
        default=37.3, ge=35.0, le=42.0, description="fever threshold, °C (reading ≥ refuses)"
    )
    temperature_borderline_c: float | None = Field(
        default=None,
        ge=35.0,
        le=42.0,
        description="a reading at or above this, but under temperature_threshold_c, is "
        "borderline: refused (TEMPERATURE_HIGH) until a guard re-measures and lets the person "
        "through; empty = no borderline band, °C",
    )
    # resident colour classes (分色) and household status
    colour_in: dict[ColourClass, Mode] = Field(
        default_factory=lambda: dict(DEFAULT_COLOUR_IN), description="colour class → entry rule"
    )
    colour_out: dict[ColourClass, Mode] = Field(
        default_factory=lambda: dict(DEFAULT_COLOUR_OUT), description="colour class → exit rule"
    )
    quarantine_exit: Mode = Field(
        default=Mode.HARD,
        description="home-quarantined household going out (always raises a guard alert)",
    )
    sealed_exit: Mode = Field(
        default=Mode.HARD, description="sealed-area (封控区) resident going out"
    )
    controlled_exit: Mode = Field(
        default=Mode.GUARD, description="controlled-area (管控区) resident going out"
    )
    visitor_entry: Mode = Field(
        default=Mode.GUARD,
        description="visitors (when in roles_in): hard = refused, guard = after registration",
    )
    registered_visitors: bool = Field(
        default=True,
        description="admit visitor passes issued at the booth after registration (the "
        "delegated visitor key) inside their window, even when visitor is not in roles_in",
    )
    visitor_confirmation: Mode = Field(
        default=Mode.GUARD,
        description="a visitor registered at the booth as needing the household's "
        "confirmation, until a guard records it: guard = refused "
        "(VISITOR_REGISTRATION_REQUIRED) but a guard at the gate may let them through, "
        "hard = refused until the household confirmed, soft = allowed and flagged, "
        "off = not checked",
    )
    registered_visitors_sealed: bool = Field(
        default=False,
        description="registered visitors may also enter a sealed area (封控区)",
    )

    @model_validator(mode="after")
    def _band_below_threshold(self) -> Rules:
        band = self.temperature_borderline_c
        if band is not None and band >= self.temperature_threshold_c:
            raise ValueError(
                f"temperature_borderline_c ({band}) must be below temperature_threshold_c "
                f"({self.temperature_threshold_c})"
            )
        return self
