"""Signed downlink: Ed25519 envelopes made by central, verified by the gate with pinned keys.

The signature covers the exact UTF-8 bytes of ``body`` (no canonicalisation to get wrong), and
the body names the topic it was published to, so a message signed for one gate or list cannot
be replayed onto another topic.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from edge.core.errors import SyncError
from edge.core.limits import LimitError, load_json
from edge.gate.credentials.trust import ed25519_kid, load_private_key
from edge.sync.payloads import SignedEnvelope, UnsupportedVersion, parse_message

MAX_DOWNLINK_BYTES = 1_048_576  # default cap of one downlink message, bytes


class Rejected(SyncError, ValueError):
    """A downlink message refused; ``reason`` is a short machine word for the record."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def sign(key: Ed25519PrivateKey, body: dict[str, Any]) -> bytes:
    """An envelope carrying ``body`` (which must include ``topic``), signed by ``key``."""
    body = {"ts": time.time(), **body}
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    env = SignedEnvelope(
        kid=ed25519_kid(key.public_key()).hex(),
        sig=base64.b64encode(key.sign(text.encode())).decode(),
        body=text,
    )
    # no "minor": null: gates before the versioning rules refuse any field they do not know
    return env.model_dump_json(exclude_none=True).encode()


class Verifier:
    """Pinned central keys; :meth:`open` returns a verified body dict or raises Rejected."""

    def __init__(self, keys: Iterable[Ed25519PublicKey], max_bytes: int = MAX_DOWNLINK_BYTES):
        self.keys: dict[str, list[Ed25519PublicKey]] = {}
        for k in keys:
            self.keys.setdefault(ed25519_kid(k).hex(), []).append(k)
        self.max_bytes = max_bytes

    def open(self, topic: str, payload: bytes) -> dict[str, Any]:
        if len(payload) > self.max_bytes:
            raise Rejected("oversize", f"{len(payload)} > {self.max_bytes} bytes")
        try:
            env = parse_message(SignedEnvelope, payload)
        except UnsupportedVersion as exc:  # before the signature: a new major may sign otherwise
            raise Rejected(UnsupportedVersion.reason, str(exc)) from None
        except ValidationError as exc:
            raise Rejected("malformed", str(exc.errors()[0]["msg"])) from None
        candidates = self.keys.get(env.kid)
        if not candidates:
            raise Rejected("unknown_key", env.kid)
        try:
            sig = base64.b64decode(env.sig, validate=True)
        except ValueError:
            raise Rejected("malformed", "signature is not base64") from None
        for key in candidates:
            try:
                key.verify(sig, env.body.encode())
                break
            except InvalidSignature:
                continue
        else:
            raise Rejected("bad_signature", env.kid)
        try:
            body = load_json(env.body, max_bytes=self.max_bytes)  # depth-checked, no NaN
        except LimitError as exc:
            raise Rejected("malformed", f"body: {exc}") from None
        if not isinstance(body, dict):
            raise Rejected("malformed", "body is not an object")
        if body.get("topic") != topic:
            raise Rejected("wrong_topic", f"signed for {body.get('topic')!r}, got on {topic}")
        return body


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Central's Ed25519 private key (unencrypted PEM) that signs downlink; else ValueError."""
    return load_private_key(path)
