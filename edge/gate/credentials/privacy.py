"""What records and sync may keep of a credential: outcome, kind, issuer country, test age.

Health data is sensitive personal information (PIPL): names, birth dates, certificate ids and
raw payloads never leave verification. The records layer stores :func:`privacy_summary`
instead of the credential.
"""

from __future__ import annotations

from typing import Any

from edge.gate.credentials.evidence import HealthCodeCredential, HealthCredential
from edge.gate.credentials.verified import Credential, PassCredential, UnreadableCredential


def privacy_summary(credential: Credential, now: float | None = None) -> dict[str, Any]:
    """A record-safe summary of one credential; ``now`` (Unix s) gives the test age in hours.

    Keys: ``kind`` (pass / test / vaccination / recovery / health_code / unreadable),
    ``format``, ``outcome`` (valid / invalid, or the health-code colour), ``reasons`` (codes),
    and for health certificates ``issuer_country`` and ``test_age_h`` (one decimal).
    """
    if isinstance(credential, PassCredential):
        return {
            "kind": "pass",
            "format": "PASS",
            "outcome": "invalid" if credential.problems else "valid",
            "reasons": [r.value for r in credential.problems],
        }
    if isinstance(credential, HealthCodeCredential):
        return {
            "kind": "health_code",
            "format": "HEALTH_CODE",
            "outcome": credential.status.value,
            "reasons": [r.value for r in credential.problems],
        }
    if isinstance(credential, UnreadableCredential):
        return {
            "kind": "unreadable",
            "format": credential.format,
            "outcome": "invalid",
            "reasons": [r.value for r in credential.problems],
        }
    return _health(credential, now)


def _health(credential: HealthCredential, now: float | None) -> dict[str, Any]:
    kinds = sorted({e.kind.value for e in credential.evidence})
    countries = sorted({e.issuer_country for e in credential.evidence if e.issuer_country})
    out: dict[str, Any] = {
        "kind": "+".join(kinds) or "unknown",
        "format": credential.format,
        "outcome": "invalid" if credential.problems else "valid",
        "reasons": [r.value for r in credential.problems],
        # a 2-letter country code only: free text could carry anything
        "issuer_country": next((c for c in countries if len(c) == 2 and c.isalpha()), None),
        "test_age_h": None,
    }
    if now is not None:
        ages = [a for e in credential.evidence if (a := e.test_age_h(now)) is not None]
        if ages:
            out["test_age_h"] = round(min(ages), 1)
    return out
