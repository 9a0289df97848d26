"""The pure decision core: credentials + lists + rules + time + direction → allow or refuse.

No I/O and no clock reads: everything arrives as arguments, so every row of the decision table
is a plain unit test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edge.gate.credentials import Credential, PassCredential
from edge.gate.lists import HouseholdStatus, ListsSnapshot
from edge.gate.reasons import Reason, sentence
from edge.gate.rules import Direction, Rules


@dataclass(frozen=True)
class Decision:
    """The gate's answer. ``reasons`` explain a refusal; ``flags`` are soft warnings."""

    allow: bool
    reasons: tuple[Reason, ...] = ()
    flags: tuple[Reason, ...] = ()
    holder: str | None = None
    household: str | None = None

    def sentence(self, lang: str = "zh") -> str:
        if self.allow:
            return "请通行" if lang == "zh" else "Welcome, please pass"
        return sentence(self.reasons[0], lang) if self.reasons else ""


def _dedupe(reasons: list[Reason]) -> tuple[Reason, ...]:
    return tuple(dict.fromkeys(reasons))


def decide(
    credentials: Sequence[Credential],
    lists: ListsSnapshot,
    rules: Rules,
    now: float,
    direction: Direction,
) -> Decision:
    """Decide one passage at Unix time ``now`` (seconds) in ``direction``."""
    del now  # validity windows were checked at verification, with the same ``now``
    passes_ = [c for c in credentials if isinstance(c, PassCredential)]
    if not passes_:
        problems = [p for c in credentials for p in c.problems]
        return Decision(False, _dedupe(problems or [Reason.NO_CREDENTIAL]))
    p = passes_[0]
    reasons: list[Reason] = list(p.problems)
    if p.replayed:
        reasons.append(Reason.DYNAMIC_CODE_REPLAYED)
    if p.pass_id in lists.revoked_passes:
        reasons.append(Reason.REVOKED)
    allowed_roles = rules.roles_in if direction is Direction.IN else rules.roles_out
    if p.role not in allowed_roles:
        reasons.append(Reason.ROLE_NOT_ALLOWED)
    household = lists.household(p.household)
    if household is None:
        if rules.require_registered_household:
            reasons.append(Reason.HOUSEHOLD_UNKNOWN)
    elif household.status is HouseholdStatus.HOME_QUARANTINE and direction is Direction.OUT:
        reasons.append(Reason.QUARANTINE_NO_EXIT)
    return Decision(
        allow=not reasons,
        reasons=_dedupe(reasons),
        holder=p.holder,
        household=p.household,
    )
