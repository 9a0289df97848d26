"""Online check of regional health codes (健康码) with the issuing platform.

Chinese health codes have no public offline-verifiable format: the platform's 验码 interface
(GB/T 38963-2020) answers with the code's colour. This adapter POSTs the scanned text as JSON
to a configurable HTTPS endpoint with a hard overall deadline, maps the answer to a
:class:`HealthCodeStatus`, and caches definitive answers briefly. It never raises: a slow,
failing or malformed platform becomes ``timeout`` or ``failed``, and the rules' offline policy
decides what the gate does then.

Request: ``{"code": <scanned text>, "gate": <gate id>}``. Answer: a JSON object whose
``status`` (or ``colour``/``color``/``result``, also inside ``data``) is one of green / yellow /
red / expired / not_found, their Chinese names (绿码, 黄码, 红码, 已失效, 不存在) or the
numeric codes 0 / 1 / 2. HTTP 404 means not found.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from edge.gate.credentials.evidence import HealthCodeCredential, HealthCodeStatus

DEFAULT_TIMEOUT_S = 3.0
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 1.0, 30.0
DEFAULT_CACHE_TTL_S = 30.0
MAX_ANSWER = 64 * 1024  # bytes
MAX_CACHE = 1024  # entries
CONNECT_TIMEOUT_S = 2.0  # TCP (and TLS) set-up, within the total deadline
MAX_IN_FLIGHT = 4  # checks still running past their deadline (a hung DNS lookup) at most

_S = HealthCodeStatus
_WORDS: dict[str, HealthCodeStatus] = {
    "green": _S.GREEN, "绿": _S.GREEN, "绿码": _S.GREEN, "0": _S.GREEN, "00": _S.GREEN,
    "yellow": _S.YELLOW, "黄": _S.YELLOW, "黄码": _S.YELLOW, "1": _S.YELLOW, "01": _S.YELLOW,
    "red": _S.RED, "红": _S.RED, "红码": _S.RED, "2": _S.RED, "10": _S.RED,
    "expired": _S.EXPIRED, "已失效": _S.EXPIRED, "过期": _S.EXPIRED, "已过期": _S.EXPIRED,
    "not_found": _S.NOT_FOUND, "notfound": _S.NOT_FOUND, "not found": _S.NOT_FOUND,
    "不存在": _S.NOT_FOUND, "未找到": _S.NOT_FOUND,
}  # fmt: skip
_FIELDS = ("status", "colour", "color", "result", "codeColor", "code_color")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str) -> str:
    """The URL if usable: HTTPS, or plain HTTP to a loopback address (tests, local proxies)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError("the health-code endpoint must use HTTPS (plain HTTP only on loopback)")
    return url


def map_answer(obj: Any) -> HealthCodeStatus:
    """A platform answer (parsed JSON) → status; anything unrecognisable is ``failed``."""
    if isinstance(obj, dict) and isinstance(obj.get("data"), dict):
        inner = map_answer(obj["data"])
        if inner is not _S.FAILED:
            return inner
    if not isinstance(obj, dict):
        return _S.FAILED
    for name in _FIELDS:
        v = obj.get(name)
        if isinstance(v, bool) or v is None:
            continue
        status = _WORDS.get(str(v).strip().lower())
        if status is not None:
            return status
    return _S.FAILED


def matches(text: str, prefixes: Sequence[str]) -> bool:
    """Whether a scanned text is a regional health code (by the configured prefixes)."""
    return any(text.startswith(p) for p in prefixes if p)


@dataclass
class _Entry:
    credential: HealthCodeCredential
    at: float


class HealthCodeClient:
    """Checks health codes online. Not thread-safe: one per scanning loop."""

    def __init__(
        self,
        endpoint: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cache_ttl_s: float = DEFAULT_CACHE_TTL_S,
        gate_id: str = "",
        token: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not MIN_TIMEOUT_S <= timeout_s <= MAX_TIMEOUT_S:
            raise ValueError(f"timeout_s must be {MIN_TIMEOUT_S}–{MAX_TIMEOUT_S} s")
        self._url = urlsplit(check_endpoint(endpoint))
        self.timeout_s = timeout_s
        self.cache_ttl_s = cache_ttl_s
        self._gate = gate_id
        self._token = token
        self._ssl = ssl_context or ssl.create_default_context()
        self._mono = monotonic
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self.calls = 0  # requests actually sent (cache hits excluded)
        self._in_flight = 0  # worker threads still running (some past their deadline)
        self._flight_lock = threading.Lock()

    def check(self, code_text: str, now: float) -> HealthCodeCredential:
        """The platform's answer for ``code_text``; ``now`` is wall time, Unix seconds."""
        key = hashlib.sha256(code_text.encode("utf-8")).hexdigest()
        hit = self._cache.get(key)
        if hit is not None and 0 <= now - hit.at < self.cache_ttl_s:
            c = hit.credential
            return HealthCodeCredential(c.status, c.code_hash, c.checked_at, cached=True)
        status = self._ask_bounded(code_text)
        cred = HealthCodeCredential(status, key[:16], now)
        if not status.offline and self.cache_ttl_s > 0:  # never cache a failure
            self._cache[key] = _Entry(cred, now)
            self._cache.move_to_end(key)
            while len(self._cache) > MAX_CACHE:
                self._cache.popitem(last=False)
        return cred

    def _ask_bounded(self, code_text: str) -> HealthCodeStatus:
        """:meth:`_ask` on a worker thread, waited for no longer than the total deadline.

        Socket timeouts do not cover name resolution (``getaddrinfo`` has none): a dead DNS
        server could hold the caller for 20 s or more. The worker may outlive its deadline; the
        answer is then TIMEOUT, and at most ``MAX_IN_FLIGHT`` such workers exist (beyond that
        a check fails at once rather than piling up threads)."""
        with self._flight_lock:
            if self._in_flight >= MAX_IN_FLIGHT:
                return _S.FAILED
            self._in_flight += 1
        result: list[HealthCodeStatus] = []
        done = threading.Event()

        def work() -> None:
            try:
                result.append(self._ask(code_text))
            except Exception:  # a bug in the exchange is a failed check, never a crash
                result.append(_S.FAILED)
            finally:
                with self._flight_lock:
                    self._in_flight -= 1
                done.set()

        threading.Thread(target=work, name="health-check", daemon=True).start()
        if not done.wait(self.timeout_s + 0.1):
            return _S.TIMEOUT
        return result[0]

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        host, port = self._url.hostname or "", self._url.port
        if self._url.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=self._ssl)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _ask(self, code_text: str) -> HealthCodeStatus:
        self.calls += 1
        deadline = self._mono() + self.timeout_s
        body = json.dumps({"code": code_text, "gate": self._gate}).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        path = (self._url.path or "/") + (f"?{self._url.query}" if self._url.query else "")
        conn = self._connection(min(CONNECT_TIMEOUT_S, self.timeout_s))
        try:
            conn.request("POST", path, body, headers)
            sock = conn.sock
            remaining = deadline - self._mono()
            if remaining <= 0:
                return _S.TIMEOUT
            if sock is not None:
                sock.settimeout(remaining)  # the whole exchange shares one deadline
            resp = conn.getresponse()
            data = b""
            while len(data) <= MAX_ANSWER:
                remaining = deadline - self._mono()
                if remaining <= 0:
                    return _S.TIMEOUT  # a trickling answer must not hold the door
                if sock is not None:
                    sock.settimeout(remaining)
                chunk = resp.read1(4096)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            return _S.TIMEOUT
        except (OSError, http.client.HTTPException):
            return _S.FAILED
        finally:
            conn.close()
        if self._mono() > deadline:
            return _S.TIMEOUT
        if resp.status == 404:
            return _S.NOT_FOUND
        if resp.status != 200 or len(data) > MAX_ANSWER:
            return _S.FAILED
        try:
            return map_answer(json.loads(data))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return _S.FAILED


class OnlineSettings(Protocol):
    """The ``[health]`` config section, as far as this module needs it."""

    enabled: bool
    endpoint: str
    timeout_s: float
    cache_ttl_s: float
    token_file: Path | None
    ca_file: Path | None


def client_from_settings(settings: OnlineSettings, gate_id: str) -> HealthCodeClient | None:
    """The client for the ``[health]`` section, or None when the online check is off.

    Raises ``ValueError`` naming the file when the token or CA file cannot be read.
    """
    if not settings.enabled or not settings.endpoint:
        return None
    token = None
    if settings.token_file is not None:
        try:
            token = settings.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read {settings.token_file}: {exc.strerror}") from exc
    ctx = None
    if settings.ca_file is not None:
        try:
            ctx = ssl.create_default_context(cafile=str(settings.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot use CA file {settings.ca_file}: {exc}") from exc
    return HealthCodeClient(
        settings.endpoint,
        timeout_s=settings.timeout_s,
        cache_ttl_s=settings.cache_ttl_s,
        gate_id=gate_id,
        token=token,
        ssl_context=ctx,
    )
