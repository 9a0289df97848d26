"""HC1 payloads checked against the EU DCC schema and value sets (issue 17).

Before: a vaccination with an unknown vaccine code, a test with a bad device id or a made-up
country code was accepted as valid.
"""

from __future__ import annotations

from typing import Any

import pytest
from healthkit import NOW, ec_key, hc1, kid_of, make_cert, pcr, recovery, vacc

from edge.gate.credentials import dcc_schema
from edge.gate.credentials.dsc import load_dsc_der
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verify import verify_text
from edge.gate.reasons import Reason

EC_DER = make_cert(ec_key(0))
TRUST = TrustStore()
TRUST.add_dsc(load_dsc_der(EC_DER))


def check(hcert: dict[str, Any]) -> Any:
    return verify_text(hc1(hcert, ec_key(0), kid_of(EC_DER)), TRUST, NOW)


def _v(**change: Any) -> dict[str, Any]:
    h = vacc()
    h["v"] = [{**h["v"][0], **change}]
    return h


def _t(**change: Any) -> dict[str, Any]:
    h = pcr()
    h["t"] = [{**h["t"][0], **change}]
    return h


@pytest.mark.parametrize("hcert", [vacc(), pcr(), recovery(), _t(tt="LP217198-3", ma="1232")])
def test_conforming_payloads_stay_valid(hcert: dict[str, Any]) -> None:
    assert dcc_schema.problems(hcert) == []
    v = check(hcert)
    assert v.valid and Reason.SCHEMA_INVALID not in v.reasons


@pytest.mark.parametrize(
    ("hcert", "why"),
    [
        (_v(mp="EU/1/99/9999"), "mp"),
        (_v(ma="ORG-999"), "ma"),
        (_v(vp="123"), "vp"),
        (_v(tg="000"), "tg"),
        (_v(co="XX"), "co"),
        (_v(co="austria"), "co"),
        (_v(dn=0), "dn"),
        (_v(sd=12), "sd"),
        (_v(ci="x" * 81), "ci"),
        (_t(tt="LP217198-3"), "test device"),  # a rapid test without its device id
        (_t(tt="LP217198-3", ma="not-a-device"), "test device"),
        (_t(tr="positive"), "tr"),
        (_t(tt="PCR"), "tt"),
        ({**vacc(), "ver": "2.0.0"}, "ver"),
        ({**vacc(), "dob": "26.02.1998"}, "dob"),
        ({**vacc(), "nam": {"fn": "x"}}, "fnt"),
        ({**vacc(), "nam": {"fnt": "mustermann"}}, "fnt"),
        ({**recovery(), "r": [{**recovery()["r"][0], "co": "ZZ"}]}, "co"),
    ],
)
def test_schema_or_value_set_violations_are_refused(hcert: dict[str, Any], why: str) -> None:
    found = dcc_schema.problems(hcert)
    assert any(why in p for p in found), found
    v = check(hcert)
    assert v.signature_valid and not v.valid
    assert Reason.SCHEMA_INVALID in v.reasons


def test_schema_invalid_has_both_sentences() -> None:
    from edge.gate.reasons import sentence

    assert sentence(Reason.SCHEMA_INVALID, "en") and sentence(Reason.SCHEMA_INVALID, "zh")


def test_unknown_key_leaves_key_usage_undecided() -> None:
    """Before: key_usage_valid was reported false when the key was merely unknown."""
    v = verify_text(hc1(vacc(), ec_key(0), kid_of(EC_DER)), TrustStore(), NOW)
    assert Reason.UNKNOWN_KEY in v.reasons and v.key_usage_valid is None
    assert Reason.KEY_USAGE_MISMATCH not in v.reasons and not v.valid


def test_shc_observation_without_effective_time_is_bad_claims_not_bad_date() -> None:
    from healthkit import lab, shc_jws, shc_payload, shc_text
    from test_shc import KEY, TRUST

    entry = lab("2025-12-31T10:00:00Z")
    del entry["resource"]["effectiveDateTime"]
    v = verify_text(shc_text(shc_jws(shc_payload(entry), KEY)), TRUST, NOW)
    assert Reason.BAD_CLAIMS in v.reasons and Reason.BAD_DATE not in v.reasons
    bad = lab("31/12/2025")
    w = verify_text(shc_text(shc_jws(shc_payload(bad), KEY)), TRUST, NOW)
    assert Reason.BAD_DATE in w.reasons  # a date that is there but unreadable stays BAD_DATE
