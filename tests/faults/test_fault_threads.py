"""State shared between threads without losing updates: the clock trust (decisions, health
and the console ask it at once) and manual zone arming (console and sync threads write,
camera threads read).

Before issue 16 ``ClockTrust.status`` probed NTP and wrote the clock floor from whichever
thread asked: 8 threads asking at once ran the probe up to 8 times for one period and raced
each other writing the same temporary floor file (one ``replace`` found it gone: "cannot
persist the clock floor"); a thread that read the time a moment before another persisted the
floor was refused as "before the floor".
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from pathlib import Path

import pytest

from edge.gate.credentials.clock_trust import (
    PERSIST_EVERY_S,
    PROBE_EVERY_S,
    RELEASE_DATE,
    ClockTrust,
)
from edge.vision.perimeter.monitor import PerimeterService
from edge.vision.perimeter.settings import PerimeterSettings

THREADS = 8
ROUNDS = 200


def hammer(work: list[threading.Thread]) -> None:
    start = threading.Barrier(len(work))
    for t in work:
        t._target = _after(start, t._target)  # type: ignore[attr-defined]
    for t in work:
        t.start()
    for t in work:
        t.join(30)


def _after(barrier: threading.Barrier, fn: object) -> object:
    def run(*args: object, **kwargs: object) -> None:
        barrier.wait()
        fn(*args, **kwargs)  # type: ignore[operator]

    return run


def test_clock_trust_probes_once_a_period_and_keeps_trusting_meanwhile(tmp_path: Path) -> None:
    probes: list[float] = []

    def probe() -> bool:
        probes.append(time.monotonic())
        time.sleep(0.005)  # timedatectl takes a while: the window other threads fall into
        return True

    trust = ClockTrust(tmp_path / "clock-floor", ntp_probe=probe)
    base = RELEASE_DATE + 1000.0
    assert trust.status(base, 0.0).trusted  # the first probe (and floor), as at start
    ticks = itertools.count(1)  # one wall clock for every thread
    verdicts: list[bool] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            for _ in range(ROUNDS):
                # the next probe period: one probe due, the last answer holds meanwhile
                now = base + next(ticks) * 0.001
                verdicts.append(trust.status(now, PROBE_EVERY_S).trusted)
        except BaseException as exc:
            errors.append(exc)

    hammer([threading.Thread(target=ask) for _ in range(THREADS)])
    assert not errors, errors
    assert len(verdicts) == THREADS * ROUNDS and all(verdicts)
    assert len(probes) == 2, f"one probe per period: ran {len(probes) - 1} for the second"


def test_clock_floor_written_by_one_thread_at_a_time_and_never_backwards(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    floor = tmp_path / "clock-floor"
    base = RELEASE_DATE + 1000.0
    floor.write_text(f"{base:.0f}\n")  # written at the last start
    trust = ClockTrust(floor, require_ntp=False)  # [clock] check = "floor"
    ticks = itertools.count()  # 1 s a call, so a floor write falls due every 600 calls
    written: list[float] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            for _ in range(ROUNDS):
                trust.status(base + next(ticks), 0.0)
                written.append(float(floor.read_text()))
        except BaseException as exc:
            errors.append(exc)

    caplog.set_level(logging.WARNING)
    hammer([threading.Thread(target=ask) for _ in range(THREADS)])
    assert not errors, errors
    assert "cannot persist" not in caplog.text, caplog.text
    last = float(floor.read_text())
    assert last >= base + 2 * PERSIST_EVERY_S and last == max(written)
    assert trust.floor == last


def test_manual_arming_from_many_threads_keeps_every_last_word() -> None:
    settings = PerimeterSettings.model_validate({"enabled": True})
    service = PerimeterService(settings, lambda frame: [], _NoSink(), lambda: {})
    copies: list[int] = []
    errors: list[BaseException] = []

    def guard(k: int) -> None:
        try:
            for i in range(ROUNDS):
                zone = f"z{k}-{i % 10}"
                service.arm_by_hand(zone, i % 3 != 0)
                if i % 7 == 0:
                    service.arm_by_hand(zone, None)
                copies.append(len(service.manual_arming()))  # as a camera thread reads it
        except BaseException as exc:
            errors.append(exc)

    hammer([threading.Thread(target=guard, args=(k,)) for k in range(THREADS)])
    assert not errors, errors
    expected: dict[str, bool] = {}
    for k in range(THREADS):
        for i in range(ROUNDS):
            zone = f"z{k}-{i % 10}"
            expected[zone] = i % 3 != 0
            if i % 7 == 0:
                expected.pop(zone)
    assert service.manual_arming() == expected


class _NoSink:
    def emit(self, alert: object) -> None:
        pass
