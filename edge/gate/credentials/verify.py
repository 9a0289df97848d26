"""One entry point that verifies any scanned text, whatever its format.

Each format module owns its own checks; this module only recognises the format and shapes
the answer into the contract printed by ``edge-gate verify --json``. Everything here is pure:
``now`` and whether the clock can be trusted arrive as arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from edge.core import limits
from edge.gate.credentials import hc1, passes, shc
from edge.gate.credentials.evidence import HealthCredential, HealthEvidence
from edge.gate.credentials.trust import TrustStore
from edge.gate.credentials.verified import Credential, UnreadableCredential, code_hash
from edge.gate.reasons import Reason

MAX_TEXT = limits.SCANNED_TEXT_MAX_CHARS  # characters: larger than any credential QR holds


@dataclass(frozen=True)
class Verification:
    """What one scanned text proved. ``credential`` feeds the decision core."""

    format: str
    decoded: bool
    signature_valid: bool
    expired: bool
    time_valid: bool
    reasons: tuple[Reason, ...]
    credential: Credential
    payload: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    key_usage_valid: bool | None = None  # None: the format has no key-usage restriction
    evidence: tuple[HealthEvidence, ...] = ()

    @property
    def valid(self) -> bool:
        return (
            self.decoded
            and self.signature_valid
            and self.time_valid
            and self.key_usage_valid is not False
            and not self.reasons
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "decoded": self.decoded,
            "signature_valid": self.signature_valid,
            "expired": self.expired,
            "time_valid": self.time_valid,
            "key_usage_valid": self.key_usage_valid,
            "payload": self.payload,
            "evidence": [e.to_json() for e in self.evidence],
            "reasons": [r.value for r in self.reasons],
            **self.extra,
        }


def _refused(fmt: str, text: str, reason: Reason, **extra: Any) -> Verification:
    return Verification(
        format=fmt,
        decoded=False,
        signature_valid=False,
        expired=False,
        time_valid=False,
        reasons=(reason,),
        credential=UnreadableCredential(fmt, code_hash(text), (reason,)),
        extra=dict(extra),
    )


def _pass(text: str, trust: TrustStore, now: float, clock_trusted: bool) -> Verification:
    check = passes.verify(text, trust, now)
    reasons = list(check.reasons)
    time_valid = check.time_valid
    expired = check.expired
    if check.credential is not None and check.credential.pass_id in trust.revoked_pass_ids:
        reasons.append(Reason.REVOKED)
    if not clock_trusted and check.decoded:
        # validity window and dynamic step were judged against a clock we cannot trust
        reasons = [r for r in reasons if r not in _TIME_REASONS] + [Reason.CLOCK_UNTRUSTED]
        time_valid = expired = False
    cred: Credential
    if check.credential is not None:
        cred = replace(check.credential, problems=tuple(reasons))
    else:
        cred = UnreadableCredential("PASS", code_hash(text), tuple(reasons))
    return Verification(
        format="PASS",
        decoded=check.decoded,
        signature_valid=check.signature_valid,
        expired=expired,
        time_valid=time_valid,
        reasons=tuple(dict.fromkeys(reasons)),
        credential=cred,
        payload=check.payload,
    )


_TIME_REASONS = {Reason.EXPIRED, Reason.NOT_YET_VALID, Reason.DYNAMIC_CODE_STALE}


def _health(
    fmt: str, text: str, check: hc1.Hc1Check | shc.ShcCheck, key_usage: bool | None
) -> Verification:
    return Verification(
        format=fmt,
        decoded=check.decoded,
        signature_valid=check.signature_valid,
        expired=check.expired,
        time_valid=check.time_valid,
        reasons=check.reasons,
        credential=HealthCredential(fmt, check.evidence, code_hash(text), check.reasons),
        payload=check.payload,
        key_usage_valid=key_usage,
        evidence=check.evidence,
    )


def verify_shc_jws(
    jws: str, text: str, trust: TrustStore, now: float, *, clock_trusted: bool = True
) -> Verification:
    """Verify an assembled SHC JWS (``text`` is what was scanned, for the hash)."""
    return _health("SHC", text, shc.verify_jws(jws, trust, now, clock_trusted=clock_trusted), None)


def _valid_unicode(text: str) -> bool:
    """False for lone surrogates (undecodable bytes from argv/files arrive as those)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: str) -> str:
    """The text with invalid code points replaced, safe to hash, log and print."""
    return text.encode("utf-8", "replace").decode("utf-8")


def verify_text(
    text: str, trust: TrustStore, now: float, *, clock_trusted: bool = True
) -> Verification:
    """Verify ``text`` at Unix time ``now`` (seconds). Pure: no I/O, no clock reads.

    With ``clock_trusted=False`` every time-dependent check fails closed (``CLOCK_UNTRUSTED``).
    One chunk of a multi-part SHC is refused with ``CHUNKS_INCOMPLETE``; use
    :func:`verify_texts` or the scan session to assemble the parts.
    """
    if len(text) > MAX_TEXT:
        return _refused("UNKNOWN", _printable(text[:MAX_TEXT]), Reason.TOO_LARGE)
    if not _valid_unicode(text):
        return _refused("UNKNOWN", _printable(text), Reason.INVALID_TEXT)
    stripped = text.strip()
    if stripped.startswith(passes.PREFIX):
        return _pass(stripped, trust, now, clock_trusted)
    if stripped.startswith(hc1.PREFIX):
        check = hc1.verify(stripped, trust, now, clock_trusted=clock_trusted)
        usage = check.key_usage_valid if check.decoded else False
        return _health("HC1", stripped, check, usage)
    if stripped.lower().startswith(shc.PREFIX):
        try:
            chunk = shc.parse_chunk(stripped)
        except shc.ShcError as exc:
            return _refused("SHC", stripped, exc.reason)
        if chunk.total > 1:
            return _refused(
                "SHC", stripped, Reason.CHUNKS_INCOMPLETE, chunk=[chunk.index, chunk.total]
            )
        return verify_shc_jws(chunk.jws_part, stripped, trust, now, clock_trusted=clock_trusted)
    return _refused("UNKNOWN", stripped, Reason.UNKNOWN_FORMAT)


def verify_texts(
    texts: Sequence[str], trust: TrustStore, now: float, *, clock_trusted: bool = True
) -> list[Verification]:
    """Verify several texts read together (one image, one file); SHC chunks are assembled."""
    out: list[Verification] = []
    assembler = shc.ChunkAssembler()
    chunk_texts: list[str] = []
    for text in texts:
        stripped = text.strip()
        if (chunk := shc.part_of_many(stripped, MAX_TEXT)) is not None:
            assembler.add(chunk)
            chunk_texts.append(stripped)
            continue
        out.append(verify_text(text, trust, now, clock_trusted=clock_trusted))
    if chunk_texts:
        if assembler.complete:
            joined = "\n".join(sorted(chunk_texts))
            out.append(
                verify_shc_jws(assembler.jws(), joined, trust, now, clock_trusted=clock_trusted)
            )
        else:
            out.append(
                _refused(
                    "SHC",
                    "\n".join(chunk_texts),
                    Reason.CHUNKS_INCOMPLETE,
                    missing_chunks=list(assembler.missing()),
                )
            )
    return out
