"""Prometheus metrics of a running gate, served over HTTP by prometheus-client.

What an operator watches on a dashboard: scans by outcome, how long a decision takes, the
detector's cost, whether records leave the gate (outbox depth, age of the oldest record not
yet acknowledged by the central platform) and whether each camera delivers frames.

Labels never carry personal data or codes: outcomes are ``allow``/``deny`` plus the first
reason code (a fixed vocabulary), cameras are named by their config name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from edge.core.events import Event, EventBus
from edge.core.records import EventKind

log = logging.getLogger(__name__)

# Frame-to-decision latency buckets, seconds: the door should answer well under a second.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 2.0, 5.0)
DETECTOR_BUCKETS_MS = (5, 10, 25, 50, 100, 200, 400, 800, 1600)


class GateMetrics:
    """The gate's metrics in their own registry (several gates can live in one test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.scans = Counter(
            "edge_gate_scans",
            "Access decisions by outcome and first reason code",
            ["outcome", "reason"],
            registry=r,
        )
        self.decision_latency = Histogram(
            "edge_gate_decision_latency_seconds",
            "Time from frame capture to a durable decision, seconds",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.detector_ms = Histogram(
            "edge_gate_detector_milliseconds",
            "Person detector inference time per frame, milliseconds",
            buckets=DETECTOR_BUCKETS_MS,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "edge_gate_outbox_depth",
            "Records waiting to be synced to the central platform",
            registry=r,
        )
        self.oldest_unacked = Gauge(
            "edge_gate_oldest_unacked_age_seconds",
            "Age of the oldest record not yet acknowledged by the central platform, seconds "
            "(0 when none)",
            registry=r,
        )
        self.camera_fps = Gauge(
            "edge_gate_camera_fps",
            "Frames per second delivered by each camera",
            ["camera"],
            registry=r,
        )
        self.camera_alive = Gauge(
            "edge_gate_camera_alive",
            "1 while the camera delivers frames, else 0",
            ["camera"],
            registry=r,
        )
        self.healthy = Gauge(
            "edge_gate_healthy", "1 while the service is healthy (watchdog fed), else 0", registry=r
        )
        self.reloads = Counter(
            "edge_gate_config_reloads", "Config reloads by result", ["result"], registry=r
        )

    def watch_workers(self, states: Callable[[], list[dict[str, Any]]]) -> None:
        """Export each supervised part's state and restarts, read at every scrape from
        ``states()`` (``{"name", "state", "restarts", ...}`` dicts, see
        :meth:`edge.app.service.Service.worker_states`)."""
        self.registry.register(_WorkerCollector(states))

    def attach(self, events: EventBus) -> None:
        """Count every ``access`` event the gate publishes (called on the gate's thread)."""
        events.on(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.kind is not EventKind.ACCESS:
            return
        reasons = event.data.get("reasons") or []
        outcome = "allow" if event.data.get("allow") else "deny"
        self.scans.labels(outcome=outcome, reason=str(reasons[0]) if reasons else "none").inc()


# Every state a part can report (one gauge sample each: 1 for the current one, 0 otherwise).
WORKER_STATES = (
    "running", "backoff", "stalled", "stopped", "degraded", "failed", "reconnecting",
)  # fmt: skip


class _WorkerCollector(Collector):
    """``edge_gate_worker_state{worker, state}`` and ``edge_gate_worker_restarts_total``."""

    def __init__(self, states: Callable[[], list[dict[str, Any]]]) -> None:
        self._states = states

    def describe(self) -> Iterable[Metric]:
        return []  # read at scrape time only: nothing is known at registration

    def collect(self) -> Iterable[Metric]:
        try:
            rows = self._states()
        except Exception:  # a scrape must not fail because one part could not be read
            log.exception("metrics: worker states not available")
            rows = []
        state = GaugeMetricFamily(
            "edge_gate_worker_state",
            "1 for the state each supervised part is in (worker, component, camera), else 0",
            labels=["worker", "state"],
        )
        restarts = CounterMetricFamily(
            "edge_gate_worker_restarts",
            "Times each supervised part failed and was started again",
            labels=["worker"],
        )
        for row in rows:
            name, current = str(row.get("name", "")), str(row.get("state", ""))
            for s in WORKER_STATES if current in WORKER_STATES else (*WORKER_STATES, current):
                state.add_metric([name, s], 1.0 if s == current else 0.0)
            restarts.add_metric([name], float(row.get("restarts") or 0))
        yield state
        yield restarts


class MetricsServer:
    """The HTTP endpoint (``/metrics``) on its own daemon thread."""

    def __init__(self, metrics: GateMetrics, host: str, port: int) -> None:
        self._httpd: Any
        self._httpd, self._thread = start_http_server(port, addr=host, registry=metrics.registry)
        self.host, self.port = host, int(self._httpd.server_port)
        log.info("metrics on http://%s:%d/metrics", host, self.port)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(2.0)


__all__ = ["WORKER_STATES", "GateMetrics", "MetricsServer"]
