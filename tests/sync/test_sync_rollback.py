"""Anti-rollback and number limits of signed downlink (issue 17).

Before: trust v1, then v2 revoking a key; replaying v1 to a gate whose state was wiped applied
v1 and trusted the revoked key again. A signed version above int64 raised OverflowError.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.app.config import Config
from edge.central.publisher import list_message
from edge.store.sqlite import Store
from edge.sync import topics
from edge.sync.downlink import DownlinkHandler
from edge.sync.settings import SyncSettings
from edge.sync.signing import Verifier, sign

KEY = Ed25519PrivateKey.generate()


def _raw(key: Ed25519PrivateKey) -> str:
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(pub).decode()


def _rejected(store: Store) -> list[str]:
    return [r.body["reason"] for r in store.records() if r.kind == "downlink_rejected"]


def _trust(store: Store) -> list[str]:
    held = store.get_list("trust")
    return list(held[1]) if held else []


ISSUER_A, ISSUER_B = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()


def _handler(tmp: Path, **kw: object) -> tuple[Store, DownlinkHandler]:
    store = Store(tmp / "gate.sqlite3")
    return store, DownlinkHandler(store, Verifier([KEY.public_key()]), **kw)  # type: ignore[arg-type]


def test_wiped_gate_refuses_old_trust_below_its_floor(tmp_path: Path) -> None:
    v1 = list_message(
        KEY,
        {"name": "trust", "version": 1, "mode": "full", "data": [_raw(ISSUER_A), _raw(ISSUER_B)]},
    )
    v2 = list_message(
        KEY, {"name": "trust", "version": 2, "mode": "full", "data": [_raw(ISSUER_B)]}
    )
    store, gate = _handler(tmp_path / "a")
    gate.handle(*v1)
    gate.handle(*v2)
    assert _trust(store) == [_raw(ISSUER_B)]
    # the state is wiped; the config (outside the state) carries the floor of the revocation
    cfg = Config.model_validate({"sync": {"list_floor": {"trust": 2}}})
    store2, wiped = _handler(tmp_path / "b", floors=cfg.sync.list_floor)
    wiped.handle(*v1)
    assert _trust(store2) == [] and _rejected(store2) == ["below_floor"]
    wiped.handle(*v2)
    assert _trust(store2) == [_raw(ISSUER_B)]


def test_expired_signed_list_is_refused_by_a_wiped_gate(tmp_path: Path) -> None:
    spec = {"name": "trust", "version": 1, "mode": "full", "data": [_raw(ISSUER_A)]}
    v1 = list_message(KEY, {**spec, "expires_in_s": 3600})
    later = time.time() + 7200
    store, gate = _handler(tmp_path, clock=lambda: later)
    gate.handle(*v1)
    assert _trust(store) == [] and _rejected(store) == ["expired"]
    store2, fresh = _handler(tmp_path / "c")  # before expiry it applies
    fresh.handle(*v1)
    assert _trust(store2) == [_raw(ISSUER_A)]


def test_old_signature_refused_with_a_max_age(tmp_path: Path) -> None:
    v1 = list_message(KEY, {"name": "rules", "version": 3, "mode": "full", "data": {}})
    store, gate = _handler(tmp_path, max_age_s=86400.0, clock=lambda: time.time() + 2 * 86400)
    gate.handle(*v1)
    assert store.get_list("rules") is None and _rejected(store) == ["too_old"]


def test_versions_and_times_out_of_range_are_refused_with_a_reason(tmp_path: Path) -> None:
    store, gate = _handler(tmp_path)
    topic = topics.fleet("lists", "households")
    for version in (2**63, 10**30):
        body = {"kind": "list", "topic": topic, "name": "households", "version": version}
        gate.handle(topic, sign(KEY, {**body, "mode": "full", "data": {}}))
    config = topics.down("gate-a", "config")
    gate.handle(
        config, sign(KEY, {"kind": "config", "topic": config, "version": 2**64, "settings": {}})
    )
    assert _rejected(store) == ["malformed"] * 3
    assert store.list_versions() == {}
    # a version at the int64 edge is still a version
    body = {"kind": "list", "topic": topic, "name": "households", "version": 2**63 - 1}
    gate.handle(topic, sign(KEY, {**body, "mode": "full", "data": {}}))
    assert store.list_versions() == {"households": 2**63 - 1}


def test_nan_and_infinite_times_are_refused(tmp_path: Path) -> None:
    store, gate = _handler(tmp_path)
    topic = topics.fleet("lists", "households")
    for ts in ("NaN", "Infinity", "1e400"):
        text = (
            '{"data":{},"kind":"list","mode":"full","name":"households",'
            f'"topic":"{topic}","ts":{ts},"version":1}}'
        )
        env = {
            "v": 1,
            "alg": "Ed25519",
            "kid": json.loads(sign(KEY, {"topic": topic}))["kid"],
            "sig": base64.b64encode(KEY.sign(text.encode())).decode(),
            "body": text,
        }
        gate.handle(topic, json.dumps(env).encode())
    assert _rejected(store) == ["malformed"] * 3 and store.list_versions() == {}


def test_deeply_nested_signed_body_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    store, gate = _handler(tmp_path)
    topic = topics.fleet("lists", "households")
    text = '{"topic":"' + topic + '","data":' + "[" * 100_000 + "]" * 100_000 + "}"
    env = {
        "v": 1,
        "alg": "Ed25519",
        "kid": json.loads(sign(KEY, {"topic": topic}))["kid"],
        "sig": base64.b64encode(KEY.sign(text.encode())).decode(),
        "body": text,
    }
    gate.handle(topic, json.dumps(env).encode())
    assert _rejected(store) == ["malformed"]


def test_floor_keys_are_checked_in_config() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        SyncSettings.model_validate({"list_floor": {"trusts": 1}})
    with pytest.raises(ValidationError):
        SyncSettings.model_validate({"list_floor": {"trust": 2**63}})


def test_junk_flood_writes_a_few_log_lines_with_a_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: 3,000 junk downlink messages wrote 3,001 warning lines."""
    from edge.core.ratelog import RepeatFilter
    from edge.sync import downlink

    for f in downlink.log.filters:
        if isinstance(f, RepeatFilter):
            f.reset()
    caplog.set_level(logging.WARNING, logger="edge.sync.downlink")
    _store, gate = _handler(tmp_path)
    topic = topics.fleet("lists", "households")
    for i in range(3000):
        gate.handle(topic, b"junk %d" % i)
    lines = [r for r in caplog.records if r.name == "edge.sync.downlink"]
    assert len(lines) == 1 and gate.counters["downlink_rejected"] == 3000
