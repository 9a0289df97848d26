"""Fixtures: a real mosquitto (per module), central keys, gate configs, a real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import PG_BIN, Postgres

from edge.config import Config, GateSettings, StoreSettings, SyncSettings
from edge.gate.trust import save_keypair
from edge.sync.client import LinkSettings
from edge.sync.localbroker import MOSQUITTO, PASSWORD, Broker

# every test uses its own gate ids: broker sessions persist across the tests of a module
TEST_GATES = ("gate-a", "gate-b", *(f"gate-{c}" for c in "cdefghijklmn"))


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed (make bootstrap installs it)")
    folder = Path(tempfile.mkdtemp(prefix="edge-mq-"))
    b = Broker(folder, gates=TEST_GATES)
    b.setup()
    b.start()
    yield b
    b.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def central_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ed25519PrivateKey, Path]:
    d = tmp_path_factory.mktemp("keys")
    key = Ed25519PrivateKey.generate()
    save_keypair(key, d / "central.key", d / "central.pub")
    return key, d / "central.pub"


def gate_config(
    broker: Broker, pub: Path, gate: str, store: Path, mode: str = "tls", **sync: object
) -> Config:
    """A gate config for ``broker``: mode 'plain', 'tls' (password) or 'mtls' (certificate)."""
    kw: dict[str, object] = {
        "enabled": True,
        "central_keys": [pub],
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 1.0,
        "ack_timeout_s": 3.0,
        "backlog_rate": 0.0,
    }
    pw = store.parent / f"{gate}.pw"
    pw.write_text(PASSWORD)
    if mode == "plain":
        kw.update(port=broker.plain, username=gate, password_file=pw)
    elif mode == "tls":
        kw.update(port=broker.tls, username=gate, password_file=pw, tls=True, ca_file=broker.ca())
    else:
        cert, key = broker.cert(gate)
        kw.update(port=broker.mtls, tls=True, ca_file=broker.ca(), cert_file=cert, key_file=key)
    kw.update(sync)
    return Config(
        gate=GateSettings(id=gate),
        store=StoreSettings(path=store),
        sync=SyncSettings.model_validate(kw),
    )


def central_link(broker: Broker, mode: str = "tls", client_id: str = "central-1") -> LinkSettings:
    if mode == "mtls":
        cert, key = broker.cert("central")
        return LinkSettings(
            port=broker.mtls, client_id=client_id, tls=True, ca_file=broker.ca(),
            cert_file=cert, key_file=key, reconnect_min_s=0.1, reconnect_max_s=1.0,
        )  # fmt: skip
    return LinkSettings(
        port=broker.tls if mode == "tls" else broker.plain, client_id=client_id,
        username="central", password=PASSWORD, tls=mode == "tls", ca_file=broker.ca(),
        reconnect_min_s=0.1, reconnect_max_s=1.0,
    )  # fmt: skip


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 is not installed")
    pg = Postgres(Path(tempfile.mkdtemp(prefix="edge-pg-")))
    url = pg.start()
    yield url
    pg.stop()
