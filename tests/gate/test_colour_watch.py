"""The gate's memory of the last health-code colour each resident showed (issue 22 item 4)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from edge.app.outcome import access_body
from edge.gate.colour_watch import ColourWatch, shown_in_record
from edge.gate.credentials.evidence import HealthCodeCredential, HealthCodeStatus
from edge.gate.credentials.verified import Credential, PassCredential, Role
from edge.gate.door.policy import DoorVerdict
from edge.gate.reasons import Reason
from edge.gate.rules.decision import Decision
from edge.gate.rules.profile import Direction

S = HealthCodeStatus


def pass_of(holder: str, room: str = "103", problems: tuple[Reason, ...] = ()) -> PassCredential:
    return PassCredential(
        "P-" + holder, holder, "3", "1", room, Role.RESIDENT, 0, 2**31, problems=problems
    )


def code(status: HealthCodeStatus) -> HealthCodeCredential:
    return HealthCodeCredential(status, "c0ffee", 1.0)


def watch(keep: int = 100) -> ColourWatch:
    ids = itertools.count(1)
    return ColourWatch(keep, new_id=lambda: f"cs-{next(ids)}")


def test_first_colour_is_remembered_a_different_one_is_one_change() -> None:
    w = watch()
    assert w.scan([pass_of("h1"), code(S.GREEN)]) is None  # nothing to compare with yet
    assert w.scan([pass_of("h1"), code(S.GREEN)]) is None
    change = w.scan([pass_of("h1"), code(S.YELLOW)])
    assert change is not None
    assert (change.holder, change.household, change.old, change.new) == (
        "h1",
        "3-1-103",
        "green",
        "yellow",
    )
    assert w.scan([pass_of("h1"), code(S.YELLOW)]) is None  # yellow again: no second warning
    assert w.last("h1") == "yellow"


def test_residents_are_kept_apart() -> None:
    w = watch()
    assert w.scan([pass_of("h1"), code(S.GREEN)]) is None
    assert w.scan([pass_of("h2"), code(S.RED)]) is None  # another resident's first colour
    assert w.scan([pass_of("h1"), code(S.GREEN)]) is None


@pytest.mark.parametrize("answer", [S.EXPIRED, S.NOT_FOUND, S.FAILED, S.TIMEOUT])
def test_answers_that_are_no_colour_neither_warn_nor_replace_the_colour(
    answer: HealthCodeStatus,
) -> None:
    w = watch()
    w.scan([pass_of("h1"), code(S.GREEN)])
    assert w.scan([pass_of("h1"), code(answer)]) is None
    assert w.last("h1") == "green"


def test_a_refused_pass_or_no_pass_is_not_a_resident_seen() -> None:
    w = watch()
    w.scan([pass_of("h1"), code(S.GREEN)])
    forged = pass_of("h1", problems=(Reason.BAD_SIGNATURE,))  # anyone can claim a holder id
    assert w.scan([forged, code(S.RED)]) is None
    assert w.scan([code(S.RED)]) is None
    assert w.last("h1") == "green" and len(w) == 1


def test_the_memory_is_bounded_least_recently_seen_forgotten_first() -> None:
    w = watch(keep=2)
    w.scan([pass_of("h1"), code(S.GREEN)])
    w.scan([pass_of("h2"), code(S.GREEN)])
    w.scan([pass_of("h1"), code(S.GREEN)])  # h1 seen again: h2 is now the oldest
    w.scan([pass_of("h3"), code(S.GREEN)])
    assert len(w) == 2 and w.last("h2") is None and w.last("h1") == "green"
    assert w.scan([pass_of("h2"), code(S.RED)]) is None  # forgotten: a first colour again
    with pytest.raises(ValueError):
        ColourWatch(keep=0)


def test_the_alert_record_and_event_say_the_change_and_no_other_health_detail() -> None:
    w = watch()
    w.scan([pass_of("h1"), code(S.GREEN)])
    change = w.scan([pass_of("h1"), code(S.RED)])
    assert change is not None
    body = change.alert("gate-1", 1000.0).to_json()
    assert body == {
        "alert": "colour_change",
        "reason": "scan: colour green → red",
        "gate": "gate-1",
        "alert_id": "cs-1",
        "phase": "new",
        "household": "3-1-103",
        "started": 1000.0,
        "source": "scan",
        "colour_from": "green",
        "colour_to": "red",
    }
    event = change.event()
    assert {k: event[k] for k in ("id", "type", "phase", "source", "from", "to")} == {
        "id": "cs-1",
        "type": "colour_change",
        "phase": "new",
        "source": "scan",
        "from": "green",
        "to": "red",
    }
    assert set(event) == {
        *("id", "type", "phase", "source", "holder", "household", "from", "to"),
        *("message", "message_en"),
    }
    assert "绿码→红码" in event["message"] and "3-1-103" in event["message_en"]


def _record(creds: list[Credential], allow: bool = True) -> dict[str, Any]:
    decision = Decision(allow)
    body = access_body("g", Direction.IN, creds, decision, "none", DoorVerdict(), 1.0)
    return body.to_json()


def test_rebuilt_from_stored_access_records_oldest_first_without_warnings() -> None:
    records = [
        _record([pass_of("h1"), code(S.GREEN)]),
        _record([pass_of("h2"), code(S.GREEN)]),
        _record([pass_of("h1"), code(S.YELLOW)], allow=False),  # refused, but seen yellow
        _record([pass_of("h2"), code(S.FAILED)]),  # no answer: green stays
        _record([pass_of("h3", problems=(Reason.BAD_SIGNATURE,)), code(S.RED)]),
        _record([pass_of("h4")]),  # no health code shown
        {"holder": "h5", "credentials": "not a list"},  # damaged: skipped, never a crash
    ]
    w = watch()
    assert w.learn(records) == 3
    assert (w.last("h1"), w.last("h2"), w.last("h3"), w.last("h4")) == (
        "yellow",
        "green",
        None,
        None,
    )
    assert w.scan([pass_of("h1"), code(S.YELLOW)]) is None  # same as before the restart
    change = w.scan([pass_of("h2"), code(S.RED)])
    assert change is not None and (change.old, change.new) == ("green", "red")
    assert shown_in_record({}) is None
