"""``edge-gate verify`` for every format, ISO 8601 ``--now``, trust detection, images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from healthkit import (
    NOW,
    ec_key,
    hc1,
    immunization,
    jwks,
    kid_of,
    make_cert,
    pem,
    rsa_key,
    shc_chunks,
    shc_jws,
    shc_payload,
    shc_text,
    vacc,
)

from edge.cli import main
from edge.core.isotime import parse_iso8601
from edge.gate.credentials import passes
from edge.gate.credentials.verified import Role
from edge.gate.reasons import Reason

EC_DER = make_cert(ec_key(0))
RSA_DER = make_cert(rsa_key(0))
HC1_EXP = NOW + 30 * 86400


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {"ec": tmp_path / "ec.pem", "rsa": tmp_path / "rsa.der", "jwks": tmp_path / "j.json"}
    out["ec"].write_bytes(pem(EC_DER))
    out["rsa"].write_bytes(RSA_DER)
    out["jwks"].write_text(json.dumps(jwks(ec_key(10))))
    return out


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["verify", "--json", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


@pytest.mark.parametrize(
    "spelling",
    [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00z",
        "2026-01-01T08:00:00+08:00",
        "2026-01-01T08:00:00+0800",
        "2026-01-01T08:00:00+08",
        "2025-12-31T19:00:00-05:00",
        "2026-01-01T00:00:00",  # no offset = UTC
        "2026-01-01 00:00:00",
        "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00.0Z",
        "2026-01-01T00:00:00.000000000Z",
        "2026-01-01T00:00:00,5",
        "20260101T000000Z",
        "2025-12-31T24:00:00Z",
        "2026-01-01",
        "2026-01-01Z",
        "2026-01-01T00:00",
        "2026-01-01T0000Z",
        "2025-12-31T23:59:60Z",  # leap second
        "2026-001",  # ordinal date
        "2026001",
        "2026-W01-4",  # week date: Thursday of week 1
        "2026W014",
    ],
)
def test_every_iso_8601_spelling(spelling: str) -> None:
    assert parse_iso8601(spelling) == pytest.approx(NOW, abs=0.5 + 1e-9)


def test_fraction_digits_are_kept() -> None:
    assert parse_iso8601("2026-01-01T00:00:00.123456789Z") == pytest.approx(NOW + 0.123456789)


@pytest.mark.parametrize(
    "bad",
    ["yesterday", "2026-13-01T00:00:00Z", "2026-01-01T25:00Z", "", "2026-366", "2026-02-30"],
)
def test_bad_now_is_a_usage_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--now", bad, "--text", "x"]) == 2


@pytest.mark.parametrize(("key", "der"), [("ec", EC_DER), ("rsa", RSA_DER)])
def test_hc1_valid_exit_0(
    key: str, der: bytes, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    signer = ec_key(0) if key == "ec" else rsa_key(0)
    text = hc1(vacc(), signer, kid_of(der), exp=HC1_EXP)
    code, out = run(
        ["--now", "2026-01-01T08:00:00+08:00", "--trust", str(files[key]), "--text", text], capsys
    )
    assert code == 0 and out["format"] == "HC1" and out["signature_valid"] is True
    assert out["key_usage_valid"] is True and out["expired"] is False and out["reasons"] == []
    assert out["payload"]["v"][0]["sd"] == 2 and out["evidence"][0]["kind"] == "vaccination"


def test_hc1_expired_exit_1(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    text = hc1(vacc(), ec_key(0), kid_of(EC_DER), exp=HC1_EXP)
    code, out = run(
        ["--now", "2026-03-01T00:00:00Z", "--trust", str(files["ec"]), "--text", text], capsys
    )
    assert code == 1 and out["expired"] is True and out["signature_valid"] is True
    assert out["reasons"] == ["CERT_EXPIRED"]


def test_text_file_and_shc_chunks(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    jws = shc_jws(shc_payload(immunization("2025-01-10"), immunization("2025-02-01")), ec_key(10))
    one = tmp_path / "one.txt"
    one.write_text(shc_text(jws) + "\n")
    code, out = run(
        ["--now", "2026-01-01T00:00:00Z", "--jwks", str(files["jwks"]), "--text-file", str(one)],
        capsys,
    )
    assert code == 0 and out["format"] == "SHC" and out["key_usage_valid"] is None
    many = tmp_path / "many.txt"
    many.write_text("\n".join(shc_chunks(jws, 3)))
    code, out = run(
        ["--now", "2026-01-01T00:00:00Z", "--trust", str(files["jwks"]), "--text-file", str(many)],
        capsys,
    )
    assert code == 0 and out["evidence"][0]["dose_number"] == 2


def test_pass_with_issuer_key_detected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = Ed25519PrivateKey.generate()
    pub = tmp_path / "issuer.pem"
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    body = passes.PassBody("P-9", "h-9", "2", "1", "301", Role.RESIDENT, int(NOW) - 5, int(NOW) + 5)
    text = passes.issue(body, key)
    code, out = run(["--now", "2026-01-01T00:00:00Z", "--trust", str(pub), "--text", text], capsys)
    assert code == 0 and out["format"] == "PASS" and out["key_usage_valid"] is None


def test_image_of_a_printed_certificate(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    import segno

    text = hc1(vacc(), ec_key(0), kid_of(EC_DER), exp=HC1_EXP)
    img = tmp_path / "cert.png"
    segno.make_qr(text, error="q").save(str(img), scale=4, border=4)
    code, out = run(
        ["--now", "2026-01-01T00:00:00Z", "--trust", str(files["ec"]), str(img)], capsys
    )
    assert code == 0 and out["format"] == "HC1"


def test_image_without_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2
    import numpy as np

    img = tmp_path / "blank.png"
    cv2.imwrite(str(img), np.full((200, 200, 3), 255, np.uint8))
    code, out = run([str(img)], capsys)
    assert code == 1 and out["format"] == "NONE" and out["reasons"] == ["UNREADABLE_CODE"]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--text", "x", "--text-file", "y"],
        ["--text", "x", "--trust", "/nonexistent/cert.pem"],
        ["--text-file", "/nonexistent/code.txt"],
        ["/nonexistent/image.png"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", *argv]) == 2


def test_garbage_trust_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    assert main(["verify", "--trust", str(bad), "--text", "HC1:x"]) == 2


def test_unknown_text_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["--text", "hello"], capsys)
    assert code == 1 and out["format"] == "UNKNOWN" and out["reasons"] == ["UNKNOWN_FORMAT"]


def test_human_output(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    text = hc1(vacc(), ec_key(0), kid_of(EC_DER), exp=HC1_EXP)
    assert main(["verify", "--now", "2027-01-01", "--trust", str(files["ec"]), "--text", text]) == 1
    out = capsys.readouterr().out
    assert "HC1: NOT VALID" in out and "CERT_EXPIRED" in out


def test_revoked_pass_ids_in_the_trust_store() -> None:
    from edge.gate.credentials.trust import TrustStore
    from edge.gate.credentials.verify import verify_text

    key = Ed25519PrivateKey.generate()
    body = passes.PassBody("P-5", "h-5", "2", "1", "301", Role.RESIDENT, int(NOW) - 5, int(NOW) + 5)
    trust = TrustStore()
    trust.add_pass_issuer(key.public_key())
    text = passes.issue(body, key)
    assert verify_text(text, trust, NOW).valid
    trust.revoked_pass_ids.add("P-5")
    v = verify_text(text, trust, NOW)
    assert v.reasons == (Reason.REVOKED,) and v.credential.problems == (Reason.REVOKED,)
    late = verify_text(text, TrustStore(pass_issuers=trust.pass_issuers), NOW + 60)
    assert late.reasons == (Reason.EXPIRED,)
    untrusted = verify_text(text, trust, NOW + 60, clock_trusted=False)
    assert untrusted.reasons == (Reason.REVOKED, Reason.CLOCK_UNTRUSTED)
    assert not untrusted.expired and not untrusted.time_valid


def test_several_codes_in_one_file(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    both = tmp_path / "both.txt"
    both.write_text("HC1:broken\n" + hc1(vacc(), ec_key(0), kid_of(EC_DER), exp=HC1_EXP) + "\n")
    code, out = run(
        ["--now", "2026-01-01", "--trust", str(files["ec"]), "--text-file", str(both)], capsys
    )
    assert code == 0 and out["format"] == "HC1" and out["reasons"] == []  # the valid one leads
    assert [c["reasons"] for c in out["codes"]] == [["BAD_BASE45"], []]
