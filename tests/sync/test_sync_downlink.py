"""Signed downlink on the gate: lists applied atomically and acknowledged, stale, forged,
replayed, expired, oversize and malformed messages refused and recorded."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.central.publisher import command_message, list_message
from edge.gate.credentials.trust import TrustStore, ed25519_kid
from edge.gate.rules.lists import HouseholdStatus, ListsSnapshot
from edge.gate.rules.profile import Rules
from edge.store.sqlite import Store
from edge.sync import topics
from edge.sync.downlink import DownlinkHandler
from edge.sync.lists_apply import GateHooks
from edge.sync.signing import Verifier, sign

GATE = "gate-a"
KEY = Ed25519PrivateKey.generate()


class Hooks:
    def __init__(self) -> None:
        self.lists: list[ListsSnapshot] = []
        self.trust: list[TrustStore] = []
        self.rules: list[Rules] = []
        self.commands: list[tuple[str, dict[str, Any]]] = []

    def gate_hooks(self) -> GateHooks:
        return GateHooks(
            on_lists=self.lists.append,
            on_trust=self.trust.append,
            on_rules=self.rules.append,
            on_command=self.command,
        )

    def command(self, cmd: str, args: dict[str, Any]) -> bool:
        self.commands.append((cmd, args))
        return True


@pytest.fixture
def env(tmp_path: Path) -> tuple[Store, DownlinkHandler, Hooks]:
    store = Store(tmp_path / "gate.sqlite3")
    hooks = Hooks()
    handler = DownlinkHandler(store, Verifier([KEY.public_key()], 64 * 1024), hooks.gate_hooks())
    return store, handler, hooks


def rejected(store: Store) -> list[str]:
    return [r.body["reason"] for r in store.records() if r.kind == "downlink_rejected"]


def households(version: int, data: dict[str, Any], mode: str = "full", base: int | None = None):  # type: ignore[no-untyped-def]
    spec = {"gate": GATE, "name": "households", "version": version, "mode": mode, "data": data}
    if base is not None:
        spec["base"] = base
    return list_message(KEY, spec)


def test_lists_full_then_delta_applied_and_acknowledged(env: Any) -> None:
    store, handler, hooks = env
    handler.handle(*households(3, {"3-2-501": {}, "3-2-601": {"status": "home_quarantine"}}))
    delta = {"upsert": {"3-2-601": {"status": "normal"}}, "remove": ["3-2-501"]}
    handler.handle(*households(4, delta, "delta", base=3))
    assert store.list_versions() == {"households": 4}
    snap = hooks.lists[-1]
    assert snap.version == 4 and list(snap.households) == ["3-2-601"]
    assert snap.households["3-2-601"].status == HouseholdStatus.NORMAL
    acks = [r.body for r in store.records() if r.kind == "lists_applied"]
    assert [(a["name"], a["version"]) for a in acks] == [("households", 3), ("households", 4)]
    assert rejected(store) == []


def test_revocations_trust_and_rules_reach_the_gate(env: Any) -> None:
    store, handler, hooks = env
    issuer = Ed25519PrivateKey.generate().public_key()
    raw = issuer.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    for spec in (
        {"name": "revocations", "version": 1, "mode": "full", "data": ["P-1", "P-2"]},
        {"name": "trust", "version": 1, "mode": "full", "data": [base64.b64encode(raw).decode()]},
        {
            "name": "rules",
            "version": 7,
            "mode": "full",
            "data": {"require_registered_household": True},
        },
    ):
        handler.handle(*list_message(KEY, spec))  # fleet-wide topics
    assert hooks.lists[-1].revoked_passes == frozenset({"P-1", "P-2"})
    assert hooks.trust[-1].pass_issuer_keys(ed25519_kid(issuer))
    assert hooks.rules[-1].require_registered_household and hooks.rules[-1].version == 7
    assert rejected(store) == []


def test_stale_and_bad_base_refused_and_recorded(env: Any) -> None:
    store, handler, hooks = env
    handler.handle(*households(5, {"1-1-101": {}}))
    handler.handle(*households(5, {}))  # the same version redelivered: ignored, not recorded
    handler.handle(*households(4, {}))  # older
    handler.handle(*households(6, {"upsert": {}}, "delta", base=2))
    handler.handle(*households(6, {"1-1-101": {"colour": "purple"}}))  # invalid content
    assert rejected(store) == ["stale", "base_mismatch", "invalid"]
    assert handler.counters["downlink_duplicate"] == 1
    assert store.list_versions() == {"households": 5} and len(hooks.lists) == 1


def test_forged_wrong_topic_oversize_and_malformed_refused(env: Any) -> None:
    store, handler, _ = env
    forger = Ed25519PrivateKey.generate()
    topic = topics.down(GATE, "lists", "households")
    body = {"kind": "list", "topic": topic, "name": "households", "version": 9, "mode": "full",
            "data": {}}  # fmt: skip
    handler.handle(topic, sign(forger, body))  # unknown key
    env_ok = json.loads(sign(KEY, body))
    env_ok["kid"] = ed25519_kid(KEY.public_key()).hex()
    env_ok["body"] = env_ok["body"].replace('"version":9', '"version":10')  # tampered
    handler.handle(topic, json.dumps(env_ok).encode())
    spec = {"gate": "gate-b", "name": "households", "version": 9, "mode": "full", "data": {}}
    other_topic, payload = list_message(KEY, spec)
    handler.handle(topic, payload)  # signed for gate-b, replayed to gate-a
    handler.handle(topic, b"x" * (65 * 1024))
    handler.handle(topic, b"{not json")
    handler.handle(topic, b'{"v":1,"alg":"Ed25519","kid":"00","sig":"","body":"{}"}')
    assert rejected(store) == [
        "unknown_key", "bad_signature", "wrong_topic", "oversize", "malformed", "malformed",
    ]  # fmt: skip
    assert store.list_versions() == {}
    assert other_topic != topic


def test_commands_fresh_once_only(env: Any) -> None:
    store, handler, hooks = env
    topic, payload = command_message(KEY, GATE, "open", {"seconds": 5})
    handler.handle(topic, payload)
    handler.handle(topic, payload)  # replay
    handler.handle(*command_message(KEY, GATE, "open", now=time.time() - 120))  # expired
    handler.handle(*command_message(KEY, GATE, "open", life_s=3600))  # too long-lived
    handler.handle(*command_message(KEY, GATE, "open", now=time.time() + 600))  # from the future
    assert hooks.commands == [("open", {"seconds": 5})]
    assert rejected(store) == ["replay", "expired", "expiry_too_long", "from_future"]
    assert [r.body["cmd"] for r in store.records() if r.kind == "command"] == ["open"]


def test_reject_records_are_rate_limited(env: Any) -> None:
    store, handler, _ = env
    for _ in range(100):
        handler.handle(topics.down(GATE, "commands"), b"junk")
    assert len(rejected(store)) == 30
    assert handler.counters["downlink_rejected"] == 100
    assert handler.counters["rejects_unrecorded"] == 70


def test_fleet_wide_ack_refused(env: Any) -> None:
    store, handler, _ = env
    topic = topics.fleet("ack")
    assert handler.handle(topic, sign(KEY, {"kind": "ack", "topic": topic, "upto": 99})) is None
    assert rejected(store) == ["bad_topic"]


def test_config_versioned_and_handed_to_the_app(tmp_path: Path) -> None:
    store = Store(tmp_path / "gate.sqlite3")
    got: list[dict[str, Any]] = []
    handler = DownlinkHandler(store, Verifier([KEY.public_key()]), GateHooks(on_config=got.append))
    topic = topics.down(GATE, "config")

    def config(version: int) -> bytes:
        body = {"kind": "config", "topic": topic, "version": version, "settings": {"v": version}}
        return sign(KEY, body)

    for v in (2, 2, 1, 3):
        handler.handle(topic, config(v))
    assert got == [{"v": 2}, {"v": 3}]
    assert rejected(store) == ["stale"]
    assert [r.body["version"] for r in store.records() if r.kind == "config_applied"] == [2, 3]
    store.close()


def test_a_trust_push_keeps_every_configured_key(tmp_path: Path) -> None:
    """A pushed trust list adds pass issuers; the health-code signers (DSC, SHC keys and
    CRLs), revoked pass ids and the booth's visitor key from the config stay trusted."""
    from edge.gate.credentials.dsc import Dsc
    from edge.gate.credentials.jwks import Crl

    configured = Ed25519PrivateKey.generate().public_key()
    visitor = Ed25519PrivateKey.generate().public_key()
    dsc = Dsc(kid=b"dsc-kid1", key=Ed25519PrivateKey.generate().public_key())  # type: ignore[arg-type]
    base = TrustStore()
    base.add_pass_issuer(configured)
    base.add_visitor_issuer(visitor)
    base.add_dsc(dsc)
    base.shc_crls["https://issuer.example"] = Crl(kid="k1", ctr=1, rids={"r1": None})
    base.revoked_pass_ids.add("P-9")
    store = Store(tmp_path / "gate.sqlite3")
    hooks = Hooks()
    handler = DownlinkHandler(
        store, Verifier([KEY.public_key()], 64 * 1024), hooks.gate_hooks(), base_trust=base
    )
    pushed = Ed25519PrivateKey.generate().public_key()
    raw = pushed.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    spec = {"name": "trust", "version": 1, "mode": "full", "data": [base64.b64encode(raw).decode()]}
    handler.handle(*list_message(KEY, spec))
    got = hooks.trust[-1]
    assert got.pass_issuer_keys(ed25519_kid(pushed)) and got.pass_issuer_keys(
        ed25519_kid(configured)
    )
    assert got.visitor_issuer_keys(ed25519_kid(visitor))
    assert got.dsc_candidates(b"dsc-kid1") == [dsc]
    assert "https://issuer.example" in got.shc_crls and "P-9" in got.revoked_pass_ids
    # the gate's own trust is not changed under it: the push builds a new store
    assert not base.pass_issuer_keys(ed25519_kid(pushed))
