"""Simulation scenarios: a TOML timeline of inputs for ``edge-gate simulate`` (docs/simulate.md).

This module only reads and checks a scenario; :mod:`edge.tools.simulate` runs it. Every problem is
refused with a :class:`ScenarioError` naming the step, its line in the file and the key, before
anything runs: a typo must not turn a rules check into a silently different test.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.app.config import Config, ConfigError, parse_config
from edge.core.errors import InputError
from edge.gate.credentials.verified import Role
from edge.gate.rules.lists import ListsSnapshot
from edge.gate.rules.profile import Direction

# Exactly one of these per step: what happens at ``at`` seconds.
ACTIONS = (
    "scan",
    "text",
    "image",
    "door",
    "exit",
    "fire",
    "tamper",
    "temperature",
    "lists",
    "closed_management",
    "hold",
    "jump",
)
STEP_KEYS = {"at", "direction", "reader", "note", *ACTIONS}
TOP_KEYS = {"scenario", "config", "lists", "keys", "passes", "step", "expect"}
DEFAULT_START = "2026-01-05T09:00:00+08:00"  # a Monday morning, Beijing time
DAY = 86_400.0
_ON_OFF = {"on": True, "off": False, True: True, False: False}


class ScenarioError(InputError, ValueError):
    """A scenario that cannot be run; the message names the step/line or key."""


@dataclass(frozen=True)
class KeySpec:
    """A deterministic Ed25519 issuer key made from its name (test keys, never for real use)."""

    name: str
    trusted: bool = True


@dataclass(frozen=True)
class PassSpec:
    name: str
    key: str
    pass_id: str
    holder: str
    household: tuple[str, str, str]
    role: Role
    valid_from_days: float
    valid_until_days: float
    dynamic: bool


@dataclass(frozen=True)
class Step:
    index: int  # 1-based, as in the messages
    line: int | None  # line of its [[step]] header in the file
    at: float  # seconds since the start (monotonic: a wall-clock jump does not move it)
    action: str
    value: Any
    direction: Direction | None = None
    reader: str | None = None
    note: str = ""

    @property
    def where(self) -> str:
        return f"step {self.index}" + (f" (line {self.line})" if self.line else "")


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    start: float  # Unix seconds
    tick_s: float
    end: float  # seconds since start: keep running the timers until then
    config: Config
    lists: ListsSnapshot
    keys: tuple[KeySpec, ...]
    passes: dict[str, PassSpec]
    steps: tuple[Step, ...]
    expect: tuple[str, ...] | None
    base_dir: Path = field(default=Path("."))


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ScenarioError(f"[{key}] must be a table")
    return value


def _unknown(got: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(got) - allowed)
    if extra:
        raise ScenarioError(
            f"{where}: unknown key {extra[0]!r} — use one of {', '.join(sorted(allowed))}"
        )


def _keys(raw: Any) -> tuple[KeySpec, ...]:
    keys = [KeySpec("demo-issuer")]  # the demo's issuer is always there
    for i, k in enumerate(raw or [], 1):
        _unknown(k, {"name", "trusted"}, f"keys[{i}]")
        if not isinstance(k.get("name"), str) or not k["name"]:
            raise ScenarioError(f"keys[{i}].name: give the key a name (a string)")
        keys.append(KeySpec(k["name"], bool(k.get("trusted", True))))
    names = [k.name for k in keys]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ScenarioError(f"keys: {dup!r} is defined twice")
    return tuple(keys)


def _passes(raw: Any, keys: tuple[KeySpec, ...]) -> dict[str, PassSpec]:
    allowed = {"name", "key", "pass_id", "holder", "household", "role", "valid_from_days"}
    allowed |= {"valid_until_days", "dynamic"}
    out: dict[str, PassSpec] = {}
    key_names = {k.name for k in keys}
    for i, p in enumerate(raw or [], 1):
        where = f"passes[{i}]"
        _unknown(p, allowed, where)
        name = p.get("name")
        if not isinstance(name, str) or not name:
            raise ScenarioError(f"{where}.name: give the pass a name (a string)")
        if name in out:
            raise ScenarioError(f"{where}.name: {name!r} is defined twice")
        key = p.get("key", "demo-issuer")
        if key not in key_names:
            raise ScenarioError(f"{where}.key: no key named {key!r} — add it under [[keys]]")
        household = str(p.get("household", "3-2-501")).split("-")
        if len(household) != 3 or not all(household):
            raise ScenarioError(f"{where}.household: write it as building-unit-room, e.g. 3-2-501")
        try:
            role = Role(p.get("role", "resident"))
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            raise ScenarioError(f"{where}.role: use one of {roles}") from None
        vf, vu = float(p.get("valid_from_days", -30)), float(p.get("valid_until_days", 300))
        if vu <= vf:
            raise ScenarioError(f"{where}.valid_until_days must be after valid_from_days")
        out[name] = PassSpec(
            name,
            key,
            str(p.get("pass_id", f"P-{name}"))[:16],
            str(p.get("holder", f"h-{name}"))[:24],
            (household[0], household[1], household[2]),
            role,
            vf,
            vu,
            bool(p.get("dynamic", False)),
        )
    return out


def _step_value(step: dict[str, Any], action: str, where: str, passes: dict[str, Any]) -> Any:
    v = step[action]
    if action == "scan" and v not in passes:
        raise ScenarioError(f"{where}: scan: no pass named {v!r} — define it under [[passes]]")
    if action in ("text", "image") and not isinstance(v, str):
        raise ScenarioError(f"{where}: {action} must be a string")
    if action == "door" and v not in ("open", "close"):
        raise ScenarioError(f"{where}: door must be 'open' or 'close' (got {v!r})")
    if action == "exit" and v not in (True, "press"):
        raise ScenarioError(f"{where}: exit must be true or 'press' (got {v!r})")
    if action in ("fire", "tamper"):
        if v not in _ON_OFF:
            raise ScenarioError(f"{where}: {action} must be 'on' or 'off' (got {v!r})")
        return _ON_OFF[v]
    if action == "hold" and v not in ("on", "off", "schedule"):
        raise ScenarioError(f"{where}: hold must be 'on', 'off' or 'schedule' (got {v!r})")
    if action in ("temperature", "jump") and not isinstance(v, int | float):
        raise ScenarioError(f"{where}: {action} must be a number")
    if action == "closed_management" and not isinstance(v, bool):
        raise ScenarioError(f"{where}: closed_management must be true or false")
    if action == "lists":
        try:
            return ListsSnapshot.model_validate(v)
        except ValueError as exc:
            first = str(exc).splitlines()[:3]
            raise ScenarioError(f"{where}: lists: {' '.join(first)}") from None
    return v


def _steps(raw: Any, text: str, passes: dict[str, PassSpec]) -> tuple[Step, ...]:
    lines = [i for i, ln in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[step\]\]", ln)]
    steps: list[Step] = []
    last = 0.0
    for i, s in enumerate(raw or [], 1):
        line = lines[i - 1] if i - 1 < len(lines) else None
        where = f"step {i}" + (f" (line {line})" if line else "")
        if not isinstance(s, dict):
            raise ScenarioError(f"{where}: a step must be a table")
        _unknown(s, STEP_KEYS, where)
        at = s.get("at")
        if not isinstance(at, int | float) or isinstance(at, bool) or at < 0:
            raise ScenarioError(f"{where}: at must be a number of seconds ≥ 0 (got {at!r})")
        if at < last:
            raise ScenarioError(f"{where}: at = {at} goes back in time (previous step at {last})")
        last = float(at)
        actions = [a for a in ACTIONS if a in s]
        if len(actions) != 1:
            raise ScenarioError(
                f"{where}: give exactly one of {', '.join(ACTIONS)} (got {actions or 'none'})"
            )
        direction = s.get("direction")
        if direction is not None and direction not in ("in", "out"):
            raise ScenarioError(f"{where}: direction must be 'in' or 'out' (got {direction!r})")
        value = _step_value(s, actions[0], where, passes)
        steps.append(
            Step(
                i,
                line,
                last,
                actions[0],
                value,
                Direction(direction) if direction else None,
                s.get("reader"),
                str(s.get("note", "")),
            )
        )
    return tuple(steps)


_NEEDS_PIN = {"door": "contact_pin", "exit": "exit_pin", "fire": "fire_pin", "tamper": "tamper_pin"}


def _check_hardware(steps: tuple[Step, ...], config: Config) -> None:
    """A step needs its input fitted, and a named reader must exist."""
    for step in steps:
        pin_key = _NEEDS_PIN.get(step.action)
        if pin_key and getattr(config.door, pin_key) is None:
            raise ScenarioError(
                f"{step.where}: {step.action} needs an input — set config.door.{pin_key}"
            )
        if step.reader is not None and step.reader not in config.door_rules.readers:
            known = ", ".join(config.door_rules.readers) or "none"
            raise ScenarioError(
                f"{step.where}: unknown reader {step.reader!r} — "
                f"add it to config.door_rules.readers (known: {known})"
            )


def parse_scenario(text: str, base_dir: Path = Path(".")) -> Scenario:
    """Read and check a whole scenario; raises :class:`ScenarioError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}") from None
    _unknown(data, TOP_KEYS, "top level")
    head = _table(data, "scenario")
    _unknown(head, {"name", "description", "start", "tick_s", "end"}, "[scenario]")
    try:
        start = dt.datetime.fromisoformat(str(head.get("start", DEFAULT_START)))
    except ValueError:
        raise ScenarioError("[scenario].start: use ISO 8601 with an offset") from None
    if start.tzinfo is None:
        raise ScenarioError("[scenario].start: give a UTC offset, e.g. 2026-01-05T09:00+08:00")
    tick_s = head.get("tick_s", 1.0)
    if not isinstance(tick_s, int | float) or not 0.01 <= tick_s <= 60:
        raise ScenarioError("[scenario].tick_s: use 0.01 to 60 seconds")
    try:
        config = parse_config(_table(data, "config"))
    except ConfigError as exc:
        raise ScenarioError("\n".join(f"config.{p}" for p in exc.problems)) from None
    try:
        lists = ListsSnapshot.model_validate(_table(data, "lists"))
    except ValueError as exc:
        raise ScenarioError(f"[lists]: {str(exc).splitlines()[0]}") from None
    keys = _keys(data.get("keys"))
    passes = _passes(data.get("passes"), keys)
    steps = _steps(data.get("step"), text, passes)
    _check_hardware(steps, config)
    end = head.get("end", steps[-1].at if steps else 0.0)
    if not isinstance(end, int | float) or isinstance(end, bool) or end < 0:
        raise ScenarioError(f"[scenario].end: a number of seconds ≥ 0 (got {end!r})")
    if end > 7 * DAY:
        raise ScenarioError("[scenario].end: at most 7 days (604800 s); use jump for more")
    expect = _table(data, "expect")
    _unknown(expect, {"sequence"}, "[expect]")
    seq = expect.get("sequence")
    if seq is not None and not (isinstance(seq, list) and all(isinstance(x, str) for x in seq)):
        raise ScenarioError("[expect].sequence: a list of strings such as 'door:granted'")
    return Scenario(
        str(head.get("name", "")),
        str(head.get("description", "")),
        start.timestamp(),
        float(tick_s),
        float(end),
        config,
        lists,
        keys,
        passes,
        steps,
        tuple(seq) if seq is not None else None,
        base_dir,
    )


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_scenario(text, path.parent)


__all__ = ["ACTIONS", "KeySpec", "PassSpec", "Scenario", "ScenarioError", "Step", "load_scenario"]
