"""Scan session, thermometer and clock trust."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from healthkit import (
    NOW,
    ec_key,
    hc1,
    immunization,
    jwks,
    kid_of,
    lab,
    make_cert,
    pcr,
    shc_chunks,
    shc_jws,
    shc_payload,
)

from edge.gate.credentials import passes
from edge.gate.credentials.clock_trust import RELEASE_DATE, ClockTrust
from edge.gate.credentials.dsc import load_dsc_der
from edge.gate.credentials.evidence import HealthCodeCredential, HealthCodeStatus
from edge.gate.credentials.jwks import load_jwks
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verified import Role
from edge.gate.door.thermometer import FakeThermometer
from edge.gate.reasons import Reason
from edge.gate.rules.lists import ListsSnapshot
from edge.gate.rules.profile import Direction, Mode, Rules
from edge.gate.session import Need, ScanSession

ISSUER = Ed25519PrivateKey.generate()
DER = make_cert(ec_key(0))
SHC_KEY = ec_key(10)
LISTS = ListsSnapshot()


def trust() -> TrustStore:
    t = TrustStore()
    t.add_pass_issuer(ISSUER.public_key())
    t.add_dsc(load_dsc_der(DER))
    for k in load_jwks(jwks(SHC_KEY)):
        t.add_shc_key(k)
    return t


def pass_text(valid_until: float = NOW + 86400) -> str:
    body = passes.PassBody(
        "P-1", "h-1", "1", "1", "101", Role.RESIDENT, int(NOW - 10), int(valid_until)
    )
    return passes.issue(body, ISSUER)


TEST_RULES = Rules(test=Mode.HARD)


def session(rules: Rules = TEST_RULES, **kw: Any) -> ScanSession:
    return ScanSession(rules, trust(), NOW, Direction.IN, **kw)


def test_pass_then_health_certificate_completes() -> None:
    s = session()
    assert s.missing() == (Need.PASS, Need.TEST) and "出入证" in s.prompt()
    step = s.scan(pass_text(), NOW + 1)
    assert step.verification is not None and step.verification.valid
    assert step.missing == (Need.TEST,) and s.prompt("en") == "Now show your negative test result"
    assert s.decide(LISTS, NOW + 2) is None  # not complete, window still open
    s.scan(hc1(pcr(), ec_key(0), kid_of(DER)), NOW + 5)
    assert s.complete and s.prompt() == ""
    d = s.decide(LISTS, NOW + 5)
    assert d is not None and d.allow
    assert s.decide(LISTS, NOW + 6) is d  # decided once


def test_window_end_decides_with_what_is_there() -> None:
    s = session()
    s.scan(pass_text(), NOW)
    assert not s.ready(NOW + 19.9)
    assert s.ready(NOW + 20)  # default window: 20 s
    d = s.decide(LISTS, NOW + 20)
    assert d is not None and not d.allow and d.reasons == (Reason.TEST_REQUIRED,)
    assert s.scan(hc1(pcr(), ec_key(0), kid_of(DER)), NOW + 21).verification is None


def test_invalid_pass_decides_at_once() -> None:
    s = session()
    s.scan(pass_text(valid_until=NOW - 1), NOW)
    d = s.decide(LISTS, NOW + 1)
    assert d is not None and d.reasons[0] is Reason.EXPIRED


def test_invalid_health_certificate_leaves_room_for_another() -> None:
    s = session()
    s.scan(pass_text(), NOW)
    forged = hc1(pcr(), ec_key(1), kid_of(DER))
    v = s.scan(forged, NOW + 1).verification
    assert v is not None and Reason.BAD_SIGNATURE in v.reasons
    assert s.missing() == (Need.TEST,)
    d = s.decide(LISTS, NOW + 20)
    assert d is not None and d.reasons == (Reason.BAD_SIGNATURE,)


def test_shc_chunks_across_scans() -> None:
    card = shc_payload(immunization("2025-01-10"), lab("2025-12-31T12:00:00Z"))
    chunks = shc_chunks(shc_jws(card, SHC_KEY), 3)
    s = session(Rules(test=Mode.HARD, vaccination=Mode.HARD))
    s.scan(pass_text(), NOW)
    s.scan(chunks[1], NOW + 2)
    assert s.missing() == (Need.SHC_CHUNKS, Need.TEST, Need.VACCINATION)
    assert "下一个" in s.prompt()
    s.scan(chunks[0], NOW + 3)
    step = s.scan(chunks[2], NOW + 4)
    assert step.verification is not None and step.verification.valid, step.verification
    d = s.decide(LISTS, NOW + 4)
    assert s.complete and d is not None and d.allow is False  # one dose of two
    assert d.reasons == (Reason.VACCINATION_INCOMPLETE,)


def test_window_ending_mid_chunks_says_so() -> None:
    chunks = shc_chunks(shc_jws(shc_payload(lab("2025-12-31")), SHC_KEY), 2)
    s = session()
    s.scan(pass_text(), NOW)
    s.scan(chunks[0], NOW + 1)
    d = s.decide(LISTS, NOW + 30)
    assert d is not None and d.reasons == (Reason.CHUNKS_INCOMPLETE,)


def test_online_health_code_is_handed_back_and_offered_in() -> None:
    s = session(Rules(health_code=Mode.HARD), health_code_prefixes=["HEALTHCODE:"])
    s.scan(pass_text(), NOW)
    assert s.prompt("en") == "Now show your health code"
    step = s.scan("HEALTHCODE:abc", NOW + 1)
    assert step.online_code == "HEALTHCODE:abc" and step.verification is None
    assert s.awaiting_online
    s.offer(HealthCodeCredential(HealthCodeStatus.TIMEOUT))
    d = s.decide(LISTS, NOW + 2)
    assert d is not None and d.needs_guard and d.reasons == (Reason.HEALTH_CODE_UNAVAILABLE,)
    confirmed = s.confirm(LISTS, NOW + 10)
    assert confirmed is not None and confirmed.allow and Reason.GUARD_CONFIRMED in confirmed.flags


def test_temperature_from_a_thermometer_reaches_the_decision() -> None:
    therm = FakeThermometer([37.8, 36.6])
    s = session(Rules())
    s.scan(pass_text(), NOW)
    d = s.decide(LISTS, NOW, temperature_c=therm.read_c())
    assert d is not None and d.reasons == (Reason.TEMPERATURE_HIGH,)
    assert therm.read_c() == 36.6 and therm.read_c() == 36.6 and therm.reads == 3
    assert math.isnan(FakeThermometer([12.0]).read_c())  # not a body temperature


def test_untrusted_clock_in_a_session() -> None:
    s = session(Rules(), clock_trusted=False)
    step = s.scan(pass_text(), NOW)
    assert step.verification is not None
    assert step.verification.reasons == (Reason.CLOCK_UNTRUSTED,)
    d = s.decide(LISTS, NOW)
    assert d is not None and d.reasons == (Reason.CLOCK_UNTRUSTED,)


# --- clock trust --------------------------------------------------------------------------


def test_clock_trusted_only_when_ntp_synced_and_after_the_floor(tmp_path: Path) -> None:
    ntp: list[bool | None] = [True]
    ct = ClockTrust(tmp_path / "floor", ntp_probe=lambda: ntp[0])
    assert ct.status(NOW, 0.0).trusted
    assert not ct.status(RELEASE_DATE - 1, 100.0).trusted  # before the release date
    ntp[0] = False
    st = ct.status(NOW, 200.0)
    assert not st.trusted and "NTP" in st.reason and st.to_json()["trusted"] is False
    ntp[0] = None
    assert ct.status(NOW, 300.0).reason == "NTP unknown"


def test_floor_persists_and_catches_a_clock_reset(tmp_path: Path) -> None:
    path = tmp_path / "var" / "floor"
    ClockTrust(path, ntp_probe=lambda: True).status(NOW + 86400 * 30, 0.0)
    assert float(path.read_text()) == NOW + 86400 * 30
    # after a power cut the Pi boots days in the past, and NTP even claims sync
    ct = ClockTrust(path, ntp_probe=lambda: True)
    st = ct.status(NOW + 86400 * 2, 0.0)
    assert not st.trusted and "before the floor" in st.reason


def test_ntp_probe_is_rate_limited(tmp_path: Path) -> None:
    calls: list[int] = []

    def probe() -> bool:
        calls.append(1)
        return True

    ct = ClockTrust(tmp_path / "f", ntp_probe=probe)
    for mono in (0.0, 1.0, 29.0, 30.0):
        ct.status(NOW, mono)
    assert len(calls) == 2


def test_system_probe_never_raises() -> None:
    from edge.gate.credentials.clock_trust import system_ntp_synchronized

    assert system_ntp_synchronized() in (True, False, None)
