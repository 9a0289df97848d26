"""Privacy of what records keep, property tests on hostile input, and reason coverage."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import base45
from healthkit import (
    DOB,
    NAME,
    NOW,
    PATIENT,
    ec_key,
    hc1,
    immunization,
    jwks,
    kid_of,
    lab,
    make_cert,
    pcr,
    shc_jws,
    shc_payload,
    shc_text,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.gate.credentials.dsc import load_dsc_der
from edge.gate.credentials.evidence import HealthCodeCredential, HealthCodeStatus
from edge.gate.credentials.jwks import load_jwks
from edge.gate.credentials.privacy import privacy_summary
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verify import Verification, verify_text, verify_texts
from edge.gate.reasons import Reason

DER = make_cert(ec_key(0))
TRUST = TrustStore()
TRUST.add_dsc(load_dsc_der(DER))
for _k in load_jwks(jwks(ec_key(10))):
    TRUST.add_shc_key(_k)

VALID_HC1 = hc1(pcr(), ec_key(0), kid_of(DER))
VALID_SHC = shc_text(
    shc_jws(shc_payload(immunization("2025-01-10"), lab("2025-12-31")), ec_key(10))
)
PII = [NAME["fn"], NAME["gn"], NAME["fnt"], DOB, "Anyperson", "1951-01-20", "URN:UVCI"]
ALLOWED_KEYS = {"kind", "format", "outcome", "reasons", "issuer_country", "test_age_h"}


def test_privacy_summary_carries_no_names_or_birth_dates() -> None:
    for text in (VALID_HC1, VALID_SHC):
        v = verify_text(text, TRUST, NOW)
        assert v.valid
        assert any(p in json.dumps(v.payload) for p in PII)  # the CLI payload has them...
        summary = privacy_summary(v.credential, NOW)
        dumped = json.dumps(summary, ensure_ascii=False)
        assert set(summary) <= ALLOWED_KEYS
        for p in PII:  # ...the record never does
            assert p not in dumped
            assert p not in repr(v.credential)  # nor does the credential itself
    hc = privacy_summary(verify_text(VALID_HC1, TRUST, NOW).credential, NOW)
    assert hc == {
        "kind": "test",
        "format": "HC1",
        "outcome": "valid",
        "reasons": [],
        "issuer_country": "AT",
        "test_age_h": 12.0,
    }


def test_privacy_summary_of_other_credentials() -> None:
    code = privacy_summary(HealthCodeCredential(HealthCodeStatus.YELLOW, "abc"))
    assert code["kind"] == "health_code" and code["outcome"] == "yellow"
    bad = privacy_summary(verify_text("HC1:%%%", TRUST, NOW).credential)
    assert bad["outcome"] == "invalid" and bad["reasons"] == ["BAD_BASE45"]
    assert PATIENT  # the SHC patient resource is what the previous test proves dropped


def _check(v: Verification) -> None:
    assert isinstance(v, Verification)
    assert v.valid or v.reasons, v  # never "not valid" without a reason
    json.dumps(v.to_json(), default=str)


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.sampled_from(["HC1:", "shc:/", "CP1:", "", "shc:/1/2/"]), st.text(max_size=300))
def test_random_text_never_crashes(prefix: str, body: str) -> None:
    _check(verify_text(prefix + body, TRUST, NOW))


@FAST
@given(st.binary(max_size=400))
def test_random_base45_payloads_never_crash(raw: bytes) -> None:
    _check(verify_text("HC1:" + base45.b45encode(raw).decode(), TRUST, NOW))
    _check(verify_text("HC1:" + base45.b45encode(zlib.compress(raw)).decode(), TRUST, NOW))


@FAST
@given(st.data())
def test_mutated_hc1_is_refused_or_still_genuine(data: st.DataObject) -> None:
    raw = bytearray(zlib.decompress(base45.b45decode(VALID_HC1[4:])))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    v = verify_text("HC1:" + base45.b45encode(zlib.compress(bytes(raw))).decode(), TRUST, NOW)
    _check(v)
    if bytes(raw) != zlib.decompress(base45.b45decode(VALID_HC1[4:])):
        # any change to signed bytes must break the signature (unsigned header bytes may not)
        assert not v.valid or v.evidence == verify_text(VALID_HC1, TRUST, NOW).evidence


@FAST
@given(st.data())
def test_mutated_text_never_crashes(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from([VALID_HC1, VALID_SHC]))
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 5))):
        i = data.draw(st.integers(0, len(chars) - 1))
        chars[i] = data.draw(st.characters(codec="ascii"))
    cut = data.draw(st.integers(5, len(chars)))
    _check(verify_text("".join(chars[:cut]), TRUST, NOW))


@FAST
@given(st.lists(st.text(alphabet="0123456789/shc:", max_size=60), max_size=5))
def test_random_chunk_sets_never_crash(texts: list[str]) -> None:
    for v in verify_texts(["shc:/" + t for t in texts], TRUST, NOW):
        _check(v)


def test_every_reason_is_exercised_by_a_test() -> None:
    """Each reason code is asserted somewhere in the tests (this dir or the core tests)."""
    root = Path(__file__).parent.parent
    source = "\n".join(p.read_text(encoding="utf-8") for p in root.rglob("test_*.py"))
    used = set(re.findall(r"\b(?:Reason|R)\.([A-Z0-9_]+)\b", source))
    used |= set(re.findall(r'"([A-Z][A-Z0-9_]+)"', source))
    missing = {r.name for r in Reason} - used
    assert not missing, missing
