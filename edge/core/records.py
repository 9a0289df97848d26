"""Every durable record kind, its typed body, its sync priority; every in-process event kind.

A record body is the JSON object stored in SQLite and sent to central next to ``seq``, ``id``,
``kind`` and ``ts`` (see ``gate/v1/{gate}/up/records``): these models are that public contract,
and the JSON Schemas in ``edge/sync/schemas/records/`` are generated from them
(:func:`record_schemas`). A field that is written only in some cases (e.g. the pass fields of an
access record) is left unset and then absent from the JSON, never ``null``, so the models
reproduce the bodies the gate wrote before they existed, byte for byte.

Writers build bodies with the constructors (unknown fields are errors: nothing undeclared
leaves the gate); readers of stored or received records use :func:`read_body`, which ignores
fields a newer version may add.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field


class RecordKind(StrEnum):
    """The ``kind`` of a durable record (the ``records.kind`` column and the wire field)."""

    ACCESS = "access"  # a decision: allow or deny, reasons, privacy summaries of proofs
    SCAN = "scan"  # a proof was shown, the decision waits for more
    DOOR = "door"  # a door state-machine event (grant, opened, alarms, fire release…)
    ALERT = "alert"  # a perimeter alert phase (person in a quarantine zone, camera problem)
    GUARD = "guard"  # a guard or admin action at the console
    SNAPSHOT = "snapshot"  # a JPEG kept for an alert (the bytes travel on their own topic)
    GAP = "gap"  # something was dropped on purpose (a snapshot over the disk cap)
    COMMAND = "command"  # a signed command from central was accepted
    CONFIG_APPLIED = "config_applied"  # signed settings from central were stored
    LISTS_APPLIED = "lists_applied"  # a signed list from central was stored
    DOWNLINK_REJECTED = "downlink_rejected"  # a downlink message was refused, and why
    VISITOR = "visitor"  # a visitor or courier registered at the booth


class EventKind(StrEnum):
    """The ``kind`` of an in-process :class:`~edge.core.events.Event` (live, not durable)."""

    ACCESS = "access"  # after an access record: the console's scan list, metrics
    PROMPT = "prompt"  # a scan is pending: what the person must show next
    DOOR = "door"  # after a door record
    ALERT = "alert"  # after an alert record: the console's alert board
    GUARD = "guard"  # after a guard record
    GUARD_ALERT = "guard_alert"  # a decision asks for the guard's attention
    COMMAND = "command"  # central sent a command (arm/disarm reach the perimeter this way)
    CONFIG = "config"  # central sent settings
    SYNC = "sync"  # the uplink went online or offline


# Outbox priority per kind: higher syncs first from a backlog. People waiting at the gate,
# alarms and guard actions before bookkeeping; snapshots (large) and gaps last.
PRIORITY: Mapping[RecordKind, int] = {
    RecordKind.ACCESS: 10,
    RecordKind.SCAN: 10,
    RecordKind.DOOR: 10,
    RecordKind.ALERT: 10,
    RecordKind.GUARD: 10,
    RecordKind.SNAPSHOT: 0,
    RecordKind.GAP: 0,
    RecordKind.COMMAND: 5,
    RecordKind.CONFIG_APPLIED: 5,
    RecordKind.LISTS_APPLIED: 5,
    RecordKind.DOWNLINK_REJECTED: 5,
    RecordKind.VISITOR: 10,
}

# Door events that start or end an alarm (edge.gate.door.machine.ALARMS and ALARM_CLEARED; a
# test keeps the two in step). There is no separate "alarm" record kind: a door alarm is a
# ``door`` record, and it travels on ``…/up/alerts`` with the perimeter alerts, because both
# need a person at central, and an alerts-only subscriber must also see the alarm end.
DOOR_ALARM_EVENTS = frozenset({"held_open_alarm", "forced_open", "tamper", "alarm_cleared"})

SCHEMA_BASE = "https://edge-gate.example/schemas/sync/v1/records"


class RecordBody(BaseModel):
    """Base of every body model; ``kind`` ties the model to its :class:`RecordKind`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ClassVar[RecordKind]

    def to_json(self) -> dict[str, Any]:
        """The stored and sent JSON object: fields never set are absent, not null."""
        return self.model_dump(mode="json", exclude_unset=True)

    @property
    def priority(self) -> int:
        return PRIORITY[self.kind]

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> Self:
        """A body from stored or received JSON: fields this version does not know are
        ignored (a newer gate may add some); a missing or mistyped known field raises."""
        return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})


class CredentialSummary(BaseModel):
    """What an access record keeps of one proof (edge.gate.credentials.privacy): never names,
    birth dates or raw payloads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="pass, health_code, unreadable, test, vaccination, recovery…")
    format: str = Field(description="PASS, HEALTH_CODE, HC1, SHC, …")
    outcome: str = Field(description="valid / invalid, or the health code's colour")
    reasons: list[str] = Field(description="reason codes of the proof's problems")
    issuer_country: str | None = Field(default=None, description="2-letter issuer country")
    test_age_h: float | None = Field(default=None, description="age of a test in hours")


class AccessBody(RecordBody):
    """A decision. The pass fields are present only when a community pass was shown."""

    kind: ClassVar[RecordKind] = RecordKind.ACCESS

    gate: str
    direction: str = Field(description="in or out")
    allow: bool
    reasons: list[str] = Field(description="decision and door-rule reason codes")
    flags: list[str] = Field(description="notes that did not refuse (e.g. guard_alert)")
    relay: str = Field(description="pulse (the door was released) or none")
    credentials: list[CredentialSummary]
    code_hashes: list[str] = Field(description="short hashes of every code shown")
    format: str = Field(description="PASS, or the first proof's format, or NONE")
    code_hash: str = Field(description="hash of the pass (or of the first proof), or empty")
    pass_id: str | None = None
    holder: str | None = None
    household: str | None = Field(default=None, description="building-unit-room")
    role: str | None = None
    dynamic: bool | None = Field(default=None, description="a rotating (time-step) pass")


class ScanBody(RecordBody):
    """A proof was read; the decision waits for ``missing`` (format/code_hash if readable)."""

    kind: ClassVar[RecordKind] = RecordKind.SCAN

    gate: str
    direction: str
    missing: list[str] = Field(description="proofs still needed")
    format: str | None = None
    code_hash: str | None = None


class DoorBody(RecordBody):
    """One door event and the state after it; the other fields depend on the event."""

    kind: ClassVar[RecordKind] = RecordKind.DOOR

    gate: str
    event: str = Field(description="granted, opened, forced_open, emergency_release, …")
    state: str = Field(description="door state after the event")
    access_seq: int | None = Field(default=None, description="granted: the access record")
    direction: str | None = Field(default=None, description="granted: in or out")
    source: str | None = Field(default=None, description="who released or held: console…")
    allowed: bool | None = Field(default=None, description="exit_request: honoured or not")
    why: str | None = Field(default=None, description="why it relocked / was not allowed")
    alarm: str | None = Field(default=None, description="alarm_cleared: which alarm ended")
    from_state: str | None = None
    door_open: bool | None = None
    open_s: float | None = Field(default=None, description="held open this long, seconds")

    @property
    def is_alarm(self) -> bool:
        return self.event in DOOR_ALARM_EVENTS


class AlertBody(RecordBody):
    """Something a person at central must see. A perimeter alert writes every field (one
    record per phase: new, update, end; ``alert_id`` joins them); the store's own alerts
    (``alert: "dead_letter"``) write ``alert``, ``reason``, ``of_seq`` and ``size``."""

    kind: ClassVar[RecordKind] = RecordKind.ALERT

    alert: str = Field(description="what: person_in_zone, camera_down, dead_letter, …")
    reason: str = Field(description="why it ended, or details of a problem")
    gate: str | None = None
    alert_id: str | None = None
    phase: str | None = Field(default=None, description="new, update or end")
    camera: str | None = None
    zone: str | None = None
    household: str | None = None
    score: float | None = Field(default=None, description="best detection confidence 0..1")
    started: float | None = Field(default=None, description="when it began, Unix seconds")
    snapshot: str | None = Field(default=None, description="file name of the JPEG, if any")
    of_seq: int | None = Field(default=None, description="dead_letter: the record taken out")
    size: int | None = Field(default=None, description="dead_letter: its size, bytes")
    source: str | None = Field(
        default=None,
        description="colour_change: where the change was seen: scan (a resident showed another "
        "colour at the gate) or lists (a pushed list recoloured a household or resident)",
    )
    colour_from: str | None = Field(default=None, description="colour_change: the earlier colour")
    colour_to: str | None = Field(default=None, description="colour_change: the colour now")


class GuardBody(RecordBody):
    """A console action: who (user, role) did what (``action``) and its own fields."""

    kind: ClassVar[RecordKind] = RecordKind.GUARD

    gate: str
    action: str = Field(description="ack, escalate, manual_open, zone_save")
    user: str
    role: str
    alert: str | None = Field(default=None, description="ack/escalate: the alert's key")
    note: str | None = None
    household: str | None = None
    reason: str | None = Field(default=None, description="manual_open, overrule_*: why")
    access_seq: int | None = Field(
        default=None, description="overrule_allow/overrule_deny: the refused access record"
    )
    zone: str | None = Field(default=None, description="zone_save: zone id")
    pass_id: str | None = Field(
        default=None, description="visitor_confirm: the visitor pass the household confirmed"
    )
    camera: str | None = None
    polygon: list[tuple[float, float]] | None = Field(
        default=None, description="zone_save: corners, normalised 0..1"
    )


class SnapshotBody(RecordBody):
    """A kept JPEG (the bytes go on ``…/up/snapshots/{snapshot_id}``)."""

    kind: ClassVar[RecordKind] = RecordKind.SNAPSHOT

    snapshot_id: str
    size: int = Field(ge=0, description="bytes")
    sha256: str
    alert_id: str | None = None
    alert_seq: int | None = Field(default=None, description="seq of the alert record")
    camera: str | None = None
    blob_dropped: str | None = Field(
        default=None, description="on the wire only: why the JPEG will not follow"
    )


class VisitorBody(RecordBody):
    """A visitor (a time-limited pass was issued) or a courier (a drop-off, no entry)
    registered at the booth. Personal data kept to what the register needs: the name as
    given, the phone's last four digits only; retained like every record ([retention])."""

    kind: ClassVar[RecordKind] = RecordKind.VISITOR

    gate: str
    visit: str = Field(description="visitor or courier")
    name: str
    phone_tail: str = Field(description="last four digits of the phone number")
    household: str = Field(description="unit visited, building-unit-room")
    purpose: str
    temperature_c: float
    health_colour: str = Field(description="green, yellow or red as read or typed")
    health_source: str = Field(description="camera or typed")
    commitment: str = Field(description="id of the commitment text (承诺书) accepted")
    confirmed_by_household: bool = False
    needs_confirmation: bool | None = Field(
        default=None,
        description="visitor: the pass admits only once the household confirmed (a guard "
        "record visitor_confirm names who)",
    )
    user: str = Field(description="the guard who registered")
    role: str
    pass_id: str | None = Field(default=None, description="visitor: the pass issued")
    valid_from: int | None = Field(default=None, description="visitor: Unix seconds")
    valid_until: int | None = Field(default=None, description="visitor: Unix seconds")


class GapBody(RecordBody):
    """Something was dropped on purpose; ``reason`` says why. ``what`` is ``snapshot`` (a JPEG
    over the disk cap or the packet size: snapshot_id, of_seq, size) or ``records`` (records
    the in-memory queue could not keep while the disk refused writes: count, first/last seq)."""

    kind: ClassVar[RecordKind] = RecordKind.GAP

    what: str = Field(description="snapshot or records")
    reason: str = Field(description="disk_cap, oversize, store_unavailable, …")
    snapshot_id: str | None = None
    of_seq: int | None = Field(default=None, description="seq the dropped JPEG belonged to")
    size: int | None = Field(default=None, description="bytes dropped")
    count: int | None = Field(default=None, description="records lost")
    first_seq: int | None = None
    last_seq: int | None = None


class CommandRecordBody(RecordBody):
    """A signed command from central that the gate accepted."""

    kind: ClassVar[RecordKind] = RecordKind.COMMAND

    cmd: str
    args: dict[str, Any]
    nonce: str


class ConfigAppliedBody(RecordBody):
    kind: ClassVar[RecordKind] = RecordKind.CONFIG_APPLIED

    version: int


class ListsAppliedBody(RecordBody):
    kind: ClassVar[RecordKind] = RecordKind.LISTS_APPLIED

    name: str
    version: int
    mode: str = Field(description="full or delta")


class DownlinkRejectedBody(RecordBody):
    """A refused downlink message (at most 30 recorded a minute)."""

    kind: ClassVar[RecordKind] = RecordKind.DOWNLINK_REJECTED

    topic: str
    reason: str
    detail: str
    size: int = Field(description="payload bytes")


BODY_MODELS: Mapping[RecordKind, type[RecordBody]] = {
    m.kind: m
    for m in (
        AccessBody,
        ScanBody,
        DoorBody,
        AlertBody,
        GuardBody,
        SnapshotBody,
        GapBody,
        CommandRecordBody,
        ConfigAppliedBody,
        ListsAppliedBody,
        DownlinkRejectedBody,
        VisitorBody,
    )
}


def read_body(kind: RecordKind | str, data: Mapping[str, Any]) -> RecordBody:
    """The typed body of a stored or received record (lenient: see :meth:`RecordBody.read`)."""
    return BODY_MODELS[RecordKind(kind)].read(data)


def on_alerts_topic(kind: RecordKind | str, body: Mapping[str, Any]) -> bool:
    """Whether a record goes on ``…/up/alerts`` (perimeter alerts and door alarms)."""
    return kind == RecordKind.ALERT or (
        kind == RecordKind.DOOR and body.get("event") in DOOR_ALARM_EVENTS
    )


def record_schema(kind: RecordKind) -> dict[str, Any]:
    """JSON Schema of one record as sent: seq, id, kind, ts and the kind's body fields."""
    schema = BODY_MODELS[kind].model_json_schema()
    envelope: dict[str, Any] = {
        "seq": {"type": "integer", "minimum": 1, "description": "per-gate sequence number"},
        "id": {"type": "string", "minLength": 1, "maxLength": 64, "description": "UUID"},
        "kind": {"const": kind.value},
        "ts": {"type": "number", "description": "when the record was made, Unix seconds"},
    }
    schema["properties"] = {**envelope, **schema["properties"]}
    # readers accept fields a newer minor version adds; the gate itself writes only declared
    # fields (the models forbid others, and a test checks every record the pipeline writes)
    schema["additionalProperties"] = True
    schema["required"] = ["seq", "id", "kind", "ts", *schema.get("required", [])]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"{SCHEMA_BASE}/{kind.value}.json"
    return schema


def record_schemas() -> dict[str, dict[str, Any]]:
    """Every record kind's JSON Schema, by kind (what ``scripts/gen-schemas.py`` writes)."""
    return {k.value: record_schema(k) for k in RecordKind}


def schema_text(schema: Mapping[str, Any]) -> str:
    """The committed text of a schema: stable key order, UTF-8, final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
