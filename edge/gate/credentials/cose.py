"""COSE_Sign1 (RFC 8152) parsing and signature checking, as used by the EU DCC (HC1).

Accepts the three wrappings seen in real certificates: tag 18, untagged, and tag 61 (CWT)
around tag 18. ECDSA signatures are raw ``r‖s`` on the wire and are DER-encoded for
``cryptography``; RSA uses PSS with MGF1 of the same hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from edge.core.errors import CredentialError
from edge.gate.reasons import Reason

ES256, ES384, ES512 = -7, -35, -36
PS256, PS384, PS512 = -37, -38, -39
_HASHES: dict[int, type[hashes.HashAlgorithm]] = {
    ES256: hashes.SHA256,
    ES384: hashes.SHA384,
    ES512: hashes.SHA512,
    PS256: hashes.SHA256,
    PS384: hashes.SHA384,
    PS512: hashes.SHA512,
}
HDR_ALG, HDR_KID = 1, 4

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class CoseError(CredentialError, ValueError):
    """The bytes are not a usable COSE_Sign1; ``reason`` says how."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class CoseSign1:
    """A parsed COSE_Sign1 message."""

    protected_raw: bytes
    protected: Mapping[Any, Any]
    unprotected: Mapping[Any, Any]
    payload: bytes
    signature: bytes

    @property
    def alg(self) -> int | None:
        alg = self.protected.get(HDR_ALG, self.unprotected.get(HDR_ALG))
        return alg if isinstance(alg, int) else None

    @property
    def kid(self) -> bytes | None:
        """Key id: the protected header wins over the unprotected one."""
        for hdr in (self.protected, self.unprotected):
            kid = hdr.get(HDR_KID)
            if isinstance(kid, bytes) and kid:
                return kid
        return None

    def to_be_signed(self) -> bytes:
        return cbor2.dumps(["Signature1", self.protected_raw, b"", self.payload])


def loads(data: bytes) -> Any:
    """CBOR decode; any decoder failure becomes :class:`CoseError` (``BAD_CBOR``)."""
    try:
        return cbor2.loads(data)
    except Exception as exc:  # cbor2 raises assorted types on hostile input
        raise CoseError(Reason.BAD_CBOR, f"not CBOR: {exc}") from exc


def parse(data: bytes) -> CoseSign1:
    """Parse COSE_Sign1 bytes (tag 18, untagged, or tag 61 wrapping 18)."""
    obj = loads(data)
    for _ in range(2):  # at most tag 61 then tag 18
        if isinstance(obj, cbor2.CBORTag):
            if obj.tag not in (18, 61):
                raise CoseError(Reason.BAD_COSE, f"unexpected CBOR tag {obj.tag}")
            obj = obj.value
    if not isinstance(obj, list | tuple) or len(obj) != 4:
        raise CoseError(Reason.BAD_COSE, "COSE_Sign1 must be an array of 4")
    prot_raw, unprot, payload, sig = obj
    if not isinstance(prot_raw, bytes) or not isinstance(payload, bytes):
        raise CoseError(Reason.BAD_COSE, "protected header and payload must be byte strings")
    if not isinstance(sig, bytes):
        raise CoseError(Reason.BAD_COSE, "signature must be a byte string")
    prot: Any = loads(prot_raw) if prot_raw else {}
    if not isinstance(prot, Mapping):
        raise CoseError(Reason.BAD_COSE, "protected header is not a map")
    if unprot is None:
        unprot = {}
    if not isinstance(unprot, Mapping):
        raise CoseError(Reason.BAD_COSE, "unprotected header is not a map")
    return CoseSign1(prot_raw, prot, unprot, payload, sig)


def infer_alg(key: PublicKey) -> int:
    """The algorithm a key implies when the message does not say (lenient reading)."""
    if isinstance(key, rsa.RSAPublicKey):
        return PS256
    return {256: ES256, 384: ES384, 521: ES512}.get(key.curve.key_size, ES256)


def verify_signature(msg: CoseSign1, key: PublicKey) -> bool:
    """True when ``msg`` is signed by ``key``; False for any mismatch or unusable signature."""
    alg = msg.alg if msg.alg is not None else infer_alg(key)
    hash_cls = _HASHES.get(alg)
    if hash_cls is None:
        return False
    data = msg.to_be_signed()
    sig = msg.signature
    try:
        if alg in (ES256, ES384, ES512):
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return False
            n = (key.curve.key_size + 7) // 8
            if len(sig) == 2 * n:
                sig = encode_dss_signature(
                    int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big")
                )
            # else: some issuers send DER already; let cryptography judge it
            key.verify(sig, data, ec.ECDSA(hash_cls()))
        else:
            if not isinstance(key, rsa.RSAPublicKey):
                return False
            h = hash_cls()
            # the DCC spec fixes the salt at the hash length; AUTO also accepts issuers that
            # used the maximum length, which is just as secure for verification
            key.verify(sig, data, padding.PSS(padding.MGF1(h), padding.PSS.AUTO), h)
    except (InvalidSignature, ValueError):
        return False
    return True


def supported(alg: int | None) -> bool:
    return alg is None or alg in _HASHES
