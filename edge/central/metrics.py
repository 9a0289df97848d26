"""A receiver's own metrics and liveness over HTTP: ``/metrics`` (Prometheus text) and
``/healthz`` (200 while its consumer runs, else 503), on ``--metrics-port``.

Each receiver of a group reports what *it* did (records stored per kind, batches committed,
acks sent, duplicates dropped, messages refused); what the group stored altogether is in the
database (``central stats``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import generate_latest

log = logging.getLogger(__name__)


class ReceiverMetrics:
    """Counters of one receiver process, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records = Counter(
            "edge_central_records_stored",
            "Records this receiver stored (new rows), by record kind",
            ["kind"],
            registry=r,
        )
        self.duplicates = Counter(
            "edge_central_duplicate_records",
            "Records received again that were already stored (dropped)",
            registry=r,
        )
        self.batches = Counter(
            "edge_central_batches_committed", "Transactions committed (one per flush)", registry=r
        )
        self.messages = Counter(
            "edge_central_messages", "Uplink messages handled, by topic kind", ["kind"], registry=r
        )
        self.acks = Counter("edge_central_acks_sent", "Signed acks sent to gates", registry=r)
        self.refused = Counter(
            "edge_central_messages_refused", "Messages refused, by reason", ["reason"], registry=r
        )
        self.failed = Counter(
            "edge_central_batches_failed",
            "Flushes the database refused (nothing acked; the gates resend)",
            registry=r,
        )
        self.last_commit = Gauge(
            "edge_central_last_commit_timestamp_seconds",
            "Unix time of the last committed batch (0 before the first)",
            registry=r,
        )
        self.alive = Gauge(
            "edge_central_consumer_alive", "1 while the consumer runs, else 0", registry=r
        )
        self.connected = Gauge(
            "edge_central_broker_connected", "1 while connected to the broker, else 0", registry=r
        )

    def committed(self) -> None:
        self.batches.inc()
        self.last_commit.set(time.time())

    def watch(self, alive: Callable[[], bool]) -> None:
        """``consumer_alive`` follows ``alive()`` at each scrape."""
        self.alive.set_function(lambda: 1.0 if alive() else 0.0)


class MetricsServer:
    """``/metrics`` and ``/healthz`` on a daemon thread; port 0 picks a free one."""

    def __init__(
        self, metrics: ReceiverMetrics, alive: Callable[[], bool], host: str, port: int
    ) -> None:
        registry = metrics.registry

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._reply(200, CONTENT_TYPE_LATEST, generate_latest(registry))
                elif path == "/healthz":
                    ok = alive()
                    body = b"ok\n" if ok else b"consumer dead\n"
                    self._reply(200 if ok else 503, "text/plain; charset=utf-8", body)
                else:
                    self._reply(404, "text/plain; charset=utf-8", b"not found\n")

            def _reply(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # a scrape every few seconds is not news

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self.host, self.port = host, int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="central-metrics", daemon=True
        )
        self._thread.start()
        log.info("metrics on http://%s:%d/metrics (liveness: /healthz)", host, self.port)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(2.0)
