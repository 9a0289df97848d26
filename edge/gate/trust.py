"""Keys the gate trusts: community pass issuer keys (Ed25519), looked up by key id.

Loaded from files now (PEM public keys); the sync layer pushes new ones down later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def ed25519_kid(public_key: Ed25519PublicKey) -> bytes:
    """Key id: first 8 bytes of SHA-256 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:8]


@dataclass
class TrustStore:
    """Public keys by key id. Several keys may share an id; callers try each."""

    pass_issuers: dict[bytes, list[Ed25519PublicKey]] = field(default_factory=dict)

    def add_pass_issuer(self, key: Ed25519PublicKey) -> bytes:
        kid = ed25519_kid(key)
        self.pass_issuers.setdefault(kid, []).append(key)
        return kid

    def pass_issuer_keys(self, kid: bytes) -> list[Ed25519PublicKey]:
        return list(self.pass_issuers.get(kid, ()))

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> TrustStore:
        """Build a store from PEM files; raises ``ValueError`` naming the bad file."""
        store = cls()
        for path in paths:
            store.add_pass_issuer(load_public_key(path))
        return store


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (a private key file yields its public half)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read key file {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            priv = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path} is not a PEM Ed25519 key") from exc
        if not isinstance(priv, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 key") from None
        return priv.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from an unencrypted PEM file."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ValueError(f"cannot read key file {path}: {exc.strerror}") from exc
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
