"""Fixtures for the walking-skeleton tests: keys, passes, a gate on mock pins and a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory
from passkit import NOW

from edge.app.config import Config
from edge.app.gate import Gate, build_gate
from edge.core.clock import FakeClock
from edge.gate.credentials.trust import TrustStore
from edge.gate.rules.lists import Household, HouseholdStatus, ListsSnapshot
from edge.store.settings import StoreSettings


@pytest.fixture
def issuer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def phone() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def trust(issuer: Ed25519PrivateKey) -> TrustStore:
    t = TrustStore()
    t.add_pass_issuer(issuer.public_key())
    return t


@pytest.fixture
def lists() -> ListsSnapshot:
    return ListsSnapshot(
        version=3,
        households={
            "3-2-501": Household(),
            "3-2-601": Household(status=HouseholdStatus.HOME_QUARANTINE),
            "3-2-701": Household(status=HouseholdStatus.SEALED),
        },
        revoked_passes=frozenset({"P-REVOKED"}),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=NOW)


@pytest.fixture
def gate(
    tmp_path: Path, clock: FakeClock, trust: TrustStore, lists: ListsSnapshot
) -> Iterator[Gate]:
    config = Config(store=StoreSettings(path=tmp_path / "gate.sqlite3"))
    g = build_gate(config, clock=clock, pin_factory=MockFactory(), trust=trust, lists=lists)
    yield g
    g.close()
