"""A throwaway PostgreSQL cluster for the receiver's PostgreSQL tests."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.app.config import Config
from edge.gate.settings import GateSettings
from edge.store.settings import StoreSettings
from edge.store.sqlite import Store
from edge.sync.client import LinkSettings
from edge.sync.service import SyncService
from edge.sync.settings import SyncSettings
from edge.tools.localbroker import PASSWORD, Broker, free_port

ROOT = Path(__file__).resolve().parents[2]
CENTRAL_SCRIPT = Path(sys.executable).parent / "edge-gate-central"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class Postgres:
    """A throwaway PostgreSQL 15 cluster on a free loopback port (run as ``postgres``)."""

    folder: Path
    port: int = 0

    def _as_pg(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *cmd], check=True, capture_output=True)

    def start(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            os.chown(self.folder, pg.pw_uid, pg.pw_gid)
        self.port = free_port()
        data = str(self.folder / "data")
        self._as_pg(str(PG_BIN / "initdb"), "-D", data, "-U", "edge", "--auth=trust", "-E", "UTF8")
        opts = f"-c listen_addresses=127.0.0.1 -c port={self.port} -k {self.folder} -c fsync=on"
        self._as_pg(str(PG_BIN / "pg_ctl"), "-D", data, "-o", opts, "-w", "-l",
                    str(self.folder / "pg.log"), "start")  # fmt: skip
        return f"postgresql://edge@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        data = str(self.folder / "data")
        try:
            self._as_pg(str(PG_BIN / "pg_ctl"), "-D", data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def write_gate_toml(path: Path, gate: str, store: Path, sync: dict[str, object]) -> Path:
    """A gate config file for a subprocess (``python -m edge sync --config …``)."""

    def val(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {val(x)}" for k, x in v.items()) + "}"
        return '"' + str(v) + '"'

    lines = ["[gate]", f'id = "{gate}"', "[store]", f'path = "{store}"', "[sync]"]
    lines += [f"{k} = {val(v)}" for k, v in sync.items() if v is not None]
    path.write_text("\n".join(lines) + "\n")
    return path


def central_link_for(
    broker: Broker, client_id: str, subscriptions: tuple[str, ...]
) -> LinkSettings:
    """A central-user link (TLS + password) with explicit subscriptions, for ACL tests."""
    return LinkSettings(
        port=broker.tls, client_id=client_id, username="central", password=PASSWORD, tls=True,
        ca_file=broker.ca(), subscriptions=subscriptions, reconnect_min_s=0.1,
    )  # fmt: skip


class OldBroker:
    """A 3.1.1-only broker in front of mosquitto: refuses MQTT 5 CONNECTs the way an old
    broker does (CONNACK return code 1) and relays 3.1.1 connections to ``port``."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.refused = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        head = conn.recv(4096)
        # fixed header (1 byte + 1..4 length bytes), then 00 04 "MQTT" and the level byte
        i = 1
        while head[i] & 0x80:
            i += 1
        level = head[i + 1 + 6]
        if level == 5:
            self.refused += 1
            conn.sendall(bytes([0x20, 0x02, 0x00, 0x01]))
            conn.close()
            return
        up = socket.create_connection(("127.0.0.1", self.target))
        up.sendall(head)
        for a, b in ((conn, up), (up, conn)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            src.close()
            dst.close()

    def close(self) -> None:
        self.server.close()


def gate_config(
    broker: Broker, pub: Path, gate: str, store: Path, mode: str = "tls", **sync: object
) -> Config:
    """A gate config for ``broker``: mode 'plain', 'tls' (password) or 'mtls' (certificate)."""
    kw: dict[str, object] = {
        "enabled": True,
        "central_keys": [pub],
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 1.0,
        "ack_timeout_s": 3.0,
        "backlog_rate": 0.0,
    }
    pw = store.parent / f"{gate}.pw"
    pw.write_text(PASSWORD)
    if mode == "plain":
        kw.update(port=broker.plain, username=gate, password_file=pw)
    elif mode == "tls":
        kw.update(port=broker.tls, username=gate, password_file=pw, tls=True, ca_file=broker.ca())
    else:
        cert, key = broker.cert(gate)
        kw.update(port=broker.mtls, tls=True, ca_file=broker.ca(), cert_file=cert, key_file=key)
    kw.update(sync)
    return Config(
        gate=GateSettings(id=gate),
        store=StoreSettings(path=store),
        sync=SyncSettings.model_validate(kw),
    )


def central_link(broker: Broker, mode: str = "tls", client_id: str = "central-1") -> LinkSettings:
    if mode == "mtls":
        cert, key = broker.cert("central")
        return LinkSettings(
            port=broker.mtls, client_id=client_id, tls=True, ca_file=broker.ca(),
            cert_file=cert, key_file=key, reconnect_min_s=0.1, reconnect_max_s=1.0,
        )  # fmt: skip
    return LinkSettings(
        port=broker.tls if mode == "tls" else broker.plain, client_id=client_id,
        username="central", password=PASSWORD, tls=mode == "tls", ca_file=broker.ca(),
        reconnect_min_s=0.1, reconnect_max_s=1.0,
    )  # fmt: skip


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class GateProcess:
    """``python -m edge sync --config …`` as a separate process that can be SIGKILLed."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "edge", "sync", "--config", str(self.config)],
                cwd=ROOT,
                stdout=out,
                stderr=out,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def service_for(cfg: Config, store: Store, **kw: Any) -> SyncService:
    """The gate's uplink for ``cfg``, as the app wires it (sync settings and gate id)."""
    return SyncService(cfg.sync, cfg.gate.id, store, **kw)


def fresh_database(postgres_url: str) -> str:
    """A new, empty database on the test server: no tables, as on a first deployment."""
    import psycopg

    name = f"fresh_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + "/" + name


class ReceiverProcess:
    """``edge-gate-central`` as its own process, stopped by its pid."""

    def __init__(self, broker: Broker, key: Path, db: str, n: int, log: Path, *extra: str) -> None:
        if not CENTRAL_SCRIPT.exists():
            raise AssertionError(f"{CENTRAL_SCRIPT} is not installed (pip install -e .)")
        pw = log.with_suffix(".pw")
        pw.write_text(PASSWORD)
        self.log = log
        args = [
            str(CENTRAL_SCRIPT), "--db", db, "--port", str(broker.tls), "--ca", str(broker.ca()),
            "--username", "central", "--password-file", str(pw), "--sign-key", str(key),
            "--client-id", f"central-group-{n}", "--session-expiry", "0", *extra,
        ]  # fmt: skip
        with log.open("ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=out)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return int(self.proc.returncode)
