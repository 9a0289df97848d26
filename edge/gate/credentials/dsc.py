"""Document Signer Certificates (DSC) of EU DCC issuers, read leniently.

Some real DSCs are not strict DER, so ``cryptography`` may refuse the whole certificate or
one of its extensions. We then fall back to a small DER walker that only finds the
SubjectPublicKeyInfo, and to a byte search for the DCC extended-key-usage OIDs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from edge.gate.credentials.cose import PublicKey
from edge.gate.credentials.evidence import EvidenceKind

# DCC key-usage OIDs (two spellings are in use), by the kind of certificate they allow
EKU_OIDS: dict[str, EvidenceKind] = {
    "1.3.6.1.4.1.1847.2021.1.1": EvidenceKind.TEST,
    "1.3.6.1.4.1.1847.2021.1.2": EvidenceKind.VACCINATION,
    "1.3.6.1.4.1.1847.2021.1.3": EvidenceKind.RECOVERY,
    "1.3.6.1.4.1.0.1847.2021.1.1": EvidenceKind.TEST,
    "1.3.6.1.4.1.0.1847.2021.1.2": EvidenceKind.VACCINATION,
    "1.3.6.1.4.1.0.1847.2021.1.3": EvidenceKind.RECOVERY,
}


def _oid_der(oid: str) -> bytes:
    parts = [int(p) for p in oid.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for n in parts[2:]:
        chunk = [n & 0x7F]
        n >>= 7
        while n:
            chunk.append(0x80 | (n & 0x7F))
            n >>= 7
        body.extend(reversed(chunk))
    return bytes([0x06, len(body)]) + bytes(body)


_EKU_DER = {_oid_der(o): k for o, k in EKU_OIDS.items()}


@dataclass(frozen=True)
class Dsc:
    """A trusted signing key. ``usages`` None = no DCC key-usage restriction."""

    kid: bytes
    key: PublicKey
    usages: frozenset[EvidenceKind] | None = None
    country: str | None = None

    def allows(self, kind: EvidenceKind) -> bool:
        return self.usages is None or kind in self.usages


def dcc_kid(der: bytes) -> bytes:
    """DCC key id: first 8 bytes of SHA-256 of the DER certificate."""
    return hashlib.sha256(der).digest()[:8]


def _tlv(buf: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``pos``."""
    tag = buf[pos]
    length = buf[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if not 0 < n <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(buf[pos : pos + n], "big")
        pos += n
    if pos + length > len(buf):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _spki_fallback(der: bytes) -> bytes:
    """The SubjectPublicKeyInfo of a certificate ``cryptography`` would not load."""
    _, start, _ = _tlv(der, 0)  # Certificate
    _, pos, end = _tlv(der, start)  # tbsCertificate
    fields: list[tuple[int, int, int]] = []
    while pos < end and len(fields) < 7:
        tag, _, c_end = _tlv(der, pos)
        fields.append((tag, pos, c_end))
        pos = c_end
    if fields and fields[0][0] == 0xA0:  # explicit [0] version
        fields = fields[1:]
    # serial, signature alg, issuer, validity, subject, subjectPublicKeyInfo
    tag, s, e = fields[5]
    if tag != 0x30:
        raise ValueError("no SubjectPublicKeyInfo")
    return der[s:e]


def _usages(cert: x509.Certificate | None, der: bytes) -> frozenset[EvidenceKind] | None:
    oids: list[str] | None = None
    if cert is not None:
        try:
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            oids = [o.dotted_string for o in eku]
        except x509.ExtensionNotFound:
            oids = []
        except ValueError:  # a non-DER extension: fall back to the byte search below
            oids = None
    if oids is not None:
        kinds = {EKU_OIDS[o] for o in oids if o in EKU_OIDS}
    else:
        kinds = {k for enc, k in _EKU_DER.items() if enc in der}
    return frozenset(kinds) or None


def _country(cert: x509.Certificate | None) -> str | None:
    if cert is None:
        return None
    try:
        attrs = cert.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
    except ValueError:
        return None
    return str(attrs[0].value) if attrs else None


def load_dsc_der(der: bytes, kid: bytes | None = None) -> Dsc:
    """A DSC from DER bytes; ``kid`` overrides the computed one (trust lists give it)."""
    cert: x509.Certificate | None
    try:
        cert = x509.load_der_x509_certificate(der)
        key: Any = cert.public_key()
    except ValueError:
        cert = None
        try:
            key = serialization.load_der_public_key(_spki_fallback(der))
        except (ValueError, IndexError) as exc:
            raise ValueError(f"not a usable certificate: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ValueError("certificate key is neither EC nor RSA")
    return Dsc(kid or dcc_kid(der), key, _usages(cert, der), _country(cert))


def pem_blocks(data: bytes, label: str = "CERTIFICATE") -> list[bytes]:
    """DER contents of every ``-----BEGIN <label>-----`` block in ``data``."""
    out = []
    begin, end = f"-----BEGIN {label}-----".encode(), f"-----END {label}-----".encode()
    pos = 0
    while (i := data.find(begin, pos)) >= 0:
        j = data.find(end, i)
        if j < 0:
            break
        out.append(base64.b64decode(b"".join(data[i + len(begin) : j].split())))
        pos = j + len(end)
    return out


def _kid(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return None


def load_public_key_dsc(data: bytes, kid: bytes | None) -> Dsc:
    """A trusted key given without its certificate (PEM or DER SubjectPublicKeyInfo).

    Without a kid it is tried for any kid no certificate answers to (``KEYLESS``).
    """
    try:
        key: Any = (
            serialization.load_pem_public_key(data)
            if data.lstrip().startswith(b"-----BEGIN")
            else serialization.load_der_public_key(data)
        )
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a public key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ValueError("public key is neither EC nor RSA")
    return Dsc(kid or KEYLESS, key)


KEYLESS = b""  # kid of keys trusted without a certificate


def load_trust_list(obj: Any) -> list[Dsc]:
    """DSCs from a JSON trust list: a list (or ``{"certificates": [...]}``, or a kid-keyed map)
    of entries with ``rawData``/``certificate``/``CERTIFICATE`` (base64 DER) or
    ``publicKeyPem``/``publicKey`` (PEM or base64 DER key), and an optional ``kid`` (base64).
    """
    if isinstance(obj, dict):
        if isinstance(obj.get("certificates"), list):
            obj = obj["certificates"]
        elif isinstance(obj.get("TESTCTX"), dict):  # dgc-testdata test file
            obj = [obj["TESTCTX"]]
        else:  # {kid: entry} or {kid: [entries]}
            flat: list[Any] = []
            for k, v in obj.items():
                for e in v if isinstance(v, list) else [v]:
                    flat.append(dict(e, kid=e.get("kid", k)) if isinstance(e, dict) else e)
            obj = flat
    if not isinstance(obj, list):
        raise ValueError("trust list must be a JSON list of certificates")
    out = []
    for entry in obj:
        if not isinstance(entry, dict):
            continue
        kid = _kid(entry.get("kid"))
        raw = entry.get("rawData") or entry.get("certificate") or entry.get("CERTIFICATE")
        if isinstance(raw, str):
            out.append(load_dsc_der(base64.b64decode(raw), kid))
            continue
        pub = entry.get("publicKeyPem") or entry.get("publicKey")
        if isinstance(pub, str):
            data = pub.encode() if "-----BEGIN" in pub else base64.b64decode(pub)
            out.append(load_public_key_dsc(data, kid))
    return out


_B64_TEXT = re.compile(rb"^[A-Za-z0-9+/=\s]+$")


def load_dsc_bytes(data: bytes) -> list[Dsc]:
    """DSCs from a PEM bundle, a DER certificate, base64 DER text or a JSON trust list."""
    if b"-----BEGIN CERTIFICATE-----" in data:
        return [load_dsc_der(der) for der in pem_blocks(data)]
    stripped = data.strip()
    if stripped[:1] in (b"{", b"["):
        return load_trust_list(json.loads(data))
    if stripped and _B64_TEXT.match(stripped) and stripped[:2] == b"MI":
        # a certificate pasted as bare base64 (how trust lists and test files carry it)
        return [load_dsc_der(base64.b64decode(b"".join(stripped.split())))]
    return [load_dsc_der(data)]
