"""The reference receiver: ``edge-gate central --db URL``.

Subscribes to every gate's uplink through a shared subscription (several receivers on one
database split the load), stores records once per (gate, seq), and after each committed batch
sends every touched gate a signed ack with its highest contiguous seq. A gap that persists
for ``gap_wait_s`` is named in the ack so the gate resends it at once.

The storing half is transport-independent: :meth:`Ingest.store_batch` takes uplink messages as
(MQTT topic, payload) pairs, commits them in one transaction and returns the signed acks to
send; :class:`Receiver` feeds it from MQTT, another transport (a broker queue over AMQP) can
feed it the same way.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from edge.central.db import CentralDB, record_day
from edge.central.metrics import ReceiverMetrics
from edge.central.publisher import ListFolder, ack_message
from edge.core.records import RecordKind, SnapshotBody
from edge.sync import topics
from edge.sync.client import LinkEvent, LinkSettings, MqttLink, NotConnected
from edge.sync.payloads import (
    Heartbeat,
    RecordItem,
    RecordsBatch,
    Status,
    UnsupportedVersion,
    parse_message,
)

log = logging.getLogger(__name__)

FLUSH_S = 0.02  # longest a received message waits for its batch commit, s
FLUSH_MAX = 200  # messages per commit
GAP_CHECK_S = 0.5  # how often gaps without later traffic are looked at, s
_KINDS = frozenset(k.value for k in RecordKind)


def _waits_for_blob(db: CentralDB, gate: str, r: RecordItem) -> bool:
    """A snapshot record whose JPEG has not arrived (and is not reported dropped)."""
    if r.kind != RecordKind.SNAPSHOT:
        return False
    try:
        snap = SnapshotBody.read(r.body)
    except ValidationError:  # malformed: stored as it came, there is nothing to wait for
        return False
    return snap.blob_dropped is None and not db.has_blob(gate, snap.snapshot_id)


def reconnect(db: CentralDB, url: str, stop: threading.Event) -> CentralDB:
    """A fresh connection in place of a broken one, retried every 2 s until ``stop``."""
    with contextlib.suppress(Exception):  # already broken: nothing to close cleanly
        db.close()
    while not stop.is_set():
        try:
            return CentralDB(url)
        except Exception as exc:
            log.error("database unavailable (%s); retrying in 2 s", exc)
            stop.wait(2.0)
    return db


class Ingest:
    """Stores uplink messages and builds the acks: the receiver without its transport.

    ``store_batch`` is called by one thread at a time (one per receiver); receivers of a group
    each have their own ``Ingest`` and database connection."""

    def __init__(
        self,
        key: Ed25519PrivateKey,
        gap_wait_s: float = 2.0,
        metrics: ReceiverMetrics | None = None,
    ) -> None:
        self.key = key
        self.gap_wait_s = gap_wait_s
        self.metrics = metrics
        self.stored = 0
        self.duplicates_seen = 0
        self.refused: dict[str, int] = {}  # messages refused, by reason
        self._gap_since: dict[str, float] = {}
        self._last_resend: dict[str, float] = {}

    def store_batch(
        self, db: CentralDB, messages: Sequence[tuple[str, bytes]], now: float | None = None
    ) -> list[tuple[str, bytes]]:
        """Store uplink ``messages`` — (``gate/v1/{gate}/up/…`` topic, payload) in arrival
        order — in one transaction and return the signed acks, as (topic, payload), to publish
        **after** this returns (the records are committed by then). A message that is refused
        (malformed, unsupported version) is counted and not acked; a database error raises
        with nothing acked, so the gates resend."""
        now = time.time() if now is None else now
        parsed = [(p, payload) for topic, payload in messages if (p := topics.parse_up(topic))]
        # Parse the records first: their days' partitions are created before the batch's
        # transaction takes any gate lock (see CentralDB.ensure_days).
        batches: dict[int, RecordsBatch | Exception] = {}
        for i, ((_gate, kind, _sid), payload) in enumerate(parsed):
            if kind in ("records", "alerts"):
                try:
                    batches[i] = parse_message(RecordsBatch, payload)
                except (UnsupportedVersion, ValidationError, ValueError) as exc:
                    batches[i] = exc
        db.ensure_days(
            {record_day(r.ts) for b in batches.values() if isinstance(b, RecordsBatch)
             for r in b.records}
        )  # fmt: skip
        # Every receiver of the group takes its gates' locks first, in the same (sorted) order,
        # so two batches that touch the same gates wait for each other instead of deadlocking;
        # the sort is stable, so each gate's messages keep their order.
        order = sorted(range(len(parsed)), key=lambda i: parsed[i][0][0])
        for gate in sorted({p[0] for p, _ in parsed}):
            db.lock_gate(gate)
            db.ensure_gate(gate)
        touched: set[str] = set()
        pending: dict[str, list[RecordItem]] = {}
        for i in order:
            (gate, kind, sid), payload = parsed[i]
            if self.metrics:
                self.metrics.messages.labels(kind=kind).inc()
            try:
                if kind in ("records", "alerts"):
                    batch = batches[i]
                    if isinstance(batch, Exception):
                        raise batch
                    self._records(db, gate, batch, pending)
                    touched.add(gate)
                elif kind == "snapshots" and sid is not None:
                    db.store_blob(gate, sid, payload, now)
                elif kind == "heartbeat":
                    parse_message(Heartbeat, payload)
                    db.note(gate, "heartbeat", payload.decode())
                elif kind == "status" and payload:
                    db.note(gate, "status", parse_message(Status, payload).state)
            except UnsupportedVersion as exc:  # not acked: a newer receiver of the group may be
                log.warning("refused message on %s: %s: %s", gate, exc.reason, exc)
                self._refuse(db, gate, exc.reason)
            except (ValidationError, ValueError) as exc:
                log.warning("refused message on %s/%s: malformed: %s", gate, kind, str(exc)[:200])
                self._refuse(db, gate, "malformed")
        self._insert(db, pending, now)
        db.commit()
        acks = []
        for gate in sorted(touched):
            # the commit released the gate locks: without them this update of ``gates`` rows
            # can meet another receiver's insert, which moves ``top`` in no set order (deadlock)
            db.lock_gate(gate)
            contig, gaps = db.advance(gate)
            acks.append((gate, contig, self._resend(db, gate, gaps), db.epoch_of(gate)))
        db.commit()  # acks go out only after the records are on disk
        if self.metrics:
            self.metrics.committed()
        return [ack_message(self.key, g, upto, resend, epoch) for g, upto, resend, epoch in acks]

    def overdue(self, db: CentralDB) -> list[tuple[str, bytes]]:
        """Acks naming the gaps that have lasted ``gap_wait_s`` at gates this receiver saw a
        gap at, also when no later batch of theirs arrives (a receiver of the group died with
        the gate's last batches: only this brings them back before the gate's own timeout).
        Call it every second or so; publish what it returns."""
        now = time.monotonic()
        due = [
            g
            for g, since in self._gap_since.items()
            if now - since >= self.gap_wait_s
            and now - self._last_resend.get(g, 0.0) >= self.gap_wait_s
        ]
        acks = []
        for gate in sorted(due):
            db.lock_gate(gate)
            contig, gaps = db.advance(gate)
            resend = self._resend(db, gate, gaps)
            if resend:
                acks.append(ack_message(self.key, gate, contig, resend, db.epoch_of(gate)))
        db.commit()
        return acks

    def _refuse(self, db: CentralDB, gate: str, reason: str) -> None:
        db.note(gate, "rejected")
        self.refused[reason] = self.refused.get(reason, 0) + 1
        if self.metrics:
            self.metrics.refused.labels(reason=reason).inc()

    def _records(
        self,
        db: CentralDB,
        gate: str,
        batch: RecordsBatch,
        pending: dict[str, list[RecordItem]],
    ) -> None:
        if batch.gate != gate:
            raise ValueError(f"batch for {batch.gate} published on {gate}'s topic")
        if batch.epoch is not None and batch.epoch != db.epoch_of(gate):
            # a reinstalled gate: what is pending belongs to the epoch being archived
            self._insert(db, {gate: pending.pop(gate, [])}, time.time())
            if not db.check_epoch(gate, batch.epoch):
                log.info("ignored a late batch from a retired database of %s", gate)
                return
        # a snapshot record is not stored until its JPEG is: the gate will resend both
        items = [r for r in batch.records if not _waits_for_blob(db, gate, r)]
        pending.setdefault(gate, []).extend(items)

    def _insert(self, db: CentralDB, pending: dict[str, list[RecordItem]], now: float) -> None:
        """All the flush's records in one multi-row insert."""
        total = sum(len(v) for v in pending.values())
        if not total:
            return
        kinds = db.store_many(pending, now)
        new = sum(kinds.values())
        self.stored += new
        self.duplicates_seen += total - new
        if self.metrics:
            self.metrics.duplicates.inc(total - new)
            for k, n in kinds.items():
                # a kind this version does not know is "other": a gate cannot grow the
                # receiver's label sets without bound
                self.metrics.records.labels(kind=k if k in _KINDS else "other").inc(n)
        pending.clear()

    def _resend(
        self, db: CentralDB, gate: str, gaps: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        """Ask for missing ranges once a gap has lasted ``gap_wait_s`` (then at most that often)."""
        now = time.monotonic()
        if not gaps:
            self._gap_since.pop(gate, None)
            return []
        since = self._gap_since.setdefault(gate, now)
        if (
            now - since < self.gap_wait_s
            or now - self._last_resend.get(gate, 0.0) < self.gap_wait_s
        ):
            return []
        self._last_resend[gate] = now
        db.note(gate, "resend_requests")
        return gaps


class Receiver:
    """Run with :meth:`start`/:meth:`stop` (a thread) or :meth:`run` (blocking)."""

    def __init__(
        self,
        db_url: str,
        link: LinkSettings,
        key: Ed25519PrivateKey,
        lists_dir: Path | None = None,
        gap_wait_s: float = 2.0,
        group: str = topics.SHARE_GROUP,
        metrics: ReceiverMetrics | None = None,
    ) -> None:
        self.db_url = db_url
        self.link_settings = LinkSettings(
            **{**link.__dict__, "subscriptions": (topics.central_subscription(group),)}
        )
        self.key = key
        self.lists = ListFolder(lists_dir, key) if lists_dir else None
        self.metrics = metrics
        self.ingest = Ingest(key, gap_wait_s, metrics)
        if metrics:
            metrics.watch(self.alive)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()
        self.error: BaseException | None = None

    @property
    def stored(self) -> int:
        """Records this receiver stored (new rows)."""
        return self.ingest.stored

    @property
    def duplicates_seen(self) -> int:
        return self.ingest.duplicates_seen

    @property
    def refused(self) -> dict[str, int]:
        """Messages refused, by reason."""
        return self.ingest.refused

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run_reporting, name="central-receiver")
        self._thread.daemon = True
        self._thread.start()

    def alive(self) -> bool:
        """Whether the consumer is running; a receiver whose consumer died must exit non-zero
        so that its supervisor restarts it (its share goes to the others meanwhile)."""
        return self._thread is not None and self._thread.is_alive()

    def _run_reporting(self) -> None:
        try:
            self.run()
        except Exception as exc:
            self.error = exc
            log.exception("the receiver's consumer died")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        db = CentralDB(self.db_url)
        link = MqttLink(self.link_settings)
        pending: list[LinkEvent] = []
        first = 0.0
        next_lists = 0.0
        next_gaps = 0.0
        try:
            while not self._stop.is_set():
                evs = link.poll(0.0 if pending else FLUSH_S)
                for ev in evs:
                    if ev.kind in ("connected", "disconnected") and self.metrics:
                        self.metrics.connected.set(1 if ev.kind == "connected" else 0)
                    if ev.kind == "connected":
                        self.ready.set()
                        next_lists = 0.0
                        if self.lists:
                            self.lists.reset()  # a restarted broker may have lost retained lists
                    elif ev.kind == "message":
                        if not pending:
                            first = time.monotonic()
                        pending.append(ev)
                due = pending and (time.monotonic() - first >= FLUSH_S or not evs)
                if pending and (due or len(pending) >= FLUSH_MAX):
                    db = self._safe_flush(db, link, pending)
                    pending = []
                if link.connected and time.monotonic() >= next_gaps:
                    next_gaps = time.monotonic() + GAP_CHECK_S
                    db = self._safe(db, link, self.ingest.overdue, "gap check")
                if self.lists and link.connected and time.monotonic() >= next_lists:
                    next_lists = time.monotonic() + 5.0
                    for topic, payload in self.lists.changed():
                        try:
                            link.publish(topic, payload, retain=True)
                        except (NotConnected, ValueError) as exc:
                            log.error("list not published on %s: %s", topic, exc)
                            self.lists.reset()  # try them all again next round
        finally:
            link.close()
            db.close()

    def _safe_flush(self, db: CentralDB, link: MqttLink, evs: list[LinkEvent]) -> CentralDB:
        """Flush; on a database error nothing is acked (the gates resend) and the connection
        is reopened. Returns the connection to use next."""
        return self._safe(
            db,
            link,
            lambda d: self.ingest.store_batch(d, [(ev.topic, ev.payload) for ev in evs]),
            f"batch of {len(evs)} messages",
        )

    def _safe(
        self,
        db: CentralDB,
        link: MqttLink,
        work: Callable[[CentralDB], list[tuple[str, bytes]]],
        what: str,
    ) -> CentralDB:
        """Run ``work`` and publish the acks it returns; on a database error nothing is acked
        (the gates resend) and the connection is reopened. Returns the connection to use."""
        try:
            self._publish_acks(link, work(db))
            return db
        except Exception:
            log.exception("%s not stored; gates will resend it", what)
            if self.metrics:
                self.metrics.failed.inc()
        return reconnect(db, self.db_url, self._stop)

    def _publish_acks(self, link: MqttLink, acks: list[tuple[str, bytes]]) -> None:
        for topic, payload in acks:
            try:
                link.publish(topic, payload)
            except NotConnected:
                log.warning("ack on %s not sent (disconnected); the gate will resend", topic)
                continue
            if self.metrics:
                self.metrics.acks.inc()
