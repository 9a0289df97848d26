"""A receiver's own ``/metrics`` and ``/healthz`` over HTTP: a real receiver process stores a
gate's records and says what it stored per kind, its batches, acks and duplicates; a receiver
whose consumer died answers 503 and ``consumer_alive 0``."""

from __future__ import annotations

import shutil
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import ReceiverProcess, central_link, gate_config, service_for, wait_for

from edge.central.metrics import MetricsServer, ReceiverMetrics
from edge.central.receiver import Receiver
from edge.store.sqlite import Store
from edge.tools.loadgen import generate
from edge.tools.localbroker import Broker, free_port


def scrape(port: int, path: str = "/metrics") -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()
    except urllib.error.URLError:  # not listening (yet)
        return 0, ""


def samples(text: str) -> dict[str, float]:
    """``name{labels}`` → value of every sample line."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_a_receiver_reports_what_it_stored_over_http(
    broker: Broker,
    central_key: tuple[Ed25519PrivateKey, Path],
    central_private: Path,
    tmp_path: Path,
) -> None:
    port = free_port()
    db = tmp_path / "central.sqlite3"
    r = ReceiverProcess(
        broker, central_private, str(db), 1, tmp_path / "r.log", "--metrics-port", str(port)
    )
    store = Store(tmp_path / "gate-b.sqlite3")
    generate(store, "gate-b", 600, alert_every=50)
    store.epoch()  # made now, so the backup is of the same database (not a reinstall)
    store.close()
    # the same gate restored from a backup later resends every record: duplicates
    shutil.copy(tmp_path / "gate-b.sqlite3", tmp_path / "backup.sqlite3")
    store = Store(tmp_path / "gate-b.sqlite3")
    svc = None
    try:
        wait_for(lambda: scrape(port, "/healthz")[0] == 200, 30, "the receiver's /healthz")
        m = samples(scrape(port)[1])
        assert m["edge_central_consumer_alive"] == 1.0
        assert m["edge_central_last_commit_timestamp_seconds"] == 0.0
        cfg = gate_config(broker, central_key[1], "gate-b", tmp_path / "g", batch_max=50)
        svc = service_for(cfg, store)
        svc.start()
        wait_for(lambda: store.outbox_depth() == 0, 60, "the gate drained")
        svc.stop()
        store.close()
        store = Store(tmp_path / "backup.sqlite3")
        svc = service_for(cfg, store)
        svc.start()
        wait_for(lambda: store.outbox_depth() == 0, 60, "the restored gate drained")
        m = samples(scrape(port)[1])
    finally:
        if svc is not None:
            svc.stop()
        store.close()
        code = r.stop()
    assert code == 0, r.log.read_text()
    with sqlite3.connect(db) as conn:
        per_kind = dict(conn.execute("SELECT kind, count(*) FROM records GROUP BY kind"))
    assert sum(per_kind.values()) == 600
    for kind, n in per_kind.items():
        assert m[f'edge_central_records_stored_total{{kind="{kind}"}}'] == n, kind
    # what the restored gate sent before central's first ack (up to 600) emptied its outbox
    assert m["edge_central_duplicate_records_total"] >= 40
    assert m["edge_central_batches_committed_total"] >= 1
    assert m["edge_central_acks_sent_total"] >= 1
    assert m['edge_central_messages_total{kind="records"}'] >= 12
    assert time.time() - 120 < m["edge_central_last_commit_timestamp_seconds"] <= time.time()
    assert m["edge_central_broker_connected"] == 1.0
    assert m["edge_central_consumer_alive"] == 1.0


def test_a_dead_consumer_answers_503(
    broker: Broker, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "not-a-dir"
    bad.write_text("a file where the database's folder should be")
    metrics = ReceiverMetrics()
    rec = Receiver(
        str(bad / "c.sqlite3"), central_link(broker, client_id="central-m"), central_key[0],
        metrics=metrics,
    )  # fmt: skip
    server = MetricsServer(metrics, rec.alive, "127.0.0.1", 0)
    try:
        rec.start()
        wait_for(lambda: not rec.alive(), 20, "the consumer to die")
        code, body = scrape(server.port, "/healthz")
        assert code == 503 and "dead" in body
        assert samples(scrape(server.port)[1])["edge_central_consumer_alive"] == 0.0
        assert scrape(server.port, "/nope")[0] == 404
    finally:
        rec.stop()
        server.close()


def test_the_metrics_port_is_checked(central_private: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "edge", "central", "--db", str(tmp_path / "c.sqlite3"),
         "--sign-key", str(central_private), "--metrics-port", "70000"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and "--metrics-port 70000" in out.stderr


def test_store_batch_counts_kinds_and_keeps_unknown_ones_under_other(tmp_path: Path) -> None:
    """The transport-independent half of a receiver: (topic, payload) in, signed acks out
    after the commit; a record kind this version does not know is stored as it came and
    counted under ``other`` (a gate cannot grow the receiver's label sets)."""
    import json

    from edge.central.db import CentralDB
    from edge.central.receiver import Ingest
    from edge.sync import topics
    from edge.sync.signing import Verifier

    key = Ed25519PrivateKey.generate()
    metrics = ReceiverMetrics()
    ingest = Ingest(key, metrics=metrics)
    db = CentralDB(str(tmp_path / "c.sqlite3"))
    kinds = ["access", "parcel-1", "parcel-2", "door"]
    records = [{"seq": i + 1, "id": f"r{i}", "kind": k, "ts": 1.7e9} for i, k in enumerate(kinds)]
    batch = {"v": 1, "gate": "gate-m", "sent_at": 1.7e9, "records": records}
    try:
        acks = ingest.store_batch(
            db, [(topics.up("gate-m", "records"), json.dumps(batch).encode())]
        )
        assert db.seqs("gate-m") == [1, 2, 3, 4]
    finally:
        db.close()
    [(topic, payload)] = acks
    assert Verifier([key.public_key()]).open(topic, payload)["upto"] == 4
    m = samples(generate_text(metrics))
    assert m['edge_central_records_stored_total{kind="other"}'] == 2
    assert m['edge_central_records_stored_total{kind="access"}'] == 1
    assert not any("parcel" in name for name in m)


def generate_text(metrics: ReceiverMetrics) -> str:
    from prometheus_client.exposition import generate_latest

    return generate_latest(metrics.registry).decode()
