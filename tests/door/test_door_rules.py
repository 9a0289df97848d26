"""The door's own rules (schedules with holidays, anti-passback, closed management) and the
door config's checks for conflicting pins and impossible timings."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.app.config import ConfigError, parse_config
from edge.gate.door.policy import DoorPolicy, DoorReason, DoorRulesSettings, door_sentence
from edge.gate.rules.antipassback import AntiPassback, PassbackMode, Verdict
from edge.gate.rules.decision import Decision
from edge.gate.rules.profile import Direction
from edge.gate.rules.schedule import Calendar

IN, OUT = Direction.IN, Direction.OUT


def at(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


CAL = Calendar.model_validate(
    {
        "utc_offset_h": 8,
        "holidays": ["2026-01-01"],
        "schedules": {
            "office": {
                "windows": [
                    {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"},
                    {"days": ["holiday"], "start": "10:00", "end": "12:00"},
                ]
            }
        },
    }
)


@pytest.mark.parametrize(
    ("when", "on"),
    [
        ("2026-01-05T08:00:00+08:00", True),  # Monday, start is inclusive
        ("2026-01-05T17:59:59+08:00", True),
        ("2026-01-05T18:00:00+08:00", False),  # end is exclusive
        ("2026-01-05T07:59:00+08:00", False),
        ("2026-01-04T09:00:00+08:00", False),  # Sunday
        ("2026-01-01T09:00:00+08:00", False),  # a Thursday, but a holiday
        ("2026-01-01T11:00:00+08:00", True),  # holiday window
        ("2026-01-05T01:00:00+00:00", True),  # 09:00 in Beijing
    ],
)
def test_schedule_with_holidays(when: str, on: bool) -> None:
    assert CAL.active("office", at(when)) is on


def test_builtin_and_unknown_schedules() -> None:
    assert CAL.active("always", 0.0) and not CAL.active("never", 0.0)
    assert not CAL.active("nope", 0.0)  # closed rather than open


def test_anti_passback_hard_soft_and_reset() -> None:
    hard = AntiPassback(PassbackMode.HARD, reset_s=600)
    assert hard.check("h-1", IN, 0.0) is Verdict.OK
    hard.passed("h-1", IN, 0.0)
    assert hard.check("h-1", IN, 10.0) is Verdict.REFUSE
    assert hard.check("h-1", OUT, 10.0) is Verdict.OK
    assert hard.check("h-2", IN, 10.0) is Verdict.OK  # per holder
    assert hard.check("h-1", IN, 600.0) is Verdict.OK  # forgotten after the reset time
    assert hard.check("h-1", IN, -5.0) is Verdict.OK  # a clock stepped back never locks out
    soft = AntiPassback(PassbackMode.SOFT)
    soft.passed("h-1", OUT, 0.0)
    assert soft.check("h-1", OUT, 1.0) is Verdict.FLAG
    soft.reset("h-1")
    assert soft.check("h-1", OUT, 1.0) is Verdict.OK
    off = AntiPassback()
    off.passed("h-1", IN, 0.0)
    assert off.check("h-1", IN, 1.0) is Verdict.OK


def _policy(**rules: object) -> DoorPolicy:
    return DoorPolicy.from_settings(DoorRulesSettings.model_validate(rules))


ALLOW = Decision(True, holder="h-1")


def test_policy_never_turns_a_refusal_into_an_allow() -> None:
    p = _policy(gate_kind="side", closed_management=True)
    assert p.check(Decision(False), IN, 0.0).allow


def test_policy_closed_management_only_shuts_side_gates() -> None:
    side = _policy(gate_kind="side")
    assert side.check(ALLOW, IN, 0.0).allow
    side.closed_management = True  # switched at run time by the platform's rules
    v = side.check(ALLOW, IN, 0.0)
    assert not v.allow and v.reasons == (DoorReason.SIDE_GATE_CLOSED,)
    assert side.exit_allowed(0.0) == (False, "SIDE_GATE_CLOSED")
    main = _policy(closed_management=True)
    assert main.check(ALLOW, IN, 0.0).allow


def test_policy_access_schedule_and_anti_passback() -> None:
    p = _policy(
        access_schedule="office",
        calendar=CAL.model_dump(mode="json"),
        anti_passback="soft",
    )
    night = at("2026-01-05T23:00:00+08:00")
    day = at("2026-01-05T09:00:00+08:00")
    assert p.check(ALLOW, IN, night).reasons == (DoorReason.OUTSIDE_SCHEDULE,)
    assert p.check(ALLOW, IN, day) == p.check(ALLOW, IN, day + 1)
    p.passed(ALLOW, IN, day)
    v = p.check(ALLOW, IN, day + 60)
    assert v.allow and v.flags == (DoorReason.ANTI_PASSBACK,)


def test_policy_hold_schedule_and_command() -> None:
    p = _policy(unlock_schedule="always")
    assert p.hold_wanted(0.0)
    p.hold_command = False
    assert not p.hold_wanted(0.0)
    p.closed_management = True
    p.hold_command = True
    assert p.hold_wanted(0.0)  # a main gate
    side = _policy(gate_kind="side", closed_management=True, unlock_schedule="always")
    assert not side.hold_wanted(0.0)


def test_readers_give_the_direction() -> None:
    p = _policy(readers={"north": "in", "south": "out"})
    assert p.direction_of("south") is OUT
    with pytest.raises(KeyError, match="north, south"):
        p.direction_of("west")


def test_door_sentences_in_both_languages() -> None:
    for reason in DoorReason:
        assert door_sentence(reason, "zh") and door_sentence(reason, "en").isascii()


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"door": {"exit_pin": 17}}, "door.exit_pin: pin 17 is already door.relay_pin"),
        ({"door": {"green_led_pin": 5, "red_led_pin": 5}}, "door.red_led_pin: pin 5"),
        ({"door": {"fire_pin": 40}}, "door.fire_pin"),
        ({"door": {"pulse_s": 20, "max_unlock_s": 10}}, "door.pulse_s (20.0) is longer"),
        ({"door": {"held_open_warn_s": 30, "held_open_alarm_s": 30}}, "door.held_open_alarm_s"),
        ({"door": {"lock_type": "magic"}}, "door.lock_type"),
        ({"door_rules": {"exit_schedule": "office"}}, "door_rules.exit_schedule: no schedule"),
        ({"door_rules": {"anti_passback": "maybe"}}, "door_rules.anti_passback"),
        (
            {"door_rules": {"calendar": {"schedules": {"always": {}}}}},
            "'always' is built in",
        ),
        (
            {
                "door_rules": {
                    "calendar": {
                        "schedules": {"x": {"windows": [{"start": "22:00", "end": "06:00"}]}}
                    }
                }
            },
            "crosses midnight",
        ),
        (
            {"door_rules": {"calendar": {"schedules": {"x": {"windows": [{"start": "7am"}]}}}}},
            "hh:mm",
        ),
    ],
)
def test_bad_door_config_is_refused_naming_the_key(table: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(table)
    assert needle in str(err.value)


def test_default_config_is_valid_and_safe() -> None:
    c = parse_config({})
    assert c.door.lock_type == "fail_secure" and c.door.contact_pin is None
    assert c.door_rules.unlock_schedule == "never" and c.door_rules.anti_passback == "off"


def test_reconfigure_keeps_memory_and_runtime_switch() -> None:
    p = _policy(anti_passback="hard", gate_kind="side")
    p.passed(ALLOW, IN, 0.0)
    p.closed_management = True  # switched by the platform at run time
    p.reconfigure(DoorRulesSettings.model_validate({"anti_passback": "soft", "gate_kind": "side"}))
    assert p.closed_management  # the file did not change that flag
    p.closed_management = False
    assert p.check(ALLOW, IN, 1.0).flags == (DoorReason.ANTI_PASSBACK,)  # memory kept, now soft


def test_reserved_pins_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"door\.contact_pin: gpio 1 is reserved"):
        parse_config({"door": {"contact_pin": 1}})
