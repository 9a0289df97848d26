"""Operations: retention, store schema upgrade, journald logging without secrets, metrics."""

from __future__ import annotations

import io
import logging
import os
import shutil
import sqlite3
import urllib.request
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from edge.app.config import Config
from edge.app.logsetup import setup_logging, under_systemd
from edge.app.metrics import GateMetrics, MetricsServer
from edge.app.notify import Notifier
from edge.app.secrets import with_credentials
from edge.core.events import EventBus
from edge.store.retention import cap_snapshots, purge_acknowledged, relieve_disk_pressure
from edge.store.sqlite import MIGRATIONS, Store
from edge.sync.settings import SyncSettings

DAY = 86_400.0
NOW = 1_780_000_000.0


def test_retention_purges_only_acknowledged_old_records(tmp_path: Path) -> None:
    store = Store(tmp_path / "gate.sqlite3")
    try:
        old_acked = store.append("access", NOW - 100 * DAY, {"n": 1})
        old_unacked = store.append("access", NOW - 100 * DAY, {"n": 2})
        new_acked = store.append("access", NOW - 1 * DAY, {"n": 3})
        with store.transaction() as db:  # the central platform acknowledged 1 and 3
            db.execute("DELETE FROM outbox WHERE seq IN (?, ?)", (old_acked.seq, new_acked.seq))
            db.execute("INSERT INTO used_steps VALUES ('P-1', 1, ?)", (NOW - 10 * DAY,))
            db.execute("INSERT INTO used_steps VALUES ('P-1', 2, ?)", (NOW - 60,))
        result = purge_acknowledged(store, NOW, keep_days=90, batch=1)
        left = [r.seq for r in store.records()]
        assert left == [old_unacked.seq, new_acked.seq]
        assert (result.records, result.used_steps, result.kept_unacked) == (1, 1, 1)
        assert store.outbox_depth() == 1
        # Sequence numbers keep growing after a purge (AUTOINCREMENT): no seq is ever reused.
        assert store.append("access", NOW, {"n": 4}).seq > new_acked.seq
    finally:
        store.close()


def test_snapshot_blobs_dropped_when_disk_runs_low(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "gate.sqlite3")
    try:
        for i in range(4):
            store.add_snapshot(b"\xff\xd8" + bytes(1000), NOW + i, {"camera": "c1"})
        usage = namedtuple("usage", "total used free")
        monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 0, 500))
        released = relieve_disk_pressure(store, min_free_bytes=2500)
        assert released >= 2000 and store.snapshot_bytes() <= 4 * 1002 - 2000
        gaps = [r for r in store.records() if r.kind == "gap"]
        assert gaps and all(g.body["reason"] == "disk_cap" for g in gaps)
    finally:
        store.close()


def test_snapshot_folder_capped_oldest_first(tmp_path: Path) -> None:
    folder = tmp_path / "snaps"
    folder.mkdir()
    for i in range(5):
        path = folder / f"s{i}.jpg"
        path.write_bytes(bytes(1000))
        os.utime(path, (NOW + i, NOW + i))
    (folder / "notes.txt").write_text("not a snapshot")
    assert cap_snapshots(folder, max_bytes=2500, min_free_bytes=0) == 3
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "s3.jpg", "s4.jpg"]


def test_schema_v1_database_opens_and_upgrades(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO records (id, kind, ts, body) VALUES ('u1', 'access', ?, '{}')", (NOW,))
    db.execute("INSERT INTO outbox (seq, priority) VALUES (1, 10)")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    store = Store(path)
    try:
        assert store.schema_version == len(MIGRATIONS)
        assert [r.id for r in store.records()] == ["u1"] and store.outbox_depth() == 1
        assert store.integrity_ok()
    finally:
        store.close()


@contextmanager
def kept_logging() -> Iterator[None]:
    """setup_logging replaces the root handlers: put pytest's back afterwards."""
    root, edge = logging.getLogger(), logging.getLogger("edge")
    handlers, level, edge_level = list(root.handlers), root.level, edge.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        edge.setLevel(edge_level)


def test_journal_logging_has_priorities_no_timestamps_no_secrets() -> None:
    assert under_systemd({"INVOCATION_ID": "abc"}) and not under_systemd({})
    stream = io.StringIO()
    with kept_logging():
        assert setup_logging(stream=stream, env={"JOURNAL_STREAM": "8:1234"})
        log = logging.getLogger("svc.test")
        log.warning("scanned CP1:6BFOXN*TS0BI$ZD.P9UOL97O4 for %s", "3-2-501")
        log.info("mqtt password=hunter2 token: abc.def")
        log.error(
            "key -----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----"
        )
    text = stream.getvalue()
    lines = text.splitlines()
    assert lines[0] == "<4>WARNING svc.test: scanned CP1:[redacted] for 3-2-501"
    assert lines[1].startswith("<6>INFO") and "hunter2" not in text and "abc.def" not in text
    assert "MC4CAQAw" not in text and "[redacted key]" in text


def test_terminal_logging_has_timestamps() -> None:
    stream = io.StringIO()
    with kept_logging():
        assert not setup_logging(stream=stream, env={})
        logging.getLogger("svc.test").info("hello")
    assert stream.getvalue()[:2] == "20" and "INFO svc.test: hello" in stream.getvalue()


def test_metrics_endpoint_counts_scans_by_outcome() -> None:
    metrics = GateMetrics()
    bus = EventBus()
    metrics.attach(bus)
    bus.publish("access", NOW, allow=True, reasons=[])
    bus.publish("access", NOW, allow=False, reasons=["expired", "revoked"])
    bus.publish("access", NOW, allow=False, reasons=["expired"])
    bus.publish("door", NOW, event="opened")
    metrics.decision_latency.observe(0.12)
    metrics.camera_fps.labels(camera="gate").set(14.5)
    metrics.outbox_depth.set(3)
    server = MetricsServer(metrics, "127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            body = resp.read().decode()
    finally:
        server.close()
    assert 'edge_gate_scans_total{outcome="allow",reason="none"} 1.0' in body
    assert 'edge_gate_scans_total{outcome="deny",reason="expired"} 2.0' in body
    assert "edge_gate_decision_latency_seconds_count 1.0" in body
    assert 'edge_gate_camera_fps{camera="gate"} 14.5' in body
    assert "edge_gate_outbox_depth 3.0" in body
    assert "edge_gate_oldest_unacked_age_seconds" in body


def test_notifier_addresses_and_watchdog_interval() -> None:
    assert Notifier({"NOTIFY_SOCKET": "@edge/notify"}).address == "\0edge/notify"
    assert Notifier({"NOTIFY_SOCKET": "/run/x.sock"}).address == "/run/x.sock"
    quiet = Notifier({})
    assert not quiet.enabled and quiet.send(status="x") is False  # outside systemd: no-op
    env = {"NOTIFY_SOCKET": "/run/x.sock", "WATCHDOG_USEC": "30000000"}
    assert Notifier(env).watchdog_interval_s == 15.0  # half of WatchdogSec=30
    other = {**env, "WATCHDOG_PID": str(os.getpid() + 1)}  # meant for another process
    assert Notifier(other).watchdog_interval_s == Notifier({}).watchdog_interval_s


def test_notifier_survives_a_vanished_socket(tmp_path: Path) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert notifier.send(status="x") is False and notifier.watchdog() is False


def test_secrets_come_from_the_systemd_credentials_directory(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "secrets_mqtt-password").write_text("s3cret")
    config = Config(
        sync=SyncSettings(password_file=Path("/etc/edge-gate/secrets/mqtt-password")),
        health=Config().health.model_copy(update={"token_file": Path("/etc/edge-gate/no")}),
    )
    env = {"CREDENTIALS_DIRECTORY": str(creds)}
    resolved = with_credentials(config, env)
    assert resolved.sync.password_file == creds / "secrets_mqtt-password"
    assert resolved.health.token_file == Path("/etc/edge-gate/no")  # no credential: unchanged
    assert with_credentials(config, {}) is config  # outside systemd nothing changes
