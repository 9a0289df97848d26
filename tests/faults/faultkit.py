"""Helpers for the fault tests (issue 16): the real ``edge-gate run`` as a subprocess, a small
real filesystem, real QR frames of a signed pass, and readers of what the gate left behind
(its log, its notify messages, its SQLite records)."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.gate.credentials import passes
from edge.gate.credentials.trust import save_keypair
from edge.gate.credentials.verified import Role
from edge.gate.rules.lists import Household, ListsSnapshot
from edge.tools.render import render_frame

EDGE_GATE = Path(sys.executable).parent / "edge-gate"
DAY = 86_400
FRAME_W, FRAME_H = 640, 480
PULSE_S = 1.0
# A pulse "kept" under a fault: not cut short, and not stretched by the fault (before issue 16
# a hung online check stretched 1.0 s to 3.3-5.1 s). The ±10 % target itself is a timing
# figure for a benchmark; here the upper bound leaves room for a test machine shared by many
# (load ~15 on 2 cores was seen: a thread may wait a few hundred ms for a core).
PULSE_MAX_S = PULSE_S + 0.5


def pulse_kept(length: float) -> bool:
    return 0.9 * PULSE_S <= length <= PULSE_MAX_S


@dataclass
class Pass:
    """A signed resident pass, the issuer's public key and a lists file naming its household."""

    text: str
    pub: Path
    lists: Path


def make_pass(folder: Path) -> Pass:
    key = Ed25519PrivateKey.generate()
    save_keypair(key, folder / "issuer.key", folder / "issuer.pub")
    now = int(time.time())
    body = passes.PassBody("P-7", "h-7", "3", "2", "501", Role.RESIDENT, now - DAY, now + DAY, None)
    lists = folder / "lists.json"
    lists.write_text(
        ListsSnapshot(version=1, households={"3-2-501": Household()}).model_dump_json()
    )
    return Pass(passes.issue(body, key), folder / "issuer.pub", lists)


def blank(i: int) -> np.ndarray:
    return np.full((FRAME_H, FRAME_W, 3), 90 + i % 50, dtype=np.uint8)


def code_folder(folder: Path, texts: list[str | None]) -> Path:
    """One PNG per entry: the rendered QR of the text, or a blank frame for None. Replayed by
    the gate at 10 fps, so each entry is 0.1 s of "camera"."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        img = blank(i) if text is None else render_frame(text, i, width=FRAME_W, height=FRAME_H)
        cv2.imwrite(str(folder / f"frame{i:04d}.png"), img)
    return folder


def every(text: str, period: int, count: int) -> list[str | None]:
    """``text`` in one frame out of ``period``, ``count`` frames in all."""
    return [text if i % period == 0 else None for i in range(count)]


def base_config(
    tmp: Path, p: Pass, camera: Path, db_path: Path, **sections: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    base: dict[str, dict[str, Any]] = {
        "gate": {"id": "fault-gate", "name": "Fault gate"},
        "camera": {
            "source": str(camera),
            "width": FRAME_W,
            "height": FRAME_H,
            # a recording that ended is reopened at once: the "camera" loops forever
            "reconnect_min_s": 0.1,
            "reconnect_max_s": 0.5,
            "stale_after_s": 1.0,
        },
        "scanner": {"repeat_after_s": 0.5, "gone_after_s": 0.2},
        "door": {"pulse_s": PULSE_S},
        "store": {"path": str(db_path)},
        "trust": {"pass_issuer_keys": [str(p.pub)]},
        "lists": {"path": str(p.lists)},
        "service": {"pin_factory": "mock", "startup_timeout_s": 30.0},
        "clock": {"check": "off"},
    }
    for key, values in sections.items():
        base[key] = {**base.get(key, {}), **values}
    return base


class NotifyListener:
    """A real AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="eg-fault-", dir="/tmp"))
        self.path = self.dir / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, dict[str, str]]] = []
        # Read all the time, as systemd does: a gate whose messages nobody reads must not be
        # what a test measures.
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, OSError):
                continue
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append((time.monotonic(), fields))

    def drain(self, seconds: float) -> None:
        time.sleep(seconds)

    def status(self) -> str:
        """The latest STATUS= text."""
        for _, fields in reversed(self.messages):
            if "STATUS" in fields:
                return fields["STATUS"]
        return ""

    def wait_for(self, key: str, contains: str = "", timeout: float = 30.0) -> dict[str, str]:
        end = time.monotonic() + timeout
        seen = len(self.messages)
        while time.monotonic() < end:
            self.drain(0.05)
            for _, fields in self.messages[seen:]:
                if key in fields and contains in fields[key]:
                    return fields
            seen = len(self.messages)
        last = [f for _, f in self.messages[-5:]]
        raise AssertionError(f"no {key} containing {contains!r}; last: {last}")

    def watchdog_times(self, since: float = 0.0) -> list[float]:
        return [t for t, f in self.messages if "WATCHDOG" in f and t >= since]

    def close(self) -> None:
        self._stop.set()
        self._reader.join(1.0)
        self.sock.close()
        self.path.unlink(missing_ok=True)
        self.dir.rmdir()


@dataclass
class GateRun:
    """``edge-gate run --config`` in a subprocess; its log goes to a file (a pipe nobody reads
    could fill and block the gate), read with :meth:`log`."""

    config: Path
    notify: NotifyListener
    logfile: Path
    watchdog_usec: int = 1_000_000
    # run through this first (e.g. ``unshare -m sh -c '…; exec "$0" "$@"'``): same pid
    prefix: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] = field(init=False)

    def __post_init__(self) -> None:
        env = dict(os.environ, NOTIFY_SOCKET=str(self.notify.path))
        env["WATCHDOG_USEC"] = str(self.watchdog_usec)
        env.pop("JOURNAL_STREAM", None)
        env.pop("INVOCATION_ID", None)
        self._out = self.logfile.open("wb")
        self.proc = subprocess.Popen(
            [*self.prefix, str(EDGE_GATE), "run", "--config", str(self.config)],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.logfile.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send ``signum`` and wait; returns the exit status. Kills (by pid) on timeout."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"edge-gate run did not stop on {signum}:\n{self.log()}") from None
        finally:
            self._out.close()
        return self.proc.returncode


LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")
DECISION = re.compile(r"\b(ALLOW|DENY) (\S+) seq=(\d+)")


def log_time(line: str) -> float | None:
    m = LOG_TIME.match(line)
    if m is None:
        return None
    return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()


def decisions(log: str) -> list[tuple[str, str, int]]:
    """(ALLOW|DENY, reasons, seq) of every decision line, in log order."""
    return [(m[1], m[2], int(m[3])) for m in DECISION.finditer(log)]


def pulses(log: str) -> list[float]:
    """Lengths (s) of the relay pulses in the log: ``door granted`` to ``door relocked``."""
    out: list[float] = []
    start: float | None = None
    for line in log.splitlines():
        t = log_time(line)
        if t is None:
            continue
        if "edge.gate.door.controller: door granted" in line:
            start = t
        elif "edge.gate.door.controller: door relocked" in line and start is not None:
            out.append(t - start)
            start = None
    return out


def wait_until(
    what: str,
    check: Any,
    timeout: float = 30.0,
    every_s: float = 0.1,
    gate: GateRun | None = None,
) -> Any:
    """Poll ``check`` until it is true; on timeout fail with the gate's thread stacks (the
    service prints them on SIGUSR1) and the end of its log."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(every_s)
    tail = ""
    if gate is not None and gate.alive():
        gate.send(signal.SIGUSR1)
        time.sleep(0.5)
        tail = "\n" + gate.log()[-6000:]
    raise AssertionError(f"timed out waiting for {what}{tail}")


def read_records(path: Path) -> list[tuple[int, str, dict[str, Any]]]:
    """(seq, kind, body) of every record, opened read-only."""
    import json

    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT seq, kind, body FROM records ORDER BY seq").fetchall()
    finally:
        db.close()
    return [(int(r[0]), str(r[1]), json.loads(r[2])) for r in rows]


class SmallDisk:
    """A real tmpfs of a few MB, mounted for one test (needs root) and unmounted after."""

    def __init__(self, where: Path, size_kb: int) -> None:
        self.path = where
        where.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
        self.mounted = res.returncode == 0
        self.error = res.stderr.strip()

    def fill(self) -> Path:
        """Take every free byte with a filler file; returns it (delete it to free the disk)."""
        filler = self.path / "filler"
        with filler.open("wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
        return filler

    def read_only(self, on: bool) -> None:
        """Remount read-only (an SD card the kernel turned read-only after errors) or back."""
        opts = "remount,ro" if on else "remount,rw"
        subprocess.run(["mount", "-o", opts, str(self.path)], check=True, capture_output=True)

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=False)
            self.mounted = False


class BlackHole:
    """A loopback TCP endpoint that accepts connections and never answers (a platform that
    hangs): ``connections`` counts the clients that reached it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/check"
        self.connections = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self._held.append(conn)  # held open, never read from or written to
            self.connections += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        for conn in self._held:
            conn.close()
        self.sock.close()


class UpWatch:
    """A subscriber to one uplink topic of a gate (``alerts``, ``records``), as central would
    be: every record with the wall time it arrived."""

    def __init__(self, broker: Any, gate: str, kind: str) -> None:
        from edge.sync.client import LinkSettings, MqttLink
        from edge.tools.localbroker import PASSWORD

        self.link = MqttLink(
            LinkSettings(
                port=broker.tls, client_id=f"watch-{kind}", username="central",
                password=PASSWORD, tls=True, ca_file=broker.ca(), reconnect_min_s=0.1,
                reconnect_max_s=1.0, subscriptions=(f"gate/v1/{gate}/up/{kind}",),
            )
        )  # fmt: skip
        self.seen: list[tuple[float, dict[str, Any]]] = []
        self.epochs: set[str] = set()  # the database ids the batches named
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import json

        while not self._stop.is_set():
            for ev in self.link.poll(0.02):
                if ev.kind == "message":
                    at = time.time()
                    batch = json.loads(ev.payload)
                    self.epochs.add(str(batch.get("epoch")))
                    for rec in batch["records"]:
                        self.seen.append((at, rec))

    @property
    def connected(self) -> bool:
        return bool(self.link.connected)

    def find(self, alert: str) -> list[tuple[float, dict[str, Any]]]:
        return [(t, r) for t, r in self.seen if r.get("alert") == alert]

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [r for _, r in self.seen if r.get("kind") == kind]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.link.close(None)
