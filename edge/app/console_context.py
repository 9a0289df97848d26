"""The console's view of a running gate: providers backed by the :class:`~edge.app.gate.Gate`.

The console package knows only :class:`~edge.console.context.ConsoleContext`; this module, in
the app layer, fills it from the gate, so the console never imports the app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.app.gate import Gate
from edge.console.context import HEALTH_KEYS, ConsoleContext
from edge.console.zones import ZoneBook
from edge.gate.rules.lists import ListsSnapshot

Stats = Callable[[], dict[str, Any]]
Reading = Callable[[], Any]


def console_context(gate: Gate, **overrides: Any) -> ConsoleContext:
    """Providers backed by ``gate``; keyword arguments replace any of them."""
    book = ZoneBook(gate.store, _configured_zones(gate))

    def lists() -> ListsSnapshot:
        return gate.lists  # read each time: the sync layer swaps the snapshot

    def door_state() -> dict[str, Any]:
        machine = getattr(gate.door, "machine", None)  # the door state machine, if fitted
        state = getattr(getattr(machine, "state", None), "value", None)
        return {"state": state or ("released" if gate.door.released else "locked")}

    def save_zone(zone: dict[str, Any], user: str) -> None:
        book.save(zone, user, gate.clock.time())

    ctx = ConsoleContext(
        gate_id=gate.config.gate.id,
        gate_name=gate.config.gate.name,
        events=gate.events,
        store=gate.store,
        now=gate.clock.time,
        lists=lists,
        health=health_provider(gate),
        door_state=door_state,
        # a message to the door's loop (marks the door record): the console never drives it
        open_door=lambda: gate.door.submit(lambda: gate.door.grant(source="console")),
        cameras=lambda: _configured_cameras(gate),
        zones=book.all,
        save_zone=save_zone,
        snapshot_dir=getattr(_perimeter(gate), "snapshot_dir", None),
    )
    for name, value in overrides.items():
        if not hasattr(ctx, name):
            raise TypeError(f"ConsoleContext has no provider {name!r}")
        setattr(ctx, name, value)
    return ctx


def health_provider(
    gate: Gate,
    sync_stats: Stats | None = None,
    camera_fps: Reading | None = None,
    detector_ms: Reading | None = None,
    clock_trusted: Reading | None = None,
) -> Stats:
    """A ``health`` provider from the gate's store plus whatever the runtime can tell.

    ``sync_stats`` is e.g. ``SyncService.stats`` (``connected``, ``last_ack_ts``, …);
    ``camera_fps`` returns {camera: frames per second}; ``detector_ms`` the mean detector
    time per frame in ms; ``clock_trusted`` a bool. Any of them left out, or raising, shows
    as "not available" — the Health page must never fail because a subsystem did.
    """

    def read(fn: Reading | None) -> Any:
        try:
            return None if fn is None else fn()
        except Exception:
            return None

    def health() -> dict[str, Any]:
        info: dict[str, Any] = dict.fromkeys(HEALTH_KEYS)
        info["outbox_depth"] = gate.store.outbox_depth()
        oldest = read(getattr(gate.store, "oldest_unacked_ts", None))
        info["oldest_unacked_s"] = None if oldest is None else gate.clock.time() - oldest
        stored = read(getattr(gate.store, "list_versions", None)) or {}
        info["list_versions"] = {"lists": gate.lists.version, **stored}
        stats = read(sync_stats) or {}
        info["broker_connected"] = stats.get("connected")
        info["last_sync_ts"] = stats.get("last_ack_ts")
        info["camera_fps"] = read(camera_fps)
        info["detector_ms"] = read(detector_ms)
        info["clock_trusted"] = read(clock_trusted)
        return info

    return health


def _perimeter(gate: Gate) -> Any:
    # [perimeter] is mounted by the person-detection work; absent on older configs.
    return getattr(gate.config, "perimeter", None)


def _configured_cameras(gate: Gate) -> list[dict[str, Any]]:
    perimeter = _perimeter(gate)
    cams = getattr(perimeter, "cameras", None) or []
    return [{"id": c.id, "name": c.id, "fps": c.fps} for c in cams]


def _configured_zones(gate: Gate) -> list[dict[str, Any]]:
    perimeter = _perimeter(gate)
    zones = getattr(perimeter, "zones", None) or []
    return [
        {
            "id": z.id,
            "camera": z.camera,
            "household": z.household,
            "polygon": [list(p) for p in z.polygon],
            "source": "config",
        }
        for z in zones
    ]
