"""Cluster figures for docs/cluster.md: a 3-node RabbitMQ cluster on this machine, a real
PostgreSQL, 1 then 2 AMQP receivers (``edge-gate-central --transport amqp``), and a fleet of
simulated gates (edge.tools.loadgen.Fleet: one MQTT 3.1.1 client per gate, spread over the
nodes) sending as fast as they can. Not a test: run by hand, prints JSON.

    .venv/bin/python tests/sync/clusterbench.py [--gates 90] [--per-gate 200] [--hold 300]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from clusterkit import AmqpReceiverProcess, RabbitCluster
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import Postgres, fresh_database, wait_for

from edge.gate.credentials.trust import save_keypair
from edge.sync import topics
from edge.sync.client import LinkSettings, MqttLink
from edge.tools.loadgen import Fleet


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def node_rss(cluster: RabbitCluster) -> dict[str, float]:
    return {n.name: rss_mb(n.proc.pid) for n in cluster.nodes if n.proc and n.alive()}


def count_rows(db: str) -> tuple[int, float]:
    """Stored rows, and the span of their ``received_at`` (first to last commit), s."""
    import psycopg

    with psycopg.connect(db) as conn:
        row = conn.execute(
            "SELECT count(*), max(received_at) - min(received_at) FROM records"
        ).fetchone()
    return (int(row[0]), float(row[1] or 0.0)) if row else (0, 0.0)


def missing_seqs(db: str, gates: list[str], per_gate: int) -> dict[str, list[int]]:
    """Seqs a gate sent that PostgreSQL does not hold (a run that did not drain)."""
    import psycopg

    out = {}
    with psycopg.connect(db) as conn:
        for g in gates:
            have = {r[0] for r in conn.execute("SELECT seq FROM records WHERE gate=%s", (g,))}
            gone = sorted(set(range(1, per_gate + 1)) - have)
            if gone:
                out[g] = gone
    return out


def retained_across_nodes(cluster: RabbitCluster) -> dict[str, bool]:
    """Publish a retained message on node 1; does a new subscriber get it on each node?"""
    topic = "fleet/v1/down/lists/bench-retained"
    pub = MqttLink(LinkSettings(port=cluster.nodes[0].mqtt, client_id="bench-pub",
                                protocol="v311"))  # fmt: skip
    _until(lambda: pub.poll(0.05) is not None and pub.connected, 10)
    mid = pub.publish(topic, b"retained", retain=True)
    _until(lambda: any(e.kind == "published" and e.mid == mid for e in pub.poll(0.05)), 10)
    pub.close()
    out = {}
    for n in cluster.nodes:
        sub = MqttLink(LinkSettings(port=n.mqtt, client_id=f"bench-sub-{n.index}",
                                    protocol="v311", subscriptions=(topic,)))  # fmt: skip
        got: list[bytes] = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not got:
            got += [e.payload for e in sub.poll(0.05) if e.kind == "message"]
        sub.close()
        out[n.name] = got == [b"retained"]
    return out


def _until(cond: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
    raise TimeoutError


def throughput(
    cluster: RabbitCluster, url: str, key: Path, work: Path, receivers: int, gates: int,
    per_gate: int,
) -> dict[str, Any]:  # fmt: skip
    db = fresh_database(url)
    rs = [AmqpReceiverProcess(cluster, key, db, i, work / f"r{receivers}-{i}.log")
          for i in range(receivers)]  # fmt: skip
    names = [f"bench{receivers}-{i:04d}" for i in range(gates)]

    def link_for(gate: str) -> LinkSettings:
        node = cluster.nodes[names.index(gate) % len(cluster.nodes)]
        return LinkSettings(port=node.mqtt, client_id=gate, protocol="v311",
                            subscriptions=(topics.down(gate, "ack"),), reconnect_min_s=0.5,
                            reconnect_max_s=5.0)  # fmt: skip

    try:
        wait_for(lambda: all(r.consuming() for r in rs), 60, "receivers consuming")
        fleet = Fleet(link_for, names, per_gate, rate=0.0, batch=50)
        t = time.monotonic()
        connected = fleet.connect(120)
        connect_s = time.monotonic() - t
        cpu0 = [cpu_s(r.proc.pid) for r in rs]
        nodes0 = {n.name: cpu_s(n.proc.pid) for n in cluster.nodes if n.proc}
        own0 = time.process_time()
        result = fleet.run(ack_timeout=300)
        cpu = [round(cpu_s(r.proc.pid) - c, 2) for r, c in zip(rs, cpu0, strict=True)]
        broker_cpu = {k: round(cpu_s(n.proc.pid) - nodes0[k], 1)
                      for n in cluster.nodes if n.proc and (k := n.name) in nodes0}  # fmt: skip
        loadgen_cpu = round(time.process_time() - own0, 1)
        # messages the broker never PUBACKed (paho keeps them until it does): the fleet sends
        # each record once, so an un-PUBACKed message is one it will never see acked
        unpubacked = {
            g: n
            for g, link in fleet.links.items()
            if link._client is not None and (n := len(link._client._out_messages))
        }
        fleet.close()
    finally:
        codes = [r.stop() for r in rs]
    rows, span = count_rows(db)
    until = result.until_acked_s
    missing = missing_seqs(db, names, per_gate) if rows < result.records else {}
    return {
        "receivers": receivers,
        "gates": gates,
        "connected": connected,
        "connect_s": round(connect_s, 1),
        "records": result.records,
        "rows_in_postgresql": rows,
        "until_all_acked_s": None if until is None else round(until, 2),
        "records_per_s": None if not until else round(rows / until),
        "rows_per_s_postgresql_span": round(rows / span) if span else None,
        "publish_s": round(result.seconds, 2),
        "receiver_cpu_s": cpu,
        "records_per_receiver_cpu_s": round(rows / sum(cpu)) if sum(cpu) else None,
        "receiver_exit_codes": codes,
        "missing": missing,
        "not_pubacked": unpubacked,
        "broker_cpu_s": broker_cpu,
        "loadgen_cpu_s": loadgen_cpu,
    }


PER_PROCESS = 300  # paho clients a process can hold (loadgen.MAX_GATES_PER_PROCESS)


def _holder(ports: list[int], first: int, n: int, report: Any, done: Any) -> None:
    """Child process: hold ``n`` gate sessions until ``done`` is set."""
    links = [
        MqttLink(LinkSettings(port=ports[i % len(ports)], client_id=f"hold-{i:05d}",
                              protocol="v311", reconnect_min_s=0.5, reconnect_max_s=5.0,
                              subscriptions=(topics.down(f"hold-{i:05d}", "ack"),)))
        for i in range(first, first + n)
    ]  # fmt: skip
    t = time.monotonic()
    while time.monotonic() - t < 300 and not all(link.connected for link in links):
        for link in links:
            link.poll(0.0)
        time.sleep(0.01)
    report.put(sum(link.connected for link in links))
    while not done.is_set():  # keep the sessions alive (keep-alive pings)
        for link in links:
            link.poll(0.0)
        time.sleep(0.2)
    for link in links:
        link.close()


def hold(cluster: RabbitCluster, n: int) -> dict[str, Any]:
    """Connect ``n`` persistent-session gates (QoS 1 ack subscription each), spread over
    the nodes, ``PER_PROCESS`` per child process, and see what the nodes hold."""
    import multiprocessing as mp

    before = node_rss(cluster)
    ports = [node.mqtt for node in cluster.nodes]
    report: Any = mp.Queue()
    done = mp.Event()
    kids = [
        mp.Process(target=_holder, args=(ports, lo, min(PER_PROCESS, n - lo), report, done))
        for lo in range(0, n, PER_PROCESS)
    ]
    t = time.monotonic()
    for k in kids:
        k.start()
    connected = sum(report.get(timeout=600) for _ in kids)
    took = time.monotonic() - t
    time.sleep(2)
    after = node_rss(cluster)
    done.set()
    for k in kids:
        k.join(60)
    return {
        "connections": n,
        "connected": connected,
        "connect_s": round(took, 1),
        "node_rss_mb_before": before,
        "node_rss_mb_after": after,
        "kb_per_connection": round(
            (sum(after.values()) - sum(before.values())) * 1024 / max(connected, 1), 1
        ),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gates", type=int, default=90)
    ap.add_argument("--per-gate", type=int, default=200)
    ap.add_argument("--hold", type=int, default=300)
    ap.add_argument("--receivers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--keep", action="store_true", help="keep the logs (printed folder)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="edge-cluster-bench-"))
    pg = Postgres(Path(tempfile.mkdtemp(prefix="edge-pg-")))  # its own: postgres must enter it
    cluster = RabbitCluster(work / "rabbit")
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    out: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                           "load_before": os.getloadavg(), "cpus": os.cpu_count()}  # fmt: skip
    try:
        url = pg.start()
        key = Ed25519PrivateKey.generate()
        save_keypair(key, work / "central.key", work / "central.pub")
        cluster.start()
        out["cluster_start"] = {k: round(v, 1) for k, v in cluster.timings.items()}
        out["node_rss_mb_idle"] = node_rss(cluster)
        out["retained_seen_on"] = retained_across_nodes(cluster)
        out["runs"] = [
            throughput(cluster, url, work / "central.key", work, r, args.gates, args.per_gate)
            for r in args.receivers
        ]
        out["queues"] = cluster.ctl(
            cluster.nodes[1],
            "list_queues",
            "name",
            "messages_ready",
            "messages_unacknowledged",
            "--no-table-headers",
            "--quiet",
        )
        if args.hold:
            out["hold"] = hold(cluster, args.hold)
        out["load_after"] = os.getloadavg()
    finally:
        cluster.stop()
        with contextlib.suppress(subprocess.CalledProcessError):  # never started
            pg.stop()
        print(json.dumps(out, indent=2))
        if args.keep:
            print(f"logs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
