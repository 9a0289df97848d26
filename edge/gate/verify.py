"""One entry point that verifies any scanned text, whatever its format.

Each format module owns its own checks; this module only recognises the format and shapes
the answer into the contract printed by ``edge-gate verify --json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge.gate import passes
from edge.gate.credentials import Credential, UnreadableCredential, code_hash
from edge.gate.reasons import Reason
from edge.gate.trust import TrustStore

MAX_TEXT = 8192  # characters: larger than any credential QR can hold


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

    @property
    def valid(self) -> bool:
        return self.decoded and self.signature_valid and self.time_valid and not self.reasons

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "decoded": self.decoded,
            "signature_valid": self.signature_valid,
            "expired": self.expired,
            "time_valid": self.time_valid,
            "payload": self.payload,
            "reasons": [r.value for r in self.reasons],
            **self.extra,
        }


def _refused(fmt: str, text: str, reason: Reason) -> Verification:
    return Verification(
        format=fmt,
        decoded=False,
        signature_valid=False,
        expired=False,
        time_valid=False,
        reasons=(reason,),
        credential=UnreadableCredential(fmt, code_hash(text), (reason,)),
    )


def verify_text(text: str, trust: TrustStore, now: float) -> Verification:
    """Verify ``text`` at Unix time ``now`` (seconds). Pure: no I/O, no clock reads."""
    if len(text) > MAX_TEXT:
        return _refused("UNKNOWN", text[:MAX_TEXT], Reason.TOO_LARGE)
    if text.startswith(passes.PREFIX):
        check = passes.verify(text, trust, now)
        cred: Credential = check.credential or UnreadableCredential(
            "PASS", code_hash(text), check.reasons
        )
        return Verification(
            format="PASS",
            decoded=check.decoded,
            signature_valid=check.signature_valid,
            expired=check.expired,
            time_valid=check.time_valid,
            reasons=check.reasons,
            credential=cred,
            payload=check.payload,
        )
    return _refused("UNKNOWN", text, Reason.UNKNOWN_FORMAT)
