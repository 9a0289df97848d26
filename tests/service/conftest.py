"""Fixtures for the service tests (issue 9): configs, a notify socket, gate subprocesses."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from configkit import write_config
from svckit import GateProcess, NotifyListener, frame_folder, issuer_key


@pytest.fixture
def notify() -> Iterator[NotifyListener]:
    listener = NotifyListener()
    yield listener
    listener.close()


@pytest.fixture
def issuer_pub(tmp_path: Path) -> Path:
    return issuer_key(tmp_path)[1]


@pytest.fixture
def make_config(tmp_path: Path, issuer_pub: Path) -> Callable[..., Path]:
    """A runnable config: a folder camera of ``frames`` images, a temp store, the issuer key.

    Keyword arguments are extra sections, merged over the defaults.
    """

    def make(name: str = "gate.toml", frames: int = 30, **sections: dict[str, Any]) -> Path:
        base: dict[str, dict[str, Any]] = {
            "gate": {"id": "test-gate", "name": "Test gate"},
            "camera": {
                "source": str(frame_folder(tmp_path / "frames", frames)),
                # An ended recording is not reopened during a test: it stays dead.
                "reconnect_min_s": 60.0,
                "reconnect_max_s": 600.0,
                "stale_after_s": 2.0,
            },
            "store": {"path": str(tmp_path / "gate.sqlite3")},
            "trust": {"pass_issuer_keys": [str(issuer_pub)]},
            "service": {"pin_factory": "mock"},
            # This host may have no NTP; test_service_wiring checks the untrusted-clock status.
            "clock": {"check": "off"},
        }
        for key, values in sections.items():
            base[key] = {**base.get(key, {}), **values}
        return write_config(tmp_path / name, base)

    return make


@pytest.fixture
def gate_process(notify: NotifyListener) -> Iterator[Callable[..., GateProcess]]:
    """Start ``edge-gate run`` subprocesses; any still running at the end are stopped."""
    started: list[GateProcess] = []

    def start(config: Path, **kw: Any) -> GateProcess:
        proc = GateProcess(config, notify, **kw)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.proc.poll() is None:
            proc.stop(signal.SIGKILL)


@pytest.fixture
def restore_signals() -> Iterator[None]:
    """In-process service runs install handlers; put pytest's back afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)
