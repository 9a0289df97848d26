"""Keys and revocations the gate trusts, looked up by key id.

Community pass issuer keys (Ed25519), EU DCC Document Signer Certificates, SMART Health Card
issuer JWKS and CRLs, and revoked pass ids. Loaded from files now; the sync layer pushes new
ones down later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.core import limits
from edge.gate.credentials.dsc import KEYLESS, Dsc, load_dsc_bytes
from edge.gate.credentials.jwks import Crl, ShcKey, load_crl, load_json_bytes, load_jwks

MAX_TRUST_FILE = limits.LIST_FILE_MAX_BYTES  # bytes; a national trust list is a few MB
PRIVATE_HINT = (
    "is a PRIVATE key; give the public key here (the private key stays with its issuer: "
    "`openssl pkey -in KEY -pubout` prints the public half)"
)


def read_capped(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; ``ValueError`` otherwise.

    A device (``/dev/zero``), FIFO or folder named as a key, trust or lists file is refused
    before reading, and the read itself is bounded even if the file grows meanwhile.
    """
    try:
        if path.exists() and not path.is_file():
            raise ValueError(f"{what} {path} is not a regular file")
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise ValueError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise ValueError(f"{what} {path} is larger than {max_bytes} bytes")
    return data


def ed25519_kid(public_key: Ed25519PublicKey) -> bytes:
    """Key id: first 8 bytes of SHA-256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:8]


@dataclass
class TrustStore:
    """Public keys by key id. Several keys may share an id; callers try each."""

    pass_issuers: dict[bytes, list[Ed25519PublicKey]] = field(default_factory=dict)
    dscs: dict[bytes, list[Dsc]] = field(default_factory=dict)
    shc_keys: dict[str, list[ShcKey]] = field(default_factory=dict)
    shc_crls: dict[str, Crl] = field(default_factory=dict)
    revoked_pass_ids: set[str] = field(default_factory=set)
    # Delegated visitor keys (the booth's): they may sign only visitor passes of bounded
    # validity (passes.VISITOR_MAX_S); anything else they sign is refused KEY_USAGE_MISMATCH.
    visitor_issuers: dict[bytes, list[Ed25519PublicKey]] = field(default_factory=dict)

    def copy(self) -> TrustStore:
        """An independent copy (the maps copied, the keys shared): a pushed trust list is
        added to a copy of the configured trust, never to the store the gate is using."""
        return TrustStore(
            pass_issuers={k: list(v) for k, v in self.pass_issuers.items()},
            dscs={k: list(v) for k, v in self.dscs.items()},
            shc_keys={k: list(v) for k, v in self.shc_keys.items()},
            shc_crls=dict(self.shc_crls),
            revoked_pass_ids=set(self.revoked_pass_ids),
            visitor_issuers={k: list(v) for k, v in self.visitor_issuers.items()},
        )

    def add_pass_issuer(self, key: Ed25519PublicKey) -> bytes:
        kid = ed25519_kid(key)
        self.pass_issuers.setdefault(kid, []).append(key)
        return kid

    def pass_issuer_keys(self, kid: bytes) -> list[Ed25519PublicKey]:
        return list(self.pass_issuers.get(kid, ()))

    def add_visitor_issuer(self, key: Ed25519PublicKey) -> bytes:
        kid = ed25519_kid(key)
        self.visitor_issuers.setdefault(kid, []).append(key)
        return kid

    def visitor_issuer_keys(self, kid: bytes) -> list[Ed25519PublicKey]:
        return list(self.visitor_issuers.get(kid, ()))

    def add_dsc(self, dsc: Dsc) -> None:
        self.dscs.setdefault(dsc.kid, []).append(dsc)

    def dsc_candidates(self, kid: bytes | None) -> list[Dsc]:
        """Keys to try for ``kid``: the certificates with that kid, else keys trusted without
        a kid; with no kid in the message at all, every key."""
        if kid is None:
            return [d for ds in self.dscs.values() for d in ds]
        return list(self.dscs.get(kid, ())) or list(self.dscs.get(KEYLESS, ()))

    def add_shc_key(self, key: ShcKey) -> None:
        self.shc_keys.setdefault(key.kid, []).append(key)

    def shc_keys_for(self, kid: str) -> list[ShcKey]:
        return list(self.shc_keys.get(kid, ()))

    def add_crl(self, crl: Crl) -> None:
        """Keep the newest CRL per key (highest ``ctr``)."""
        old = self.shc_crls.get(crl.kid)
        if old is None or crl.ctr >= old.ctr:
            self.shc_crls[crl.kid] = crl

    def add_file(self, path: Path) -> str:
        """Load any trust file, detecting its kind; returns what it was. Raises ``ValueError``.

        PEM/DER certificates and JSON trust lists → DSCs; PEM Ed25519 keys → pass issuers;
        JSON with ``"keys"`` → SHC JWKS; JSON with ``"rids"`` → SHC CRL.
        """
        data = read_capped(path, MAX_TRUST_FILE, "trust file")
        try:
            return self._add_bytes(data, path)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def _add_bytes(self, data: bytes, path: Path) -> str:
        if b"-----BEGIN" in data and b"-----BEGIN CERTIFICATE-----" not in data:
            key = _load_pem_any_public(data)
            if isinstance(key, Ed25519PublicKey):
                self.add_pass_issuer(key)
                return "pass-issuer"
            if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
                self.add_dsc(Dsc(KEYLESS, key))  # no certificate, so no kid: see dsc_candidates
                return "dsc-key"
            raise ValueError("not an Ed25519, EC or RSA key")
        if data.lstrip()[:1] in (b"{", b"["):
            obj = load_json_bytes(data)
            if isinstance(obj, dict) and "keys" in obj:
                for k in load_jwks(obj):
                    self.add_shc_key(k)
                return "jwks"
            if isinstance(obj, dict) and "rids" in obj:
                self.add_crl(load_crl(obj))
                return "crl"
        dscs = load_dsc_bytes(data)
        if not dscs:
            raise ValueError("no certificate found")
        for d in dscs:
            self.add_dsc(d)
        return "dsc"

    @classmethod
    def from_files(
        cls,
        paths: Iterable[Path],
        dsc: Iterable[Path] = (),
        jwks: Iterable[Path] = (),
        crl: Iterable[Path] = (),
    ) -> TrustStore:
        """Build a store from files; raises ``ValueError`` naming the bad file.

        ``paths`` are pass issuer PEM keys (any other trust file is detected too); ``dsc``,
        ``jwks`` and ``crl`` are the health-credential trust files.
        """
        store = cls()
        for path in paths:
            store.add_file(path)
        for group in (dsc, jwks, crl):
            for path in group:
                store.add_file(path)
        return store


def _load_pem_any_public(data: bytes) -> object:
    """The public key of a PEM public key; a private key is refused with a clear message."""
    if b"PRIVATE KEY-----" in data:
        raise ValueError(PRIVATE_HINT)
    try:
        return serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ValueError("not a PEM key or certificate") from exc


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file; a private key file is refused (a key that
    only verifies must never sit on the gate next to the means to sign)."""
    data = read_capped(path, limits.KEY_FILE_MAX_BYTES, "key file")
    if b"PRIVATE KEY-----" in data:
        raise ValueError(f"{path} {PRIVATE_HINT}")
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ValueError(f"{path} is not a PEM Ed25519 public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from an unencrypted PEM file."""
    data = read_capped(path, limits.KEY_FILE_MAX_BYTES, "key file")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def save_keypair(key: Ed25519PrivateKey, private_path: Path, public_path: Path) -> None:
    """Write a key pair as PEM; the private file is created 0600."""
    private_path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private_path.touch(mode=0o600, exist_ok=True)
    private_path.chmod(0o600)
    private_path.write_bytes(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
