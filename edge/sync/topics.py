"""MQTT topic names, version 1. Every topic the gate and the central receiver use is built here.

Uplink ``gate/v1/{gate}/up/…`` (records, alerts, snapshots/{id}, status, heartbeat); downlink
``gate/v1/{gate}/down/…`` (ack, lists/{name}, config, commands) and ``fleet/v1/down/…`` for
every gate. The broker ACL lets a gate write only its own ``up/`` and read its own ``down/``.
"""

from __future__ import annotations

import re

VERSION = "v1"
UP_KINDS = ("records", "alerts", "snapshots", "status", "heartbeat")
DOWN_KINDS = ("ack", "lists", "config", "commands")
SHARE_GROUP = "central"

_GATE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_UP_RE = re.compile(r"^gate/v1/([a-z0-9][a-z0-9-]{0,31})/up/(records|alerts|status|heartbeat)$")
_SNAP_RE = re.compile(r"^gate/v1/([a-z0-9][a-z0-9-]{0,31})/up/snapshots/([0-9a-f]{32})$")


def up(gate: str, kind: str) -> str:
    """``gate/v1/{gate}/up/{kind}``; ``kind`` one of records, alerts, status, heartbeat."""
    if not _GATE_RE.match(gate):
        raise ValueError(f"bad gate id {gate!r}")
    return f"gate/{VERSION}/{gate}/up/{kind}"


def snapshot(gate: str, sid: str) -> str:
    return f"{up(gate, 'snapshots')}/{sid}"


def down(gate: str, kind: str, name: str | None = None) -> str:
    """``gate/v1/{gate}/down/{kind}[/{name}]``."""
    if not _GATE_RE.match(gate):
        raise ValueError(f"bad gate id {gate!r}")
    return f"gate/{VERSION}/{gate}/down/{kind}" + (f"/{name}" if name else "")


def fleet(kind: str, name: str | None = None) -> str:
    """``fleet/v1/down/{kind}[/{name}]``: downlink for every gate."""
    return f"fleet/{VERSION}/down/{kind}" + (f"/{name}" if name else "")


def gate_subscriptions(gate: str) -> list[str]:
    """What a gate subscribes to: its own downlink and the fleet's."""
    return [f"gate/{VERSION}/{gate}/down/#", f"fleet/{VERSION}/down/#"]


def central_subscription(group: str = SHARE_GROUP) -> str:
    """A shared subscription: receivers in one group split the gates' uplink between them."""
    return f"$share/{group}/gate/{VERSION}/+/up/#"


def parse_up(topic: str) -> tuple[str, str, str | None] | None:
    """(gate, kind, snapshot id or None) of an uplink topic, or None if it is not one."""
    m = _UP_RE.match(topic)
    if m:
        return m.group(1), m.group(2), None
    m = _SNAP_RE.match(topic)
    if m:
        return m.group(1), "snapshots", m.group(2)
    return None


def parse_down(topic: str) -> tuple[str, str | None]:
    """(kind, name) of a downlink topic (gate or fleet); raises ValueError otherwise."""
    parts = topic.split("/")
    if parts[:2] == ["fleet", VERSION] and len(parts) >= 4 and parts[2] == "down":
        rest = parts[3:]
    elif parts[:2] == ["gate", VERSION] and len(parts) >= 5 and parts[3] == "down":
        rest = parts[4:]
    else:
        raise ValueError(f"not a downlink topic: {topic}")
    if rest[0] not in DOWN_KINDS or len(rest) > 2:
        raise ValueError(f"unknown downlink topic: {topic}")
    return rest[0], (rest[1] if len(rest) == 2 else None)
