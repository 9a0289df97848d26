"""SMART Health Cards: numeric codes, chunks, JWS ES256 with a provisioned JWKS, CRL, FHIR."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from healthkit import (
    DAY,
    ISS,
    NOW,
    b64u,
    ec_key,
    immunization,
    jwk,
    jwks,
    lab,
    numeric,
    shc_chunks,
    shc_jws,
    shc_payload,
    shc_text,
)

from edge.gate.credentials import shc
from edge.gate.credentials.evidence import EvidenceKind, TestResult, TestType
from edge.gate.credentials.jwks import load_crl, load_jwks
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verify import verify_text, verify_texts
from edge.gate.reasons import Reason

KEY = ec_key(10)
KID = jwk(KEY)["kid"]


def trust(iss: str | None = ISS, crl: dict[str, Any] | None = None) -> TrustStore:
    t = TrustStore()
    for k in load_jwks(jwks(KEY, iss=iss)):
        t.add_shc_key(k)
    if crl is not None:
        t.add_crl(load_crl(crl))
    return t


TRUST = trust()
VACCINATED = shc_payload(immunization("2025-01-10"), immunization("2025-02-07"))


def test_numeric_round_trip_and_bad_digits() -> None:
    assert shc.numeric_to_text(numeric("eyJ.abc-_")) == "eyJ.abc-_"
    with pytest.raises(shc.ShcError) as odd:
        shc.numeric_to_text("123")
    assert odd.value.reason is Reason.BAD_NUMERIC
    with pytest.raises(shc.ShcError):
        shc.numeric_to_text("78")  # 78 + 45 is past 'z'


def test_vaccination_card_verifies_and_normalises() -> None:
    v = verify_text(shc_text(shc_jws(VACCINATED, KEY)), TRUST, NOW)
    assert v.valid and v.format == "SHC" and v.key_usage_valid is None
    (e,) = v.evidence
    assert e.kind is EvidenceKind.VACCINATION and e.dose_number == 2 and e.series_complete
    assert v.payload["iss"] == ISS


def test_single_dose_vaccine_completes_the_series() -> None:
    card = shc_payload(immunization("2025-01-10", cvx="212"))
    (e,) = verify_text(shc_text(shc_jws(card, KEY)), TRUST, NOW).evidence
    assert e.series_complete


def test_lab_result_becomes_test_evidence() -> None:
    card = shc_payload(lab("2025-12-31T10:00:00Z"), lab("2025-12-30", "94558-4", "10828004"))
    v = verify_text(shc_text(shc_jws(card, KEY)), TRUST, NOW)
    pcr, antigen = v.evidence
    assert pcr.test_type is TestType.NUCLEIC_ACID and pcr.result is TestResult.NEGATIVE
    assert pcr.sample_time == NOW - 14 * 3600
    assert antigen.test_type is TestType.RAPID_ANTIGEN and antigen.result is TestResult.POSITIVE


def test_jws_built_by_jwcrypto_verifies() -> None:
    """Cross-check with an independent JOSE implementation (jwcrypto)."""
    from jwcrypto import jwk as jjwk
    from jwcrypto import jws as jjws

    key = jjwk.JWK.generate(kty="EC", crv="P-256")
    public = json.loads(key.export_public())
    kid = key.thumbprint()
    body = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = body.compress(json.dumps(VACCINATED).encode()) + body.flush()
    token = jjws.JWS(raw)
    token.add_signature(key, None, json.dumps({"alg": "ES256", "zip": "DEF", "kid": kid}))
    compact = token.serialize(compact=True)
    t = TrustStore()
    for k in load_jwks({"keys": [{**public, "kid": kid}]}):
        t.add_shc_key(k)
    assert verify_text(shc_text(compact), t, NOW).valid


def test_chunks_are_assembled_in_any_order() -> None:
    chunks = shc_chunks(shc_jws(VACCINATED, KEY), 3)
    assert len(chunks) == 3
    part = verify_text(chunks[0], TRUST, NOW)
    assert part.reasons == (Reason.CHUNKS_INCOMPLETE,) and part.to_json()["chunk"] == [1, 3]
    (v,) = verify_texts([chunks[2], chunks[0], chunks[1]], TRUST, NOW)
    assert v.valid and v.evidence[0].dose_number == 2
    (partial,) = verify_texts(chunks[:2], TRUST, NOW)
    assert partial.reasons == (Reason.CHUNKS_INCOMPLETE,)
    assert partial.to_json()["missing_chunks"] == [3]


def test_chunk_numbers_out_of_range_are_refused() -> None:
    for text in ("shc:/4/3/5676", "shc:/0/2/5676", "shc:/1/99/5676"):
        assert verify_text(text, TRUST, NOW).reasons == (Reason.BAD_NUMERIC,)


@pytest.mark.parametrize(
    ("now", "reason"),
    [(NOW - DAY - 1, Reason.CERT_NOT_YET_VALID), (NOW + 10 * DAY + 1, Reason.CERT_EXPIRED)],
)
def test_nbf_and_exp(now: float, reason: Reason) -> None:
    card = shc_payload(immunization("2025-01-10"), exp=NOW + 10 * DAY)
    text = shc_text(shc_jws(card, KEY))
    assert verify_text(text, TRUST, NOW + 10 * DAY).valid  # exp itself is still valid
    v = verify_text(text, TRUST, now)
    assert v.reasons == (reason,) and v.signature_valid and not v.time_valid


def test_untrusted_clock_fails_closed() -> None:
    v = verify_text(shc_text(shc_jws(VACCINATED, KEY)), TRUST, NOW, clock_trusted=False)
    assert v.reasons == (Reason.CLOCK_UNTRUSTED,)


def test_revocation_by_rid_with_and_without_cut_off() -> None:
    card = shc_payload(immunization("2025-01-10"), rid="abc123", nbf=NOW - DAY)
    text = shc_text(shc_jws(card, KEY))
    revoked = trust(crl={"kid": KID, "method": "rid", "ctr": 1, "rids": ["abc123"]})
    assert verify_text(text, revoked, NOW).reasons == (Reason.CERT_REVOKED,)
    later = trust(crl={"kid": KID, "ctr": 2, "rids": [f"abc123.{int(NOW)}"]})
    assert verify_text(text, later, NOW).reasons == (Reason.CERT_REVOKED,)  # issued before
    earlier = trust(crl={"kid": KID, "ctr": 3, "rids": [f"abc123.{int(NOW - 2 * DAY)}"]})
    assert verify_text(text, earlier, NOW).valid  # re-issued after the cut-off


def test_newest_crl_wins() -> None:
    t = trust(crl={"kid": KID, "ctr": 5, "rids": ["x"]})
    t.add_crl(load_crl({"kid": KID, "ctr": 2, "rids": []}))
    assert "x" in t.shc_crls[KID].rids


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("shc:/12345", Reason.BAD_NUMERIC),
        ("shc:/abc", Reason.BAD_NUMERIC),
        (shc_text("abc.def"), Reason.BAD_JWS),
        (shc_text("a.b.c"), Reason.BAD_JWS),
        (shc_text(shc_jws(VACCINATED, KEY, zip_=True)[:-3] + "::"), Reason.BAD_JWS),
        (shc_text(shc_jws({}, KEY, zip_=False, raw_body=b"[1,2]")), Reason.BAD_JWS),
        (shc_text(shc_jws({}, KEY, zip_=False, raw_body=b"{not json")), Reason.BAD_JWS),
        (shc_text(shc_jws({"iss": ISS}, KEY, zip_=False)), Reason.BAD_CLAIMS),
        (shc_text(shc_jws({**VACCINATED, "nbf": "yesterday"}, KEY)), Reason.BAD_DATE),
        (shc_text(shc_jws(shc_payload(immunization("soon")), KEY)), Reason.BAD_DATE),
        (shc_text(shc_jws(VACCINATED, KEY, kid="unknown")), Reason.UNKNOWN_KEY),
        (shc_text(shc_jws(VACCINATED, KEY, alg="ES384")), Reason.UNSUPPORTED_ALGORITHM),
        (shc_text(shc_jws(VACCINATED, ec_key(11), kid=KID)), Reason.BAD_SIGNATURE),
        (
            shc_text(shc_jws({**VACCINATED, "iss": "https://evil.example"}, KEY)),
            Reason.ISSUER_MISMATCH,
        ),
    ],
)
def test_bad_cards_have_their_own_reason(text: str, reason: Reason) -> None:
    v = verify_text(text, TRUST, NOW)
    assert reason in v.reasons and not v.valid


def test_broken_deflate_and_zip_bomb() -> None:
    header = b64u(json.dumps({"alg": "ES256", "zip": "DEF", "kid": KID}).encode())
    broken = f"{header}.{b64u(b'not deflate at all')}.{b64u(bytes(64))}"
    assert verify_text(shc_text(broken), TRUST, NOW).reasons == (Reason.BAD_COMPRESSION,)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = c.compress(b" " * 2_000_000) + c.flush()
    big = f"{header}.{b64u(bomb)}.{b64u(bytes(64))}"
    assert verify_text(shc_text(big), TRUST, NOW).reasons[0] in (Reason.TOO_LARGE,)


def test_tampered_payload_fails_signature() -> None:
    jws = shc_jws(VACCINATED, KEY, zip_=False)
    h, _, s = jws.split(".")
    forged = json.dumps({**VACCINATED, "iss": ISS + "/"}).encode()
    v = verify_text(shc_text(f"{h}.{b64u(forged)}.{s}"), TRUST, NOW)
    assert v.reasons == (Reason.BAD_SIGNATURE,)


def test_jwks_and_crl_files_are_detected(tmp_path: Path) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps(jwks(KEY)))
    (tmp_path / "crl.json").write_text(json.dumps({"kid": KID, "ctr": 1, "rids": ["r1"]}))
    t = TrustStore.from_files([], jwks=[tmp_path / "jwks.json"], crl=[tmp_path / "crl.json"])
    assert t.shc_keys_for(KID) and t.shc_crls[KID].rids == {"r1": None}
    (tmp_path / "bad.json").write_text('{"keys": [{"kty": "RSA", "kid": "x"}]}')
    with pytest.raises(ValueError, match=r"bad\.json"):
        TrustStore.from_files([tmp_path / "bad.json"])
