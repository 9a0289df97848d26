"""The pure decision core: credentials + lists + rules + time + direction → allow or refuse.

No I/O and no clock reads: everything arrives as arguments, so every row of the decision table
is a plain unit test. Each rule reports its reason through its :class:`Mode`: ``hard`` refuses,
``guard`` refuses until a guard confirms, ``soft`` allows and flags.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.gate.credentials.evidence import (
    EvidenceKind,
    HealthCodeCredential,
    HealthCodeStatus,
    HealthCredential,
    HealthEvidence,
    TestResult,
)
from edge.gate.credentials.verified import Credential, PassCredential, Role
from edge.gate.reasons import Reason, sentence
from edge.gate.rules.lists import ColourClass, HouseholdStatus, ListsSnapshot
from edge.gate.rules.profile import (
    DEFAULT_COLOUR_IN,
    DEFAULT_COLOUR_OUT,
    Direction,
    Mode,
    Rules,
)


@dataclass(frozen=True)
class Decision:
    """The gate's answer. ``reasons`` explain a refusal; ``flags`` are soft warnings.

    ``needs_guard`` is True when every reason can be lifted by a guard's confirmation
    (call :func:`decide` again with ``guard_confirmed=True``).
    """

    allow: bool
    reasons: tuple[Reason, ...] = ()
    flags: tuple[Reason, ...] = ()
    holder: str | None = None
    household: str | None = None
    needs_guard: bool = False

    @property
    def guard_alert(self) -> bool:
        """The guard must be alerted now (e.g. a quarantined resident tried to go out)."""
        return Reason.GUARD_ALERT in self.flags

    def sentence(self, lang: str = "zh") -> str:
        if self.allow:
            return "请通行" if lang == "zh" else "Welcome, please pass"
        return sentence(self.reasons[0], lang) if self.reasons else ""


def _dedupe(reasons: list[Reason]) -> tuple[Reason, ...]:
    return tuple(dict.fromkeys(reasons))


@dataclass
class _Outcome:
    hard: list[Reason] = field(default_factory=list)
    guard: list[Reason] = field(default_factory=list)
    flags: list[Reason] = field(default_factory=list)

    def add(self, reason: Reason, mode: Mode) -> None:
        if mode is Mode.HARD:
            self.hard.append(reason)
        elif mode is Mode.GUARD:
            self.guard.append(reason)
        elif mode is Mode.SOFT:
            self.flags.append(reason)


_COLOUR_REASONS = {
    ColourClass.RED: Reason.COLOUR_RED,
    ColourClass.YELLOW: Reason.COLOUR_YELLOW,
    ColourClass.BLUE: Reason.COLOUR_BLUE,
    ColourClass.GREY: Reason.COLOUR_GREY,
    ColourClass.BLACK: Reason.COLOUR_BLACK,
}
_CODE_REASONS = {
    HealthCodeStatus.YELLOW: Reason.HEALTH_CODE_YELLOW,
    HealthCodeStatus.RED: Reason.HEALTH_CODE_RED,
    HealthCodeStatus.EXPIRED: Reason.HEALTH_CODE_EXPIRED,
    HealthCodeStatus.NOT_FOUND: Reason.HEALTH_CODE_NOT_FOUND,
    HealthCodeStatus.FAILED: Reason.HEALTH_CODE_UNAVAILABLE,
    HealthCodeStatus.TIMEOUT: Reason.HEALTH_CODE_UNAVAILABLE,
}
_SEVERITY = [
    HealthCodeStatus.RED,
    HealthCodeStatus.YELLOW,
    HealthCodeStatus.EXPIRED,
    HealthCodeStatus.NOT_FOUND,
    HealthCodeStatus.FAILED,
    HealthCodeStatus.TIMEOUT,
]
_MODE_ORDER = [Mode.OFF, Mode.SOFT, Mode.GUARD, Mode.HARD]


def _stricter(a: Mode, b: Mode) -> Mode:
    return max(a, b, key=_MODE_ORDER.index)


def _household_rules(
    out: _Outcome, p: PassCredential, lists: ListsSnapshot, rules: Rules, now: float, d: Direction
) -> None:
    household = lists.household(p.household)
    if household is None:
        if rules.require_registered_household:
            out.hard.append(Reason.HOUSEHOLD_UNKNOWN)
        status = HouseholdStatus.NORMAL
    else:
        status = household.status
        if (
            status is HouseholdStatus.HOME_QUARANTINE
            and household.quarantine_until is not None
            and now >= household.quarantine_until
        ):
            status = HouseholdStatus.NORMAL  # isolation ended: the rule lifts at once
    visitor = p.role is Role.VISITOR
    # Registered at the booth (name, phone, temperature, commitment): that registration is
    # what VISITOR_REGISTRATION_REQUIRED asks for.
    registered = visitor and p.registered and rules.registered_visitors
    if d is Direction.OUT and not visitor:
        if status is HouseholdStatus.HOME_QUARANTINE:
            out.add(Reason.QUARANTINE_NO_EXIT, rules.quarantine_exit)
            out.flags.append(Reason.GUARD_ALERT)  # an attempt to leave is always reported
        elif status is HouseholdStatus.SEALED:
            out.add(Reason.SEALED_NO_EXIT, rules.sealed_exit)
        elif status is HouseholdStatus.CONTROLLED:
            out.add(Reason.CONTROLLED_NO_EXIT, rules.controlled_exit)
    if d is Direction.IN:
        if visitor and Role.VISITOR not in rules.roles_in and not registered:
            pass  # already refused by role; the visitor rules apply only to admitted roles
        elif visitor:
            if status is HouseholdStatus.HOME_QUARANTINE:
                out.hard.append(Reason.QUARANTINE_VISIT)
            elif registered and status is HouseholdStatus.SEALED:
                if not rules.registered_visitors_sealed:
                    out.hard.append(Reason.SEALED_AREA)
            elif registered:
                pass  # normal or controlled area: the booth's registration is the condition
            elif status in (HouseholdStatus.SEALED, HouseholdStatus.CONTROLLED):
                # sealed and controlled areas: visitors only with a registered commitment
                reason = (
                    Reason.SEALED_AREA
                    if status is HouseholdStatus.SEALED
                    else Reason.VISITOR_REGISTRATION_REQUIRED
                )
                out.add(reason, _stricter(rules.visitor_entry, Mode.GUARD))
            else:
                out.add(Reason.VISITOR_REGISTRATION_REQUIRED, rules.visitor_entry)
        elif status is HouseholdStatus.HOME_QUARANTINE:
            out.flags += [Reason.QUARANTINE_ENTRY, Reason.GUARD_ALERT]
    if not visitor:
        colour = lists.holder_colours.get(p.holder)
        if colour is None:
            colour = household.colour if household is not None else ColourClass.GREEN
        table, default = (
            (rules.colour_in, DEFAULT_COLOUR_IN)
            if d is Direction.IN
            else (rules.colour_out, DEFAULT_COLOUR_OUT)
        )
        colour_reason = _COLOUR_REASONS.get(colour)
        if colour_reason is not None:
            out.add(colour_reason, table.get(colour, default[colour]))


def _valid_evidence(credentials: Sequence[Credential]) -> list[HealthEvidence]:
    return [
        e
        for c in credentials
        if isinstance(c, HealthCredential) and not c.problems
        for e in c.evidence
    ]


def _health_problems(credentials: Sequence[Credential]) -> list[Reason]:
    return [p for c in credentials if isinstance(c, HealthCredential) for p in c.problems]


def _test_rule(
    out: _Outcome, ev: list[HealthEvidence], bad: list[Reason], rules: Rules, now: float
) -> None:
    window_s = rules.test_window_h * 3600
    tests = [
        e
        for e in ev
        if e.kind is EvidenceKind.TEST
        and e.sample_time is not None
        and e.test_type is not None
        and e.test_type.value in rules.test_types
    ]
    if not tests:
        for r in bad or [Reason.TEST_REQUIRED]:
            out.add(r, rules.test)
        return
    recent = [
        e for e in tests if e.sample_time is not None and 0 <= now - e.sample_time <= window_s
    ]
    if any(e.result is TestResult.POSITIVE for e in recent):
        out.add(Reason.TEST_POSITIVE, rules.test)  # a recent positive outweighs any negative
    elif any(e.result is TestResult.NEGATIVE for e in recent):
        return
    elif any(e.sample_time is not None and e.sample_time > now for e in tests):
        out.add(Reason.TEST_IN_FUTURE, rules.test)
    elif recent:
        out.add(Reason.TEST_REQUIRED, rules.test)  # recent but no readable result
    else:
        out.add(Reason.TEST_TOO_OLD, rules.test)


def _vaccination_rule(
    out: _Outcome, ev: list[HealthEvidence], bad: list[Reason], rules: Rules, now: float
) -> None:
    if any(e.series_complete for e in ev):
        return
    if any(
        e.kind is EvidenceKind.RECOVERY
        and e.valid_from is not None
        and e.valid_until is not None
        and e.valid_from <= now <= e.valid_until
        for e in ev
    ):
        return
    if any(e.kind is EvidenceKind.VACCINATION for e in ev):
        out.add(Reason.VACCINATION_INCOMPLETE, rules.vaccination)
    else:
        for r in bad or [Reason.VACCINATION_REQUIRED]:
            out.add(r, rules.vaccination)


def _health_code_rule(out: _Outcome, credentials: Sequence[Credential], rules: Rules) -> None:
    codes = [c for c in credentials if isinstance(c, HealthCodeCredential)]
    if any(c.status is HealthCodeStatus.GREEN for c in codes):
        return
    if not codes:
        out.add(Reason.HEALTH_CODE_REQUIRED, rules.health_code)
        return
    # the most severe answer speaks: red over yellow over the rest
    statuses = {c.status for c in codes}
    worst = next(s for s in _SEVERITY if s in statuses)
    if worst.offline:
        out.add(_CODE_REASONS[worst], rules.health_code_offline.mode)
    else:
        out.add(_CODE_REASONS[worst], rules.health_code)


def decide(
    credentials: Sequence[Credential],
    lists: ListsSnapshot,
    rules: Rules,
    now: float,
    direction: Direction,
    *,
    temperature_c: float | None = None,
    clock_trusted: bool = True,
    guard_confirmed: bool = False,
) -> Decision:
    """Decide one passage at Unix time ``now`` (seconds) in ``direction``.

    ``temperature_c`` is the thermometer reading in °C (None: no thermometer; NaN: it failed).
    ``clock_trusted=False`` fails every time-dependent check closed with ``CLOCK_UNTRUSTED``.
    ``guard_confirmed`` lifts the reasons a guard may resolve (registration, confirmation).
    """
    passes_ = [c for c in credentials if isinstance(c, PassCredential)]
    if not passes_:
        problems = [
            p for c in credentials if not isinstance(c, HealthCodeCredential) for p in c.problems
        ]
        first = [Reason.CLOCK_UNTRUSTED] if not clock_trusted else []
        return Decision(False, _dedupe(first + (problems or [Reason.NO_CREDENTIAL])))
    p = passes_[0]
    out = _Outcome()
    if not clock_trusted:
        out.hard.append(Reason.CLOCK_UNTRUSTED)
    out.hard += list(p.problems)
    if p.replayed:
        out.hard.append(Reason.DYNAMIC_CODE_REPLAYED)
    if p.pass_id in lists.revoked_passes:
        out.hard.append(Reason.REVOKED)
    allowed_roles = rules.roles_in if direction is Direction.IN else rules.roles_out
    booth_visitor = p.registered and p.role is Role.VISITOR and rules.registered_visitors
    if p.role not in allowed_roles and not booth_visitor:
        out.hard.append(Reason.ROLE_NOT_ALLOWED)
    _household_rules(out, p, lists, rules, now, direction)
    if direction in rules.health_directions:
        ev = _valid_evidence(credentials)
        bad = _health_problems(credentials)
        if rules.health_code is not Mode.OFF:
            _health_code_rule(out, credentials, rules)
        if rules.test is not Mode.OFF and rules.test_window_h > 0:
            _test_rule(out, ev, bad, rules, now)
        if rules.vaccination is not Mode.OFF:
            _vaccination_rule(out, ev, bad, rules, now)
    if temperature_c is not None and rules.temperature is not Mode.OFF:
        if math.isnan(temperature_c):
            out.add(Reason.TEMPERATURE_UNAVAILABLE, rules.temperature)
        elif temperature_c >= rules.temperature_threshold_c:
            out.add(Reason.TEMPERATURE_HIGH, rules.temperature)
    flags = list(out.flags)
    if out.hard:
        allow, reasons, needs_guard = False, out.hard + out.guard, False
    elif out.guard and guard_confirmed:
        allow, reasons, needs_guard = True, [], False
        flags += [*out.guard, Reason.GUARD_CONFIRMED]
    elif out.guard:
        allow, reasons, needs_guard = False, out.guard, True
    else:
        allow, reasons, needs_guard = True, [], False
    return Decision(
        allow=allow,
        reasons=_dedupe(reasons),
        flags=_dedupe(flags),
        holder=p.holder,
        household=p.household,
        needs_guard=needs_guard,
    )
