"""SMART Health Cards (``shc:/``): numeric QR decoding, chunks, JWS ES256, FHIR evidence.

``shc:/<digits>`` where each pair of digits is one character (``chr(n + 45)``); long cards
are split as ``shc:/i/n/<digits>`` over several QR codes, assembled across scans by
:class:`ChunkAssembler`. The JWS payload is raw DEFLATE (header ``zip: DEF``) holding a
Verifiable Credential whose FHIR bundle is normalised into :class:`HealthEvidence`.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from edge.core.errors import CredentialError
from edge.gate.credentials.evidence import HealthEvidence
from edge.gate.credentials.fhir import MissingField, bundle_evidence
from edge.gate.credentials.jwks import b64url
from edge.gate.credentials.trust import TrustStore
from edge.gate.reasons import Reason

PREFIX = "shc:/"
MAX_INFLATED = 256 * 1024  # bytes; a card with a long vaccination history is ~10 KB
MAX_CHUNKS = 20
_SINGLE = re.compile(r"^shc:/(\d+)$", re.IGNORECASE)
_CHUNK = re.compile(r"^shc:/(\d{1,3})/(\d{1,3})/(\d+)$", re.IGNORECASE)


class ShcError(CredentialError, ValueError):
    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(detail or reason.value)
        self.reason = reason


@dataclass(frozen=True)
class Chunk:
    """One scanned ``shc:/`` code: part ``index`` of ``total`` (1-based; 1/1 = whole card)."""

    index: int
    total: int
    jws_part: str


def numeric_to_text(digits: str) -> str:
    """Two digits per character, ``chr(int(pair) + 45)``; raises :class:`ShcError`."""
    if len(digits) % 2:
        raise ShcError(Reason.BAD_NUMERIC, "odd number of digits")
    out = []
    for i in range(0, len(digits), 2):
        n = int(digits[i : i + 2])
        if n > 77:  # 'z' is 45 + 77: anything above is not base64url or '.'
            raise ShcError(Reason.BAD_NUMERIC, f"digit pair {n} out of range")
        out.append(chr(n + 45))
    return "".join(out)


def part_of_many(text: str, max_len: int) -> Chunk | None:
    """The chunk when ``text`` (already stripped, at most ``max_len`` characters) is one part
    of a multi-part card, to be assembled with the others; None for anything else."""
    if len(text) > max_len or not text.lower().startswith(PREFIX):
        return None
    try:
        chunk = parse_chunk(text)
    except ShcError:
        return None
    return chunk if chunk.total > 1 else None


def parse_chunk(text: str) -> Chunk:
    """Parse one scanned ``shc:/`` text; raises :class:`ShcError`."""
    text = text.strip()
    if m := _SINGLE.match(text):
        return Chunk(1, 1, numeric_to_text(m[1]))
    if m := _CHUNK.match(text):
        i, n = int(m[1]), int(m[2])
        if not 1 <= i <= n <= MAX_CHUNKS:
            raise ShcError(Reason.BAD_NUMERIC, f"bad chunk number {i}/{n}")
        return Chunk(i, n, numeric_to_text(m[3]))
    if text.lower().startswith(PREFIX):
        raise ShcError(Reason.BAD_NUMERIC, "not numeric shc:/ content")
    raise ShcError(Reason.UNKNOWN_FORMAT)


@dataclass
class ChunkAssembler:
    """Collects chunks of one card across scans. Pure: no clock, no I/O."""

    total: int | None = None
    parts: dict[int, str] = field(default_factory=dict)

    def add(self, chunk: Chunk) -> bool:
        """Add a chunk; a chunk of a different card size restarts the set. True when complete."""
        if self.total != chunk.total:
            self.total, self.parts = chunk.total, {}
        self.parts[chunk.index] = chunk.jws_part
        return self.complete

    @property
    def complete(self) -> bool:
        return self.total is not None and len(self.parts) == self.total

    def missing(self) -> tuple[int, ...]:
        if self.total is None:
            return ()
        return tuple(i for i in range(1, self.total + 1) if i not in self.parts)

    def jws(self) -> str:
        return "".join(self.parts[i] for i in sorted(self.parts))


@dataclass(frozen=True)
class ShcCheck:
    """Everything one SHC verification established."""

    decoded: bool = False
    signature_valid: bool = False
    expired: bool = False
    time_valid: bool = False
    reasons: tuple[Reason, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)
    evidence: tuple[HealthEvidence, ...] = ()
    kid: str | None = None
    issuer: str | None = None


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ShcError(Reason.BAD_JWS, f"not JSON: {exc}") from exc


def _inflate_raw(data: bytes) -> bytes:
    d = zlib.decompressobj(-15)  # raw DEFLATE, no zlib header
    try:
        out = d.decompress(data, MAX_INFLATED + 1)
    except zlib.error as exc:
        raise ShcError(Reason.BAD_COMPRESSION) from exc
    if len(out) > MAX_INFLATED:
        raise ShcError(Reason.TOO_LARGE)
    if not d.eof:
        raise ShcError(Reason.BAD_COMPRESSION, "truncated DEFLATE stream")
    return out


def _es256_ok(key: ec.EllipticCurvePublicKey, sig: bytes, data: bytes) -> bool:
    if len(sig) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _split(jws: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    parts = jws.split(".")
    if len(parts) != 3:
        raise ShcError(Reason.BAD_JWS, "a compact JWS has three parts")
    try:
        header_raw, body, sig = (b64url(p) for p in parts)
    except ValueError as exc:
        raise ShcError(Reason.BAD_JWS, "bad base64url") from exc
    header = _json(header_raw)
    if not isinstance(header, dict):
        raise ShcError(Reason.BAD_JWS, "header is not an object")
    if header.get("zip") == "DEF":
        body = _inflate_raw(body)
    elif header.get("zip") is not None:
        raise ShcError(Reason.BAD_JWS, "unknown zip")
    payload = _json(body)
    if not isinstance(payload, dict):
        raise ShcError(Reason.BAD_JWS, "payload is not an object")
    return header, payload, sig, f"{parts[0]}.{parts[1]}".encode("ascii")


def _num(payload: dict[str, Any], key: str) -> float | None:
    v = payload.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ShcError(Reason.BAD_DATE, f"{key} is not a number")
    return float(v)


def verify_jws(jws: str, trust: TrustStore, now: float, *, clock_trusted: bool = True) -> ShcCheck:
    """Verify an assembled SHC JWS at Unix time ``now``. Pure: no I/O, no clock reads."""
    try:
        header, payload, sig, signing_input = _split(jws)
        nbf, exp = _num(payload, "nbf"), _num(payload, "exp")
        vc = payload.get("vc")
        if not isinstance(vc, dict):
            raise ShcError(Reason.BAD_CLAIMS, "no vc")
        subject = vc.get("credentialSubject")
        bundle = subject.get("fhirBundle") if isinstance(subject, dict) else None
        if not isinstance(bundle, dict):
            raise ShcError(Reason.BAD_CLAIMS, "no FHIR bundle")
    except ShcError as exc:
        return ShcCheck(reasons=(exc.reason,))
    iss = payload.get("iss") if isinstance(payload.get("iss"), str) else None
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    reasons: list[Reason] = []
    try:
        evidence = bundle_evidence(bundle, iss)
    except MissingField:  # e.g. an Observation without effectiveDateTime
        evidence = ()
        reasons.append(Reason.BAD_CLAIMS)
    except ValueError:
        evidence = ()
        reasons.append(Reason.BAD_DATE)
    sig_ok = False
    if header.get("alg") != "ES256":
        reasons.append(Reason.UNSUPPORTED_ALGORITHM)
    else:
        keys = trust.shc_keys_for(kid) if kid else []
        if not keys:
            reasons.append(Reason.UNKNOWN_KEY)
        else:
            signer = next((k for k in keys if _es256_ok(k.key, sig, signing_input)), None)
            sig_ok = signer is not None
            if signer is None:
                reasons.append(Reason.BAD_SIGNATURE)
            elif signer.issuer is not None and signer.issuer.rstrip("/") != (iss or "").rstrip("/"):
                reasons.append(Reason.ISSUER_MISMATCH)
    rid = vc.get("rid")
    crl = trust.shc_crls.get(kid or "")
    if isinstance(rid, str) and crl is not None and crl.revokes(rid, nbf):
        reasons.append(Reason.CERT_REVOKED)
    expired = time_ok = False
    if not clock_trusted:
        reasons.append(Reason.CLOCK_UNTRUSTED)
    else:
        expired = exp is not None and now > exp
        not_yet = nbf is not None and now < nbf
        if not_yet:
            reasons.append(Reason.CERT_NOT_YET_VALID)
        if expired:
            reasons.append(Reason.CERT_EXPIRED)
        time_ok = not expired and not not_yet
    return ShcCheck(
        decoded=True,
        signature_valid=sig_ok,
        expired=expired,
        time_valid=time_ok,
        reasons=tuple(dict.fromkeys(reasons)),
        payload=payload,
        evidence=evidence,
        kid=kid,
        issuer=iss,
    )
