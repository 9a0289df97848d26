"""Helpers for the service tests: configs, frame folders, a notify socket, a gate subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gpiozero.pins.mock import MockFactory, MockPin

from edge.gate.credentials.trust import save_keypair

REPO = Path(__file__).resolve().parents[2]
EDGE_GATE = Path(sys.executable).parent / "edge-gate"


def issuer_key(folder: Path) -> tuple[Ed25519PrivateKey, Path]:
    """A fresh issuer key pair; returns the private key and the public PEM path."""
    key = Ed25519PrivateKey.generate()
    save_keypair(key, folder / "issuer.key", folder / "issuer.pub")
    return key, folder / "issuer.pub"


def frame_folder(folder: Path, count: int, size: tuple[int, int] = (320, 240)) -> Path:
    """``count`` small blank PNGs: a camera that delivers ``count`` frames, then ends."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        img = np.full((size[1], size[0], 3), 90 + i % 50, dtype=np.uint8)
        cv2.imwrite(str(folder / f"frame{i:04d}.png"), img)
    return folder


class NotifyListener:
    """A real AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self) -> None:
        # AF_UNIX paths are limited to 108 bytes: pytest's tmp_path can be longer.
        self.dir = Path(tempfile.mkdtemp(prefix="eg-notify-", dir="/tmp"))
        self.path = self.dir / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.messages: list[tuple[float, dict[str, str]]] = []

    def drain(self, seconds: float) -> None:
        """Collect messages for ``seconds``."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.sock.settimeout(max(left, 0.01))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append((time.monotonic(), fields))

    def wait_for(self, key: str, contains: str = "", timeout: float = 20.0) -> dict[str, str]:
        """Collect until a message has ``key`` (whose value contains ``contains``)."""
        end = time.monotonic() + timeout
        seen = len(self.messages)
        while time.monotonic() < end:
            self.drain(0.05)
            for _, fields in self.messages[seen:]:
                if key in fields and contains in fields[key]:
                    return fields
            seen = len(self.messages)
        raise AssertionError(f"no {key} containing {contains!r}; got {self.messages}")

    def keys_in_order(self) -> list[str]:
        return [k for _, f in self.messages for k in f]

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)
        self.dir.rmdir()


@dataclass
class GateProcess:
    """``edge-gate run`` in a subprocess, stopped (and waited for) by ``stop``."""

    config: Path
    notify: NotifyListener
    watchdog_usec: int = 200_000
    proc: subprocess.Popen[str] = field(init=False)

    def __post_init__(self) -> None:
        env = dict(os.environ, NOTIFY_SOCKET=str(self.notify.path))
        env["WATCHDOG_USEC"] = str(self.watchdog_usec)
        env.pop("JOURNAL_STREAM", None)
        env.pop("INVOCATION_ID", None)
        self.proc = subprocess.Popen(
            [str(EDGE_GATE), "run", "--config", str(self.config)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait(self, timeout: float = 20.0) -> tuple[int, str]:
        """Wait for the process to exit by itself; returns (exit status, stderr)."""
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> tuple[int, str]:
        """Send ``signum``, wait; returns (exit status, stderr). Kills on timeout."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"edge-gate run did not stop on signal {signum}:\n{err}") from None
        return self.proc.returncode, err


class RecordingPin(MockPin):  # type: ignore[misc]
    """A mock pin that remembers its state at the moment it is released (closed)."""

    closed_states: ClassVar[dict[int, bool]] = {}

    def close(self) -> None:
        if self.function == "output":
            RecordingPin.closed_states[int(str(self.info.name).removeprefix("GPIO"))] = self.state
        super().close()


def recording_factory() -> Any:
    RecordingPin.closed_states = {}
    return MockFactory(pin_class=RecordingPin)
