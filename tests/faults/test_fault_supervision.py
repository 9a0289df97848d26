"""Each supervised part's state is reported where a technician looks: ``/metrics``
(``edge_gate_worker_state``, ``edge_gate_worker_restarts_total``), ``edge-gate doctor`` (and
its ``--json``), the status line; and the sweep worker keeps the console's in-memory maps
from growing.

Before issue 16 none of these showed the workers (a failed part was only a line of the status
text), and console sessions and login-throttle entries stayed in memory until the same token
or name came back.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from configkit import write_config
from faultkit import (
    EDGE_GATE,
    GateRun,
    NotifyListener,
    Pass,
    base_config,
    code_folder,
    every,
    wait_until,
)
from gpiozero.pins.mock import MockFactory
from prometheus_client.parser import text_string_to_metric_families

from edge.app.notify import Notifier
from edge.app.service import Service
from edge.console.auth import User


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_worker_states_in_metrics_doctor_and_status(
    tmp_path: Path, signed_pass: Pass, gate_run: Callable[..., GateRun], notify: NotifyListener
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))  # the console's port is in use: that part fails to start
    taken.listen(1)
    metrics_port = free_port()
    camera = code_folder(tmp_path / "cam", every(signed_pass.text, 20, 40))
    sections = base_config(
        tmp_path,
        signed_pass,
        camera,
        tmp_path / "gate.sqlite3",
        metrics={"enabled": True, "port": metrics_port},
        console={"enabled": True, "port": taken.getsockname()[1], "bind_retry_s": 0.0},
    )
    gate = gate_run(sections)
    try:
        notify.wait_for("READY", "1")
        status = notify.wait_for("STATUS", "console")["STATUS"]
        assert "DEGRADED" in status and "restarts: console 1" in status, status
        samples = scrape(metrics_port)

        def state(worker: str, s: str) -> float | None:
            return samples.get(("edge_gate_worker_state", (("state", s), ("worker", worker))))

        assert state("store writer", "running") == 1.0
        assert state("housekeeping", "running") == 1.0
        assert state("sweep", "running") == 1.0
        assert state("console", "failed") == 1.0 and state("console", "running") == 0.0
        # a folder camera reopened at its end may be between two openings: either state
        assert (state("camera gate", "running"), state("camera gate", "reconnecting")) in (
            (1.0, 0.0),
            (0.0, 1.0),
        )
        assert samples[("edge_gate_worker_restarts_total", (("worker", "console"),))] >= 1

        out = subprocess.run(
            [str(EDGE_GATE), "doctor", "--config", str(gate.config), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        report = json.loads(out.stdout)
        workers = {w["name"]: w for w in report["workers"]}
        assert workers["console"]["state"] == "failed"
        assert workers["store writer"]["state"] == "running"
        service = next(c for c in report["checks"] if c["name"] == "service")
        assert service["status"] == "warn" and "console failed" in service["detail"]
        assert gate.stop() == 0
    finally:
        taken.close()


def test_the_sweep_worker_empties_expired_sessions_and_throttle_entries(
    tmp_path: Path, signed_pass: Pass, restore_signals: None
) -> None:
    sections = base_config(tmp_path, signed_pass, tmp_path, tmp_path / "gate.sqlite3")
    sections["camera"] = {"source": str(code_folder(tmp_path / "cam", [None] * 10))}
    sections["console"] = {"enabled": True, "port": 0}
    config = write_config(tmp_path / "gate.toml", sections)
    service = Service(config, Notifier({}), pin_factory=MockFactory())
    seen: dict[str, Any] = {}

    def drive() -> None:
        try:
            wait_until("the console", lambda: _console(service) is not None, timeout=30)
            console = _console(service)
            now = [time.monotonic()]
            console.sessions.clock = console.throttle.clock = lambda: now[0]
            for i in range(200):
                console.sessions.create(User(f"guard{i}", "guard", "en"))
                console.throttle.failed(f"name{i}", f"10.0.0.{i % 250}")
            seen["before"] = (len(console.sessions), len(console.throttle))
            kept = console.sessions.create(User("on-duty", "guard", "en"))
            now[0] += console.settings.session_idle_s - 1
            console.sessions.get(kept.token)  # still in use: must survive the sweep
            now[0] += max(console.settings.lockout_s, console.settings.login_window_s) + 2
            console.sessions.get(kept.token)
            sweep = next(w for w in service.workers if w.name == "sweep")
            sweep.kick()
            wait_until("the sweep", lambda: len(console.sessions) == 1, timeout=10)
            seen["after"] = (len(console.sessions), len(console.throttle))
            seen["kept"] = console.sessions.get(kept.token) is not None
            rows = console.ctx.health()["workers"]  # the console's Health page
            seen["health"] = {r["name"]: r["state"] for r in rows}
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=drive)
    helper.start()
    assert service.run() == 0
    helper.join()
    assert seen["before"][0] == 200 and seen["before"][1] >= 200, seen
    assert seen["after"] == (1, 0), seen
    assert seen["kept"]
    assert seen["health"]["sweep"] == "running" and seen["health"]["console"] == "running"
    assert seen["health"]["store writer"] == "running"


def _console(service: Service) -> Any:
    for c in service.components:
        if c.name == "console" and hasattr(c, "server"):
            return c.server.console
    return None
