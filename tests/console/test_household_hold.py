"""A visitor registered as needing the household's confirmation (issue 22): the profile's
``visitor_confirmation`` rule through the real ScanSession, with a pass signed by a booth's
visitor key and verified by the gate's TrustStore."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verified import PassCredential
from edge.gate.credentials.visitor import holder_ref, issue_visitor_pass, visitor_pass_id
from edge.gate.reasons import Reason
from edge.gate.rules.lists import ListsSnapshot
from edge.gate.rules.profile import Direction, Mode, Rules
from edge.gate.session import ScanSession


def _visitor(now: int) -> tuple[TrustStore, str, str]:
    key = Ed25519PrivateKey.generate()
    trust = TrustStore()
    trust.add_visitor_issuer(key.public_key())
    pid = visitor_pass_id()
    text = issue_visitor_pass(
        key, ("3", "1", "103"), now - 60, now + 3600, pid, holder_ref("n", "1", pid)
    )
    return trust, text, pid


@pytest.mark.parametrize(
    ("mode", "allow", "needs_guard", "after_guard"),
    [
        (Mode.GUARD, False, True, True),  # refused until a guard (or the household) confirms
        (Mode.HARD, False, False, False),  # only the household's confirmation admits
        (Mode.SOFT, True, False, True),
        (Mode.OFF, True, False, True),
    ],
)
def test_unconfirmed_visitor_follows_the_profile(
    mode: Mode, allow: bool, needs_guard: bool, after_guard: bool
) -> None:
    now = int(time.time())
    trust, text, pid = _visitor(now)
    waiting = {pid}

    def held(p: PassCredential) -> bool:
        return p.pass_id in waiting

    rules = Rules(visitor_confirmation=mode)
    s = ScanSession(rules, trust, now, Direction.IN, unconfirmed=held)
    s.scan(text, now)
    d = s.decide(ListsSnapshot(), now)
    assert d is not None and (d.allow, d.needs_guard) == (allow, needs_guard)
    if not allow:
        assert d.reasons == (Reason.VISITOR_REGISTRATION_REQUIRED,)
    confirmed = s.confirm(ListsSnapshot(), now)
    assert confirmed is not None and confirmed.allow is after_guard
    if mode is Mode.GUARD:
        assert Reason.GUARD_CONFIRMED in confirmed.flags
    # once the household confirmed, the same pass is admitted like any registered visitor
    waiting.clear()
    again = ScanSession(rules, trust, now, Direction.IN, unconfirmed=held)
    again.scan(text, now)
    d2 = again.decide(ListsSnapshot(), now)
    assert d2 is not None and d2.allow and Reason.VISITOR_REGISTRATION_REQUIRED not in d2.flags


def _resident(now: int) -> tuple[TrustStore, str]:
    from edge.gate.credentials import passes
    from edge.gate.credentials.verified import Role

    key = Ed25519PrivateKey.generate()
    trust = TrustStore()
    trust.add_pass_issuer(key.public_key())
    body = passes.PassBody("P-T1", "h-T1", "3", "1", "103", Role.RESIDENT, now - 60, now + 3600)
    return trust, passes.issue(body, key)


@pytest.mark.parametrize(
    ("reading", "allow", "needs_guard"),
    [
        (36.6, True, False),
        (37.1, False, True),  # borderline: a guard re-measures and may let them through
        (37.3, False, False),  # a fever: the hard rule, no guard lifts it
        (38.5, False, False),
    ],
)
def test_borderline_temperature_is_a_guards_call(
    reading: float, allow: bool, needs_guard: bool
) -> None:
    now = int(time.time())
    trust, text = _resident(now)
    rules = Rules(temperature_borderline_c=37.0)  # threshold 37.3, temperature hard
    s = ScanSession(rules, trust, now, Direction.IN)
    s.scan(text, now)
    d = s.decide(ListsSnapshot(), now, temperature_c=reading)
    assert d is not None and (d.allow, d.needs_guard) == (allow, needs_guard)
    if not allow:
        assert Reason.TEMPERATURE_HIGH in d.reasons
    confirmed = s.confirm(ListsSnapshot(), now)
    assert confirmed is not None and confirmed.allow is (allow or needs_guard)
    if needs_guard:
        assert {Reason.TEMPERATURE_HIGH, Reason.GUARD_CONFIRMED} <= set(confirmed.flags)


def test_borderline_band_must_be_below_the_threshold() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="must be below temperature_threshold_c"):
        Rules(temperature_borderline_c=37.5)
