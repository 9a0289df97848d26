"""Builders for test health credentials: DSCs, signed HC1 texts, SHC JWS and numeric codes.

Keys are generated here; nothing comes from a real issuer.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Callable
from functools import cache
from typing import Any

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
HOUR = 3600.0
DAY = 86400.0
OID_TEST = "1.3.6.1.4.1.1847.2021.1.1"
OID_VACC = "1.3.6.1.4.1.1847.2021.1.2"
OID_REC = "1.3.6.1.4.1.1847.2021.1.3"
OID_VACC_ALT = "1.3.6.1.4.1.0.1847.2021.1.2"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@cache
def ec_key(n: int = 0) -> ec.EllipticCurvePrivateKey:
    del n  # one cached key per index
    return ec.generate_private_key(ec.SECP256R1())


@cache
def rsa_key(n: int = 0) -> rsa.RSAPrivateKey:
    del n
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_cert(key: PrivateKey, eku: list[str] | None = None, country: str = "AT") -> bytes:
    """A self-signed DSC (DER), optionally with DCC extended key usages."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.COMMON_NAME, "Test DSC"),
        ]
    )
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        # the DSC's own window ends before NOW: real certificates outlive their DSC
        .not_valid_after(start + dt.timedelta(days=300))
    )
    if eku is not None:
        b = b.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in eku]), critical=False
        )
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def pem(der: bytes) -> bytes:
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n".encode()


def kid_of(der: bytes) -> bytes:
    return hashlib.sha256(der).digest()[:8]


NAME = {"fn": "Musterfrau", "fnt": "MUSTERFRAU", "gn": "Gabriele", "gnt": "GABRIELE"}
DOB = "1998-02-26"


def vacc(dn: int = 2, sd: int = 2, date: str = "2025-11-01", co: str = "AT") -> dict[str, Any]:
    entry: dict[str, Any] = {"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528"}
    entry["ma"] = "ORG-100030215"
    entry |= {"dn": dn, "sd": sd, "dt": date, "co": co, "is": "Ministry", "ci": "URN:UVCI:01:X"}
    return {"ver": "1.3.0", "nam": NAME, "dob": DOB, "v": [entry]}


def pcr(
    sc: str = "2025-12-31T12:00:00Z", tr: str = "260415000", tt: str = "LP6464-4", co: str = "AT"
) -> dict[str, Any]:
    entry = {"tg": "840539006", "tt": tt, "nm": "PCR", "sc": sc, "tr": tr, "tc": "Lab"}
    entry |= {"co": co, "is": "Ministry", "ci": "URN:UVCI:01:Y"}
    return {"ver": "1.3.0", "nam": NAME, "dob": DOB, "t": [entry]}


def recovery(df: str = "2025-12-01", du: str = "2026-05-30", co: str = "AT") -> dict[str, Any]:
    entry = {"tg": "840539006", "fr": "2025-11-20", "co": co, "is": "Ministry", "df": df, "du": du}
    entry |= {"ci": "URN:UVCI:01:Z"}
    return {"ver": "1.3.0", "nam": NAME, "dob": DOB, "r": [entry]}


def _sign(key: PrivateKey, alg: int, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def hc1(
    hcert: dict[str, Any],
    key: PrivateKey,
    kid: bytes,
    *,
    iat: float = NOW - DAY,
    exp: float = NOW + 30 * DAY,
    alg: int | None = None,
    wrap: str = "tag18",
    kid_in: str = "protected",
    unprotected_kid: bytes | None = None,
    claims: Any = None,
    mutate_sig: Callable[[bytes], bytes] | None = None,
    compress: bool = True,
) -> str:
    """A signed ``HC1:`` text; every knob exists to build one refusal case."""
    if alg is None:
        alg = -37 if isinstance(key, rsa.RSAPrivateKey) else -7
    prot: dict[int, Any] = {1: alg}
    unprot: dict[int, Any] = {}
    if kid_in == "protected":
        prot[4] = kid
    elif kid_in == "unprotected":
        unprot[4] = kid
    if unprotected_kid is not None:
        unprot[4] = unprotected_kid
    if claims is None:
        claims = {1: "AT", 4: int(exp), 6: int(iat), -260: {1: hcert}}
    payload = cbor2.dumps(claims)
    prot_raw = cbor2.dumps(prot)
    tbs = cbor2.dumps(["Signature1", prot_raw, b"", payload])
    sig = _sign(key, alg, tbs)
    if mutate_sig is not None:
        sig = mutate_sig(sig)
    msg: Any = [prot_raw, unprot, payload, sig]
    if wrap == "tag18":
        msg = cbor2.CBORTag(18, msg)
    elif wrap == "tag61":
        msg = cbor2.CBORTag(61, cbor2.CBORTag(18, msg))
    raw = cbor2.dumps(msg)
    if compress:
        raw = zlib.compress(raw, 9)
    return "HC1:" + str(base45.b45encode(raw).decode("ascii"))


# --- SMART Health Cards ---------------------------------------------------------------

ISS = "https://issuer.example.org"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    nums = key.public_key().public_numbers()
    x, y = b64u(nums.x.to_bytes(32, "big")), b64u(nums.y.to_bytes(32, "big"))
    thumb = json.dumps({"crv": "P-256", "kty": "EC", "x": x, "y": y}, separators=(",", ":"))
    kid = b64u(hashlib.sha256(thumb.encode()).digest())
    return {"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256", "x": x, "y": y}


def jwks(*keys: ec.EllipticCurvePrivateKey, iss: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"keys": [jwk(k) for k in keys]}
    if iss is not None:
        out["iss"] = iss
    return out


def immunization(date: str, cvx: str = "207") -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": cvx}]},
            "patient": {"reference": "resource:0"},
            "occurrenceDateTime": date,
        }
    }


def lab(when: str, loinc: str = "94500-6", result: str = "260385009") -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "subject": {"reference": "resource:0"},
            "effectiveDateTime": when,
            "valueCodeableConcept": {
                "coding": [{"system": "http://snomed.info/sct", "code": result}]
            },
        }
    }


PATIENT = {
    "resource": {
        "resourceType": "Patient",
        "name": [{"family": "Anyperson", "given": ["John", "B."]}],
        "birthDate": "1951-01-20",
    }
}


def shc_payload(
    *entries: dict[str, Any],
    nbf: float = NOW - DAY,
    exp: float | None = None,
    rid: str | None = None,
    iss: str = ISS,
) -> dict[str, Any]:
    vc: dict[str, Any] = {
        "type": ["https://smarthealth.cards#health-card"],
        "credentialSubject": {
            "fhirVersion": "4.0.1",
            "fhirBundle": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [PATIENT, *entries],
            },
        },
    }
    if rid is not None:
        vc["rid"] = rid
    out: dict[str, Any] = {"iss": iss, "nbf": nbf, "vc": vc}
    if exp is not None:
        out["exp"] = exp
    return out


def shc_jws(
    payload: dict[str, Any],
    key: ec.EllipticCurvePrivateKey,
    *,
    kid: str | None = None,
    alg: str = "ES256",
    zip_: bool = True,
    raw_body: bytes | None = None,
) -> str:
    header = {"alg": alg, "kid": kid or jwk(key)["kid"]}
    body = raw_body if raw_body is not None else json.dumps(payload, separators=(",", ":")).encode()
    if zip_:
        header["zip"] = "DEF"
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        body = c.compress(body) + c.flush()
    signing_input = f"{b64u(json.dumps(header).encode())}.{b64u(body)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64u(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def numeric(jws: str) -> str:
    return "".join(f"{ord(c) - 45:02d}" for c in jws)


def shc_text(jws: str) -> str:
    return "shc:/" + numeric(jws)


def shc_chunks(jws: str, n: int) -> list[str]:
    size = -(-len(jws) // n)
    parts = [jws[i : i + size] for i in range(0, len(jws), size)]
    return [f"shc:/{i}/{len(parts)}/{numeric(p)}" for i, p in enumerate(parts, 1)]
