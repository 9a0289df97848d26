"""The reference receiver: ``edge-gate central --db URL``.

Subscribes to every gate's uplink through a shared subscription (several receivers on one
database split the load), stores records once per (gate, seq), and after each committed batch
sends every touched gate a signed ack with its highest contiguous seq. A gap that persists
for ``gap_wait_s`` is named in the ack so the gate resends it at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from edge.central.db import CentralDB
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


def _waits_for_blob(db: CentralDB, gate: str, r: RecordItem) -> bool:
    """A snapshot record whose JPEG has not arrived (and is not reported dropped)."""
    if r.kind != RecordKind.SNAPSHOT:
        return False
    try:
        snap = SnapshotBody.read(r.body)
    except ValidationError:  # malformed: stored as it came, there is nothing to wait for
        return False
    return snap.blob_dropped is None and not db.has_blob(gate, snap.snapshot_id)


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
    ) -> None:
        self.db_url = db_url
        self.link_settings = LinkSettings(
            **{**link.__dict__, "subscriptions": (topics.central_subscription(group),)}
        )
        self.key = key
        self.lists = ListFolder(lists_dir, key) if lists_dir else None
        self.gap_wait_s = gap_wait_s
        self.stored = 0
        self.duplicates_seen = 0
        self.refused: dict[str, int] = {}  # messages refused, by reason
        self._gap_since: dict[str, float] = {}
        self._last_resend: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()
        self.error: BaseException | None = None

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
        try:
            while not self._stop.is_set():
                evs = link.poll(0.0 if pending else FLUSH_S)
                for ev in evs:
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
        try:
            self._flush(db, link, evs)
            return db
        except Exception:
            log.exception("batch of %d messages not stored; gates will resend it", len(evs))
        with contextlib.suppress(Exception):  # already broken: nothing to close cleanly
            db.close()
        while not self._stop.is_set():
            try:
                return CentralDB(self.db_url)
            except Exception as exc:
                log.error("database unavailable (%s); retrying in 2 s", exc)
                self._stop.wait(2.0)
        return db

    def _flush(self, db: CentralDB, link: MqttLink, evs: list[LinkEvent]) -> None:
        now = time.time()
        touched: set[str] = set()
        parsed_evs = [(p, ev) for ev in evs if (p := topics.parse_up(ev.topic)) is not None]
        # Every receiver of the group takes its gates' locks first, in the same (sorted) order,
        # so two batches that touch the same gates wait for each other instead of deadlocking;
        # the sort is stable, so each gate's messages keep their order.
        parsed_evs.sort(key=lambda pe: pe[0][0])
        for gate in sorted({p[0] for p, _ in parsed_evs}):
            db.lock_gate(gate)
            db.ensure_gate(gate)
        for (gate, kind, sid), ev in parsed_evs:
            try:
                if kind in ("records", "alerts"):
                    self._records(db, gate, ev.payload, now)
                    touched.add(gate)
                elif kind == "snapshots" and sid is not None:
                    db.store_blob(gate, sid, ev.payload, now)
                elif kind == "heartbeat":
                    parse_message(Heartbeat, ev.payload)
                    db.note(gate, "heartbeat", ev.payload.decode())
                elif kind == "status" and ev.payload:
                    db.note(gate, "status", parse_message(Status, ev.payload).state)
            except UnsupportedVersion as exc:  # not acked: a newer receiver of the group may be
                log.warning("refused message on %s: %s: %s", ev.topic, exc.reason, exc)
                db.note(gate, "rejected")
                self.refused[exc.reason] = self.refused.get(exc.reason, 0) + 1
            except (ValidationError, ValueError) as exc:
                log.warning("refused message on %s: malformed: %s", ev.topic, str(exc)[:200])
                db.note(gate, "rejected")
                self.refused["malformed"] = self.refused.get("malformed", 0) + 1
        db.commit()
        acks = []
        for gate in sorted(touched):
            contig, gaps = db.advance(gate)
            acks.append((gate, contig, self._resend(db, gate, gaps), db.epoch_of(gate)))
        db.commit()  # acks go out only after the records are on disk
        for gate, contig, resend, epoch in acks:
            topic, payload = ack_message(self.key, gate, contig, resend, epoch)
            try:
                link.publish(topic, payload)
            except NotConnected:
                log.warning("ack to %s not sent (disconnected); the gate will resend", gate)

    def _records(self, db: CentralDB, gate: str, payload: bytes, now: float) -> None:
        batch = parse_message(RecordsBatch, payload)
        if batch.gate != gate:
            raise ValueError(f"batch for {batch.gate} published on {gate}'s topic")
        if batch.epoch is not None and not db.check_epoch(gate, batch.epoch):
            log.info("ignored a late batch from a retired database of %s", gate)
            return
        # a snapshot record is not stored until its JPEG is: the gate will resend both
        items = [r for r in batch.records if not _waits_for_blob(db, gate, r)]
        db.store_records(gate, items, now)
        self.stored += len(items)

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
