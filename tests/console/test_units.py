"""Pure parts of the console: sessions, throttle, accounts, zones, board."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge.console.auth import AccountError, Accounts, LoginThrottle, Sessions, User, csrf_ok
from edge.console.board import MAX_ALERTS, Board
from edge.console.zones import ZoneError, check_polygon
from edge.core.events import EventBus
from edge.store.sqlite import Store


class Tick:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_sessions_idle_and_absolute_expiry() -> None:
    clock = Tick()
    sessions = Sessions(idle_s=60, max_s=300, clock=clock)
    s = sessions.create(User("g", "guard", "zh"))
    for _ in range(4):
        clock.t += 59
        assert sessions.get(s.token) is s  # each use refreshes the idle timer
    clock.t += 70
    assert sessions.get(s.token) is None
    s2 = sessions.create(User("g", "guard", "zh"))
    clock.t += 301
    assert not sessions.alive(s2)
    assert sessions.get(None) is None and sessions.get("forged") is None


def test_throttle_per_key_and_window() -> None:
    clock = Tick()
    th = LoginThrottle(max_failures=3, window_s=60, lockout_s=120, clock=clock)
    th.failed("user:a", "addr:1")
    clock.t += 61  # outside the window: forgotten
    th.failed("user:a", "addr:1")
    th.failed("user:a", "addr:1")
    assert th.wait_s("user:a") == 0
    th.failed("user:a", "addr:1")
    assert th.wait_s("user:a") == pytest.approx(120)
    assert th.wait_s("user:b", "addr:2") == 0
    clock.t += 121
    assert th.wait_s("user:a", "addr:1") == 0


def test_accounts(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    accounts = Accounts(store)
    accounts.add("Wang.Li", "long-enough", "admin", "en")
    assert accounts.verify("Wang.Li", "long-enough") == User("Wang.Li", "admin", "en")
    assert accounts.verify("Wang.Li", "wrong-one") is None
    assert accounts.verify("ghost", "long-enough") is None
    assert accounts.verify("bad name!", "x") is None
    assert accounts.verify("Wang.Li", "x" * 10_000) is None
    for args in [("a b", "long-enough", "guard"), ("a", "short", "guard"), ("a", "x" * 9, "root")]:
        with pytest.raises(AccountError):
            accounts.add(*args)
    accounts.set_lang("Wang.Li", "zh")
    assert accounts.get("Wang.Li") == User("Wang.Li", "admin", "zh")
    with store.transaction() as db:
        row = db.execute("SELECT hash FROM console_users").fetchone()
    assert row[0].startswith("$argon2id$") and "long-enough" not in row[0]
    assert accounts.names() == [("Wang.Li", "admin")]
    store.close()


def test_csrf_compare() -> None:
    assert csrf_ok("abc", "abc") and not csrf_ok("abc", "abd") and not csrf_ok("abc", None)


def test_polygons() -> None:
    assert check_polygon([[0, 0], [1, 0], [1, 1], [0, 1]]) == [(0, 0), (1, 0), (1, 1), (0, 1)]
    for bad in (None, "x", [], [[0, 0]] * 40, [[0, 0], [1, 0], [float("nan"), 1]], [[True, 0]] * 3):
        with pytest.raises(ZoneError):
            check_polygon(bad)


def test_board_merges_alert_phases_and_bounds_memory() -> None:
    bus = EventBus()
    board = Board()
    board.attach(bus)
    bus.publish("alert", 1.0, id="x", phase="new", household="3-2-601", snapshot="/a.jpg")
    bus.publish("alert", 2.0, id="x", phase="end")
    alerts = board.snapshot()["alerts"]
    assert len(alerts) == 1 and alerts[0]["phase"] == "end" and alerts[0]["last_ts"] == 2.0
    assert alerts[0]["has_snapshot"] and "snapshot" not in alerts[0]  # paths stay on the gate
    for i in range(MAX_ALERTS + 20):
        bus.publish("alert", 3.0 + i, id=f"n{i}")
    assert len(board.snapshot()["alerts"]) == MAX_ALERTS
    bus.publish("access", 5.0, seq=1, allow=False, health={"secret": 1}, sentence_en="No")
    assert "health" not in board.snapshot()["scans"][0]


def test_console_zones_merge_into_perimeter_settings(tmp_path: Path) -> None:
    from edge.console.zones import ZoneBook, merge_console_zones
    from edge.vision.camera.settings import PerimeterCameraSettings
    from edge.vision.perimeter.settings import PerimeterSettings, ZoneSettings

    store = Store(tmp_path / "s.db")
    perimeter = PerimeterSettings(
        cameras=[PerimeterCameraSettings(id="cam1")],
        zones=[ZoneSettings(id="z1", camera="cam1", household="3-2-601", dwell_s=7.0)],
    )
    book = ZoneBook(store)
    square = [(0.1, 0.1), (0.5, 0.1), (0.5, 0.5), (0.1, 0.5)]
    book.save({"id": "z1", "camera": "cam1", "household": "3-2-601", "polygon": square}, "a", 1.0)
    book.save({"id": "z2", "camera": "cam1", "household": "3-2-602", "polygon": square}, "a", 1.0)
    book.save({"id": "z3", "camera": "gone", "household": "3-2-603", "polygon": square}, "a", 1.0)
    merged = {z.id: z for z in merge_console_zones(perimeter, store).zones}
    assert set(merged) == {"z1", "z2"}
    assert merged["z1"].polygon == square and merged["z1"].dwell_s == 7.0  # tuning kept
    assert merged["z2"].household == "3-2-602"
    store.close()


def test_health_provider_maps_sync_stats_and_survives_failures(tmp_path: Path) -> None:
    from gpiozero.pins.mock import MockFactory

    from edge.app.config import Config
    from edge.app.console_context import health_provider
    from edge.app.gate import build_gate
    from edge.console.context import HEALTH_KEYS
    from edge.store.settings import StoreSettings

    config = Config().model_copy(update={"store": StoreSettings(path=tmp_path / "g.db")})
    gate = build_gate(config, pin_factory=MockFactory())
    try:

        def broken() -> Any:
            raise RuntimeError("camera thread died")

        health = health_provider(
            gate,
            sync_stats=lambda: {"connected": True, "last_ack_ts": 123.0},
            camera_fps=lambda: {"cam1": 4.9},
            detector_ms=broken,
        )()
        assert set(health) == set(HEALTH_KEYS)
        assert health["broker_connected"] is True and health["last_sync_ts"] == 123.0
        assert health["camera_fps"] == {"cam1": 4.9} and health["detector_ms"] is None
        assert health["outbox_depth"] == 0 and health["list_versions"]["lists"] == 0
    finally:
        gate.close()
