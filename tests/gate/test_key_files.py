"""Key and trust files checked for size and type (issue 17)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.app.config import ConfigError, load_config
from edge.core import limits
from edge.gate.credentials.trust import (
    TrustStore,
    load_private_key,
    load_public_key,
    save_keypair,
)
from edge.gate.rules.lists import load_lists

EDGE_GATE = Path(sys.executable).with_name("edge-gate")


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[Path, Path]:
    save_keypair(Ed25519PrivateKey.generate(), tmp_path / "k.key", tmp_path / "k.pub")
    return tmp_path / "k.key", tmp_path / "k.pub"


def test_private_key_as_issuer_key_is_refused(keypair: tuple[Path, Path]) -> None:
    private, public = keypair
    with pytest.raises(ValueError, match="PRIVATE key; give the public key"):
        TrustStore.from_files([private])
    with pytest.raises(ValueError, match="PRIVATE key"):
        load_public_key(private)
    assert TrustStore.from_files([public]).pass_issuers
    load_public_key(public)
    load_private_key(private)


def test_private_key_as_trust_file_in_verify_cli(keypair: tuple[Path, Path]) -> None:
    out = subprocess.run(
        [str(EDGE_GATE), "verify", "--trust", str(keypair[0]), "--text", "x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "PRIVATE key" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "/tmp"])
def test_special_files_are_refused_before_reading(special: str) -> None:
    path = Path(special)
    with pytest.raises(ValueError, match="not a regular file"):
        load_public_key(path)
    with pytest.raises(ValueError, match="not a regular file"):
        load_private_key(path)
    with pytest.raises(ValueError, match="not a regular file"):
        TrustStore.from_files([path])
    with pytest.raises(ValueError, match="not a regular file"):
        load_lists(path)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(path)


def test_oversize_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.pem"
    with big.open("wb") as f:
        f.truncate(limits.KEY_FILE_MAX_BYTES + 1)
    with pytest.raises(ValueError, match="larger than"):
        load_public_key(big)
    huge = tmp_path / "lists.json"
    with huge.open("wb") as f:
        f.truncate(limits.LIST_FILE_MAX_BYTES + 1)
    with pytest.raises(ValueError, match="larger than"):
        load_lists(huge)
    with pytest.raises(ValueError, match="larger than"):
        TrustStore.from_files([huge])


def test_deep_lists_file_is_a_value_error(tmp_path: Path) -> None:
    deep = tmp_path / "lists.json"
    deep.write_text("[" * 50_000 + "]" * 50_000)
    with pytest.raises(ValueError, match="deeper"):
        load_lists(deep)
