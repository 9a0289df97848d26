"""The online health-code adapter against a local HTTP server: valid, slow, failing, malformed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from edge.gate.credentials.evidence import HealthCodeStatus
from edge.gate.credentials.regional import HealthCodeClient, check_endpoint, map_answer, matches

S = HealthCodeStatus
ANSWERS: dict[str, tuple[int, bytes]] = {
    "/green": (200, b'{"status": "green"}'),
    "/yellow-cn": (200, json.dumps({"data": {"codeColor": "黄码"}}).encode()),
    "/red-num": (200, b'{"code": 0, "colour": 2}'),
    "/expired": (200, b'{"status": "expired"}'),
    "/gone": (404, b"{}"),
    "/fail": (500, b'{"status": "green"}'),
    "/malformed": (200, b"{not json"),
    "/nonsense": (200, b'{"status": "purple"}'),
}


class Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:  # silence the test output
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        Handler.seen.append(
            {
                "path": self.path,
                "body": json.loads(self.rfile.read(length)),
                "auth": self.headers.get("Authorization"),
            }
        )
        if self.path == "/slow":
            time.sleep(2.5)
        if self.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
            return
        status, body = ANSWERS.get(self.path, (200, b'{"status": "green"}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # refused TLS handshakes are expected in these tests


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def client(base: str, path: str, **kw: Any) -> HealthCodeClient:
    return HealthCodeClient(base + path, timeout_s=kw.pop("timeout_s", 1.0), **kw)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/green", S.GREEN),
        ("/yellow-cn", S.YELLOW),
        ("/red-num", S.RED),
        ("/expired", S.EXPIRED),
        ("/gone", S.NOT_FOUND),
        ("/fail", S.FAILED),
        ("/malformed", S.FAILED),
        ("/nonsense", S.FAILED),
    ],
)
def test_answers_are_mapped(base: str, path: str, status: HealthCodeStatus) -> None:
    cred = client(base, path).check("HEALTHCODE:abc", 1000.0)
    assert cred.status is status and not cred.cached and cred.checked_at == 1000.0


def test_request_carries_code_gate_and_token(base: str) -> None:
    Handler.seen.clear()
    client(base, "/green", gate_id="gate-1", token="s3cret").check("HEALTHCODE:xyz", 0.0)
    (req,) = Handler.seen
    assert req["body"] == {"code": "HEALTHCODE:xyz", "gate": "gate-1"}
    assert req["auth"] == "Bearer s3cret"


@pytest.mark.parametrize("path", ["/slow", "/trickle"])
def test_slow_platform_times_out_within_the_bound(base: str, path: str) -> None:
    t0 = time.monotonic()
    cred = client(base, path, timeout_s=1.0).check("HEALTHCODE:slow", 0.0)
    elapsed = time.monotonic() - t0
    assert cred.status is S.TIMEOUT
    assert elapsed < 1.5, elapsed


def test_unreachable_platform_fails_fast() -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    cred = HealthCodeClient(f"http://127.0.0.1:{port}/x", timeout_s=1.0).check("c", 0.0)
    assert cred.status is S.FAILED


def test_definitive_answers_are_cached_briefly_failures_never(base: str) -> None:
    c = client(base, "/green", cache_ttl_s=30.0)
    c.check("HEALTHCODE:1", 100.0)
    hit = c.check("HEALTHCODE:1", 129.0)
    assert hit.cached and hit.status is S.GREEN and hit.checked_at == 100.0 and c.calls == 1
    assert not c.check("HEALTHCODE:1", 130.0).cached and c.calls == 2  # expired entry
    bad = client(base, "/fail", cache_ttl_s=30.0)
    bad.check("HEALTHCODE:2", 100.0)
    bad.check("HEALTHCODE:2", 101.0)
    assert bad.calls == 2


def test_timeout_range_and_https_only() -> None:
    for t in (0.5, 31.0):
        with pytest.raises(ValueError):
            HealthCodeClient("https://example.org/check", timeout_s=t)
    with pytest.raises(ValueError, match="HTTPS"):
        check_endpoint("http://platform.example.org/check")
    assert check_endpoint("http://localhost:8080/x") and check_endpoint("https://a.example/x")


def test_answer_mapping_and_prefixes() -> None:
    assert map_answer({"result": "绿码"}) is S.GREEN
    assert map_answer({"status": "NOT_FOUND"}) is S.NOT_FOUND
    assert map_answer([1, 2]) is S.FAILED
    assert map_answer({"status": True}) is S.FAILED
    assert matches("https://jkm.example.gov.cn/q?x", ["https://jkm.example.gov.cn/"])
    assert not matches("HC1:xyz", ["https://jkm.example.gov.cn/", ""])


def test_https_with_a_provisioned_ca(tmp_path: Any) -> None:
    """The real deployment path: TLS, certificate checked against the configured CA."""
    import datetime as dt
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = tmp_path / "cert.pem"
    key_pem = tmp_path / "key.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = QuietServer(("127.0.0.1", 0), Handler)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert_pem, key_pem)
    server.socket = sctx.wrap_socket(server.socket, server_side=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/red-num"
        trusted = ssl.create_default_context(cafile=str(cert_pem))
        assert HealthCodeClient(url, ssl_context=trusted).check("c", 0.0).status is S.RED
        # without the CA the certificate is refused: failed, never a silent green
        assert HealthCodeClient(url).check("c", 0.0).status is S.FAILED
    finally:
        server.shutdown()
        server.server_close()


def test_client_from_the_config_section(base: str, tmp_path: Any) -> None:
    from edge.gate.credentials.regional import client_from_settings
    from edge.gate.credentials.settings import HealthOnlineSettings

    assert client_from_settings(HealthOnlineSettings(), "g") is None
    token = tmp_path / "token"
    token.write_text("abc\n")
    s = HealthOnlineSettings(enabled=True, endpoint=base + "/green", token_file=token)
    c = client_from_settings(s, "gate-7")
    assert c is not None and c.timeout_s == 3.0
    Handler.seen.clear()
    assert c.check("HEALTHCODE:q", 0.0).status is S.GREEN
    assert Handler.seen[0]["auth"] == "Bearer abc" and Handler.seen[0]["body"]["gate"] == "gate-7"
    missing = HealthOnlineSettings(enabled=True, endpoint=base, token_file=tmp_path / "none")
    with pytest.raises(ValueError, match="cannot read"):
        client_from_settings(missing, "g")
