"""The door inside the real application: policy after the decision core, door events as
durable records (kind "door") and live events, lock driven only after the access record."""

from __future__ import annotations

from pathlib import Path

from gpiozero.pins.mock import MockFactory

from edge.app.config import parse_config
from edge.app.gate import build_gate
from edge.core.clock import FakeClock
from edge.gate.credentials import passes
from edge.gate.credentials.verified import Role
from edge.store.sqlite import Store
from edge.tools.demo import demo_lists, demo_trust
from edge.tools.simulate import scenario_key


def _gate(tmp_path: Path, **rules: object):  # type: ignore[no-untyped-def]
    config = parse_config(
        {
            "store": {"path": str(tmp_path / "g.sqlite3")},
            "door": {"contact_pin": 5, "fire_pin": 6},
            "door_rules": rules,
        }
    )
    clock, factory = FakeClock(), MockFactory()
    gate = build_gate(
        config, clock=clock, pin_factory=factory, trust=demo_trust(), lists=demo_lists()
    )
    gate.door.io.simulate_input("contact", False)
    gate.door.io.simulate_input("fire", False)
    gate.tick()
    t = int(clock.time())
    body = passes.PassBody("P-9", "h-9", "3", "2", "501", Role.RESIDENT, t - 60, t + 86_400)
    return gate, clock, factory, passes.issue(body, scenario_key("demo-issuer"))


def test_door_events_are_durable_records_in_order(tmp_path: Path) -> None:
    gate, clock, _, text = _gate(tmp_path)
    live = gate.events.subscribe()
    outcome = gate.process_text(text)
    assert outcome.decision.allow and gate.door.released
    gate.door.io.simulate_input("contact", True)
    clock.advance(2.0)
    gate.door.io.simulate_input("contact", False)
    gate.tick()
    gate.door.io.simulate_input("fire", True)
    gate.door.io.simulate_input("fire", False)
    gate.tick()
    gate.close()
    # Re-open the database, as after a crash: everything is there, access before "granted".
    store = Store(tmp_path / "g.sqlite3")
    records = [(r.kind, r.body.get("event")) for r in store.records()]
    store.close()
    assert records == [
        ("access", None),
        ("door", "granted"),
        ("door", "opened"),
        ("door", "closed"),
        ("door", "relocked"),
        ("door", "emergency_release"),
        ("door", "emergency_restored"),
        ("door", "relocked"),
    ]
    kinds = []
    while (e := live.get(timeout=0)) is not None:
        kinds.append((e.kind, e.data.get("event")))
    assert kinds[:2] == [("door", "granted"), ("access", None)]
    assert len(kinds) == len(records)


def test_door_policy_refuses_after_decision(tmp_path: Path) -> None:
    gate, _, factory, text = _gate(tmp_path, gate_kind="side", closed_management=True)
    o = gate.process_text(text)
    assert not o.decision.allow and o.relay == "none" and not gate.door.released
    j = o.to_json("en")
    assert j["reasons"] == ["SIDE_GATE_CLOSED"] and "main gate" in j["sentence"]
    assert factory.pin(17).states[-1].state is False
    body = gate.store.records()[-1].body
    assert body["allow"] is False and body["reasons"] == ["SIDE_GATE_CLOSED"]
    gate.close()


def test_anti_passback_hard_in_the_app(tmp_path: Path) -> None:
    gate, clock, _, text = _gate(tmp_path, anti_passback="hard")
    from edge.gate.rules.profile import Direction

    assert gate.process_text(text, direction=Direction.IN).decision.allow
    gate.door.io.simulate_input("contact", True)  # the resident goes through
    gate.door.io.simulate_input("contact", False)
    clock.advance(30)
    gate.tick()
    again = gate.process_text(text, direction=Direction.IN)
    assert not again.decision.allow and again.to_json()["reasons"] == ["ANTI_PASSBACK"]
    assert gate.process_text(text, direction=Direction.OUT).decision.allow
    gate.close()


def test_anti_passback_counts_only_a_door_that_opened(tmp_path: Path) -> None:
    """A resident who hesitates until the lock re-engages may scan again."""
    gate, clock, _, text = _gate(tmp_path, anti_passback="hard")
    assert gate.process_text(text).decision.allow
    clock.advance(5)
    gate.tick()  # re-locked: not opened
    assert gate.process_text(text).decision.allow
    gate.door.io.simulate_input("contact", True)
    clock.advance(2)
    gate.door.io.simulate_input("contact", False)
    gate.tick()
    assert gate.process_text(text).to_json()["reasons"] == ["ANTI_PASSBACK"]
    gate.close()
