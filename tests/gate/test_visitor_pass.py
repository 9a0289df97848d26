"""Visitor passes signed by the booth's delegated visitor key, through the real gate pipeline:
ALLOW inside the window and the rules, refused in a sealed area unless the profile allows
registered visitors, DENY after expiry, and the key refused for anything but a short visitor
pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory

from edge.app.config import Config
from edge.app.gate import Gate, build_gate
from edge.core.clock import FakeClock
from edge.gate.credentials import passes
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verified import Role
from edge.gate.credentials.visitor import (
    VisitorPassError,
    holder_ref,
    issue_visitor_pass,
    visitor_pass_id,
)
from edge.gate.reasons import Reason
from edge.gate.rules.lists import Household, HouseholdStatus, ListsSnapshot
from edge.gate.rules.profile import Direction, Rules
from edge.store.settings import StoreSettings

NOW = 1_780_000_000.0
BOOTH = Ed25519PrivateKey.generate()
ISSUER = Ed25519PrivateKey.generate()
LISTS = ListsSnapshot(
    version=1,
    households={
        "3-2-501": Household(),
        "3-2-502": Household(status=HouseholdStatus.SEALED),
        "3-2-503": Household(status=HouseholdStatus.CONTROLLED),
        "3-2-601": Household(status=HouseholdStatus.HOME_QUARANTINE),
    },
)


def _gate(tmp: Path, clock: FakeClock, rules: Rules | None = None) -> Gate:
    trust = TrustStore()
    trust.add_pass_issuer(ISSUER.public_key())
    trust.add_visitor_issuer(BOOTH.public_key())
    config = Config(store=StoreSettings(path=tmp / "g.sqlite3"), rules=rules or Rules())
    return build_gate(config, clock=clock, pin_factory=MockFactory(), trust=trust, lists=LISTS)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=NOW)


@pytest.fixture
def gate(tmp_path: Path, clock: FakeClock) -> Iterator[Gate]:
    g = _gate(tmp_path, clock)
    yield g
    g.close()


def _visitor(room: str, hours: float = 2.0, key: Ed25519PrivateKey = BOOTH) -> str:
    pid = visitor_pass_id()
    end = int(NOW + hours * 3600)
    return issue_visitor_pass(
        key, ("3", "2", room), int(NOW) - 60, end, pid, holder_ref("王", "138", pid)
    )


def test_registered_visitor_enters_inside_the_window_and_is_refused_after(
    gate: Gate, clock: FakeClock
) -> None:
    text = _visitor("501")
    first = gate.process_text(text)
    assert first.decision.allow, first.decision.reasons
    assert gate.process_text(text, direction=Direction.OUT).decision.allow  # exit recorded
    clock.advance(2 * 3600 + 1)
    late = gate.process_text(text)
    assert not late.decision.allow and Reason.EXPIRED in late.decision.reasons
    kinds = [
        (r.body["allow"], r.body["direction"]) for r in gate.store.records() if r.kind == "access"
    ]
    assert kinds == [(True, "in"), (True, "out"), (False, "in")]


def test_sealed_area_refuses_registered_visitors_unless_the_profile_allows(
    gate: Gate, tmp_path: Path, clock: FakeClock
) -> None:
    refused = gate.process_text(_visitor("502"))
    assert refused.decision.reasons == (Reason.SEALED_AREA,)
    assert gate.process_text(_visitor("503")).decision.allow  # controlled: registration is it
    quarantined = gate.process_text(_visitor("601"))
    assert Reason.QUARANTINE_VISIT in quarantined.decision.reasons
    (tmp_path / "b").mkdir()
    lenient = _gate(tmp_path / "b", clock, Rules(registered_visitors_sealed=True))
    try:
        assert lenient.process_text(_visitor("502")).decision.allow
    finally:
        lenient.close()


def test_an_unregistered_visitor_pass_still_needs_the_booth(tmp_path: Path) -> None:
    clock = FakeClock(start=NOW)
    rules = Rules(roles_in=frozenset({Role.RESIDENT, Role.VISITOR}))
    g = _gate(tmp_path, clock, rules)
    try:
        body = passes.PassBody("P-V", "h", "3", "2", "501", Role.VISITOR, int(NOW), int(NOW) + 60)
        out = g.process_text(passes.issue(body, ISSUER))  # the platform's key, no registration
        assert not out.decision.allow
        assert Reason.VISITOR_REGISTRATION_REQUIRED in out.decision.reasons
    finally:
        g.close()


def test_the_visitor_key_signs_only_short_visitor_passes(gate: Gate) -> None:
    t = int(NOW)
    resident = passes.PassBody("P-X", "h", "3", "2", "501", Role.RESIDENT, t, t + 3600)
    long_visit = passes.PassBody("V-X", "h", "3", "2", "501", Role.VISITOR, t, t + 2 * 86_400)
    for body in (resident, long_visit):
        check = passes.verify(passes.issue(body, BOOTH), gate.trust, NOW)
        assert Reason.KEY_USAGE_MISMATCH in check.reasons and not check.signature_valid
        out = gate.process_text(passes.issue(body, BOOTH))
        assert not out.decision.allow and Reason.KEY_USAGE_MISMATCH in out.decision.reasons
    with pytest.raises(VisitorPassError):
        issue_visitor_pass(BOOTH, ("3", "2", "501"), t, t + 2 * 86_400, "V-1", "h")
    # an unknown booth key is an unknown key, like any forged pass
    stranger = _visitor("501", key=Ed25519PrivateKey.generate())
    assert Reason.UNKNOWN_KEY in gate.process_text(stranger).decision.reasons
    ok = passes.verify(_visitor("501"), gate.trust, NOW)
    assert ok.signature_valid and ok.credential is not None and ok.credential.registered
