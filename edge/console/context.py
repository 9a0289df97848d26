"""What the console needs from the gate, as small callables the runtime can replace.

The console never reaches into the detector, the door state machine or the sync client
directly: it reads the EventBus and the store, and asks these providers for the rest. A
provider that is not wired yet answers ``None`` and the page says "not available", so the
console works with today's gate and picks up new subsystems by passing a provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.console.holds import VisitorHolds
from edge.core.events import EventBus
from edge.gate.rules.lists import ListsSnapshot
from edge.store.sqlite import Store

#: Keys of the Health page, in display order. Values: None = not available (not wired yet).
HEALTH_KEYS = (
    "broker_connected",  # bool
    "outbox_depth",  # records waiting to sync, count
    "oldest_unacked_s",  # age of the oldest record the platform has not acknowledged, seconds
    "last_sync_ts",  # last successful exchange with the platform, Unix seconds
    "list_versions",  # {"lists": n, ...}
    "clock_trusted",  # bool: wall clock known good (NTP/RTC)
    "camera_fps",  # {"cam1": frames per second, ...}
    "detector_ms",  # person detector time per frame, milliseconds
    "workers",  # [{"name", "state", "restarts", "problem"}]: the service's workers/components
)


def _no_cameras() -> list[dict[str, Any]]:
    return []


def _no_snapshot(camera: str) -> bytes | None:
    return None


def _nothing() -> None:
    return None


def _holds() -> VisitorHolds:
    return VisitorHolds()


@dataclass
class ConsoleContext:
    """The gate as the console sees it.

    ``now`` is wall-clock Unix seconds (record timestamps). ``cameras`` returns dicts with at
    least ``id`` (and optionally ``name``, ``fps``); ``camera_snapshot(id)`` a JPEG or None.
    ``open_door`` releases the lock for one pulse (the console records who and why first).
    ``save_zone(zone, user)`` stores a checked zone and may raise ``ValueError`` to refuse it.
    """

    gate_id: str
    gate_name: str
    events: EventBus
    store: Store
    now: Callable[[], float]
    lists: Callable[[], ListsSnapshot]
    health: Callable[[], dict[str, Any]]
    door_state: Callable[[], dict[str, Any]]
    open_door: Callable[[], None]
    cameras: Callable[[], list[dict[str, Any]]] = _no_cameras
    camera_snapshot: Callable[[str], bytes | None] = _no_snapshot
    zones: Callable[[], list[dict[str, Any]]] = field(default=_no_cameras)
    save_zone: Callable[[dict[str, Any], str], None] | None = None
    snapshot_dir: Path | None = None  # where alerts' snapshot file names are looked up
    # The gate's delegated visitor key (edge.gate.credentials.visitor); its public half must be
    # in the gate's TrustStore as a visitor issuer. None: no visitor passes at this booth.
    visitor_key: Ed25519PrivateKey | None = None
    # Run by the console server's timer (about once a second, on its worker pool): small
    # upkeep the runtime needs while the console runs, e.g. keeping the visitor key trusted.
    housekeeping: Callable[[], None] = _nothing
    # The snapshots the gate took after version ``v``, oldest first (the colour-change check
    # walks each, so two pushes between its ticks are two steps, not one jump). None: only
    # ``lists()`` is sampled.
    lists_since: Callable[[int], list[ListsSnapshot]] | None = None
    # The refused scan ``access_seq`` decided again as if a guard confirmed it (the rules
    # profile's ScanSession.confirm): the new decision as a dict with ``allow``, ``reasons``
    # and ``flags``, or None when the gate no longer holds that scan. None: not wired.
    confirm_scan: Callable[[int], dict[str, Any] | None] | None = None
    # Visitor passes awaiting their household's confirmation (edge.console.visitors).
    visitor_holds: VisitorHolds = field(default_factory=_holds)
