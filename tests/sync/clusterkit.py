"""A throwaway 3-node RabbitMQ cluster on loopback, from Debian's ``rabbitmq-server`` package.

Each node has its own name (``rabbitN@localhost``), AMQP, MQTT and distribution ports, data and
log folders under the test's folder; they share one Erlang cookie (``HOME/.erlang.cookie``) and
one epmd that this kit starts on a free loopback port (``ERL_EPMD_PORT``), so nothing here
touches — or depends on — the Debian service the package installs. Nodes 2 and 3 join node 1
with ``rabbitmqctl stop_app; join_cluster; start_app``. Every process is stopped by its pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from edge.tools.localbroker import free_port

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")  # the package's scripts, without the su wrapper
EPMD = Path("/usr/bin/epmd")
COOKIE = "edge-gate-test-cluster-cookie"  # throwaway clusters only


def installed() -> bool:
    return (RABBIT_BIN / "rabbitmq-server").exists() and EPMD.exists()


@dataclass
class Node:
    """One broker node: its name, ports, folder and process."""

    index: int
    amqp: int
    mqtt: int
    dist: int
    folder: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"rabbit{self.index}@localhost"

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp}/%2F"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class RabbitCluster:
    """``RabbitCluster(folder).start()`` … ``.stop()``; ``kill(i)`` SIGKILLs node i's VM."""

    folder: Path
    size: int = 3
    # where a gate's QoS 1 session lives: quorum survives the loss of its node (classic is
    # RabbitMQ's default; docs/cluster.md says what it does when the node dies)
    session_queues: str = "quorum"
    nodes: list[Node] = field(default_factory=list)
    epmd_port: int = 0
    epmd: subprocess.Popen[bytes] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.home = self.folder / "home"
        self.home.mkdir(exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(COOKIE)
        cookie.chmod(0o400)  # Erlang refuses a cookie others can read
        self.epmd_port = free_port()
        for i in range(1, self.size + 1):
            node = Node(i, free_port(), free_port(), free_port(), self.folder / f"rabbit{i}")
            self._write_node_files(node)
            self.nodes.append(node)

    # --- files and environment -------------------------------------------------------------

    def _write_node_files(self, n: Node) -> None:
        for sub in ("mnesia", "log"):
            (n.folder / sub).mkdir(parents=True, exist_ok=True)
        (n.folder / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        (n.folder / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's
        (n.folder / "rabbitmq.conf").write_text(
            "\n".join(
                [
                    f"listeners.tcp.1 = 127.0.0.1:{n.amqp}",
                    f"mqtt.listeners.tcp.1 = 127.0.0.1:{n.mqtt}",
                    # a gate's QoS 1 session queue survives the loss of the node it was on
                    f"mqtt.durable_queue_type = {self.session_queues}",
                    "mqtt.allow_anonymous = true",
                    "mqtt.vhost = /",
                    "mqtt.exchange = amq.topic",
                    "loopback_users = none",
                    "log.console = false",
                    "log.file.level = info",
                    "disk_free_limit.absolute = 50MB",
                    # a SIGKILLed node is noticed in seconds, not the default minute
                    "net_ticktime = 10",
                    "cluster_partition_handling = pause_minority",
                ]
            )
            + "\n"
        )

    def env(self, n: Node) -> dict[str, str]:
        """The environment of node ``n`` and of ``rabbitmqctl -n`` calls to it."""
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        return {
            **keep,
            "HOME": str(self.home),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": n.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(n.amqp),
            "RABBITMQ_DIST_PORT": str(n.dist),
            "RABBITMQ_MNESIA_BASE": str(n.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(n.folder / "log"),
            "RABBITMQ_PID_FILE": str(n.folder / "rabbit.pid"),
            "RABBITMQ_CONFIG_FILE": str(n.folder / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(n.folder / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(n.folder / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(n.folder / "enabled_plugins"),
            # exec the VM itself (no signal-proxy shell): the pid we hold is the node's, so
            # SIGKILL really kills the broker; -noinput as the proxy path would add it
            "RABBITMQ_ALLOW_INPUT": "true",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
                "-noinput -start_epmd false -kernel inet_dist_use_interface {127,0,0,1}"
            ),
        }

    # --- life cycle ----------------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> None:
        """Start epmd and every node at once, then join nodes 2.. to node 1."""
        t0 = time.monotonic()
        self.epmd = subprocess.Popen(
            [str(EPMD), "-address", "127.0.0.1", "-port", str(self.epmd_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.epmd_port, 10.0)
        for n in self.nodes:
            self._spawn(n)
        for n in self.nodes:
            self._wait_up(n, t0 + timeout)
        self.timings["nodes_up_s"] = time.monotonic() - t0
        for n in self.nodes[1:]:
            self.ctl(n, "stop_app")
            self.ctl(n, "join_cluster", self.nodes[0].name)
            self.ctl(n, "start_app")
            self._wait_up(n, t0 + timeout)
        self.timings["cluster_formed_s"] = time.monotonic() - t0

    def _spawn(self, n: Node) -> None:
        with (n.folder / "stdout.log").open("ab") as out:
            n.proc = subprocess.Popen(
                [str(RABBIT_BIN / "rabbitmq-server")],
                env=self.env(n),
                cwd=n.folder,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )

    def _wait_up(self, n: Node, deadline: float) -> None:
        """Wait until the node accepts AMQP and MQTT connections (its apps are running)."""
        while time.monotonic() < deadline:
            if not n.alive():
                raise RuntimeError(f"{n.name} exited: {self.log_tail(n)}")
            if _listening(n.amqp) and _listening(n.mqtt):
                return
            time.sleep(0.2)
        raise TimeoutError(f"{n.name} not up: {self.log_tail(n)}")

    def ctl(self, n: Node, *args: str, timeout: float = 60.0) -> str:
        """``rabbitmqctl -n NODE args…``; raises with its output if it fails."""
        cmd = [str(RABBIT_BIN / "rabbitmqctl"), "-n", n.name, *args]
        res = subprocess.run(cmd, env=self.env(n), capture_output=True, timeout=timeout)
        out = (res.stdout + res.stderr).decode(errors="replace")
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {out[-2000:]}")
        return out

    def pid(self, n: Node) -> int:
        assert n.proc is not None
        return n.proc.pid

    def kill(self, index: int) -> None:
        """SIGKILL node ``index``'s Erlang VM: no goodbye to its peers or clients."""
        n = self.nodes[index]
        assert n.proc is not None
        n.proc.send_signal(signal.SIGKILL)
        n.proc.wait(10)

    def stop(self) -> None:
        """Stop every node still running (SIGTERM: the VM shuts RabbitMQ down in order), then
        epmd, each by its pid; SIGKILL what does not stop in time."""
        threads = [threading.Thread(target=_stop_proc, args=(n.proc,)) for n in self.nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        _stop_proc(self.epmd)

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self, n: Node, chars: int = 3000) -> str:
        parts = []
        for p in [n.folder / "stdout.log", *sorted((n.folder / "log").glob("*.log"))]:
            if p.exists():
                parts.append(f"--- {p.name}\n" + p.read_text(errors="replace")[-chars:])
        return "\n".join(parts)


def _stop_proc(p: subprocess.Popen[bytes] | None, wait_s: float = 30.0) -> None:
    if p is None or p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(wait_s)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait(10)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _listening(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} not listening")


class AmqpReceiverProcess:
    """``edge-gate-central --transport amqp`` as its own process, stopped by its pid; it tries
    the nodes in the order given (``first`` is the one it connects to when all are up)."""

    def __init__(
        self, cluster: RabbitCluster, key: Path, db: str, first: int, log: Path, *extra: str
    ) -> None:
        script = Path(sys.executable).parent / "edge-gate-central"
        if not script.exists():
            raise AssertionError(f"{script} is not installed (pip install -e .)")
        nodes = cluster.nodes[first:] + cluster.nodes[:first]
        urls = [a for n in nodes for a in ("--amqp-url", n.amqp_url)]
        args = [str(script), "--transport", "amqp", "--db", db, "--sign-key", str(key), *urls]
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen([*args, *extra], stdout=out, stderr=out)

    def consuming(self) -> bool:
        return self.log.exists() and "AMQP: consuming" in self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        _stop_proc(self.proc, 15.0)
        return int(self.proc.returncode)
