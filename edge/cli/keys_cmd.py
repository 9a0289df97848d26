"""`edge-gate keys new`: make an Ed25519 key pair (community pass issuer, phone, central)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.cli import UsageError
from edge.gate.credentials.trust import ed25519_kid, save_keypair


def _new(args: argparse.Namespace) -> int:
    private = Path(f"{args.out}.key")
    public = Path(f"{args.out}.pub")
    if private.exists() and not args.force:
        raise UsageError(f"{private} exists; use --force to replace it")
    key = Ed25519PrivateKey.generate()
    try:
        save_keypair(key, private, public)
    except OSError as exc:
        raise UsageError(f"cannot write {private}: {exc.strerror}") from None
    print(f"private key: {private} (keep secret)\npublic key:  {public}")
    print(f"key id:      {ed25519_kid(key.public_key()).hex()}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keys", help="key management")
    ks = p.add_subparsers(dest="keys_verb", metavar="VERB", required=True)
    n = ks.add_parser("new", help="create an Ed25519 key pair: OUT.key and OUT.pub")
    n.add_argument("--out", default="issuer", help="path prefix of the key files")
    n.add_argument("--force", action="store_true", help="replace existing files")
    n.set_defaults(handler=_new)
