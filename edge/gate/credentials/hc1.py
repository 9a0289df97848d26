"""EU Digital COVID Certificate (``HC1:``): the full offline verification chain.

``HC1:`` → Base45 → zlib → COSE_Sign1 → CWT claims (1 iss, 4 exp, 6 iat, -260 → {1: hcert}).
The DSC is found by kid (several may share one: each is tried), the signature checked, then
``iat ≤ now ≤ exp`` and the DSC's key usage against the certificate type. The DSC's own
validity window is deliberately *not* checked: real, valid certificates outlive it.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import base45

from edge.core.errors import CredentialError
from edge.gate.credentials import cose, dcc_schema
from edge.gate.credentials.dsc import Dsc
from edge.gate.credentials.evidence import (
    EvidenceKind,
    HealthEvidence,
    TestResult,
    TestType,
    parse_time,
)
from edge.gate.credentials.trust import TrustStore
from edge.gate.reasons import Reason

PREFIX = "HC1:"
MAX_INFLATED = 64 * 1024  # bytes; a real hcert is < 2 KB, this stops zip bombs
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_HCERT = 1, 4, 6, -260

_TEST_TYPES = {"LP6464-4": TestType.NUCLEIC_ACID, "LP217198-3": TestType.RAPID_ANTIGEN}
_RESULTS = {
    "260415000": TestResult.NEGATIVE,  # SNOMED "not detected"
    "260373001": TestResult.POSITIVE,  # SNOMED "detected"
}
_KINDS = {"v": EvidenceKind.VACCINATION, "t": EvidenceKind.TEST, "r": EvidenceKind.RECOVERY}


@dataclass(frozen=True)
class Hc1Check:
    """Everything one HC1 verification established."""

    decoded: bool = False
    signature_valid: bool = False
    expired: bool = False
    time_valid: bool = False
    key_usage_valid: bool | None = False  # None: no known key to judge the usage on
    reasons: tuple[Reason, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)
    evidence: tuple[HealthEvidence, ...] = ()
    kid: bytes | None = None
    issuer: str | None = None


class _Refused(CredentialError):
    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason


def to_json(obj: Any) -> Any:
    """CBOR values (tuples, frozendicts, bytes, dates) → plain JSON values."""
    if isinstance(obj, Mapping):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json(v) for v in obj]
    if isinstance(obj, bytes):
        return base64.b64encode(obj).decode("ascii")
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    return str(obj)


def inflate(data: bytes) -> bytes:
    """zlib-decompress with an output cap; raises ``_Refused``."""
    if data[:1] != b"\x78":
        raise _Refused(Reason.BAD_COMPRESSION)  # Z2: an uncompressed payload is refused
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, MAX_INFLATED + 1)
    except zlib.error as exc:
        raise _Refused(Reason.BAD_COMPRESSION) from exc
    if len(out) > MAX_INFLATED:
        raise _Refused(Reason.TOO_LARGE)
    if not d.eof:
        raise _Refused(Reason.BAD_COMPRESSION)  # truncated stream
    return out


def _num(claims: Mapping[Any, Any], key: int) -> float | None:
    v = claims.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _Refused(Reason.BAD_DATE)
    return float(v)


def _entry(hcert: Mapping[Any, Any]) -> tuple[EvidenceKind, Mapping[Any, Any]]:
    """The single v/t/r entry; several groups or entries → ENTRY_COUNT."""
    groups = [(k, v) for k, v in hcert.items() if k in _KINDS]
    if len(groups) != 1:
        raise _Refused(Reason.ENTRY_COUNT)
    key, entries = groups[0]
    if not isinstance(entries, list | tuple) or len(entries) != 1:
        raise _Refused(Reason.ENTRY_COUNT)
    entry = entries[0]
    if not isinstance(entry, Mapping):
        raise _Refused(Reason.BAD_CLAIMS)
    return _KINDS[key], entry


def _time(entry: Mapping[Any, Any], key: str, *, end_of_day: bool = False) -> float:
    t = parse_time(entry.get(key), end_of_day=end_of_day)
    if t is None:
        raise _Refused(Reason.BAD_DATE)
    return t


def _int(entry: Mapping[Any, Any], key: str) -> int:
    v = entry.get(key)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 100:
        raise _Refused(Reason.BAD_CLAIMS)
    return v


def normalise(kind: EvidenceKind, entry: Mapping[Any, Any], iss: str | None) -> HealthEvidence:
    """One hcert entry → :class:`HealthEvidence` (never names or birth dates)."""
    co = entry.get("co")
    country = co if isinstance(co, str) and co else iss
    if kind is EvidenceKind.TEST:
        tt = str(entry.get("tt", ""))
        return HealthEvidence(
            kind,
            issuer_country=country,
            test_type=_TEST_TYPES.get(tt, TestType.OTHER),
            sample_time=_time(entry, "sc"),
            result=_RESULTS.get(str(entry.get("tr", "")), TestResult.UNKNOWN),
        )
    if kind is EvidenceKind.VACCINATION:
        return HealthEvidence(
            kind,
            issuer_country=country,
            dose_number=_int(entry, "dn"),
            total_doses=_int(entry, "sd"),
            vaccination_time=_time(entry, "dt"),
        )
    return HealthEvidence(
        kind,
        issuer_country=country,
        valid_from=_time(entry, "df"),
        valid_until=_time(entry, "du", end_of_day=True),
    )


def _decode(text: str) -> cose.CoseSign1:
    if not text.startswith(PREFIX):
        raise _Refused(Reason.UNKNOWN_FORMAT)
    try:
        raw = base45.b45decode(text[len(PREFIX) :])
    except (ValueError, TypeError) as exc:
        raise _Refused(Reason.BAD_BASE45) from exc
    try:
        return cose.parse(inflate(raw))
    except cose.CoseError as exc:
        raise _Refused(exc.reason) from exc


def verify(text: str, trust: TrustStore, now: float, *, clock_trusted: bool = True) -> Hc1Check:
    """Verify an ``HC1:`` text at Unix time ``now`` (seconds). Pure: no I/O, no clock reads."""
    text = text.strip()
    try:
        msg = _decode(text)
        claims: Any = cose.loads(msg.payload)
        if not isinstance(claims, Mapping):
            raise _Refused(Reason.BAD_CLAIMS)
        hc = claims.get(CLAIM_HCERT)
        hcert = hc.get(1) if isinstance(hc, Mapping) else None
        if not isinstance(hcert, Mapping):
            raise _Refused(Reason.BAD_CLAIMS)
        exp, iat = _num(claims, CLAIM_EXP), _num(claims, CLAIM_IAT)
        iss_v = claims.get(CLAIM_ISS)
        iss = iss_v if isinstance(iss_v, str) else None
    except _Refused as exc:
        return Hc1Check(reasons=(exc.reason,))
    except cose.CoseError as exc:
        return Hc1Check(reasons=(exc.reason,))
    payload = to_json(hcert)
    reasons: list[Reason] = []
    evidence: tuple[HealthEvidence, ...] = ()
    kind: EvidenceKind | None = None
    try:
        kind, entry = _entry(hcert)
        evidence = (normalise(kind, entry, iss),)
    except _Refused as exc:
        reasons.append(exc.reason)
    else:
        # readable, but does it say what the EU DCC schema and value sets allow?
        if dcc_schema.problems(hcert):
            reasons.append(Reason.SCHEMA_INVALID)

    # signature: every DSC sharing the kid is tried
    sig_ok, signer = False, None
    candidates: list[Dsc] = trust.dsc_candidates(msg.kid)
    if not cose.supported(msg.alg):
        reasons.append(Reason.UNSUPPORTED_ALGORITHM)
    elif not candidates:
        reasons.append(Reason.UNKNOWN_KEY)
    else:
        for dsc in candidates:
            if cose.verify_signature(msg, dsc.key):
                sig_ok, signer = True, dsc
                break
        if not sig_ok:
            reasons.append(Reason.BAD_SIGNATURE)

    # key usage: judged on the DSC that signed (or the first candidate, to explain a refusal)
    usage_dsc = signer or (candidates[0] if candidates else None)
    # unknown key: nothing to judge the usage on, so neither true nor false
    key_usage_ok = None if usage_dsc is None else (kind is None or usage_dsc.allows(kind))
    if usage_dsc is not None and kind is not None and not usage_dsc.allows(kind):
        reasons.append(Reason.KEY_USAGE_MISMATCH)

    expired = False
    time_ok = False
    if not clock_trusted:
        reasons.append(Reason.CLOCK_UNTRUSTED)
    elif exp is None:
        reasons.append(Reason.BAD_CLAIMS)
    else:
        past = now > exp
        not_yet = iat is not None and now < iat
        if not_yet:
            reasons.append(Reason.CERT_NOT_YET_VALID)
        if past:
            reasons.append(Reason.CERT_EXPIRED)
        time_ok = not past and not not_yet
        # ``expired`` reports the DCC "expiration check" (iat ≤ now ≤ exp) as a whole, the
        # way the EU test vectors state it; the reason codes keep the two cases apart
        expired = not time_ok
    return Hc1Check(
        decoded=True,
        signature_valid=sig_ok,
        expired=expired,
        time_valid=time_ok,
        key_usage_valid=key_usage_ok,
        reasons=tuple(dict.fromkeys(reasons)),
        payload=payload,
        evidence=evidence,
        kid=msg.kid,
        issuer=iss,
    )
