"""Fixtures for the fault tests (issue 16): a notify socket, small real disks, gate processes."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from configkit import write_config
from faultkit import GateRun, NotifyListener, Pass, SmallDisk, make_pass
from needs import unavailable


@pytest.fixture
def notify() -> Iterator[NotifyListener]:
    listener = NotifyListener()
    yield listener
    listener.close()


@pytest.fixture
def signed_pass(tmp_path: Path) -> Pass:
    return make_pass(tmp_path)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], SmallDisk]]:
    """Mount real tmpfs disks of ``size_kb``; each is unmounted at the end of the test."""
    disks: list[SmallDisk] = []

    def mount(size_kb: int) -> SmallDisk:
        disk = SmallDisk(tmp_path / f"disk{len(disks)}", size_kb)
        if not disk.mounted:
            unavailable(f"cannot mount a tmpfs (needs root): {disk.error}")
        disks.append(disk)
        return disk

    yield mount
    for disk in disks:
        disk.close()


@pytest.fixture
def gate_run(tmp_path: Path, notify: NotifyListener) -> Iterator[Callable[..., GateRun]]:
    """Start ``edge-gate run`` on a config; any still running at the end is killed by pid."""
    started: list[GateRun] = []

    def start(sections: dict[str, dict[str, Any]], **kw: Any) -> GateRun:
        config = write_config(tmp_path / f"gate{len(started)}.toml", sections)
        run = GateRun(config, notify, tmp_path / f"gate{len(started)}.log", **kw)
        started.append(run)
        return run

    yield start
    for run in started:
        if run.alive():
            run.stop(signal.SIGKILL)


@pytest.fixture
def restore_signals() -> Iterator[None]:
    """In-process service runs install handlers; put pytest's back afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)
