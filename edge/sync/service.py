"""The gate's uplink: drains the durable outbox to central and applies signed downlink.

One worker thread owns the MQTT link and the send state. A row leaves the outbox only when
central's signed ``…/down/ack`` says it stored every record up to that seq; a PUBACK only frees
a slot in the in-flight window, and a failed PUBACK (reason ≥ 0x80, or 0x10 "no matching
subscribers") schedules a resend. Rows unacknowledged after the resend timeout (adapted to
the measured ack round trip, between ``ack_timeout_min_s`` and ``ack_timeout_s``) — and every
unacknowledged row after a reconnect or restart — are sent again; central drops duplicates.
Records made since the last connect (live) go before older ones (backlog), which drain in
batches under a records/s limit.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from edge.core.events import EventBus
from edge.core.records import EventKind, GapBody, RecordKind, SnapshotBody, on_alerts_topic
from edge.gate.credentials.trust import TrustStore, load_public_key
from edge.store.sqlite import Record, Store, is_store_fault
from edge.sync import topics
from edge.sync.acktimer import AckTimer
from edge.sync.client import (
    LinkEvent,
    LinkSettings,
    MqttLink,
    NotConnected,
    PacketTooLarge,
)
from edge.sync.downlink import DownlinkHandler
from edge.sync.lists_apply import GateHooks, push_to_gate
from edge.sync.payloads import AckBody, RecordItem, RecordsBatch
from edge.sync.settings import SyncSettings
from edge.sync.signing import Verifier

log = logging.getLogger(__name__)

LIVE_ALARMS_MAX = 256  # alarm records waiting for the worker to publish them live
RETRY_AFTER_FAILURE_S = 2.0  # resend delay after a failed PUBACK, s
IDLE_POLL_S = 0.02  # network wait when there is nothing to send, s (bounds live latency)


def _snapshot_id(r: Record) -> str:
    try:
        return SnapshotBody.read(r.body).snapshot_id
    except ValidationError:  # still sent (central keeps it), just without a JPEG
        log.error("snapshot record seq=%d has a malformed body", r.seq)
        return ""


DOWNLINK_PACKET_OVERHEAD = 4096  # bytes of MQTT fixed header, topic and properties


def link_settings(s: SyncSettings, gate_id: str) -> LinkSettings:
    """MQTT connection settings of a gate: will = retained ``offline`` status."""
    password = s.password_file.read_text().strip() if s.password_file else None
    offline = json.dumps({"v": 1, "gate": gate_id, "state": "offline"}).encode()
    return LinkSettings(
        host=s.host,
        port=s.port,
        failover=s.failover(),
        client_id=s.client_id or f"gate-{gate_id}",
        protocol=s.protocol,
        username=s.username,
        password=password,
        tls=s.tls,
        ca_file=s.ca_file,
        cert_file=s.cert_file,
        key_file=s.key_file,
        keepalive_s=s.keepalive_s,
        session_expiry_s=s.session_expiry_s,
        inflight=s.inflight,
        max_packet_bytes=s.max_packet_bytes,
        # room for the topic and properties around the largest payload we accept
        max_incoming_bytes=s.max_downlink_bytes + DOWNLINK_PACKET_OVERHEAD,
        reconnect_min_s=s.reconnect_min_s,
        reconnect_max_s=s.reconnect_max_s,
        subscriptions=tuple(topics.gate_subscriptions(gate_id)),
        will=(topics.up(gate_id, "status"), offline),
    )


def load_central_keys(paths: list[Path]) -> Verifier:
    if not paths:
        raise ValueError("sync.central_keys is empty: pin at least one central public key")
    return Verifier([load_public_key(p) for p in paths])


class SyncService:
    """``SyncService(settings, gate_id, store, events, hooks).start()`` … ``.stop()``."""

    def __init__(
        self,
        settings: SyncSettings,
        gate_id: str,
        store: Store,
        events: EventBus | None = None,
        hooks: GateHooks | None = None,
        base_trust: TrustStore | None = None,
        components: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.s = settings
        self.gate = gate_id
        self.store = store
        self.events = events
        self.hooks = hooks or GateHooks()
        self.base_trust = base_trust
        self.components = components or (lambda: {})
        self.downlink = DownlinkHandler(
            store,
            load_central_keys(self.s.central_keys),
            self.hooks,
            base_trust,
            floors={str(k): v for k, v in self.s.list_floor.items()},
            max_age_s=self.s.list_max_age_s,
        )
        self.downlink.verifier.max_bytes = self.s.max_downlink_bytes
        self.link = MqttLink(link_settings(self.s, self.gate))
        self.counters: dict[str, int] = {
            "batches": 0, "records_sent": 0, "puback_failures": 0, "acks": 0, "requeued": 0,
        }  # fmt: skip
        self.acked_upto = int(store.get_meta("acked_upto") or 0)
        self._acks = AckTimer(self.s.ack_timeout_min_s, self.s.ack_timeout_s)  # resend timeout
        self.last_ack_ts: float | None = None  # when central last acknowledged, Unix s
        self.epoch = store.epoch()
        self._inflight: dict[int, list[int]] = {}  # mid → seqs in that message
        self._live_floor = 0
        self._tokens = 0.0
        self._last_refill = time.monotonic()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Alarm records published at once on …/up/alerts, durable or not (the outbox sends
        # the record again later; central keeps one per seq). Bounded: while the link is
        # down the outbox alone carries them.
        self._live_alarms: deque[Record] = deque(maxlen=LIVE_ALARMS_MAX)
        self._store_fault = ""
        store.add_listener(self._wake.set)
        store.add_alarm_listener(self._on_alarm)

    # --- public API ----------------------------------------------------------------------

    def start(self) -> None:
        """Requeue everything unacknowledged, hand stored lists to the gate, start the worker."""
        self.counters["requeued"] += self.store.requeue_all()
        self._live_floor = self.store.max_seq()
        names = set(self.store.list_versions())
        push_to_gate(self.store, self.hooks, names, self.base_trust)
        self._thread = threading.Thread(target=self._run, name="edge-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Say ``offline`` (retained), disconnect, join the worker."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.store.remove_listener(self._wake.set)
        self.store.remove_alarm_listener(self._on_alarm)

    def _on_alarm(self, rec: Record) -> None:
        # any thread, under the store's lock: queue only, the worker publishes
        self._live_alarms.append(rec)
        self._wake.set()

    def add_snapshot(self, jpeg: bytes, ts: float, meta: dict[str, Any]) -> Record:
        """Queue a JPEG for ``…/up/snapshots/{id}``; over the cap the oldest are dropped."""
        rec = self.store.add_snapshot(jpeg, ts, meta)
        self.store.enforce_snapshot_cap(int(self.s.snapshot_cap_mb * 1e6))
        return rec

    def stats(self) -> dict[str, Any]:
        oldest = self.store.oldest_unacked_ts()
        return {
            "connected": self.link.connected,
            "protocol": self.link.protocol,
            "outbox_depth": self.store.outbox_depth(),
            "oldest_unacked_age_s": None if oldest is None else round(time.time() - oldest, 3),
            "acked_upto": self.acked_upto,
            "last_ack_ts": self.last_ack_ts,
            "list_versions": self.store.list_versions(),
            "counters": {**self.counters, **self.downlink.counters},
        }

    # --- worker --------------------------------------------------------------------------

    def _run(self) -> None:
        next_tick = 0.0
        next_beat = 0.0
        while not self._stop.is_set():
            try:
                self._publish_live_alarms()
                self._pump()
                # a full window needs no spinning: select() returns as soon as PUBACKs arrive
                timeout = 0.0 if self._wake.is_set() else IDLE_POLL_S
                self._wake.clear()
                for ev in self.link.poll(timeout):
                    self._on_event(ev)
                now = time.monotonic()
                if now >= next_tick:
                    next_tick = now + min(1.0, self._acks.timeout() / 4)
                    self._requeue_stale()
                if self.link.connected and now >= next_beat:
                    next_beat = now + self.s.heartbeat_s
                    self._heartbeat()
            except Exception as exc:  # a locked database or a bad event must not end the uplink
                if is_store_fault(exc):  # disk full, read-only…: one line per new fault
                    if str(exc) != self._store_fault:
                        log.warning("sync: the store refuses writes (%s); retrying", exc)
                    self._store_fault = str(exc)
                else:
                    log.exception("sync worker error")
                self._stop.wait(0.5)
            else:
                if self.store.durable:
                    self._store_fault = ""
        status = json.dumps({"v": 1, "gate": self.gate, "state": "offline", "ts": time.time()})
        self.link.close((topics.up(self.gate, "status"), status.encode()))

    def _requeue_stale(self) -> None:
        n = self.store.requeue_stale(time.time() - self._acks.timeout())
        if n:
            self._acks.fired()
            self.counters["requeued"] += n
            log.info("resending %d records central has not acknowledged", n)

    def _on_event(self, ev: LinkEvent) -> None:
        if ev.kind == "published":
            seqs = self._inflight.pop(ev.mid, None)
            if seqs and not ev.delivered:
                # the broker did not pass it on: try again soon, not at once (no busy loop)
                self.counters["puback_failures"] += 1
                self.store.mark_sent(
                    seqs, time.time() - self._acks.timeout() + RETRY_AFTER_FAILURE_S
                )
        elif ev.kind == "message":
            ack = self.downlink.handle(ev.topic, ev.payload)
            if ack is not None:
                self._on_ack(ack)
        elif ev.kind == "connected":
            self._inflight.clear()
            self.counters["requeued"] += self.store.requeue_all()
            self._live_floor = self.store.max_seq()
            status = {"v": 1, "gate": self.gate, "state": "online", "ts": time.time()}
            self.link.publish(
                topics.up(self.gate, "status"), json.dumps(status).encode(), retain=True
            )
            if self.events:
                self.events.publish(EventKind.SYNC, time.time(), state="online")
        elif ev.kind == "disconnected":
            self._inflight.clear()
            if self.events:
                self.events.publish(EventKind.SYNC, time.time(), state="offline")

    def _on_ack(self, ack: AckBody) -> None:
        if ack.epoch is not None and ack.epoch != self.epoch:
            # about an earlier database of this gate id (reinstall): not about our records
            self.counters["foreign_acks"] = self.counters.get("foreign_acks", 0) + 1
            return
        self.counters["acks"] += 1
        self.last_ack_ts = time.time()
        upto = min(ack.upto, self.store.max_seq())  # never trust an ack beyond what we made
        self._acks.acked(upto, time.monotonic())
        if upto > self.acked_upto:
            self.store.ack_upto(upto)
            self.acked_upto = upto
        if ack.resend:
            self.counters["requeued"] += self.store.requeue_ranges(ack.resend)

    def _publish_live_alarms(self) -> None:
        """Alarms made since the last pass, on the alerts topic now (not tracked as in
        flight: the outbox's own copy is what central acknowledges)."""
        while self._live_alarms:
            if not self.link.connected:
                self._live_alarms.clear()  # the outbox brings them once connected
                return
            rec = self._live_alarms.popleft()
            batch = RecordsBatch.model_construct(
                gate=self.gate,
                epoch=self.epoch,
                sent_at=time.time(),
                records=[RecordItem.model_construct(**rec.to_json())],
            )
            try:
                self.link.publish(topics.up(self.gate, "alerts"), batch.model_dump_json().encode())
            except (NotConnected, PacketTooLarge) as exc:
                log.warning(
                    "live alarm seq=%d not published (%s): the outbox sends it", rec.seq, exc
                )
                continue
            self.counters["live_alarms"] = self.counters.get("live_alarms", 0) + 1

    def _budget(self) -> float:
        """Token bucket for the backlog, records."""
        rate = self.s.backlog_rate
        if rate <= 0:
            return float("inf")
        now = time.monotonic()
        self._tokens = min(rate, self._tokens + (now - self._last_refill) * rate)
        self._last_refill = now
        return self._tokens

    def _pump(self) -> bool:
        """Publish while the in-flight window has room; True if more is waiting."""
        if not self.link.connected:
            return False
        n = self.s.batch_max
        while len(self._inflight) < self.link.window:
            recs = self.store.pending(n, above_seq=self._live_floor)
            if not recs:
                budget = self._budget()
                if budget < 1:
                    return False
                recs = self.store.pending(int(min(n, budget)), upto_seq=self._live_floor)
                if not recs:
                    return False
                self._tokens -= len(recs)
            try:
                self._send(recs)
            except NotConnected:
                return False
        return True

    def _send(self, recs: list[Record]) -> None:
        now = time.time()
        self.store.mark_sent([r.seq for r in recs], now)
        # perimeter alerts and door alarms on …/up/alerts (see edge.core.records.on_alerts_topic)
        alerts = [r for r in recs if on_alerts_topic(r.kind, r.body)]
        others = [r for r in recs if not on_alerts_topic(r.kind, r.body)]
        for r in others:
            if r.kind is RecordKind.SNAPSHOT:
                self._send_blob(r)
        for kind, group in (("alerts", alerts), ("records", others)):
            if group:
                self._publish_batch(topics.up(self.gate, kind), group, now)

    def _send_blob(self, r: Record) -> None:
        sid = _snapshot_id(r)
        blob, _why = self.store.snapshot_blob(sid)
        if blob is None:
            return
        try:
            self.link.publish(topics.snapshot(self.gate, sid), blob)
        except PacketTooLarge:
            self.store.drop_snapshot(sid, "oversize")

    def _publish_batch(self, topic: str, recs: list[Record], now: float) -> None:
        items = []
        for r in recs:
            item = r.to_json()
            if r.kind is RecordKind.SNAPSHOT:
                blob, why = self.store.snapshot_blob(_snapshot_id(r))
                if blob is None:
                    item["blob_dropped"] = why or "unknown"
            # built, not validated: the store's records already hold (tests check it with the
            # schemas), and validating every row again cost ~60 % more per record than the JSON
            items.append(RecordItem.model_construct(**item))
        batch = RecordsBatch.model_construct(
            gate=self.gate, epoch=self.epoch, sent_at=now, records=items
        )
        payload = batch.model_dump_json().encode()
        try:
            mid = self.link.publish(topic, payload)
        except PacketTooLarge:
            if len(recs) == 1:
                r = recs[0]
                if r.kind is RecordKind.GAP and r.body.get("reason") == "oversize":
                    log.error("stand-in for seq %d cannot fit the broker's packet size", r.seq)
                    return
                # Not resent forever: it leaves the outbox for the dead-letter table (an alert
                # record says so) and central gets a small gap record under its seq instead,
                # so its run of seqs stays contiguous and the records behind it are acked.
                log.error("record seq %d cannot fit the broker's packet size", r.seq)
                self.store.dead_letter(r.seq, "oversize", len(payload), now)
                gap = GapBody(
                    what="records",
                    reason="oversize",
                    count=1,
                    first_seq=r.seq,
                    last_seq=r.seq,
                    size=len(payload),
                )
                stand_in = Record(r.seq, r.id, RecordKind.GAP, r.ts, gap.to_json())
                self._publish_batch(topic, [stand_in], now)
                return
            half = len(recs) // 2
            self._publish_batch(topic, recs[:half], now)
            self._publish_batch(topic, recs[half:], now)
            return
        self._inflight[mid] = [r.seq for r in recs]
        self._acks.sent(self._inflight[mid], time.monotonic())
        self.counters["batches"] += 1
        self.counters["records_sent"] += len(recs)

    def _heartbeat(self) -> None:
        st = self.stats()
        beat = {
            "v": 1,
            "gate": self.gate,
            "ts": time.time(),
            "outbox_depth": st["outbox_depth"],
            "oldest_unacked_age_s": st["oldest_unacked_age_s"],
            "acked_upto": st["acked_upto"],
            "list_versions": st["list_versions"],
            "components": self.components(),
            "counters": st["counters"],
        }
        try:
            self.link.publish(topics.up(self.gate, "heartbeat"), json.dumps(beat).encode(), qos=0)
        except (NotConnected, PacketTooLarge):
            log.debug("heartbeat not sent")
