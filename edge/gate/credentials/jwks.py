"""SMART Health Card issuer keys (JWKS) and revocation lists (CRL), provisioned as files.

A gate is often offline, so issuers' ``/.well-known/jwks.json`` and ``/.well-known/crl/<kid>.json``
are fetched in advance and pushed down. A JWKS file may carry an extra top-level ``"iss"``
naming the issuer URL: the card's ``iss`` must then match it.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class ShcKey:
    """One ES256 issuer key. ``issuer`` None = accept any ``iss`` signed by it."""

    kid: str
    key: ec.EllipticCurvePublicKey
    issuer: str | None = None


@dataclass(frozen=True)
class Crl:
    """Revoked ``rid`` values of one key: rid → cut-off Unix time (None = all cards)."""

    kid: str
    ctr: int
    rids: dict[str, float | None] = field(default_factory=dict)

    def revokes(self, rid: str, nbf: float | None) -> bool:
        if rid not in self.rids:
            return False
        cutoff = self.rids[rid]
        # "rid.timestamp": only cards issued before the cut-off are revoked
        return cutoff is None or nbf is None or nbf < cutoff


def b64url(text: str) -> bytes:
    """Base64url without padding → bytes; raises ``ValueError``."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_to_key(jwk: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    """An EC P-256 public key from a JWK; raises ``ValueError``."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("SHC keys must be EC P-256")
    x, y = b64url(jwk["x"]), b64url(jwk["y"])
    if len(x) != 32 or len(y) != 32:
        raise ValueError("bad P-256 coordinates")
    nums = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
    )
    return nums.public_key()


def load_jwks(obj: Any) -> list[ShcKey]:
    """Keys of a JWKS object (``{"keys": [...]}``, optionally with ``"iss"``)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("keys"), list):
        raise ValueError('a JWKS must be an object with a "keys" list')
    issuer = obj.get("iss") if isinstance(obj.get("iss"), str) else None
    out = []
    for jwk in obj["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "ES256") != "ES256":
            continue
        try:
            out.append(ShcKey(jwk["kid"], jwk_to_key(jwk), issuer))
        except (ValueError, KeyError, TypeError):
            continue  # one bad key must not hide the others
    if not out:
        raise ValueError("no usable ES256 P-256 key in the JWKS")
    return out


def load_crl(obj: Any) -> Crl:
    """A SMART Health Cards CRL (``{"kid", "method": "rid", "ctr", "rids": [...]}``)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("kid"), str):
        raise ValueError('a CRL must be an object with a "kid"')
    if obj.get("method", "rid") != "rid":
        raise ValueError("only the rid revocation method is supported")
    rids: dict[str, float | None] = {}
    for entry in obj.get("rids", []):
        if not isinstance(entry, str):
            continue
        rid, _, ts = entry.partition(".")
        rids[rid] = float(ts) if ts.isdigit() else None
    ctr = obj.get("ctr", 0)
    return Crl(obj["kid"], ctr if isinstance(ctr, int) else 0, rids)


def load_json_bytes(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from exc
