"""Receivers of a city deployment: one quorum queue on a RabbitMQ cluster, consumed over AMQP.

Gates speak MQTT (3.1.1) to any node of the cluster; RabbitMQ's MQTT plugin publishes what
they send to the ``amq.topic`` exchange with the topic as routing key (``/`` becomes ``.``).
One durable quorum queue, bound to the gates' uplink, holds it replicated on the nodes; every
receiver consumes that one queue competitively (``edge-gate-central --transport amqp``), so a
receiver that dies leaves its unacknowledged deliveries to the others at once, and a broker
node that dies leaves the queue to the surviving majority.

Per flush: deliveries (at most ``prefetch`` unacknowledged) are stored by the transport-
independent :meth:`edge.central.receiver.Ingest.store_batch` in one transaction; then the
gates' signed acks are published to ``amq.topic`` under the routing key of each gate's MQTT
ack topic (the gate receives them over MQTT), and only then are the deliveries acknowledged.
A crash anywhere in between redelivers them; the database keeps one row per (gate, seq).

pika (the Python client RabbitMQ's own tutorials use) is imported only here and only when a receiver
runs: ``pip install 'edge-gate[central-cluster]'``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.central.db import CentralDB
from edge.central.metrics import ReceiverMetrics
from edge.central.receiver import GAP_CHECK_S, Ingest, reconnect
from edge.core.errors import InputError
from edge.sync import topics

log = logging.getLogger(__name__)
# pika logs every lost socket as an ERROR with a traceback (and each step at INFO); every
# failure reaches this module as an exception, which says it in one line
logging.getLogger("pika").setLevel(logging.CRITICAL)

EXCHANGE = "amq.topic"  # where RabbitMQ's MQTT plugin publishes (its mqtt.exchange default)
QUEUE = "edge-gate.uplink"
_SWAP = str.maketrans("/.", "./")  # the MQTT plugin swaps the two separators


class AmqpUnavailable(InputError):
    """pika is not installed, or an AMQP URL is malformed."""


def routing_key(topic: str) -> str:
    """The AMQP routing key RabbitMQ's MQTT plugin uses for an MQTT topic (or filter): the
    separators swap (``/`` ↔ ``.``) and ``+`` becomes ``*``."""
    swapped = topic.translate(_SWAP)
    return ".".join("*" if w == "+" else w for w in swapped.split("."))


def mqtt_topic(key: str) -> str:
    """The MQTT topic of a routing key the MQTT plugin made (the inverse of routing_key)."""
    return key.translate(_SWAP)


UPLINK_BINDING = routing_key(f"gate/{topics.VERSION}/+/up/#")  # gate.v1.*.up.#


@dataclass(frozen=True)
class AmqpSettings:
    """Where to consume. ``urls``: one ``amqp://user:pass@host:port/vhost`` per broker node,
    tried in turn (the first that accepts; the next after a lost connection)."""

    urls: tuple[str, ...]
    queue: str = QUEUE
    prefetch: int = 200  # unacknowledged deliveries per receiver: bounds a flush
    flush_s: float = 0.02  # longest a delivery waits for its batch commit, s
    reconnect_s: float = 1.0  # wait between rounds over every node, s
    heartbeat_s: int = 30
    username: str | None = None  # instead of the URL's (kept out of the command line)
    password: str | None = None


def _pika() -> Any:
    try:
        import pika
    except ImportError:
        raise AmqpUnavailable(
            "the AMQP transport needs pika: pip install 'edge-gate[central-cluster]'"
        ) from None
    return pika


def connection_parameters(s: AmqpSettings) -> list[Any]:
    """pika parameters of every node; raises AmqpUnavailable on a malformed URL."""
    pika = _pika()
    out = []
    for url in s.urls:
        if not url.startswith(("amqp://", "amqps://")):
            raise AmqpUnavailable(f"{url!r} is not an amqp:// or amqps:// URL")
        try:
            p = pika.URLParameters(url)
        except (ValueError, TypeError) as exc:
            raise AmqpUnavailable(f"{url!r}: {exc}") from None
        if s.username is not None:
            p.credentials = pika.PlainCredentials(s.username, s.password or "")
        p.heartbeat = s.heartbeat_s
        p.blocked_connection_timeout = 60
        p.connection_attempts = 1
        p.socket_timeout = 5
        out.append(p)
    if not out:
        raise AmqpUnavailable("no AMQP URL given")
    return out


def declare(channel: Any, queue: str) -> None:
    """The uplink queue: durable, quorum (replicated on a majority of nodes), bound to the
    gates' uplink topics. Idempotent: every receiver declares it on connecting."""
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(queue, EXCHANGE, routing_key=UPLINK_BINDING)


class AmqpReceiver:
    """Like :class:`edge.central.receiver.Receiver`, consuming the cluster's queue:
    :meth:`start`/:meth:`stop` (a thread) or :meth:`run` (blocking)."""

    def __init__(
        self,
        db_url: str,
        settings: AmqpSettings,
        key: Ed25519PrivateKey,
        gap_wait_s: float = 2.0,
        metrics: ReceiverMetrics | None = None,
    ) -> None:
        self.db_url = db_url
        self.s = settings
        self.params = connection_parameters(settings)  # fails early on a bad URL or no pika
        self.ingest = Ingest(key, gap_wait_s=gap_wait_s, metrics=metrics)
        self.metrics = metrics
        self.node = 0  # index of the node to try next
        self.connects = 0
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stored(self) -> int:
        return self.ingest.stored

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run_reporting, name="central-amqp")
        self._thread.daemon = True
        self._thread.start()

    def alive(self) -> bool:
        """Whether the consumer runs; if it died the process must exit non-zero."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run_reporting(self) -> None:
        try:
            self.run()
        except Exception as exc:
            self.error = exc
            log.exception("the receiver's consumer died")

    def run(self) -> None:
        pika = _pika()
        lost = (pika.exceptions.AMQPError, OSError)
        db = CentralDB(self.db_url)
        try:
            while not self._stop.is_set():
                conn = self._connect(pika)
                if conn is None:
                    continue
                try:
                    db = self._consume(conn, db)
                except lost as exc:
                    # unacknowledged deliveries go back to the queue (to the other receivers)
                    log.warning("AMQP connection lost (%r); reconnecting", exc)
                    self.node += 1
                finally:
                    if self.metrics:
                        self.metrics.connected.set(0)
                    with contextlib.suppress(Exception):  # already gone: nothing to close
                        conn.close()
        finally:
            with contextlib.suppress(Exception):  # may be the broken one _reopen gave up on
                db.close()

    def _connect(self, pika: Any) -> Any:
        """A connection to the next node that accepts one, or None after a round of refusals
        (having waited ``reconnect_s``)."""
        for _ in range(len(self.params)):
            p = self.params[self.node % len(self.params)]
            try:
                conn = pika.BlockingConnection(p)
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.warning("AMQP node %s:%s: %s", p.host, p.port, exc or type(exc).__name__)
                self.node += 1
                continue
            self.connects += 1
            log.info("AMQP: consuming %s on %s:%s", self.s.queue, p.host, p.port)
            return conn
        self._stop.wait(self.s.reconnect_s)
        return None

    def _consume(self, conn: Any, db: CentralDB) -> CentralDB:
        ch = conn.channel()
        declare(ch, self.s.queue)
        ch.basic_qos(prefetch_count=self.s.prefetch)
        pending: list[tuple[int, str, bytes]] = []  # (delivery tag, MQTT topic, body)

        def on_message(_ch: Any, method: Any, _props: Any, body: bytes) -> None:
            pending.append((method.delivery_tag, mqtt_topic(method.routing_key), body))

        ch.basic_consume(self.s.queue, on_message_callback=on_message, auto_ack=False)
        if self.metrics:
            self.metrics.connected.set(1)
        self.ready.set()
        first = 0.0
        next_gaps = time.monotonic() + GAP_CHECK_S
        while not self._stop.is_set():
            before = len(pending)
            conn.process_data_events(time_limit=0 if pending else self.s.flush_s)
            if pending and before == 0:
                first = time.monotonic()
            quiet = len(pending) == before
            due = time.monotonic() - first >= self.s.flush_s or quiet
            if pending and (due or len(pending) >= self.s.prefetch):
                db = self._flush(ch, db, pending)
                pending.clear()
            if time.monotonic() >= next_gaps:
                # a gap that lasted, with no later batch of that gate to carry the request
                next_gaps = time.monotonic() + GAP_CHECK_S
                db = self._gap_check(ch, db)
        return db

    def _gap_check(self, ch: Any, db: CentralDB) -> CentralDB:
        try:
            acks = self.ingest.overdue(db)
        except Exception:
            log.exception("gap check failed")
            return self._reopen(db)
        self._publish_acks(ch, acks)
        return db

    def _publish_acks(self, ch: Any, acks: list[tuple[str, bytes]]) -> None:
        props = _pika().BasicProperties(delivery_mode=2)
        for topic, payload in acks:
            ch.basic_publish(EXCHANGE, routing_key(topic), payload, props)
            if self.metrics:
                self.metrics.acks.inc()

    def _flush(self, ch: Any, db: CentralDB, pending: list[tuple[int, str, bytes]]) -> CentralDB:
        """Store, publish the acks, acknowledge the deliveries — in that order. On a database
        error the deliveries go back to the queue and the connection to the database is
        reopened; returns the connection to use next."""
        last = pending[-1][0]
        try:
            acks = self.ingest.store_batch(db, [(t, b) for _tag, t, b in pending])
        except Exception:
            log.exception("batch of %d messages not stored; requeued", len(pending))
            if self.metrics:
                self.metrics.failed.inc()
            ch.basic_nack(last, multiple=True, requeue=True)
            return self._reopen(db)
        self._publish_acks(ch, acks)
        ch.basic_ack(last, multiple=True)
        return db

    def _reopen(self, db: CentralDB) -> CentralDB:
        return reconnect(db, self.db_url, self._stop)
