"""The decision table of the full rules profile, case by case."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from healthkit import DAY, HOUR, NOW

from edge.gate.credentials.evidence import (
    EvidenceKind,
    HealthCodeCredential,
    HealthCodeStatus,
    HealthCredential,
    HealthEvidence,
    TestResult,
    TestType,
)
from edge.gate.credentials.verified import Credential, PassCredential, Role
from edge.gate.reasons import Reason
from edge.gate.rules.decision import Decision, decide
from edge.gate.rules.lists import ColourClass, Household, HouseholdStatus, ListsSnapshot
from edge.gate.rules.profile import Direction, Mode, OfflinePolicy, Rules

IN, OUT = Direction.IN, Direction.OUT
C = ColourClass
R = Reason

RESIDENT = PassCredential(
    pass_id="P-1",
    holder="h-1",
    building="1",
    unit="1",
    room="101",
    role=Role.RESIDENT,
    valid_from=int(NOW - DAY),
    valid_until=int(NOW + DAY),
)
LISTS = ListsSnapshot(
    households={
        "1-1-101": Household(),
        "1-1-102": Household(status=HouseholdStatus.HOME_QUARANTINE),
        "1-1-103": Household(status=HouseholdStatus.SEALED),
        "1-1-104": Household(status=HouseholdStatus.CONTROLLED),
        "1-1-105": Household(status=HouseholdStatus.HOME_QUARANTINE, quarantine_until=int(NOW)),
        "1-1-106": Household(colour=C.YELLOW),
    },
    revoked_passes=frozenset({"P-REVOKED"}),
)
WITH_VISITORS = Rules(roles_in=frozenset(set(Role)))
DEFAULT = Rules()


def at(room: str, **kw: Any) -> PassCredential:
    return replace(RESIDENT, room=room, **kw)


def visitor(room: str = "101") -> PassCredential:
    return replace(RESIDENT, room=room, role=Role.VISITOR, holder="v-1")


def run(creds: list[Credential], rules: Rules = DEFAULT, d: Direction = IN, **kw: Any) -> Decision:
    return decide(creds, LISTS, rules, NOW, d, **kw)


def test_plain_resident_passes_both_ways() -> None:
    for d in (IN, OUT):
        dec = run([RESIDENT], d=d)
        assert dec.allow and not dec.reasons and not dec.flags and dec.household == "1-1-101"


# --- household status -------------------------------------------------------------------


def test_quarantined_resident_going_out_is_refused_and_alerts_the_guard() -> None:
    dec = run([at("102")], d=OUT)
    assert not dec.allow and dec.reasons == (R.QUARANTINE_NO_EXIT,)
    assert dec.guard_alert and R.GUARD_ALERT in dec.flags and not dec.needs_guard
    assert "隔离" in dec.sentence("zh") and "quarantine" in dec.sentence("en")


def test_soft_quarantine_exit_allows_but_still_alerts() -> None:
    dec = run([at("102")], Rules(quarantine_exit=Mode.SOFT), OUT)
    assert dec.allow and dec.flags == (R.QUARANTINE_NO_EXIT, R.GUARD_ALERT)


def test_quarantine_ends_exactly_at_its_end_time() -> None:
    assert run([at("105")], d=OUT).allow  # quarantine_until == NOW
    dec = decide([at("105")], LISTS, Rules(), NOW - 1, OUT)
    assert dec.reasons == (R.QUARANTINE_NO_EXIT,)


def test_quarantined_household_coming_home_is_let_in_and_flagged() -> None:
    dec = run([at("102")], d=IN)
    assert dec.allow and dec.flags == (R.QUARANTINE_ENTRY, R.GUARD_ALERT)


def test_visitor_to_quarantined_household_is_refused_even_by_a_guard() -> None:
    dec = run([visitor("102")], WITH_VISITORS, IN, guard_confirmed=True)
    assert not dec.allow and dec.reasons == (R.QUARANTINE_VISIT,)


def test_sealed_area() -> None:
    assert run([at("103")], d=IN).allow  # residents come home through the main gate
    assert run([at("103")], d=OUT).reasons == (R.SEALED_NO_EXIT,)
    # visitors: refused unless registered, even when the profile is lax elsewhere
    lax = Rules(roles_in=frozenset(set(Role)), visitor_entry=Mode.OFF)
    dec = run([visitor("103")], lax, IN)
    assert not dec.allow and dec.needs_guard and dec.reasons == (R.SEALED_AREA,)
    ok = run([visitor("103")], lax, IN, guard_confirmed=True)
    assert ok.allow and ok.flags == (R.SEALED_AREA, R.GUARD_CONFIRMED)
    hard = run([visitor("103")], Rules(roles_in=frozenset(set(Role)), visitor_entry=Mode.HARD))
    assert not hard.allow and not hard.needs_guard


def test_visitor_to_controlled_area_needs_registration() -> None:
    lax = Rules(roles_in=frozenset(set(Role)), visitor_entry=Mode.SOFT)
    dec = run([visitor("104")], lax)
    assert dec.needs_guard and dec.reasons == (R.VISITOR_REGISTRATION_REQUIRED,)


def test_controlled_area_exit_needs_the_guard() -> None:
    dec = run([at("104")], d=OUT)
    assert not dec.allow and dec.needs_guard and dec.reasons == (R.CONTROLLED_NO_EXIT,)
    assert run([at("104")], d=OUT, guard_confirmed=True).allow
    assert run([at("104")], d=IN).allow


@pytest.mark.parametrize(
    ("mode", "allow", "needs_guard"),
    [(Mode.HARD, False, False), (Mode.GUARD, False, True), (Mode.SOFT, True, False)],
)
def test_visitors_refused_or_admitted_after_registration(
    mode: Mode, allow: bool, needs_guard: bool
) -> None:
    rules = Rules(roles_in=frozenset(set(Role)), visitor_entry=mode)
    dec = run([visitor()], rules)
    assert dec.allow is allow and dec.needs_guard is needs_guard
    assert R.VISITOR_REGISTRATION_REQUIRED in dec.reasons + dec.flags


def test_visitors_not_admitted_by_role_are_refused_by_role_only() -> None:
    assert run([visitor()]).reasons == (R.ROLE_NOT_ALLOWED,)
    assert run([visitor()], d=OUT).allow


# --- colour classes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("colour", "d", "allow", "reasons", "flags", "needs_guard"),
    [
        (C.RED, IN, False, (R.COLOUR_RED,), (), False),
        (C.RED, OUT, False, (R.COLOUR_RED,), (), False),
        (C.YELLOW, IN, False, (R.COLOUR_YELLOW,), (), True),
        (C.YELLOW, OUT, False, (R.COLOUR_YELLOW,), (), False),
        (C.GREEN, IN, True, (), (), False),
        (C.GREEN, OUT, True, (), (), False),
        (C.BLUE, IN, True, (), (R.COLOUR_BLUE,), False),
        (C.BLUE, OUT, True, (), (), False),
        (C.GREY, IN, True, (), (R.COLOUR_GREY,), False),
        (C.GREY, OUT, True, (), (R.COLOUR_GREY,), False),
        (C.BLACK, IN, False, (R.COLOUR_BLACK,), (), True),
        (C.BLACK, OUT, True, (), (), False),
    ],
)
def test_colour_classes(
    colour: ColourClass,
    d: Direction,
    allow: bool,
    reasons: tuple[Reason, ...],
    flags: tuple[Reason, ...],
    needs_guard: bool,
) -> None:
    lists = LISTS.model_copy(update={"holder_colours": {"h-1": colour}})
    dec = decide([RESIDENT], lists, Rules(), NOW, d)
    assert (dec.allow, dec.reasons, dec.flags, dec.needs_guard) == (
        allow,
        reasons,
        flags,
        needs_guard,
    )


def test_household_colour_applies_and_holder_colour_overrides() -> None:
    assert run([at("106")]).reasons == (R.COLOUR_YELLOW,)
    lists = LISTS.model_copy(update={"holder_colours": {"h-1": C.GREEN}})
    assert decide([at("106")], lists, Rules(), NOW, IN).allow


def test_colour_table_is_configurable_and_falls_back_to_defaults() -> None:
    rules = Rules(colour_in={C.RED: Mode.SOFT})
    lists = LISTS.model_copy(update={"holder_colours": {"h-1": C.RED}})
    dec = decide([RESIDENT], lists, rules, NOW, IN)
    assert dec.allow and dec.flags == (R.COLOUR_RED,)
    assert run([at("106")], rules).reasons == (R.COLOUR_YELLOW,)  # yellow: default kept


# --- health proofs ----------------------------------------------------------------------


def naat(age_h: float, result: TestResult = TestResult.NEGATIVE, **kw: Any) -> HealthCredential:
    ev = HealthEvidence(
        EvidenceKind.TEST,
        issuer_country="AT",
        test_type=kw.pop("test_type", TestType.NUCLEIC_ACID),
        sample_time=NOW - age_h * HOUR,
        result=result,
    )
    return HealthCredential("HC1", (ev,), "h", kw.pop("problems", ()))


TEST_HARD = Rules(test=Mode.HARD)


@pytest.mark.parametrize(
    ("age_h", "reasons"),
    [
        (0, ()),
        (47.99, ()),
        (48, ()),  # exactly 48 h after the sample: still valid
        (48 + 1 / 3600, (R.TEST_TOO_OLD,)),  # one second later: too old
        (-1 / 3600, (R.TEST_IN_FUTURE,)),
    ],
)
def test_48_hour_window_boundaries(age_h: float, reasons: tuple[Reason, ...]) -> None:
    assert run([RESIDENT, naat(age_h)], TEST_HARD).reasons == reasons


@pytest.mark.parametrize(
    ("window", "age_h", "ok"), [(24, 24, True), (24, 25, False), (72, 71, True)]
)
def test_other_windows(window: int, age_h: float, ok: bool) -> None:
    rules = Rules(test=Mode.HARD, test_window_h=window)
    assert run([RESIDENT, naat(age_h)], rules).allow is ok


def test_window_zero_means_no_test_required() -> None:
    assert run([RESIDENT], Rules(test=Mode.HARD, test_window_h=0)).allow


def test_test_results_and_types() -> None:
    assert run([RESIDENT], TEST_HARD).reasons == (R.TEST_REQUIRED,)
    pos = run([RESIDENT, naat(2, TestResult.POSITIVE), naat(3)], TEST_HARD)
    assert pos.reasons == (R.TEST_POSITIVE,)  # a recent positive outweighs a negative
    antigen = naat(2, test_type=TestType.RAPID_ANTIGEN)
    assert run([RESIDENT, antigen], TEST_HARD).reasons == (R.TEST_REQUIRED,)
    both = Rules(test=Mode.HARD, test_types=frozenset({"nucleic_acid", "rapid_antigen"}))
    assert run([RESIDENT, antigen], both).allow
    unknown = run([RESIDENT, naat(2, TestResult.UNKNOWN)], TEST_HARD)
    assert unknown.reasons == (R.TEST_REQUIRED,)


def test_invalid_certificate_explains_the_refusal() -> None:
    forged = naat(2, problems=(R.BAD_SIGNATURE,))
    assert run([RESIDENT, forged], TEST_HARD).reasons == (R.BAD_SIGNATURE,)


def test_soft_and_guard_test_rules() -> None:
    soft = run([RESIDENT, naat(50)], Rules(test=Mode.SOFT))
    assert soft.allow and soft.flags == (R.TEST_TOO_OLD,)
    guard = run([RESIDENT, naat(50)], Rules(test=Mode.GUARD))
    assert not guard.allow and guard.needs_guard


def test_health_checks_follow_the_configured_directions() -> None:
    assert run([RESIDENT], TEST_HARD, OUT).allow
    both = Rules(test=Mode.HARD, health_directions=frozenset({IN, OUT}))
    assert run([RESIDENT], both, OUT).reasons == (R.TEST_REQUIRED,)


def _vacc(dn: int, sd: int) -> HealthCredential:
    return HealthCredential(
        "HC1", (HealthEvidence(EvidenceKind.VACCINATION, dose_number=dn, total_doses=sd),)
    )


def _recovery(until: float) -> HealthCredential:
    ev = HealthEvidence(EvidenceKind.RECOVERY, valid_from=NOW - 10 * DAY, valid_until=until)
    return HealthCredential("HC1", (ev,))


def test_vaccination_rule() -> None:
    rules = Rules(vaccination=Mode.HARD)
    assert run([RESIDENT, _vacc(2, 2)], rules).allow
    assert run([RESIDENT, _vacc(3, 2)], rules).allow
    assert run([RESIDENT, _vacc(1, 2)], rules).reasons == (R.VACCINATION_INCOMPLETE,)
    assert run([RESIDENT], rules).reasons == (R.VACCINATION_REQUIRED,)
    assert run([RESIDENT, _recovery(NOW)], rules).allow
    assert run([RESIDENT, _recovery(NOW - 1)], rules).reasons == (R.VACCINATION_REQUIRED,)
    assert run([RESIDENT, _vacc(2, 2)], Rules()).allow  # optional by default


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (HealthCodeStatus.YELLOW, R.HEALTH_CODE_YELLOW),
        (HealthCodeStatus.RED, R.HEALTH_CODE_RED),
        (HealthCodeStatus.EXPIRED, R.HEALTH_CODE_EXPIRED),
        (HealthCodeStatus.NOT_FOUND, R.HEALTH_CODE_NOT_FOUND),
    ],
)
def test_health_code_colours(status: HealthCodeStatus, reason: Reason) -> None:
    rules = Rules(health_code=Mode.HARD)
    assert run([RESIDENT, HealthCodeCredential(HealthCodeStatus.GREEN)], rules).allow
    assert run([RESIDENT, HealthCodeCredential(status)], rules).reasons == (reason,)


def test_red_outweighs_yellow_and_missing_code_is_asked_for() -> None:
    rules = Rules(health_code=Mode.HARD)
    codes = [
        HealthCodeCredential(HealthCodeStatus.YELLOW),
        HealthCodeCredential(HealthCodeStatus.RED),
    ]
    assert run([RESIDENT, *codes], rules).reasons == (R.HEALTH_CODE_RED,)
    assert run([RESIDENT], rules).reasons == (R.HEALTH_CODE_REQUIRED,)


@pytest.mark.parametrize("status", [HealthCodeStatus.TIMEOUT, HealthCodeStatus.FAILED])
@pytest.mark.parametrize(
    ("policy", "allow", "needs_guard", "flagged"),
    [
        (OfflinePolicy.DENY, False, False, False),
        (OfflinePolicy.GUARD_CONFIRM, False, True, False),
        (OfflinePolicy.ALLOW_AND_FLAG, True, False, True),
    ],
)
def test_offline_policy(
    status: HealthCodeStatus, policy: OfflinePolicy, allow: bool, needs_guard: bool, flagged: bool
) -> None:
    rules = Rules(health_code=Mode.HARD, health_code_offline=policy)
    dec = run([RESIDENT, HealthCodeCredential(status)], rules)
    assert dec.allow is allow and dec.needs_guard is needs_guard
    assert (R.HEALTH_CODE_UNAVAILABLE in dec.flags) is flagged
    assert flagged or dec.reasons == (R.HEALTH_CODE_UNAVAILABLE,)


# --- temperature ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reading", "reasons"),
    [
        (36.5, ()),
        (37.29, ()),
        (37.3, (R.TEMPERATURE_HIGH,)),  # at the threshold refuses
        (38.5, (R.TEMPERATURE_HIGH,)),
        (math.nan, (R.TEMPERATURE_UNAVAILABLE,)),
        (None, ()),  # no thermometer fitted
    ],
)
def test_temperature(reading: float | None, reasons: tuple[Reason, ...]) -> None:
    assert run([RESIDENT], temperature_c=reading).reasons == reasons


def test_temperature_threshold_and_modes() -> None:
    assert run([RESIDENT], Rules(temperature_threshold_c=37.5), temperature_c=37.4).allow
    soft = run([RESIDENT], Rules(temperature=Mode.SOFT), temperature_c=38.0)
    assert soft.allow and soft.flags == (R.TEMPERATURE_HIGH,)
    assert run([RESIDENT], Rules(temperature=Mode.OFF), temperature_c=39.0).allow


# --- clock, combinations ----------------------------------------------------------------


def test_untrusted_clock_fails_closed_whatever_the_rules() -> None:
    dec = run([RESIDENT], clock_trusted=False)
    assert not dec.allow and dec.reasons == (R.CLOCK_UNTRUSTED,)
    lax = Rules(temperature=Mode.OFF, quarantine_exit=Mode.SOFT)
    assert run([RESIDENT], lax, guard_confirmed=True, clock_trusted=False).reasons[0] is (
        R.CLOCK_UNTRUSTED
    )
    assert run([], clock_trusted=False).reasons == (R.CLOCK_UNTRUSTED, R.NO_CREDENTIAL)
    assert "时间" in run([RESIDENT], clock_trusted=False).sentence()


def test_hard_reason_is_not_lifted_by_a_guard() -> None:
    lists = LISTS.model_copy(update={"holder_colours": {"h-1": C.YELLOW}})
    dec = decide([at("104")], lists, Rules(), NOW, OUT, guard_confirmed=True)
    assert not dec.allow and dec.reasons == (R.COLOUR_YELLOW, R.CONTROLLED_NO_EXIT)
    assert not dec.needs_guard


def test_everything_at_once_reports_every_reason_in_order() -> None:
    rules = Rules(test=Mode.HARD, health_code=Mode.HARD)
    creds: list[Credential] = [at("102", pass_id="P-REVOKED"), naat(60)]
    dec = decide(creds, LISTS, rules, NOW, IN, temperature_c=38.0)
    assert dec.reasons == (
        R.REVOKED,
        R.HEALTH_CODE_REQUIRED,
        R.TEST_TOO_OLD,
        R.TEMPERATURE_HIGH,
    )
    assert dec.flags == (R.QUARANTINE_ENTRY, R.GUARD_ALERT)
