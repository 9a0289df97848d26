"""Community pass v1 (小区出入证): encoding, signing and verification.

Wire format (see docs/pass-format.md)::

    CP1:<base45(CBOR array)>
    static : [1, kid, body, issuer_sig]
    dynamic: [1, kid, body, issuer_sig, step, device_sig]

``body`` is the CBOR encoding of an integer-keyed map (1 pass id, 2 holder, 3 household
[building, unit, room], 4 role, 5 valid-from, 6 valid-until, 7 device public key for dynamic
passes). ``issuer_sig`` is Ed25519 over ``b"CP1\\0" + kid + body``; ``device_sig`` is the
phone's Ed25519 over ``b"CP1D" + issuer_sig + step`` where ``step = unix_time // 30``.
The alphabet of base45 is QR's alphanumeric mode, so a dynamic pass fits version 12-M.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.core.errors import CredentialError
from edge.gate.credentials.trust import TrustStore, ed25519_kid
from edge.gate.credentials.verified import PassCredential, PassFields, Role, code_hash
from edge.gate.reasons import Reason

PREFIX = "CP1:"
VERSION = 1
STEP_S = 30  # dynamic code time step, seconds
MAX_TEXT = 1024  # characters; a v12-M alphanumeric QR holds at most 419
# Field limits in UTF-8 bytes: with them a dynamic pass always fits a version 12-M QR code.
LIMITS = {"pass id": 16, "holder": 24, "building": 8, "unit": 8, "room": 8}

_ROLES = [Role.RESIDENT, Role.TENANT, Role.STAFF, Role.VISITOR]
# Longest validity a delegated visitor key may sign (edge.gate.credentials.visitor), seconds.
VISITOR_MAX_S = 86_400


@dataclass(frozen=True)
class PassBody(PassFields):
    """What the issuer certifies."""

    device_key: bytes | None = None  # raw Ed25519 public key of the resident's phone

    def check(self) -> None:
        """Raise ``ValueError`` when a field is empty or too long for the QR budget."""
        values = {
            "pass id": self.pass_id,
            "holder": self.holder,
            "building": self.building,
            "unit": self.unit,
            "room": self.room,
        }
        for name, value in values.items():
            n = len(value.encode("utf-8"))
            if not 0 < n <= LIMITS[name]:
                raise ValueError(f"{name} must be 1 to {LIMITS[name]} bytes of UTF-8 (got {n})")
        if self.valid_until < self.valid_from:
            raise ValueError("valid-until is before valid-from")
        if self.device_key is not None and len(self.device_key) != 32:
            raise ValueError("device key must be a raw 32-byte Ed25519 public key")

    def encode(self) -> bytes:
        self.check()
        m: dict[int, Any] = {
            1: self.pass_id,
            2: self.holder,
            3: [self.building, self.unit, self.room],
            4: _ROLES.index(self.role),
            5: self.valid_from,
            6: self.valid_until,
        }
        if self.device_key is not None:
            m[7] = self.device_key
        return cbor2.dumps(m)


class PassFormatError(CredentialError, ValueError):
    """The text is a pass but cannot be decoded; ``reason`` says why."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _issuer_message(kid: bytes, body: bytes) -> bytes:
    return b"CP1\0" + kid + body


def _device_message(issuer_sig: bytes, step: int) -> bytes:
    return b"CP1D" + issuer_sig + struct.pack(">Q", step)


def issue(body: PassBody, issuer: Ed25519PrivateKey) -> str:
    """Sign ``body`` and return the pass text (static, or the signed base of a dynamic one)."""
    kid = ed25519_kid(issuer.public_key())
    raw = body.encode()
    sig = issuer.sign(_issuer_message(kid, raw))
    return PREFIX + bytes(base45.b45encode(cbor2.dumps([VERSION, kid, raw, sig]))).decode("ascii")


def dynamic_code(pass_text: str, device: Ed25519PrivateKey, unix_time: float) -> str:
    """The code a phone shows now: the issued pass plus a device signature over the step."""
    parts = _decode_array(pass_text)
    if len(parts) != 4:
        raise PassFormatError(Reason.MALFORMED, "not a base pass (already dynamic?)")
    step = int(unix_time // STEP_S)
    dsig = device.sign(_device_message(parts[3], step))
    out = [*parts, step, dsig]
    return PREFIX + bytes(base45.b45encode(cbor2.dumps(out))).decode("ascii")


def device_public_bytes(device: Ed25519PrivateKey) -> bytes:
    return device.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def _decode_array(text: str) -> list[Any]:
    if len(text) > MAX_TEXT:
        raise PassFormatError(Reason.TOO_LARGE, f"{len(text)} characters, limit {MAX_TEXT}")
    if not text.startswith(PREFIX):
        raise PassFormatError(Reason.UNKNOWN_FORMAT, "missing CP1: prefix")
    try:
        raw = base45.b45decode(text[len(PREFIX) :])
        obj = cbor2.loads(raw)
    except (ValueError, cbor2.CBORDecodeError) as exc:
        raise PassFormatError(Reason.MALFORMED, f"undecodable: {exc}") from exc
    if not isinstance(obj, list | tuple) or len(obj) not in (4, 6) or obj[0] != VERSION:
        raise PassFormatError(Reason.MALFORMED, "not a v1 pass array")
    kid, body, sig = obj[1], obj[2], obj[3]
    if not (isinstance(kid, bytes) and len(kid) == 8 and isinstance(body, bytes)):
        raise PassFormatError(Reason.MALFORMED, "bad key id or body")
    if not (isinstance(sig, bytes) and len(sig) == 64):
        raise PassFormatError(Reason.MALFORMED, "bad issuer signature length")
    if len(obj) == 6 and not (
        isinstance(obj[4], int) and obj[4] >= 0 and isinstance(obj[5], bytes) and len(obj[5]) == 64
    ):
        raise PassFormatError(Reason.MALFORMED, "bad dynamic step or device signature")
    return list(obj)


def _text(v: Any, name: str) -> str:
    if not isinstance(v, str) or not 0 < len(v.encode("utf-8")) <= LIMITS[name]:
        raise PassFormatError(Reason.MALFORMED, f"field {name} missing or too long")
    return v


def decode_body(raw: bytes) -> PassBody:
    """Parse the certified body; raises :class:`PassFormatError`."""
    try:
        m = cbor2.loads(raw)
    except (ValueError, cbor2.CBORDecodeError) as exc:
        raise PassFormatError(Reason.MALFORMED, f"undecodable body: {exc}") from exc
    if not isinstance(m, dict):
        raise PassFormatError(Reason.MALFORMED, "body is not a map")
    hh = m.get(3)
    if not (isinstance(hh, list | tuple) and len(hh) == 3 and all(isinstance(x, str) for x in hh)):
        raise PassFormatError(Reason.MALFORMED, "household must be [building, unit, room]")
    role, vf, vu, dk = m.get(4), m.get(5), m.get(6), m.get(7)
    if not isinstance(role, int) or not 0 <= role < len(_ROLES):
        raise PassFormatError(Reason.MALFORMED, "unknown role")
    if not (isinstance(vf, int) and isinstance(vu, int) and vf <= vu):
        raise PassFormatError(Reason.MALFORMED, "bad validity window")
    if dk is not None and not (isinstance(dk, bytes) and len(dk) == 32):
        raise PassFormatError(Reason.MALFORMED, "bad device key")
    return PassBody(
        pass_id=_text(m.get(1), "pass id"),
        holder=_text(m.get(2), "holder"),
        building=_text(hh[0], "building"),
        unit=_text(hh[1], "unit"),
        room=_text(hh[2], "room"),
        role=_ROLES[role],
        valid_from=vf,
        valid_until=vu,
        device_key=dk,
    )


@dataclass(frozen=True)
class PassCheck:
    """Outcome of verifying one pass text: the credential and what was checked."""

    credential: PassCredential | None
    decoded: bool
    signature_valid: bool
    expired: bool
    time_valid: bool
    reasons: tuple[Reason, ...]
    payload: dict[str, Any]


def verify(text: str, trust: TrustStore, now: float, skew_steps: int = 1) -> PassCheck:
    """Verify a pass text at Unix time ``now`` against ``trust``. Pure: no I/O, no clock."""
    h = code_hash(text)
    try:
        parts = _decode_array(text)
        body = decode_body(parts[2])
    except PassFormatError as exc:
        return PassCheck(None, False, False, False, False, (exc.reason,), {})
    kid, raw, sig = parts[1], parts[2], parts[3]
    reasons: list[Reason] = []
    keys = trust.pass_issuer_keys(kid)
    visitor_keys = [] if keys else trust.visitor_issuer_keys(kid)
    sig_ok = False
    if not keys and not visitor_keys:
        reasons.append(Reason.UNKNOWN_KEY)
    else:
        for key in keys or visitor_keys:  # several keys may share a kid: try each
            try:
                key.verify(sig, _issuer_message(kid, raw))
            except InvalidSignature:
                continue
            sig_ok = True
            break
        if not sig_ok:
            reasons.append(Reason.BAD_SIGNATURE)
    registered = False
    if sig_ok and visitor_keys:
        # The booth's key is trusted for one thing only: a visitor pass, not bound to a
        # phone, valid for at most VISITOR_MAX_S. A stolen booth key cannot mint residents.
        span = body.valid_until - body.valid_from
        if body.role is not Role.VISITOR or body.device_key is not None or span > VISITOR_MAX_S:
            reasons.append(Reason.KEY_USAGE_MISMATCH)
            sig_ok = False
        else:
            registered = True
    dynamic = len(parts) == 6
    step: int | None = None
    fresh = True
    if dynamic:
        step = int(parts[4])
        if body.device_key is None:
            reasons.append(Reason.MALFORMED)
            sig_ok = False
        else:
            try:
                Ed25519PublicKey.from_public_bytes(body.device_key).verify(
                    parts[5], _device_message(sig, step)
                )
            except (InvalidSignature, ValueError):
                sig_ok = False
                if Reason.BAD_SIGNATURE not in reasons:
                    reasons.append(Reason.BAD_SIGNATURE)
            if abs(step - int(now // STEP_S)) > skew_steps:
                fresh = False
    elif body.device_key is not None:
        # a device-bound pass shown without a device signature: a copied base pass
        reasons.append(Reason.DYNAMIC_CODE_STALE)
        fresh = False
    expired = now > body.valid_until
    not_yet = now < body.valid_from
    if not_yet:
        reasons.append(Reason.NOT_YET_VALID)
    if expired:
        reasons.append(Reason.EXPIRED)
    if dynamic and not fresh:
        reasons.append(Reason.DYNAMIC_CODE_STALE)
    cred = PassCredential(
        pass_id=body.pass_id,
        holder=body.holder,
        building=body.building,
        unit=body.unit,
        room=body.room,
        role=body.role,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        dynamic=dynamic or body.device_key is not None,
        step=step,
        code_hash=h,
        problems=tuple(reasons),
        registered=registered,
    )
    payload: dict[str, Any] = {
        "kid": kid.hex(),
        "pass_id": body.pass_id,
        "holder": body.holder,
        "household": {"building": body.building, "unit": body.unit, "room": body.room},
        "role": body.role.value,
        "valid_from": body.valid_from,
        "valid_until": body.valid_until,
        "dynamic": cred.dynamic,
    }
    if registered:
        payload["registered"] = True
    if step is not None:
        payload["step"] = step
    return PassCheck(
        credential=cred,
        decoded=True,
        signature_valid=sig_ok,
        expired=expired,
        time_valid=not expired and not not_yet and fresh,
        reasons=tuple(reasons),
        payload=payload,
    )
