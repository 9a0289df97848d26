"""What the gate did with a scan, and the record-safe description of it that is synced.

Records carry outcomes, reason codes, pseudonymous pass fields and short hashes; health
credentials appear only as :func:`~.privacy.privacy_summary` (kind, outcome, issuer
country, test age) — never names, birth dates or raw payloads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from edge.core.records import AccessBody, CredentialSummary, ScanBody
from edge.gate.credentials.privacy import privacy_summary
from edge.gate.credentials.verified import Credential, PassCredential
from edge.gate.credentials.verify import Verification
from edge.gate.door.policy import DoorVerdict
from edge.gate.rules.decision import Decision
from edge.gate.rules.profile import Direction
from edge.store.sqlite import Record
from edge.vision.qr.codes import Code


@dataclass(frozen=True)
class Outcome:
    """One scan's result. ``missing`` is non-empty while the gate waits for more proofs."""

    code: Code | None
    verification: Verification | None
    decision: Decision
    record: Record
    relay: str  # "pulse" or "none"
    door: DoorVerdict = field(default_factory=DoorVerdict)  # schedule, anti-passback, ...
    missing: tuple[str, ...] = ()
    prompt: tuple[str, str] = ("", "")  # (zh, en): what to show next while pending

    @property
    def pending(self) -> bool:
        return bool(self.missing)

    def sentence(self, lang: str = "zh") -> str:
        """The prompt while pending; else the decision's or the door rule's sentence."""
        if self.pending:
            return self.prompt[1] if lang == "en" else self.prompt[0]
        return self.decision.sentence(lang) or self.door.sentence(lang)

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "seq": self.record.seq,
            "allow": self.decision.allow,
            "pending": list(self.missing),
            "reasons": [r.value for r in (*self.decision.reasons, *self.door.reasons)],
            "flags": [r.value for r in (*self.decision.flags, *self.door.flags)],
            "sentence": self.sentence(lang),
            "relay": self.relay,
        }


def access_body(
    gate_id: str,
    direction: Direction,
    credentials: Sequence[Credential],
    decision: Decision,
    relay: str,
    door: DoorVerdict,
    now: float,
) -> AccessBody:
    """The synced description of one access decision (see the module docstring)."""
    summaries = [CredentialSummary(**privacy_summary(c, now)) for c in credentials]
    p = next((c for c in credentials if isinstance(c, PassCredential)), None)
    pass_fields: dict[str, Any] = {}
    if p is not None:  # absent, not null, without a pass
        pass_fields = {
            "pass_id": p.pass_id,
            "holder": p.holder,
            "household": p.household,
            "role": p.role.value,
            "dynamic": p.dynamic,
        }
    return AccessBody(
        gate=gate_id,
        direction=direction.value,
        allow=decision.allow,
        reasons=[r.value for r in (*decision.reasons, *door.reasons)],
        flags=[r.value for r in (*decision.flags, *door.flags)],
        relay=relay,
        credentials=summaries,
        code_hashes=[c.code_hash for c in credentials],
        format="PASS" if p is not None else (summaries[0].format if summaries else "NONE"),
        code_hash=(p or credentials[0]).code_hash if credentials else "",
        **pass_fields,
    )


def scan_body(
    gate_id: str, direction: Direction, v: Verification | None, missing: Sequence[str]
) -> ScanBody:
    """A scan that did not complete a decision yet (the person must show more)."""
    if v is None:
        return ScanBody(gate=gate_id, direction=direction.value, missing=list(missing))
    return ScanBody(
        gate=gate_id,
        direction=direction.value,
        missing=list(missing),
        format=v.format,
        code_hash=v.credential.code_hash,
    )
