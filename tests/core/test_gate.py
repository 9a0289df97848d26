"""The whole pipeline on mock pins: frame → codes → verify → decide → record → relay."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory, MockPin
from passkit import make_body

from edge.app.config import Config
from edge.app.gate import Gate, build_gate
from edge.core.clock import FakeClock
from edge.gate.credentials import passes
from edge.gate.credentials.trust import TrustStore
from edge.gate.door.settings import DoorSettings
from edge.gate.reasons import Reason
from edge.gate.rules.lists import ListsSnapshot
from edge.gate.rules.profile import Direction
from edge.store.settings import StoreSettings
from edge.tools.render import Look, render_frame


def _pin(gate: Gate) -> MockPin:
    pin = gate.door.relay.pin
    assert isinstance(pin, MockPin)
    return pin


def test_allowed_pass_pulses_the_relay(
    gate: Gate, issuer: Ed25519PrivateKey, clock: FakeClock
) -> None:
    assert _pin(gate).state is False  # never energised at start
    text = passes.issue(make_body(), issuer)
    outcomes = gate.process_frame(render_frame(text, seed=1, look=Look(phone=False)))
    assert len(outcomes) == 1 and outcomes[0].decision.allow
    assert _pin(gate).state is True
    clock.advance(gate.config.door.pulse_s - 0.1)
    gate.tick()
    assert _pin(gate).state is True
    clock.advance(0.2)
    gate.tick()
    assert _pin(gate).state is False


def test_refused_pass_leaves_the_relay_off(gate: Gate, issuer: Ed25519PrivateKey) -> None:
    text = passes.issue(make_body(pass_id="P-REVOKED"), issuer)
    outcome = gate.process_text(text)
    assert not outcome.decision.allow and outcome.decision.reasons == (Reason.REVOKED,)
    assert outcome.relay == "none"
    assert [s.state for s in _pin(gate).states] == [False]


def test_active_low_relay_board(
    tmp_path: Path, clock: FakeClock, trust: TrustStore, lists: ListsSnapshot
) -> None:
    config = Config(
        door=DoorSettings(active_high=False), store=StoreSettings(path=tmp_path / "g.sqlite3")
    )
    g = build_gate(config, clock=clock, pin_factory=MockFactory(), trust=trust, lists=lists)
    pin = g.door.relay.pin
    assert pin.state is True  # active-low board: the pin idles high with the relay off
    g.door.grant()
    assert pin.state is False
    g.close()
    assert pin.state is True


def test_screenshot_replay_of_a_dynamic_code(
    gate: Gate, issuer: Ed25519PrivateKey, phone: Ed25519PrivateKey, clock: FakeClock
) -> None:
    base = passes.issue(make_body(device=passes.device_public_bytes(phone)), issuer)
    code = passes.dynamic_code(base, phone, clock.time())
    assert gate.process_text(code).decision.allow
    clock.advance(5)
    again = gate.process_text(code)
    assert not again.decision.allow
    assert again.decision.reasons == (Reason.DYNAMIC_CODE_REPLAYED,)
    clock.advance(30)  # the phone shows a fresh step: accepted
    assert gate.process_text(passes.dynamic_code(base, phone, clock.time())).decision.allow


def test_quarantined_resident_cannot_go_out(gate: Gate, issuer: Ed25519PrivateKey) -> None:
    text = passes.issue(make_body(room="601"), issuer)
    out = gate.process_text(text, direction=Direction.OUT)
    assert out.decision.reasons == (Reason.QUARANTINE_NO_EXIT,)
    assert gate.process_text(text, direction=Direction.IN).decision.allow


def test_records_hold_hashes_not_raw_codes(gate: Gate, issuer: Ed25519PrivateKey) -> None:
    text = passes.issue(make_body(), issuer)
    gate.process_text(text)
    gate.process_text("https://example.com/some-private-link")
    db = sqlite3.connect(gate.store.path)
    every = [r[0] for r in db.execute("SELECT body FROM records ORDER BY seq")]
    for body in every:  # door events too: no record may carry the scanned text
        assert text[4:40] not in body and "private-link" not in body
    bodies = [r[0] for r in db.execute("SELECT body FROM records WHERE kind='access' ORDER BY seq")]
    assert len(bodies) == 2
    first, second = (json.loads(b) for b in bodies)
    assert first["allow"] is True and first["household"] == "3-2-501"
    assert len(first["code_hash"]) == 16
    assert second["reasons"] == ["UNKNOWN_FORMAT"]
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == len(every)


def test_events_follow_durable_records(gate: Gate, issuer: Ed25519PrivateKey) -> None:
    sub = gate.events.subscribe()
    outcome = gate.process_text(passes.issue(make_body(pass_id="P-REVOKED"), issuer))
    event = sub.get(timeout=1)
    assert event is not None and event.kind == "access"
    assert event.data["seq"] == outcome.record.seq
    assert event.data["sentence_en"] == "This pass has been revoked"


def test_unreadable_frames_do_nothing(gate: Gate) -> None:
    import numpy as np

    for frame in (
        np.zeros((720, 1280, 3), np.uint8),
        np.full((720, 1280), 255, np.uint8),
        np.zeros((5, 5, 3), np.uint8),
        np.zeros((0, 0, 3), np.uint8),
    ):
        assert gate.process_frame(frame) == []
    assert gate.store.outbox_depth() == 0
