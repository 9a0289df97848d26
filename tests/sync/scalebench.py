"""Receiver-group figures for docs/scale.md: a real mosquitto and PostgreSQL on this machine,
1, 2 and 3 ``edge-gate-central`` receivers (shared subscription, session expiry 0) on a fresh
database per run, and ``edge-gate loadgen --fleet N --per-gate M --rate 0`` (one MQTT client
per simulated gate, every ack verified) publishing as fast as it can. The runs alternate
(1, 2, 3, 3, 2, 1 receivers …) so the machine's changing load hits every count alike. Not a
test: run by hand, prints one JSON line per run and a summary.

    .venv/bin/python tests/sync/scalebench.py [--gates 200] [--per-gate 200] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from synckit import Postgres, ReceiverProcess, fresh_database, wait_for

from edge.gate.credentials.trust import save_keypair
from edge.tools.localbroker import PASSWORD, Broker

ROOT = Path(__file__).resolve().parents[2]
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def stored(db: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(db) as conn:
        n, distinct, first, last = conn.execute(
            "SELECT count(*), count(DISTINCT (gate, seq)), min(received_at), max(received_at) "
            "FROM records"
        ).fetchone() or (0, 0, None, None)
    span = (last - first) if n else 0.0
    return {
        "stored": int(n),
        "duplicated": int(n) - int(distinct),
        "rows_per_s": round(n / span) if span else None,
    }


def one_run(
    k: int, broker: Broker, pg_url: str, key: Path, pub: Path, tmp: Path, gates: int, per: int
) -> dict[str, Any]:
    db = fresh_database(pg_url)
    receivers = [ReceiverProcess(broker, key, db, i, tmp / f"r{k}-{i}.log") for i in range(k)]
    try:
        wait_for(lambda: stored_ok(db), 30, "schema")
        time.sleep(1.5)  # every receiver subscribed
        cpu0 = [cpu_s(r.proc.pid) for r in receivers]
        pw = tmp / "gate.pw"
        pw.write_text(PASSWORD)
        out = subprocess.run(
            [sys.executable, "-m", "edge", "loadgen", "--fleet", str(gates),
             "--per-gate", str(per), "--rate", "0", "--port", str(broker.plain),
             "--password-file", str(pw), "--central-key", str(pub), "--timeout", "180"],
            cwd=ROOT, capture_output=True, text=True, timeout=400,
        )  # fmt: skip
        cpu = [round(cpu_s(r.proc.pid) - c, 2) for r, c in zip(receivers, cpu0, strict=True)]
        assert broker.proc is not None
        broker_mb = rss_mb(broker.proc.pid)
    finally:
        codes = [r.stop() for r in receivers]
    summary = json.loads(out.stdout) if out.stdout.strip().startswith("{") else {}
    got = stored(db)
    total_cpu = sum(cpu)
    return {
        "receivers": k,
        "codes": codes,
        "drained": summary.get("drained"),
        "publish_s": summary.get("publish_s"),
        "until_acked_s": summary.get("until_acked_s"),
        **got,
        "lost": gates * per - got["stored"],
        "receiver_cpu_s": cpu,
        "records_per_receiver_cpu_s": round(got["stored"] / total_cpu) if total_cpu else None,
        "broker_rss_mb": broker_mb,
    }


def stored_ok(db: str) -> bool:
    import psycopg

    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT to_regclass('public.records') IS NOT NULL").fetchone()
    return bool(row and row[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gates", type=int, default=200)
    ap.add_argument("--per-gate", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="edge-scalebench-"))
    fleet = tuple(f"lg-{i:05d}" for i in range(1, a.gates + 1))
    # each in a folder of its own: mosquitto and postgres drop root and must reach it
    broker = Broker(Path(tempfile.mkdtemp(prefix="edge-scalebench-mq-")), gates=fleet)
    broker.setup()
    broker.start()
    pg = Postgres(Path(tempfile.mkdtemp(prefix="edge-scalebench-pg-")))
    pg_url = pg.start()
    central = Ed25519PrivateKey.generate()
    save_keypair(central, tmp / "central.key", tmp / "central.pub")
    runs = []
    try:
        for r in range(a.rounds):
            for k in (1, 2, 3) if r % 2 == 0 else (3, 2, 1):
                res = one_run(
                    k, broker, pg_url, tmp / "central.key", tmp / "central.pub", tmp, a.gates,
                    a.per_gate,
                )  # fmt: skip
                res["round"] = r
                runs.append(res)
                print(json.dumps(res), flush=True)
    finally:
        broker.stop()
        pg.stop()
        shutil.rmtree(broker.folder, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"loadavg": os.getloadavg(), "runs": len(runs)}))


if __name__ == "__main__":
    main()
