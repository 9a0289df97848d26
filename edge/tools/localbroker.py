"""A throwaway mosquitto on loopback, for tests, the demo and the benchmark.

It has what a real deployment needs and nothing else: a CA and certificates made here, a
password file, the gate ACL (each gate writes only its own ``up/`` and reads its own
``down/``), plain, TLS and mutual-TLS listeners on free ports, and persistence.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

MOSQUITTO = "/usr/sbin/mosquitto"
GATES = ("gate-a", "gate-b")
PASSWORD = "s3cret-pw"  # throwaway brokers only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pem(obj: x509.Certificate) -> bytes:
    return obj.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def make_pki(folder: Path, names: tuple[str, ...]) -> dict[str, tuple[Path, Path]]:
    """A CA (``ca.pem``), a server cert for 127.0.0.1 and a client cert (CN = name) each."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge-gate test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(_pem(ca))
    out = {}
    for name in ("server", *names):
        key = ec.generate_private_key(ec.SECP256R1())
        b = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
        )
        if name == "server":
            san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = b.sign(ca_key, hashes.SHA256())
        (folder / f"{name}.pem").write_bytes(_pem(cert))
        (folder / f"{name}.key").write_bytes(_key_pem(key))
        out[name] = (folder / f"{name}.pem", folder / f"{name}.key")
    return out


ACL = """\
user central
topic read gate/v1/+/up/#
topic write gate/v1/+/down/#
topic write fleet/v1/down/#

pattern write gate/v1/%u/up/#
pattern read gate/v1/%u/down/#
pattern read fleet/v1/down/#
"""


@dataclass
class Broker:
    """mosquitto with a password file, an ACL, plain + TLS + mutual-TLS listeners and
    persistence. ``kill()`` is SIGKILL; ``start()`` again reuses the same ports and data."""

    folder: Path
    gates: tuple[str, ...] = GATES
    extra: str = ""  # more mosquitto.conf lines (global options), e.g. "max_packet_size 8192"
    plain: int = 0
    tls: int = 0
    mtls: int = 0
    proc: subprocess.Popen[bytes] | None = None
    _started: bool = False  # started once: its ports are known to clients

    def setup(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "data").mkdir(exist_ok=True)
        make_pki(self.folder / "pki", ("central", *self.gates))
        passwd = self.folder / "passwd"
        passwd.write_text("")
        for user in ("central", *self.gates):
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, PASSWORD], check=True)
        (self.folder / "acl").write_text(ACL)
        self._write_conf(free_port(), free_port(), free_port())
        if os.geteuid() == 0:  # mosquitto drops root for this user: it must read and write here
            mq = pwd.getpwnam("mosquitto")
            for root, dirs, files in os.walk(self.folder):
                for n in (root, *(os.path.join(root, f) for f in dirs + files)):
                    os.chown(n, mq.pw_uid, mq.pw_gid)

    def _write_conf(self, plain: int, tls: int, mtls: int) -> None:
        self.plain, self.tls, self.mtls = plain, tls, mtls
        passwd = self.folder / "passwd"
        pki = self.folder / "pki"
        certs = f"cafile {pki}/ca.pem\ncertfile {pki}/server.pem\nkeyfile {pki}/server.key\n"
        (self.folder / "mosquitto.conf").write_text(
            f"persistence true\npersistence_location {self.folder}/data/\n"
            f"allow_anonymous false\npassword_file {passwd}\nacl_file {self.folder}/acl\n"
            "log_dest stderr\nlog_type error\nlog_type warning\nmax_queued_messages 100000\n"
            f"{self.extra}\n"
            f"listener {self.plain} 127.0.0.1\n"
            f"listener {self.tls} 127.0.0.1\n{certs}"
            f"listener {self.mtls} 127.0.0.1\n{certs}"
            "require_certificate true\nuse_identity_as_username true\n"
        )

    @classmethod
    def throwaway(cls, gates: tuple[str, ...] = GATES) -> Broker:
        """Set up (not start) a broker in its own new temporary folder."""
        broker = cls(Path(tempfile.mkdtemp(prefix="edge-mq-")), gates)
        broker.setup()
        return broker

    def cleanup(self) -> None:
        """Stop it and delete its folder."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def start(self) -> None:
        """Start it and wait for its three listeners. A port taken by another process between
        :func:`free_port` and mosquitto's bind (seen once in CI: "port … not listening" after
        10 s) gets fresh ports on the first start; a restart keeps its ports (clients know
        them) and raises with mosquitto's own words instead of waiting out the timeout."""
        for attempt in range(3):
            log_path = self.folder / "mosquitto.log"
            start = log_path.stat().st_size if log_path.exists() else 0
            with open(log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [MOSQUITTO, "-c", str(self.folder / "mosquitto.conf")], stdout=log, stderr=log
                )
            if self._listening():
                self._started = True
                return
            said = log_path.read_bytes()[start:].decode(errors="replace").strip()
            self.proc = None
            if self._started or "in use" not in said or attempt == 2:
                raise RuntimeError(f"mosquitto did not start: {said[-500:] or 'no output'}")
            self._write_conf(free_port(), free_port(), free_port())

    def _listening(self, timeout: float = 10.0) -> bool:
        """Whether all three listeners accept before ``timeout``; False as soon as mosquitto
        has exited."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        for port in (self.plain, self.tls, self.mtls):
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if self.proc.poll() is not None:
                        return False
                    if time.monotonic() > deadline:
                        self.proc.kill()
                        self.proc.wait(5)
                        return False
                    time.sleep(0.05)
        return True

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None

    def ca(self) -> Path:
        return self.folder / "pki" / "ca.pem"

    def cert(self, name: str) -> tuple[Path, Path]:
        return self.folder / "pki" / f"{name}.pem", self.folder / "pki" / f"{name}.key"
