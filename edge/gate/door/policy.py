"""Access rules that belong to the door: schedules, reader direction, anti-passback and closed
management (side gates shut, everyone through the main gate).

They apply *after* the pure decision core (:func:`~edge.gate.rules.decision.decide`) and can
only turn an allow into a refusal or add a flag, never the reverse. Their reason codes live
here, with the sentence for the person at the door, because the core's
:class:`~edge.gate.reasons.Reason` is owned by the decision core. Pure apart from the
anti-passback memory; time comes in as ``now`` (Unix seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.gate.reasons import Sentence
from edge.gate.rules.antipassback import AntiPassback, PassbackMode, Verdict
from edge.gate.rules.decision import Decision
from edge.gate.rules.profile import Direction
from edge.gate.rules.schedule import Calendar


class DoorReason(StrEnum):
    OUTSIDE_SCHEDULE = "OUTSIDE_SCHEDULE"
    ANTI_PASSBACK = "ANTI_PASSBACK"
    SIDE_GATE_CLOSED = "SIDE_GATE_CLOSED"
    # [store] when_not_durable: passes may not open while records cannot be written
    RECORDS_NOT_DURABLE = "RECORDS_NOT_DURABLE"


DOOR_SENTENCES: dict[DoorReason, Sentence] = {
    DoorReason.OUTSIDE_SCHEDULE: Sentence(
        "现在不是开放时间，请联系值班人员", "Outside opening hours, please ask the guard"
    ),
    DoorReason.ANTI_PASSBACK: Sentence(
        "该出入证已在此方向通行过，请联系值班人员",
        "This pass already went this way, please ask the guard",
    ),
    DoorReason.SIDE_GATE_CLOSED: Sentence(
        "封闭管理：侧门关闭，请走正门",
        "Closed management: side gate shut, please use the main gate",
    ),
    DoorReason.RECORDS_NOT_DURABLE: Sentence(
        "门禁记录暂时无法保存，请联系值班人员",
        "The gate cannot save records right now, please ask the guard",
    ),
}


def door_sentence(reason: DoorReason, lang: str = "zh") -> str:
    s = DOOR_SENTENCES[reason]
    return s.en if lang == "en" else s.zh


class DoorRulesSettings(BaseModel):
    """The ``[door_rules]`` table: the door's own access rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calendar: Calendar = Field(default_factory=Calendar, description="schedules and holidays")
    access_schedule: str = Field(
        default="always", description="schedule during which allowed passes open the door"
    )
    exit_schedule: str = Field(
        default="always", description="schedule during which the exit button opens the door"
    )
    unlock_schedule: str = Field(
        default="never", description="schedule during which the door is held unlocked"
    )
    gate_kind: Literal["main", "side"] = Field(
        default="main", description="'side' gates are shut under closed management"
    )
    closed_management: bool = Field(
        default=False, description="closed management (封闭管理): side gates shut"
    )
    anti_passback: PassbackMode = Field(
        default=PassbackMode.OFF, description="'off', 'soft' (allow and flag) or 'hard' (refuse)"
    )
    anti_passback_reset_s: float = Field(
        default=4 * 3600.0, ge=1.0, le=7 * 86400.0, description="anti-passback memory, seconds"
    )
    readers: dict[str, Direction] = Field(
        default_factory=dict, description="reader name → 'in' or 'out'"
    )

    @model_validator(mode="after")
    def _known_schedules(self) -> DoorRulesSettings:
        for key in ("access_schedule", "exit_schedule", "unlock_schedule"):
            name = getattr(self, key)
            if not self.calendar.known(name):
                names = ", ".join(["always", "never", *self.calendar.schedules])
                raise ValueError(
                    f"door_rules.{key}: no schedule named {name!r} — use one of {names}"
                )
        return self


@dataclass(frozen=True)
class DoorVerdict:
    """The door's word on top of a decision: refusals and soft flags of its own."""

    allow: bool = True
    reasons: tuple[DoorReason, ...] = ()
    flags: tuple[DoorReason, ...] = ()

    def sentence(self, lang: str = "zh") -> str:
        return door_sentence(self.reasons[0], lang) if self.reasons else ""


@dataclass
class DoorPolicy:
    """Applies :class:`DoorRulesSettings`; ``closed_management`` may be switched at run time."""

    settings: DoorRulesSettings = field(default_factory=DoorRulesSettings)
    closed_management: bool = False
    hold_command: bool | None = None  # a guard's hold open (True) / shut (False) override
    passback: AntiPassback = field(default_factory=AntiPassback)

    @classmethod
    def from_settings(cls, settings: DoorRulesSettings) -> DoorPolicy:
        return cls(
            settings,
            settings.closed_management,
            None,
            AntiPassback(settings.anti_passback, settings.anti_passback_reset_s),
        )

    def reconfigure(self, settings: DoorRulesSettings) -> None:
        """Apply new ``[door_rules]`` live (config reload), keeping the anti-passback memory
        and a closed-management switch made at run time unless the file changes that flag."""
        if settings.closed_management != self.settings.closed_management:
            self.closed_management = settings.closed_management
        self.settings = settings
        self.passback.mode = settings.anti_passback
        self.passback.reset_s = settings.anti_passback_reset_s

    @property
    def side_gate_shut(self) -> bool:
        return self.closed_management and self.settings.gate_kind == "side"

    def direction_of(self, reader: str) -> Direction:
        """The direction of a named reader; raises KeyError naming the known readers."""
        try:
            return self.settings.readers[reader]
        except KeyError:
            known = ", ".join(self.settings.readers) or "none configured"
            raise KeyError(f"unknown reader {reader!r} (known: {known})") from None

    def check(self, decision: Decision, direction: Direction, now: float) -> DoorVerdict:
        """The door's rules for an allowed ``decision``; a refused one is left as it is."""
        if not decision.allow:
            return DoorVerdict()
        if self.side_gate_shut:
            return DoorVerdict(False, (DoorReason.SIDE_GATE_CLOSED,))
        if not self.settings.calendar.active(self.settings.access_schedule, now):
            return DoorVerdict(False, (DoorReason.OUTSIDE_SCHEDULE,))
        verdict = self.passback.check(decision.holder, direction, now)
        if verdict is Verdict.REFUSE:
            return DoorVerdict(False, (DoorReason.ANTI_PASSBACK,))
        flags = (DoorReason.ANTI_PASSBACK,) if verdict is Verdict.FLAG else ()
        return DoorVerdict(True, (), flags)

    def passed(self, decision: Decision, direction: Direction, now: float) -> None:
        """Remember a granted passage (for anti-passback)."""
        self.passback.passed(decision.holder, direction, now)

    def exit_allowed(self, now: float) -> tuple[bool, str]:
        """Whether the exit button may open the door at ``now``, and why not."""
        if self.side_gate_shut:
            return False, DoorReason.SIDE_GATE_CLOSED.value
        if not self.settings.calendar.active(self.settings.exit_schedule, now):
            return False, DoorReason.OUTSIDE_SCHEDULE.value
        return True, ""

    def hold_wanted(self, now: float) -> bool:
        """Whether the door should be held unlocked now (schedule, or a guard's command)."""
        if self.side_gate_shut:
            return False
        if self.hold_command is not None:
            return self.hold_command
        return self.settings.calendar.active(self.settings.unlock_schedule, now)


__all__ = [
    "DOOR_SENTENCES",
    "DoorPolicy",
    "DoorReason",
    "DoorRulesSettings",
    "DoorVerdict",
    "door_sentence",
]
