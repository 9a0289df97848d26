"""Load that looks like the field: records built from the gate's own typed bodies.

One passage at a gate makes what the real pipeline makes: sometimes a ``scan`` first (a pass
was read, the health code is still missing), then the ``access`` decision (allowed 92 %; a
refusal carries real reason codes from :class:`edge.gate.reasons.Reason`), and for an
allowed one the door's ``granted``, ``opened`` and ``closed`` records; now and then the door is
held open (``held_open_alarm`` then ``alarm_cleared``, on the alerts topic), and one record in
``alert_every`` is a perimeter ``alert`` (phases new, update, end of one alert id).

Two ways to push it:

- :func:`generate` — into one gate's real store (durable outbox, real sender): ``edge-gate
  loadgen --config gate.toml --events N --rate R``.
- :class:`Fleet` — many simulated gates, **one MQTT client per gate** (as in the field: one
  connection, one session, one ACL user each), publishing the v1 batch format straight to the
  broker at a rush-hour shaped rate, with heartbeats, and counting central's acks:
  ``edge-gate loadgen --fleet 500 --per-gate 200 …`` (docs/scale.md).

Rates: :func:`rush_factor` scales a mean rate by time of day (morning rush 07:00–09:00 ×4,
evening 17:30–19:30 ×3, night 0.15), so ``--clock 07:30`` loads a receiver as the morning rush
does.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from edge.core.records import (
    AccessBody,
    AlertBody,
    CredentialSummary,
    DoorBody,
    RecordBody,
    ScanBody,
    on_alerts_topic,
)
from edge.gate.door.machine import DoorEvent, DoorState
from edge.gate.reasons import Reason
from edge.store.sqlite import Record, Store

# refusals as they occur at a gate, most common first (weights: relative frequency)
DENY_REASONS: tuple[tuple[Reason, int], ...] = (
    (Reason.EXPIRED, 30),
    (Reason.HEALTH_CODE_YELLOW, 15),
    (Reason.UNREADABLE_CODE, 15),
    (Reason.HOUSEHOLD_UNKNOWN, 10),
    (Reason.REVOKED, 8),
    (Reason.QUARANTINE_NO_EXIT, 7),
    (Reason.DYNAMIC_CODE_STALE, 6),
    (Reason.HEALTH_CODE_RED, 4),
    (Reason.BAD_SIGNATURE, 3),
    (Reason.UNKNOWN_KEY, 2),
)
ALLOW_SHARE = 0.92
SCAN_FIRST_SHARE = 0.3  # a pass read before the health code: a scan record first
HELD_OPEN_SHARE = 0.01  # of allowed passages: the door held open past its limit
MAX_GATES_PER_PROCESS = 320  # measured: the 341st paho client of a process never connects


def rush_factor(hour: float) -> float:
    """How many times the day's mean rate a gate sees at ``hour`` (0–24, local time)."""
    if 7.0 <= hour < 9.0:
        return 4.0
    if 17.5 <= hour < 19.5:
        return 3.0
    if hour < 6.0 or hour >= 23.0:
        return 0.15
    return 0.8


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class GateModel:
    """The record stream of one simulated gate (deterministic for a seed)."""

    gate: str
    seed: int = 1
    alert_every: int = 100
    rng: random.Random = field(init=False)
    made: int = field(default=0, init=False)
    _queue: list[RecordBody] = field(default_factory=list, init=False)
    _alert: tuple[str, str, int] | None = field(default=None, init=False)  # id, zone, phase

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.gate}/{self.seed}")

    def next(self) -> RecordBody:
        """The next record body (its kind is ``body.kind``)."""
        i = self.made
        self.made += 1
        if self.alert_every and i % self.alert_every == self.alert_every - 1:
            return self._perimeter()
        if not self._queue:
            self._queue = self._passage()
        return self._queue.pop(0)

    def _perimeter(self) -> AlertBody:
        rng = self.rng
        if self._alert is None:
            self._alert = (f"{rng.getrandbits(128):032x}", f"fence-{rng.randint(1, 6)}", 0)
        aid, zone, phase_i = self._alert
        phase = ("new", "update", "end")[phase_i]
        self._alert = None if phase == "end" else (aid, zone, phase_i + 1)
        return AlertBody(
            gate=self.gate,
            alert_id=aid,
            alert="person_in_zone",
            phase=phase,
            camera=f"cam-{zone[-1]}",
            zone=zone,
            score=round(rng.uniform(0.5, 0.99), 3),
            started=time.time(),
            reason="left the zone" if phase == "end" else "",
        )

    def _passage(self) -> list[RecordBody]:
        rng = self.rng
        direction = "in" if rng.random() < 0.5 else "out"
        pid = f"P-{rng.randint(1000, 99999)}"
        pass_hash, hc_hash = _hash(f"{pid}/{self.made}"), _hash(f"hc/{pid}/{self.made}")
        out: list[RecordBody] = []
        if rng.random() < SCAN_FIRST_SHARE:
            out.append(
                ScanBody(
                    gate=self.gate,
                    direction=direction,
                    missing=["health_code"],
                    format="PASS",
                    code_hash=pass_hash,
                )
            )
        allow = rng.random() < ALLOW_SHARE
        codes, weights = zip(*DENY_REASONS, strict=True)
        reasons = [] if allow else [rng.choices(codes, weights)[0].value]
        colour = "yellow" if Reason.HEALTH_CODE_YELLOW.value in reasons else "green"
        creds = [
            CredentialSummary(
                kind="pass",
                format="PASS",
                outcome="invalid" if reasons and colour == "green" else "valid",
                reasons=reasons if colour == "green" else [],
            ),
            CredentialSummary(kind="health_code", format="HEALTH_CODE", outcome=colour, reasons=[]),
        ]
        building, unit, room = rng.randint(1, 12), rng.randint(1, 4), rng.randint(101, 1802)
        out.append(
            AccessBody(
                gate=self.gate,
                direction=direction,
                allow=allow,
                reasons=reasons,
                flags=[],
                relay="pulse" if allow else "none",
                credentials=creds,
                code_hashes=[pass_hash, hc_hash],
                format="PASS",
                code_hash=pass_hash,
                pass_id=pid,
                holder=f"h-{_hash(pid)[:10]}",
                household=f"{building}-{unit}-{room}",
                role=rng.choice(("resident", "resident", "resident", "tenant", "staff")),
                dynamic=rng.random() < 0.6,
            )
        )
        if allow:
            door: list[tuple[DoorEvent, DoorState, dict[str, Any]]] = [
                (DoorEvent.GRANTED, DoorState.RELEASED, {"direction": direction}),
                (DoorEvent.OPENED, DoorState.OPEN, {"door_open": True}),
            ]
            if rng.random() < HELD_OPEN_SHARE:
                held = round(rng.uniform(30, 120), 1)
                door += [
                    (DoorEvent.HELD_OPEN_ALARM, DoorState.HELD_OPEN_ALARM, {"open_s": held}),
                    (DoorEvent.ALARM_CLEARED, DoorState.LOCKED,
                     {"alarm": DoorEvent.HELD_OPEN_ALARM.value, "door_open": False}),
                ]  # fmt: skip
            else:
                open_s = round(rng.uniform(2, 8), 1)
                door += (
                    (DoorEvent.CLOSED, DoorState.LOCKED, {"door_open": False, "open_s": open_s}),
                )
            for event, state, extra in door:
                out.append(DoorBody(gate=self.gate, event=event.value, state=state.value, **extra))
        return out


def synthetic(rng: random.Random, gate: str, i: int, alert_every: int) -> RecordBody:
    """One record of the mix (kept for callers of the old interface): a fresh gate model's
    first record after ``i`` others, seeded from ``rng``."""
    model = GateModel(gate, seed=rng.getrandbits(32), alert_every=alert_every)
    model.made = i
    return model.next()


def generate(
    store: Store,
    gate: str,
    n: int,
    rate: float = 0.0,
    alert_every: int = 100,
    seed: int = 1,
    on_record: Callable[[Record], None] | None = None,
) -> float:
    """Append ``n`` records of the mix at ``rate`` records/s (0 = as fast as the disk allows,
    committed 500 per transaction); returns the seconds it took. Each commit is durable."""
    model = GateModel(gate, seed, alert_every)
    started = time.monotonic()
    if rate <= 0:
        for lo in range(0, n, 500):
            with store.transaction() as db:
                for _ in range(lo, min(n, lo + 500)):
                    body = model.next()
                    rec = Store.insert_record(db, body.kind, time.time(), body)
                    if on_record:
                        on_record(rec)
        return time.monotonic() - started
    for i in range(n):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body = model.next()
        rec = store.append(body.kind, time.time(), body)
        if on_record:
            on_record(rec)
    return time.monotonic() - started


# -- many gates, one MQTT client each -----------------------------------------------------------


def _raise_open_files(want: int) -> None:
    """Lift this process's open-file limit towards ``want`` (up to the hard limit): the usual
    soft limit of 1024 stops a fleet at ~340 clients."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        top = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, top), hard))


@dataclass
class FleetResult:
    """What a fleet run saw (``docs/scale.md`` reports these)."""

    gates: int
    connected: int
    planned: int
    records: int
    acked: int
    seconds: float
    until_acked_s: float | None
    kinds: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "gates": self.gates,
            "connected": self.connected,
            "planned": self.planned,
            "records": self.records,
            "acked": self.acked,
            "drained": self.acked == self.records == self.planned,
            "publish_s": round(self.seconds, 3),
            "records_per_s": round(self.records / self.seconds, 1) if self.seconds else None,
            "until_acked_s": None if self.until_acked_s is None else round(self.until_acked_s, 3),
            "kinds": self.kinds,
        }


class Fleet:
    """``gates`` simulated gates, one MQTT client each (``link_for(gate)`` gives its
    settings: its own user, client id and ACL, as in the field).

    Each gate sends ``per_gate`` records in batches of up to ``batch`` at a mean ``rate``
    records/s (scaled by :func:`rush_factor` of ``hour``), a heartbeat every ``heartbeat_s``,
    and counts the highest seq central acknowledges (the ack body is read unverified when no
    ``verify`` is given: this is a load tool, not a gate). Seqs start at 1 with a fresh epoch
    per run, so a receiver treats every run as a new gate database.
    """

    def __init__(
        self,
        link_for: Callable[[str], Any],
        gates: list[str],
        per_gate: int,
        rate: float = 1.0,
        batch: int = 50,
        hour: float = 8.0,
        alert_every: int = 100,
        heartbeat_s: float = 60.0,
        seed: int = 1,
        verify: Callable[[str, bytes], dict[str, Any]] | None = None,
    ) -> None:
        from edge.sync.client import MqttLink

        if len(gates) > MAX_GATES_PER_PROCESS:
            raise ValueError(
                f"{len(gates)} gates in one process: at most {MAX_GATES_PER_PROCESS} (paho "
                "waits with select(), which cannot watch file descriptors above 1023, and "
                "each client holds three); run several loadgen processes with their own "
                "--gate-prefix"
            )
        _raise_open_files(4 * len(gates) + 64)  # paho: a socket and a wake-up pair per client
        self.gates = gates
        self.per_gate = per_gate
        self.rate = rate * rush_factor(hour)
        self.batch = batch
        self.heartbeat_s = heartbeat_s
        self.verify = verify
        self.links = {g: MqttLink(link_for(g)) for g in gates}
        self.models = {g: GateModel(g, seed, alert_every) for g in gates}
        self.epochs = {g: f"{random.Random(f'{g}/{seed}/e').getrandbits(128):032x}" for g in gates}
        self.sent = dict.fromkeys(gates, 0)
        self.acked = dict.fromkeys(gates, 0)
        self.kinds: dict[str, int] = {}

    def _poll(self) -> None:
        for gate, link in self.links.items():
            for ev in link.poll(0.0):
                if ev.kind == "message" and ev.payload and ev.topic.endswith("/down/ack"):
                    self._ack(gate, ev.topic, ev.payload)

    def _ack(self, gate: str, topic: str, payload: bytes) -> None:
        try:
            if self.verify is not None:
                body = self.verify(topic, payload)
            else:
                body = json.loads(json.loads(payload)["body"])
        except (ValueError, KeyError):
            return
        if body.get("epoch") in (None, self.epochs[gate]):
            self.acked[gate] = max(self.acked[gate], int(body.get("upto", 0)))

    def _batch(self, gate: str, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        records: list[dict[str, Any]] = []
        alerts: list[dict[str, Any]] = []
        for _ in range(count):
            body = self.models[gate].next()
            self.sent[gate] += 1
            data = body.to_json()
            rec = {"seq": self.sent[gate], "id": _hash(f"{gate}/{self.sent[gate]}/{time.time()}"),
                   "kind": body.kind.value, "ts": time.time(), **data}  # fmt: skip
            self.kinds[body.kind.value] = self.kinds.get(body.kind.value, 0) + 1
            (alerts if on_alerts_topic(body.kind, data) else records).append(rec)
        return records, alerts

    def _publish(self, gate: str, kind: str, records: list[dict[str, Any]]) -> None:
        from edge.sync import topics

        if records:
            msg = {"v": 1, "gate": gate, "sent_at": time.time(), "epoch": self.epochs[gate],
                   "records": records}  # fmt: skip
            self.links[gate].publish(topics.up(gate, kind), json.dumps(msg).encode())

    def _heartbeat(self, gate: str) -> None:
        from edge.sync import topics

        beat = {"v": 1, "gate": gate, "ts": time.time(),
                "outbox_depth": self.sent[gate] - self.acked[gate],
                "oldest_unacked_age_s": None, "acked_upto": self.acked[gate],
                "list_versions": {}, "components": {"loadgen": "ok"}}  # fmt: skip
        self.links[gate].publish(topics.up(gate, "heartbeat"), json.dumps(beat).encode(), qos=0)

    def connect(self, timeout: float = 60.0) -> int:
        """Connect every gate; returns how many are connected. ``link_for`` must subscribe
        each gate to its own ``…/down/ack`` for acks to be counted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._poll()
            if all(link.connected for link in self.links.values()):
                break
            time.sleep(0.01)
        return sum(link.connected for link in self.links.values())

    def run(self, ack_timeout: float = 60.0, send_timeout: float = 3600.0) -> FleetResult:
        """Send every gate's records at the rate; then wait for the acks. A gate that is not
        connected sends nothing (its records count as not acknowledged)."""
        from edge.sync.client import NotConnected

        connected = self.connect()
        started = time.monotonic()
        next_beat = dict.fromkeys(self.gates, started)
        # each gate's batches are due at its own pace, staggered so gates do not publish in step
        step = self.batch / self.rate if self.rate > 0 else 0.0
        offsets = {g: (i / len(self.gates)) * step for i, g in enumerate(self.gates)}
        while time.monotonic() - started < send_timeout:
            now = time.monotonic()
            busy = idle = False
            for gate in self.gates:
                left = self.per_gate - self.sent[gate]
                if left <= 0 or not self.links[gate].connected:
                    continue
                busy = True
                due = started + offsets[gate] + (self.sent[gate] / self.batch) * step
                if now < due:
                    idle = True
                    continue
                records, alerts = self._batch(gate, min(self.batch, left))
                try:
                    self._publish(gate, "records", records)
                    self._publish(gate, "alerts", alerts)
                    if now >= next_beat[gate]:
                        self._heartbeat(gate)
                        next_beat[gate] = now + self.heartbeat_s
                except NotConnected:
                    pass  # counted as not acknowledged
            self._poll()
            if not busy:
                break
            if idle:
                time.sleep(0.002)
        publish_s = time.monotonic() - started
        until: float | None = None
        deadline = time.monotonic() + ack_timeout
        while time.monotonic() < deadline:
            self._poll()
            if self.acked == self.sent:
                until = time.monotonic() - started
                break
            time.sleep(0.01)
        return FleetResult(
            gates=len(self.gates),
            connected=connected,
            planned=self.per_gate * len(self.gates),
            records=sum(self.sent.values()),
            acked=sum(self.acked.values()),
            seconds=publish_s,
            until_acked_s=until,
            kinds=dict(sorted(self.kinds.items())),
        )

    def close(self) -> None:
        for link in self.links.values():
            link.close()

    def __iter__(self) -> Iterator[str]:
        return iter(self.gates)
