"""Fixtures: a real mosquitto (per module), central keys, gate configs, a real PostgreSQL."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from brokerkit import running_broker
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from needs import unavailable
from synckit import PG_BIN, Postgres, central_link

from edge.central.receiver import Receiver
from edge.gate.credentials.trust import save_keypair
from edge.tools.localbroker import Broker

# every test uses its own gate ids: broker sessions persist across the tests of a module
TEST_GATES = (
    "gate-a",
    "gate-b",
    *(f"gate-{c}" for c in "cdefghijklmn"),
    "gate-r1",
    "gate-r2",
    "gate-r3",
    "gate-v1",  # versioning (test_sync_versions.py)
    "gate-v2",
)


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    with running_broker(TEST_GATES, prefix="edge-mq-") as b:
        yield b


@pytest.fixture(scope="module")
def central_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ed25519PrivateKey, Path]:
    d = tmp_path_factory.mktemp("keys")
    key = Ed25519PrivateKey.generate()
    save_keypair(key, d / "central.key", d / "central.pub")
    return key, d / "central.pub"


@pytest.fixture
def central_private(central_key: tuple[Ed25519PrivateKey, Path]) -> Path:
    """The central private key's PEM file (for ``edge-gate-central --sign-key``)."""
    return central_key[1].with_name("central.key")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not (PG_BIN / "initdb").exists():
        unavailable("PostgreSQL 15 is not installed")
    pg = Postgres(Path(tempfile.mkdtemp(prefix="edge-pg-")))
    url = pg.start()
    yield url
    pg.stop()


@pytest.fixture
def receiver(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> Iterator[Receiver]:
    link = central_link(broker)
    r = Receiver(str(tmp_path / "central.sqlite3"), link, central_key[0])
    r.start()
    assert r.ready.wait(10)
    yield r
    r.stop()  # a central receiver on the test broker, with its own SQLite database
