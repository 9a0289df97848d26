"""A city deployment on an existing distributed broker: a real 3-node RabbitMQ cluster (Debian's
``rabbitmq-server``, MQTT plugin), gates speaking MQTT to different nodes, receivers consuming
one quorum queue over AMQP into a real PostgreSQL. A broker node and a receiver are SIGKILLed
mid-run: every gate fails over and drains, and PostgreSQL holds every record exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clusterkit import AmqpReceiverProcess, RabbitCluster, installed
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from needs import unavailable
from synckit import fresh_database, service_for, wait_for

from edge.app.config import Config
from edge.central.db import CentralDB
from edge.gate.settings import GateSettings
from edge.store.settings import StoreSettings
from edge.store.sqlite import Store
from edge.sync.service import SyncService
from edge.sync.settings import SyncSettings
from edge.tools.loadgen import generate

GATES = ("gate-c1", "gate-c2", "gate-c3", "gate-c4")
BACKLOG = 1500  # records each gate holds when it starts
LIVE = 1000  # records each gate makes while the cluster loses a node
LIVE_RATE = 200.0  # records/s per gate
CENTRAL = Path(sys.executable).parent / "edge-gate-central"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitCluster]:
    if not installed():
        unavailable("rabbitmq-server is not installed (make bootstrap installs it)")
    c = RabbitCluster(tmp_path_factory.mktemp("rabbit"))
    try:
        c.start()
        print(f"cluster start: {c.timings}")
        yield c
    finally:
        c.stop()
        c.cleanup()


def gate_config(
    cluster: RabbitCluster, pub: Path, gate: str, home: int, store: Path, **sync: object
) -> Config:
    """A gate whose broker is node ``home``; the other nodes are its failover list. The
    protocol stays 'auto' (the default): RabbitMQ 3.10 speaks 3.1.1 only."""
    nodes = cluster.nodes[home:] + cluster.nodes[:home]
    kw: dict[str, object] = {
        "enabled": True,
        "central_keys": [pub],
        "port": nodes[0].mqtt,
        "brokers": [f"127.0.0.1:{n.mqtt}" for n in nodes[1:]],
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 1.0,
        "ack_timeout_s": 3.0,
        "backlog_rate": 0.0,
        "batch_max": 50,
        **sync,
    }
    return Config(
        gate=GateSettings(id=gate),
        store=StoreSettings(path=store),
        sync=SyncSettings.model_validate(kw),
    )


def _stored(db: str, gates: tuple[str, ...] = GATES) -> int:
    """Rows of ``gates`` (the queue is the module's: an earlier test's gates may still have
    messages in it)."""
    import psycopg

    with psycopg.connect(db) as conn:
        row = conn.execute(
            "SELECT count(*) FROM records WHERE gate = ANY(%s)", (list(gates),)
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_gate_in_auto_mode_speaks_311_to_rabbitmq_and_gets_central_acks(
    cluster: RabbitCluster,
    central_key: tuple[Ed25519PrivateKey, Path],
    postgres_url: str,
    tmp_path: Path,
) -> None:
    """RabbitMQ 3.10 closes an MQTT 5 CONNECT without a CONNACK; the gate must fall back to
    3.1.1 (it used to retry MQTT 5 forever), keep a persistent session, and get the central's
    signed ack — published over AMQP — on its MQTT ack topic."""
    db = fresh_database(postgres_url)
    key = central_key[1].with_name("central.key")
    receiver = AmqpReceiverProcess(cluster, key, db, 1, tmp_path / "r.log")
    store = Store(tmp_path / "gate-c0.sqlite3")
    svc: SyncService | None = None
    try:
        wait_for(receiver.consuming, 30, "the receiver consuming the queue")
        generate(store, "gate-c0", 120, alert_every=40)
        cfg = gate_config(cluster, central_key[1], "gate-c0", 0, tmp_path / "s")
        svc = service_for(cfg, store)
        svc.start()
        wait_for(lambda: store.outbox_depth() == 0, 30, "the gate drained (central acked)")
        assert svc.link.protocol == "v311"
        assert svc.stats()["acked_upto"] == 120
    finally:
        if svc is not None:
            svc.stop()
        store.close()
        code = receiver.stop()
    assert code == 0, receiver.log.read_text()
    central = CentralDB(db)
    try:
        assert central.seqs("gate-c0") == list(range(1, 121))
    finally:
        central.close()


def _publish(cluster: RabbitCluster, key: Path, spec: Path, node: int) -> None:
    res = subprocess.run(
        [str(CENTRAL), "publish", str(spec), "--port", str(cluster.nodes[node].mqtt),
         "--sign-key", str(key), "--timeout", "30"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]


def test_lists_reach_gates_through_their_sessions_not_retained_messages(
    cluster: RabbitCluster, central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    """What docs/cluster.md tells operators, on the real cluster: RabbitMQ 3.10 gives a
    retained message only to a subscription of that exact topic (and keeps it on one node),
    while a gate subscribes to ``fleet/v1/down/#`` — so a gate that connects after a list was
    published does not get it; but a gate whose persistent session exists gets every list
    published while it was away, whichever node it comes back to; and a list addressed to a
    new gate reaches it once it has connected."""
    key = central_key[1].with_name("central.key")
    fleet_list = tmp_path / "households.json"
    fleet_list.write_text(
        json.dumps({"name": "households", "version": 1, "mode": "full", "data": {}})
    )
    stores = {g: Store(tmp_path / f"{g}.sqlite3") for g in ("gate-c5", "gate-c6")}
    services: list[SyncService] = []

    def start(gate: str, home: int) -> SyncService:
        cfg = gate_config(cluster, central_key[1], gate, home, tmp_path / f"{gate}-{home}")
        svc = service_for(cfg, stores[gate])
        svc.start()
        services.append(svc)
        wait_for(lambda: svc.link.connected, 30, f"{gate} connected to node {home + 1}")
        return svc

    try:
        start("gate-c5", 0).stop()  # its session (a quorum queue) now exists; it is away
        _publish(cluster, key, fleet_list, 1)  # retained, on node 2
        start("gate-c6", 1)  # a new gate, on the very node holding the retained copy
        time.sleep(2.0)  # a retained message comes right after SUBSCRIBE: none came
        assert stores["gate-c6"].list_versions() == {}
        start("gate-c5", 2)  # back, on node 3: its session kept the list for it
        wait_for(lambda: stores["gate-c5"].list_versions() == {"households": 1}, 30, "queued list")
        own = tmp_path / "households-c6.json"
        own.write_text(json.dumps({"gate": "gate-c6", "name": "households", "version": 1,
                                   "mode": "full", "data": {}}))  # fmt: skip
        _publish(cluster, key, own, 0)
        wait_for(lambda: stores["gate-c6"].list_versions() == {"households": 1}, 30, "its own list")
    finally:
        for svc in services:
            svc.stop()
        for store in stores.values():
            store.close()


def test_a_broker_node_and_a_receiver_killed_mid_run_lose_nothing(
    cluster: RabbitCluster,
    central_key: tuple[Ed25519PrivateKey, Path],
    postgres_url: str,
    tmp_path: Path,
) -> None:
    db = fresh_database(postgres_url)
    key = central_key[1].with_name("central.key")
    # receiver i connects to node i first; receiver 1 (on node 2) is the one killed
    receivers = [AmqpReceiverProcess(cluster, key, db, i, tmp_path / f"r{i}.log") for i in range(3)]
    stores: list[Store] = []
    services: list[SyncService] = []
    writers: list[threading.Thread] = []
    killed_node = cluster.nodes[0]  # the first node: the queue's and MQTT's Raft leaders
    try:
        wait_for(lambda: all(r.consuming() for r in receivers), 60, "receivers consuming")
        for gate in GATES:
            store = Store(tmp_path / f"{gate}.sqlite3")
            generate(store, gate, BACKLOG, alert_every=100)
            stores.append(store)
        start = time.monotonic()
        for i, (gate, store) in enumerate(zip(GATES, stores, strict=True)):
            cfg = gate_config(cluster, central_key[1], gate, i % 3, tmp_path / f"{gate}-cfg")
            svc = service_for(cfg, store)
            svc.start()
            services.append(svc)
        for gate, store in zip(GATES, stores, strict=True):
            w = threading.Thread(target=generate, args=(store, gate, LIVE, LIVE_RATE, 50, 2))
            w.start()
            writers.append(w)
        total = len(GATES) * (BACKLOG + LIVE)
        wait_for(lambda: _stored(db) >= total // 4, 60, "a quarter stored before the kills")
        on_killed = [
            s for s in services if s.link.connected and s.link.endpoint[1] == killed_node.mqtt
        ]
        assert len(on_killed) == 2, "gates 1 and 4 are on the node to be killed"
        cluster.kill(0)
        receivers[1].kill()
        killed_at = time.monotonic() - start
        for w in writers:
            w.join(60)
        wait_for(lambda: all(s.outbox_depth() == 0 for s in stores), 120, "every gate drained")
        drained = time.monotonic() - start
        for svc in on_killed:  # they moved to a surviving node
            assert svc.link.connected and svc.link.endpoint[1] != killed_node.mqtt
            assert svc.link.protocol == "v311"
    finally:
        for svc in services:
            svc.stop()
        for w in writers:
            w.join(60)
        made = {gate: store.max_seq() for gate, store in zip(GATES, stores, strict=True)}
        for store in stores:
            store.close()
        codes = [r.stop() for r in receivers]
    logs = "".join(r.log.read_text(errors="replace") for r in receivers)
    assert codes[0] == 0 and codes[2] == 0 and codes[1] == -9, (codes, logs[-3000:])
    first = receivers[0].log.read_text(errors="replace")  # it was on the killed node
    assert "AMQP connection lost" in first and first.count("AMQP: consuming") >= 2, first
    assert made == dict.fromkeys(GATES, BACKLOG + LIVE)
    central = CentralDB(db)
    try:
        for gate in GATES:
            assert central.seqs(gate) == list(range(1, made[gate] + 1)), gate  # none lost
    finally:
        central.close()
    assert _stored(db) == sum(made.values())  # none stored twice
    assert "Deadlock" not in logs and "UniqueViolation" not in logs, logs[-3000:]
    print(
        f"{len(GATES)} gates x {BACKLOG + LIVE} records through 3 nodes into PostgreSQL: "
        f"node and receiver killed at {killed_at:.1f} s, all drained at {drained:.1f} s"
    )


def test_an_amqp_receiver_whose_consumer_dies_exits_non_zero(
    central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path
) -> None:
    """A database it cannot open kills the consumer: the process says so and exits 1, so its
    supervisor restarts it (no broker needed: the database is opened first)."""
    bad = tmp_path / "not-a-dir"
    bad.write_text("a file where the database's folder should be")
    key = central_key[1].with_name("central.key")
    res = subprocess.run(
        [str(CENTRAL), "--transport", "amqp", "--amqp-url", "amqp://127.0.0.1:9/%2F",
         "--db", str(bad / "central.sqlite3"), "--sign-key", str(key)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 1, res.stderr
    assert "consumer died" in res.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "--transport amqp needs --amqp-url"),
        (["--amqp-url", "http://127.0.0.1:5672/"], "is not an amqp:// or amqps:// URL"),
        (["--amqp-url", "amqp://127.0.0.1:5672/", "--lists", "."], "--lists needs"),
        (["--amqp-url", "amqp://127.0.0.1:5672/", "--prefetch", "0"], "--prefetch 0"),
    ],
)
def test_bad_amqp_arguments_are_refused_with_a_reason(
    central_key: tuple[Ed25519PrivateKey, Path], tmp_path: Path, args: list[str], says: str
) -> None:
    key = central_key[1].with_name("central.key")
    res = subprocess.run(
        [str(CENTRAL), "--transport", "amqp", "--db", str(tmp_path / "c.sqlite3"),
         "--sign-key", str(key), *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert says in res.stderr
