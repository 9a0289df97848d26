"""The gate with a full rule profile: pass then health proof in one session, decided once."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory
from healthkit import DOB, HOUR, NAME, OID_TEST, ec_key, hc1, kid_of, make_cert, pcr

from edge.app.config import Config
from edge.app.gate import Gate, build_gate
from edge.core.clock import FakeClock
from edge.gate.credentials import passes
from edge.gate.credentials.clock_trust import ClockTrust
from edge.gate.credentials.dsc import load_dsc_der
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verified import Role
from edge.gate.door.thermometer import FakeThermometer
from edge.gate.reasons import Reason
from edge.gate.rules.profile import Mode, Rules
from edge.gate.settings import GateSettings
from edge.store.settings import StoreSettings

START = 1_767_225_600.0 + 0.5 * HOUR  # shortly after healthkit's NOW (2026-01-01)
SAMPLE = "2025-12-31T20:00:00Z"  # 4.5 h before START


@pytest.fixture
def issuer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=START)


def _gate(
    tmp_path: Path,
    clock: FakeClock,
    issuer: Ed25519PrivateKey,
    rules: Rules,
    thermometer: FakeThermometer | None = None,
) -> tuple[Gate, str]:
    key = ec_key(3)
    der = make_cert(key, [OID_TEST])
    trust = TrustStore()
    trust.add_pass_issuer(issuer.public_key())
    trust.add_dsc(load_dsc_der(der))
    config = Config(
        store=StoreSettings(path=tmp_path / "g.sqlite3"),
        gate=GateSettings(session_window_s=20),
        rules=rules,
    )
    gate = build_gate(
        config, clock=clock, pin_factory=MockFactory(), trust=trust, thermometer=thermometer
    )
    test_cert = hc1(pcr(sc=SAMPLE), key, kid_of(der), iat=START - HOUR, exp=START + 10 * HOUR)
    return gate, test_cert


@pytest.fixture
def pass_text(issuer: Ed25519PrivateKey) -> str:
    body = passes.PassBody("P-7", "h-7", "3", "2", "501", Role.RESIDENT, 0, 2_000_000_000)
    return passes.issue(body, issuer)


@pytest.fixture
def gate_and_cert(
    tmp_path: Path, clock: FakeClock, issuer: Ed25519PrivateKey
) -> Iterator[tuple[Gate, str]]:
    gate, cert = _gate(tmp_path, clock, issuer, Rules(test=Mode.HARD, test_window_h=48))
    yield gate, cert
    gate.close()


def _records(gate: Gate, kind: str) -> list[dict[str, object]]:
    db = sqlite3.connect(gate.store.path)
    rows = db.execute("SELECT body FROM records WHERE kind=? ORDER BY seq", (kind,))
    return [json.loads(r[0]) for r in rows]


def test_pass_then_test_result_opens_once(
    gate_and_cert: tuple[Gate, str], pass_text: str, clock: FakeClock
) -> None:
    gate, cert = gate_and_cert
    sub = gate.events.subscribe()
    first = gate.process_text(pass_text)
    assert first.pending and first.missing == ("test",)
    assert first.sentence("en") == "Now show your negative test result"
    assert first.relay == "none" and not gate.door.released
    prompt = sub.get(timeout=1)
    assert prompt is not None and prompt.kind == "prompt"
    clock.advance(3)
    second = gate.process_text(cert)
    assert not second.pending and second.decision.allow and second.relay == "pulse"
    assert gate.door.released
    (access,) = _records(gate, "access")
    assert access["allow"] is True and access["household"] == "3-2-501"
    kinds = [c["kind"] for c in access["credentials"]]  # type: ignore[union-attr]
    assert kinds == ["pass", "test"]
    test_summary = access["credentials"][1]  # type: ignore[index]
    assert test_summary["issuer_country"] == "AT" and test_summary["test_age_h"] == 4.5
    everything = json.dumps(_records(gate, "access") + _records(gate, "scan"))
    for secret in (*NAME.values(), DOB, cert[4:40]):
        assert secret not in everything  # privacy: names, birth date, raw payload never kept
    assert len(_records(gate, "scan")) == 1


def test_window_ends_without_the_test(
    gate_and_cert: tuple[Gate, str], pass_text: str, clock: FakeClock
) -> None:
    gate, _ = gate_and_cert
    assert gate.process_text(pass_text).pending
    clock.advance(19)
    assert gate.tick() is None
    clock.advance(2)
    late = gate.tick()
    assert late is not None and not late.decision.allow
    assert late.decision.reasons == (Reason.TEST_REQUIRED,)
    assert not gate.door.released
    assert [r["reasons"] for r in _records(gate, "access")] == [["TEST_REQUIRED"]]


def test_next_persons_pass_closes_the_waiting_session(
    gate_and_cert: tuple[Gate, str], pass_text: str, issuer: Ed25519PrivateKey
) -> None:
    gate, cert = gate_and_cert
    other = passes.issue(
        passes.PassBody("P-8", "h-8", "3", "2", "502", Role.RESIDENT, 0, 2_000_000_000), issuer
    )
    assert gate.process_text(pass_text).pending
    assert gate.process_text(other).pending  # the first person left without a test
    assert gate.process_text(cert).decision.allow  # the test belongs to the second person
    bodies = _records(gate, "access")
    assert [(b["pass_id"], b["allow"]) for b in bodies] == [("P-7", False), ("P-8", True)]


def test_health_proof_first_then_pass(gate_and_cert: tuple[Gate, str], pass_text: str) -> None:
    gate, cert = gate_and_cert
    assert gate.process_text(cert).missing == ("pass",)
    assert gate.process_text(pass_text).decision.allow


def test_fever_is_refused(
    tmp_path: Path, clock: FakeClock, issuer: Ed25519PrivateKey, pass_text: str
) -> None:
    rules = Rules(temperature=Mode.HARD)
    gate, _ = _gate(tmp_path, clock, issuer, rules, FakeThermometer([38.2, 36.6]))
    first = gate.process_text(pass_text)
    assert first.decision.reasons == (Reason.TEMPERATURE_HIGH,)
    clock.advance(60)
    assert gate.process_text(pass_text).decision.allow  # the second reading is normal
    gate.close()


def test_untrusted_clock_fails_closed(
    tmp_path: Path, clock: FakeClock, issuer: Ed25519PrivateKey, pass_text: str
) -> None:
    gate, _ = _gate(tmp_path, clock, issuer, Rules())
    gate.clock_trust = ClockTrust(tmp_path / "floor", ntp_probe=lambda: False)
    refused = gate.process_text(pass_text)
    assert not refused.decision.allow
    assert refused.decision.reasons[0] is Reason.CLOCK_UNTRUSTED
    gate.clock_trust = ClockTrust(tmp_path / "floor", ntp_probe=lambda: True)
    clock.advance(60)
    assert gate.process_text(pass_text).decision.allow
    gate.close()


def test_quarantine_exit_alerts_the_guard(
    tmp_path: Path, clock: FakeClock, issuer: Ed25519PrivateKey
) -> None:
    from edge.gate.rules.lists import Household, HouseholdStatus, ListsSnapshot
    from edge.gate.rules.profile import Direction

    gate, _ = _gate(tmp_path, clock, issuer, Rules())
    gate.lists = ListsSnapshot(
        households={"3-2-601": Household(status=HouseholdStatus.HOME_QUARANTINE)}
    )
    sub = gate.events.subscribe()
    text = passes.issue(
        passes.PassBody("P-9", "h-9", "3", "2", "601", Role.RESIDENT, 0, 2_000_000_000), issuer
    )
    out = gate.process_text(text, direction=Direction.OUT)
    assert out.decision.reasons == (Reason.QUARANTINE_NO_EXIT,)
    kinds = []
    while (event := sub.get(timeout=0.2)) is not None:
        kinds.append(event.kind)
    assert "guard_alert" in kinds
    gate.close()
