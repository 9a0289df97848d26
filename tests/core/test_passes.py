"""Community pass v1: round trips, every tamper, validity windows, dynamic codes."""

from __future__ import annotations

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from passkit import DAY, NOW, make_body

from edge.gate.credentials import passes
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verified import Role
from edge.gate.reasons import Reason
from edge.tools.render import qr_version


def _raw(text: str) -> bytes:
    return bytes(base45.b45decode(text[len(passes.PREFIX) :]))


def _text(raw: bytes) -> str:
    return passes.PREFIX + bytes(base45.b45encode(raw)).decode("ascii")


def test_static_round_trip(issuer: Ed25519PrivateKey, trust: TrustStore) -> None:
    text = passes.issue(make_body(role=Role.TENANT), issuer)
    check = passes.verify(text, trust, NOW)
    assert check.decoded and check.signature_valid and check.time_valid
    assert check.reasons == ()
    cred = check.credential
    assert cred is not None
    assert (cred.pass_id, cred.household, cred.role) == ("P-1", "3-2-501", Role.TENANT)
    assert not cred.dynamic
    assert check.payload["household"] == {"building": "3", "unit": "2", "room": "501"}


def test_every_flipped_byte_is_refused(issuer: Ed25519PrivateKey, trust: TrustStore) -> None:
    raw = _raw(passes.issue(make_body(), issuer))
    for i in range(len(raw)):
        for bit in (0x01, 0x80):
            mutated = bytearray(raw)
            mutated[i] ^= bit
            check = passes.verify(_text(bytes(mutated)), trust, NOW)
            assert not check.signature_valid, f"byte {i} bit {bit:#x} accepted"
            assert check.reasons, f"byte {i} bit {bit:#x} refused without a reason"
            assert set(check.reasons) & {
                Reason.BAD_SIGNATURE,
                Reason.UNKNOWN_KEY,
                Reason.MALFORMED,
            }


def test_flip_in_signed_body_is_a_signature_failure(
    issuer: Ed25519PrivateKey, trust: TrustStore
) -> None:
    parts = cbor2.loads(_raw(passes.issue(make_body(room="501"), issuer)))
    parts[2] = parts[2].replace(b"501", b"999")
    check = passes.verify(_text(cbor2.dumps(parts)), trust, NOW)
    assert check.decoded and not check.signature_valid
    assert check.reasons == (Reason.BAD_SIGNATURE,)


def test_unknown_issuer(issuer: Ed25519PrivateKey) -> None:
    check = passes.verify(passes.issue(make_body(), issuer), TrustStore(), NOW)
    assert check.reasons == (Reason.UNKNOWN_KEY,)


def test_colliding_key_ids_try_each(issuer: Ed25519PrivateKey) -> None:
    trust = TrustStore()
    kid = trust.add_pass_issuer(Ed25519PrivateKey.generate().public_key())
    trust.pass_issuers[kid].clear()
    other = Ed25519PrivateKey.generate().public_key()
    real_kid = trust.add_pass_issuer(issuer.public_key())
    trust.pass_issuers[real_kid].insert(0, other)  # a wrong key with the same id comes first
    check = passes.verify(passes.issue(make_body(), issuer), trust, NOW)
    assert check.signature_valid and check.reasons == ()


@pytest.mark.parametrize(
    ("now", "reason", "expired"),
    [
        (NOW - 2 * DAY, Reason.NOT_YET_VALID, False),
        (NOW + 2 * DAY, Reason.EXPIRED, True),
    ],
)
def test_validity_window(
    issuer: Ed25519PrivateKey, trust: TrustStore, now: float, reason: Reason, expired: bool
) -> None:
    check = passes.verify(passes.issue(make_body(), issuer), trust, now)
    assert check.signature_valid and not check.time_valid
    assert check.expired is expired
    assert check.reasons == (reason,)


def test_validity_boundaries_are_inclusive(issuer: Ed25519PrivateKey, trust: TrustStore) -> None:
    body = make_body(valid_from=NOW, valid_until=NOW + 10)
    text = passes.issue(body, issuer)
    assert passes.verify(text, trust, NOW).time_valid
    assert passes.verify(text, trust, NOW + 10).time_valid
    assert passes.verify(text, trust, NOW + 11).reasons == (Reason.EXPIRED,)


def test_dynamic_code_accepted_within_one_step(
    issuer: Ed25519PrivateKey, phone: Ed25519PrivateKey, trust: TrustStore
) -> None:
    base = passes.issue(make_body(device=passes.device_public_bytes(phone)), issuer)
    code = passes.dynamic_code(base, phone, NOW)
    for dt in (-passes.STEP_S, 0, passes.STEP_S):
        check = passes.verify(code, trust, NOW + dt)
        assert check.time_valid and check.reasons == (), dt
        assert check.credential is not None and check.credential.step == int(NOW // 30)
    late = passes.verify(code, trust, NOW + 2 * passes.STEP_S + 1)
    assert late.reasons == (Reason.DYNAMIC_CODE_STALE,)


def test_dynamic_base_without_device_signature_is_refused(
    issuer: Ed25519PrivateKey, phone: Ed25519PrivateKey, trust: TrustStore
) -> None:
    base = passes.issue(make_body(device=passes.device_public_bytes(phone)), issuer)
    assert Reason.DYNAMIC_CODE_STALE in passes.verify(base, trust, NOW).reasons


def test_dynamic_code_signed_by_another_phone(
    issuer: Ed25519PrivateKey, phone: Ed25519PrivateKey, trust: TrustStore
) -> None:
    base = passes.issue(make_body(device=passes.device_public_bytes(phone)), issuer)
    code = passes.dynamic_code(base, Ed25519PrivateKey.generate(), NOW)
    check = passes.verify(code, trust, NOW)
    assert not check.signature_valid and check.reasons == (Reason.BAD_SIGNATURE,)


def test_dynamic_pass_fits_qr_version_12_m(
    issuer: Ed25519PrivateKey, phone: Ed25519PrivateKey
) -> None:
    body = passes.PassBody(
        "P" * 16,
        "h" * 24,
        "b" * 8,
        "u" * 8,
        "r" * 8,
        Role.VISITOR,
        0,
        2**32 - 1,
        passes.device_public_bytes(phone),
    )
    code = passes.dynamic_code(passes.issue(body, issuer), phone, 2**32 - 1)
    assert qr_version(code, "m") <= 12


@pytest.mark.parametrize("field", ["pass_id", "holder", "building", "unit", "room"])
def test_oversize_fields_cannot_be_issued(issuer: Ed25519PrivateKey, field: str) -> None:
    body = make_body()
    values = {**body.__dict__, field: "x" * 40}
    with pytest.raises(ValueError, match="bytes of UTF-8"):
        passes.issue(passes.PassBody(**values), issuer)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hello", Reason.UNKNOWN_FORMAT),
        ("CP1:", Reason.MALFORMED),
        ("CP1:!!!!", Reason.MALFORMED),
        ("CP1:" + "A" * 2000, Reason.TOO_LARGE),
        (_text(cbor2.dumps([1, b"x" * 8, b"", b"s" * 64])), Reason.MALFORMED),
        (_text(cbor2.dumps({"not": "an array"})), Reason.MALFORMED),
        (_text(cbor2.dumps([2, b"x" * 8, cbor2.dumps({}), b"s" * 64])), Reason.MALFORMED),
    ],
)
def test_bad_input_is_refused_with_a_reason(trust: TrustStore, text: str, reason: Reason) -> None:
    check = passes.verify(text, trust, NOW)
    assert check.credential is None and not check.decoded
    assert check.reasons == (reason,)


def test_truncated_pass_is_refused(issuer: Ed25519PrivateKey, trust: TrustStore) -> None:
    text = passes.issue(make_body(), issuer)
    for cut in range(len(passes.PREFIX) + 1, len(text), 7):
        check = passes.verify(text[:cut], trust, NOW)
        assert not check.signature_valid and check.reasons
