"""EU DCC (HC1) verification: the full chain, every refusal with its own reason."""

from __future__ import annotations

import json
import zlib
from typing import Any

import base45
import cbor2
import pytest
from healthkit import (
    DAY,
    NOW,
    OID_REC,
    OID_TEST,
    OID_VACC,
    OID_VACC_ALT,
    ec_key,
    hc1,
    kid_of,
    make_cert,
    pcr,
    pem,
    recovery,
    rsa_key,
    vacc,
)

from edge.gate.credentials.dsc import Dsc, _spki_fallback, _usages, load_dsc_bytes, load_dsc_der
from edge.gate.credentials.evidence import EvidenceKind, HealthCredential, TestResult, TestType
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verify import verify_text
from edge.gate.reasons import Reason

EC_DER = make_cert(ec_key(0))
RSA_DER = make_cert(rsa_key(0))


def store(*ders: bytes) -> TrustStore:
    t = TrustStore()
    for der in ders:
        t.add_dsc(load_dsc_der(der))
    return t


TRUST = store(EC_DER, RSA_DER)


def ok(text: str, trust: TrustStore = TRUST, now: float = NOW) -> Any:
    v = verify_text(text, trust, now)
    assert v.valid, v.reasons
    return v


@pytest.mark.parametrize("wrap", ["tag18", "untagged", "tag61"])
def test_es256_vaccination_verifies_in_every_wrapping(wrap: str) -> None:
    v = ok(hc1(vacc(), ec_key(0), kid_of(EC_DER), wrap=wrap))
    assert v.format == "HC1" and v.signature_valid and v.key_usage_valid and v.time_valid
    assert v.payload["v"][0]["dn"] == 2 and v.payload["nam"]["fn"] == "Musterfrau"
    (e,) = v.evidence
    assert e.kind is EvidenceKind.VACCINATION and e.series_complete and e.issuer_country == "AT"
    assert isinstance(v.credential, HealthCredential) and not v.credential.problems


def test_ps256_test_certificate_verifies_and_normalises() -> None:
    v = ok(hc1(pcr(sc="2025-12-31T12:00:00+01:00"), rsa_key(0), kid_of(RSA_DER)))
    (e,) = v.evidence
    assert e.kind is EvidenceKind.TEST and e.test_type is TestType.NUCLEIC_ACID
    assert e.result is TestResult.NEGATIVE and e.sample_time == NOW - 13 * 3600


def test_recovery_window_is_inclusive_of_its_last_day() -> None:
    v = ok(hc1(recovery(du="2026-05-30"), ec_key(0), kid_of(EC_DER)))
    (e,) = v.evidence
    assert e.kind is EvidenceKind.RECOVERY
    assert e.valid_until == NOW + (31 + 28 + 31 + 30 + 30) * DAY - 1


def test_kid_in_unprotected_header_only_is_accepted() -> None:
    ok(hc1(vacc(), ec_key(0), kid_of(EC_DER), kid_in="unprotected"))


def test_protected_kid_wins_over_unprotected() -> None:
    good = hc1(vacc(), ec_key(0), kid_of(EC_DER), unprotected_kid=b"wrongkid")
    ok(good)
    bad = hc1(vacc(), ec_key(0), b"wrongkid", unprotected_kid=kid_of(EC_DER))
    v = verify_text(bad, TRUST, NOW)
    assert not v.signature_valid and v.reasons == (Reason.UNKNOWN_KEY,)


def test_colliding_kids_are_each_tried() -> None:
    other = make_cert(ec_key(1))
    kid = kid_of(EC_DER)
    trust = TrustStore()
    trust.add_dsc(load_dsc_der(other, kid))  # same kid, wrong key: tried first
    trust.add_dsc(load_dsc_der(EC_DER))
    assert len(trust.dsc_candidates(kid)) == 2
    ok(hc1(vacc(), ec_key(0), kid), trust)


def test_unknown_kid_is_refused() -> None:
    v = verify_text(hc1(vacc(), ec_key(0), b"\x00" * 8), TRUST, NOW)
    assert v.reasons == (Reason.UNKNOWN_KEY,) and not v.signature_valid and v.decoded


def test_forged_signature_is_refused() -> None:
    def flip(sig: bytes) -> bytes:
        return sig[:-1] + bytes([sig[-1] ^ 1])

    for key, der in ((ec_key(0), EC_DER), (rsa_key(0), RSA_DER)):
        v = verify_text(hc1(vacc(), key, kid_of(der), mutate_sig=flip), TRUST, NOW)
        assert v.reasons == (Reason.BAD_SIGNATURE,) and not v.valid


def test_truncated_signature_is_refused() -> None:
    v = verify_text(hc1(vacc(), ec_key(0), kid_of(EC_DER), mutate_sig=lambda s: s[:40]), TRUST, NOW)
    assert v.reasons == (Reason.BAD_SIGNATURE,)


def test_signature_by_another_key_is_refused() -> None:
    v = verify_text(hc1(vacc(), ec_key(1), kid_of(EC_DER)), TRUST, NOW)
    assert v.reasons == (Reason.BAD_SIGNATURE,)


def test_unsupported_algorithm_is_refused() -> None:
    v = verify_text(hc1(vacc(), ec_key(0), kid_of(EC_DER), alg=-8), TRUST, NOW)  # EdDSA
    assert v.reasons == (Reason.UNSUPPORTED_ALGORITHM,)


@pytest.mark.parametrize(
    ("now", "reasons", "expired"),
    [
        (NOW - DAY, (), False),  # now == iat
        (NOW - DAY - 1, (Reason.CERT_NOT_YET_VALID,), True),  # fails the expiration check
        (NOW + 30 * DAY, (), False),  # now == exp
        (NOW + 30 * DAY + 1, (Reason.CERT_EXPIRED,), True),
    ],
)
def test_iat_le_now_le_exp_exactly(now: float, reasons: tuple[Reason, ...], expired: bool) -> None:
    v = verify_text(hc1(vacc(), ec_key(0), kid_of(EC_DER)), TRUST, now)
    assert v.reasons == reasons and v.expired is expired and v.time_valid is (not reasons)
    assert v.signature_valid  # the signature is judged whatever the time


def test_untrusted_clock_fails_closed() -> None:
    v = verify_text(hc1(vacc(), ec_key(0), kid_of(EC_DER)), TRUST, NOW, clock_trusted=False)
    assert v.reasons == (Reason.CLOCK_UNTRUSTED,) and not v.time_valid and not v.valid


@pytest.mark.parametrize(
    ("eku", "hcert", "allowed"),
    [
        ([OID_TEST], vacc(), False),
        ([OID_TEST], recovery(), False),
        ([OID_VACC], pcr(), False),
        ([OID_VACC], recovery(), False),
        ([OID_REC], vacc(), False),
        ([OID_REC], pcr(), False),
        ([OID_TEST], pcr(), True),
        ([OID_VACC], vacc(), True),
        ([OID_VACC_ALT], vacc(), True),
        ([OID_VACC_ALT], pcr(), False),
        ([OID_REC], recovery(), True),
        (None, recovery(), True),
        (["1.3.6.1.5.5.7.3.1"], pcr(), True),  # serverAuth only: no DCC restriction
    ],
)
def test_key_usage_by_extended_key_usage(
    eku: list[str] | None, hcert: dict[str, Any], allowed: bool
) -> None:
    der = make_cert(ec_key(2), eku)
    v = verify_text(hc1(hcert, ec_key(2), kid_of(der)), store(der), NOW)
    assert v.signature_valid and v.key_usage_valid is allowed
    assert (Reason.KEY_USAGE_MISMATCH in v.reasons) is not allowed


def test_lenient_extension_reading_falls_back_to_byte_search() -> None:
    der = make_cert(ec_key(2), [OID_TEST])
    assert _usages(None, der) == frozenset({EvidenceKind.TEST})
    assert _usages(None, make_cert(ec_key(2))) is None


def test_spki_fallback_matches_the_strict_parser() -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    for der in (EC_DER, RSA_DER):
        strict = (
            x509.load_der_x509_certificate(der)
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        assert _spki_fallback(der) == strict


def test_trust_files_pem_bundle_der_and_json_list(tmp_path: Any) -> None:
    assert len(load_dsc_bytes(pem(EC_DER) + pem(RSA_DER))) == 2
    assert load_dsc_bytes(EC_DER)[0].kid == kid_of(EC_DER)
    import base64

    listing = [
        {
            "kid": base64.b64encode(b"12345678").decode(),
            "rawData": base64.b64encode(EC_DER).decode(),
        }
    ]
    (d,) = load_dsc_bytes(json.dumps(listing).encode())
    assert isinstance(d, Dsc) and d.kid == b"12345678" and d.country == "AT"
    p = tmp_path / "dsc.pem"
    p.write_bytes(pem(EC_DER))
    t = TrustStore()
    assert t.add_file(p) == "dsc"
    ok(hc1(vacc(), ec_key(0), kid_of(EC_DER)), t)


def _raw(text: str) -> bytes:
    return zlib.decompress(base45.b45decode(text[4:]))


def _rewrap(obj: Any) -> str:
    return "HC1:" + str(base45.b45encode(zlib.compress(cbor2.dumps(obj))).decode())


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("HC2:" + "6BFOXN%TS3DH", Reason.UNKNOWN_FORMAT),
        ("NCFOXN%TS3DH", Reason.UNKNOWN_FORMAT),  # prefix missing
        ("HC1:abc!", Reason.BAD_BASE45),
        ("HC1:" + base45.b45encode(b"\x78\x9c\x00\x01garbage").decode(), Reason.BAD_COMPRESSION),
        ("HC1:" + base45.b45encode(cbor2.dumps([1, 2, 3])).decode(), Reason.BAD_COMPRESSION),
        ("HC1:" + base45.b45encode(zlib.compress(b"\xff\xfe")).decode(), Reason.BAD_CBOR),
        (_rewrap(cbor2.CBORTag(18, [b"", {}, b""])), Reason.BAD_COSE),
        (_rewrap(cbor2.CBORTag(99, [b"", {}, b"", b""])), Reason.BAD_COSE),
        (_rewrap([b"", {}, cbor2.dumps([1]), b""]), Reason.BAD_CLAIMS),
        (_rewrap([b"", {}, cbor2.dumps({1: "AT"}), b""]), Reason.BAD_CLAIMS),
        ("HC1:" + base45.b45encode(zlib.compress(b"\x00" * 200_000)).decode(), Reason.TOO_LARGE),
        ("HC1:" + "A" * 9000, Reason.TOO_LARGE),
    ],
)
def test_bad_input_has_its_own_reason(text: str, reason: Reason) -> None:
    v = verify_text(text, TRUST, NOW)
    assert v.reasons[0] is reason and not v.valid


def test_truncated_text_is_refused_not_crashed() -> None:
    text = hc1(vacc(), ec_key(0), kid_of(EC_DER))
    for cut in (10, 50, len(text) // 2, len(text) - 3):
        v = verify_text(text[:cut], TRUST, NOW)
        assert not v.valid and v.reasons


@pytest.mark.parametrize(
    ("hcert", "reason"),
    [
        ({**vacc(), "t": pcr()["t"]}, Reason.ENTRY_COUNT),
        ({**vacc(), "v": vacc()["v"] * 2}, Reason.ENTRY_COUNT),
        ({"ver": "1.3.0", "nam": {}, "dob": ""}, Reason.ENTRY_COUNT),
        (pcr(sc="31/12/2025 12:00"), Reason.BAD_DATE),
        (vacc(date="yesterday"), Reason.BAD_DATE),
        ({**vacc(), "v": [{**vacc()["v"][0], "dn": "two"}]}, Reason.BAD_CLAIMS),
    ],
)
def test_hcert_content_problems(hcert: dict[str, Any], reason: Reason) -> None:
    v = verify_text(hc1(hcert, ec_key(0), kid_of(EC_DER)), TRUST, NOW)
    assert v.signature_valid and reason in v.reasons and not v.valid


def test_claim_dates_must_be_numbers_and_exp_present() -> None:
    hc = {1: vacc()}
    bad_exp = hc1({}, ec_key(0), kid_of(EC_DER), claims={4: "tomorrow", 6: 1, -260: hc})
    assert verify_text(bad_exp, TRUST, NOW).reasons == (Reason.BAD_DATE,)
    no_exp = hc1({}, ec_key(0), kid_of(EC_DER), claims={6: int(NOW) - 5, -260: hc})
    assert Reason.BAD_CLAIMS in verify_text(no_exp, TRUST, NOW).reasons


def test_epoch_millisecond_sample_times_of_early_schemas() -> None:
    hcert = pcr()
    hcert["t"][0]["sc"] = int((NOW - 3600) * 1000)
    (e,) = ok(hc1(hcert, ec_key(0), kid_of(EC_DER))).evidence
    assert e.sample_time == NOW - 3600


def test_json_output_contract() -> None:
    out = verify_text(hc1(vacc(), ec_key(0), kid_of(EC_DER)), TRUST, NOW).to_json()
    keys = {"format", "decoded", "signature_valid", "expired", "time_valid", "key_usage_valid"}
    assert keys | {"payload", "evidence", "reasons"} <= set(out)
    json.dumps(out)


def test_certificate_that_is_not_strict_der_still_verifies() -> None:
    """Some real DSCs break DER; the key and the key usage are still found."""
    from cryptography import x509

    good = make_cert(ec_key(3), [OID_VACC])
    assert good[:2] == b"\x30\x82"  # outer SEQUENCE with a two-byte length
    sloppy = b"\x30\x83\x00" + good[2:]  # same length, non-minimal (BER) encoding
    with pytest.raises(ValueError):
        x509.load_der_x509_certificate(sloppy)
    dsc = load_dsc_der(sloppy)
    assert dsc.usages == frozenset({EvidenceKind.VACCINATION}) and dsc.kid == kid_of(sloppy)
    ok(hc1(vacc(), ec_key(3), kid_of(sloppy)), store(sloppy))
    v = verify_text(hc1(pcr(), ec_key(3), kid_of(sloppy)), store(sloppy), NOW)
    assert v.reasons == (Reason.KEY_USAGE_MISMATCH,)


def test_bare_base64_certificate_and_keys_without_certificate(tmp_path: Any) -> None:
    import base64

    from cryptography.hazmat.primitives import serialization

    raw = tmp_path / "cert.b64"
    raw.write_text(base64.b64encode(EC_DER).decode() + "\n")
    t = TrustStore()
    assert t.add_file(raw) == "dsc"
    ok(hc1(vacc(), ec_key(0), kid_of(EC_DER)), t)
    # a bare public key has no kid: tried only when no certificate answers to the kid
    spki = (
        rsa_key(0)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (tmp_path / "key.pem").write_bytes(spki)
    assert t.add_file(tmp_path / "key.pem") == "dsc-key"
    ok(hc1(vacc(), rsa_key(0), b"anything"), t)
    v = verify_text(hc1(vacc(), rsa_key(0), kid_of(EC_DER)), t, NOW)
    assert v.reasons == (Reason.BAD_SIGNATURE,)  # the kid's certificate answers, and fails
    listing = {base64.b64encode(b"kid-0001").decode(): [{"publicKeyPem": spki.decode()}]}
    (d,) = load_dsc_bytes(json.dumps(listing).encode())
    assert d.kid == b"kid-0001"


def test_der_encoded_ecdsa_signature_is_accepted_leniently() -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    def to_der(sig: bytes) -> bytes:
        return encode_dss_signature(
            int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        )

    ok(hc1(vacc(), ec_key(0), kid_of(EC_DER), mutate_sig=to_der))
