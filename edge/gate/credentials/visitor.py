"""Visitor passes issued at the booth with a delegated visitor key.

The community's issuer key never leaves the platform. The gate holds its own *visitor* key,
trusted (``TrustStore.add_visitor_issuer``) for one thing only: a pass with role visitor, not
bound to a phone, valid for at most :data:`~edge.gate.credentials.passes.VISITOR_MAX_S`. The
pass is an ordinary CP1 pass, so the gate reads and verifies it like any other; anything else
the visitor key signs is refused with ``KEY_USAGE_MISMATCH`` (see ``passes.verify``), so a
booth PC that is stolen cannot mint residents' passes. Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import secrets

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.gate.credentials import passes
from edge.gate.credentials.verified import Role

MIN_VISITOR_S = 300  # a pass shorter than five minutes would expire at the door, seconds


class VisitorPassError(ValueError):
    """A visitor pass the delegated key may not sign; the message says why."""


def visitor_pass_id(nonce: bytes | None = None) -> str:
    """A fresh pass id (V- and 12 hex digits, within the 16-byte budget)."""
    return "V-" + (nonce or secrets.token_bytes(6)).hex()[:12]


def holder_ref(name: str, phone: str, pass_id: str) -> str:
    """What the pass says about its holder: a salted digest, never the name or the phone."""
    return "v-" + hashlib.sha256(f"{pass_id}\0{name}\0{phone}".encode()).hexdigest()[:16]


def issue_visitor_pass(
    key: Ed25519PrivateKey,
    household: tuple[str, str, str],
    valid_from: int,
    valid_until: int,
    pass_id: str,
    holder: str,
) -> str:
    """Sign a visitor pass for ``household`` (building, unit, room), Unix seconds window."""
    span = valid_until - valid_from
    if not MIN_VISITOR_S <= span <= passes.VISITOR_MAX_S:
        raise VisitorPassError(
            f"a visitor pass lasts {MIN_VISITOR_S}..{passes.VISITOR_MAX_S} s (asked {span})"
        )
    body = passes.PassBody(pass_id, holder, *household, Role.VISITOR, valid_from, valid_until)
    try:
        return passes.issue(body, key)
    except ValueError as exc:  # a field over the QR budget
        raise VisitorPassError(str(exc)) from exc
