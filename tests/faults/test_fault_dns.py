"""The online health-code check keeps its total deadline when name resolution never answers.

The gate runs in a mount namespace of its own whose ``/etc/resolv.conf`` names a loopback
DNS server that swallows every query (a dead resolver): ``getaddrinfo`` has no timeout of its
own and would wait 30 s here. The check is bounded on a worker thread: the decision comes at
the deadline (``timeout_s``), the pulses and the watchdog are kept.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faultkit import (
    DECISION,
    GateRun,
    NotifyListener,
    Pass,
    base_config,
    code_folder,
    log_time,
    pulse_kept,
    pulses,
    read_records,
    wait_until,
)
from needs import unavailable

DEADLINE_S = 2.0  # [health] timeout_s
CAMERA_LOOP_S = 4.0  # 40 frames at 10 fps: the pass shows again after this
RESOLVER_WAIT_S = 30  # what the dead resolver would cost without the deadline


class DeadResolver:
    """UDP 127.0.0.1:53 that reads DNS queries and never answers; notes when each came."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind(("127.0.0.1", 53))
        except OSError as exc:
            self.sock.close()
            unavailable(f"cannot listen on 127.0.0.1:53 (needs root, port free): {exc}")
        self.sock.settimeout(0.1)
        self.queries: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            self.queries.append(time.time())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self.sock.close()


@pytest.fixture
def dead_resolver() -> Iterator[DeadResolver]:
    resolver = DeadResolver()
    yield resolver
    resolver.close()


def own_resolv_conf(folder: Path) -> tuple[str, ...]:
    """A command prefix: a private mount namespace with our resolv.conf over the host's."""
    conf = folder / "resolv.conf"
    conf.write_text(f"nameserver 127.0.0.1\noptions timeout:{RESOLVER_WAIT_S} attempts:1\n")
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind {conf} /etc/resolv.conf"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        unavailable(f"no private mount namespace (needs root): {probe.stderr.strip()}")
    script = f'mount --bind {conf} /etc/resolv.conf && exec "$0" "$@"'
    return ("unshare", "-m", "sh", "-c", script)


def test_online_check_keeps_its_deadline_when_dns_never_answers(
    tmp_path: Path,
    signed_pass: Pass,
    dead_resolver: DeadResolver,
    gate_run: Callable[..., GateRun],
    notify: NotifyListener,
) -> None:
    frames: list[str | None] = [None] * 40
    frames[0] = signed_pass.text
    frames[3] = "HC:dead-dns-test-code"
    camera = code_folder(tmp_path / "cam", frames)
    health = {
        "enabled": True,
        "endpoint": "https://health.gate-test.example/check",  # only DNS could resolve it
        "timeout_s": DEADLINE_S,
        "cache_ttl_s": 0.0,
        "code_prefixes": ["HC:"],
    }
    sections = base_config(tmp_path, signed_pass, camera, tmp_path / "gate.sqlite3", health=health)
    gate = gate_run(sections, prefix=own_resolv_conf(tmp_path))
    notify.wait_for("READY", "1")
    start = time.monotonic()
    wait_until("a query at the dead resolver", lambda: dead_resolver.queries, timeout=40, gate=gate)
    asked = dead_resolver.queries[0]

    def decided_after() -> list[float]:
        times = []
        for line in gate.log().splitlines():
            t = log_time(line)
            if t is not None and t > asked and DECISION.search(line):
                times.append(t)
        return times

    decided = wait_until("the decision after the DNS query", decided_after, timeout=40, gate=gate)
    waited = decided[0] - asked
    print(f"next decision {waited:.2f} s after the first DNS query (deadline {DEADLINE_S} s)")
    # The pass comes round again one camera loop after the code: the gate decided it on time
    # (without the bound the frame loop would have waited the resolver's 30 s).
    assert waited <= CAMERA_LOOP_S + DEADLINE_S + 1.5, f"decisions held {waited:.1f} s"
    wait_until("two pulses", lambda: len(pulses(gate.log())) >= 2, timeout=20, gate=gate)
    assert gate.alive()
    pings = notify.watchdog_times(since=start)
    assert gate.stop() == 0
    lengths = pulses(gate.log())
    assert lengths and all(pulse_kept(x) for x in lengths), lengths
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert gaps and max(gaps) < 1.0, gaps
    outcomes = [
        c["outcome"]
        for _, kind, body in read_records(tmp_path / "gate.sqlite3")
        if kind == "access"
        for c in body["credentials"]
        if c["kind"] == "health_code"
    ]
    assert outcomes and set(outcomes) == {"timeout"}, outcomes
