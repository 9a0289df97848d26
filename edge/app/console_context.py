"""The console's view of a running gate: providers backed by the :class:`~edge.app.gate.Gate`.

The console package knows only :class:`~edge.console.context.ConsoleContext`; this module, in
the app layer, fills it from the gate, so the console never imports the app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.app.gate import Gate
from edge.console.context import HEALTH_KEYS, ConsoleContext
from edge.console.holds import VisitorHolds
from edge.console.zones import ZoneBook
from edge.gate.credentials.trust import ed25519_kid, load_private_key, save_keypair
from edge.gate.rules.lists import ListsSnapshot

log = logging.getLogger(__name__)

Stats = Callable[[], dict[str, Any]]
Reading = Callable[[], Any]
VISITOR_KEY_NAME = "visitor.key"  # next to the store when [console] visitor_key_file is empty


def visitor_key_path(gate: Gate) -> Path:
    """Where the booth's delegated visitor key lives: ``[console] visitor_key_file``, else
    ``visitor.key`` in the store's folder (the gate's data directory)."""
    configured = getattr(gate.config.console, "visitor_key_file", None)
    return Path(configured) if configured else gate.config.store.path.parent / VISITOR_KEY_NAME


def load_visitor_key(path: Path) -> Ed25519PrivateKey:
    """The visitor key at ``path``; a missing file is created (0600, with ``.pub`` beside it,
    for the platform's register of booth keys). An existing file readable by others is used
    but named in the log: the key signs passes."""
    if path.exists():
        key = load_private_key(path)
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("visitor key %s is readable by others (mode %o): chmod 600", path, mode)
        return key
    key = Ed25519PrivateKey.generate()
    save_keypair(key, path, path.with_suffix(".pub"))
    log.info("visitor key created at %s (public half %s)", path, path.with_suffix(".pub"))
    return key


def console_context(gate: Gate, **overrides: Any) -> ConsoleContext:
    """Providers backed by ``gate``; keyword arguments replace any of them.

    The booth's visitor key is loaded (or created) here and its public half trusted by the
    gate as a visitor issuer, so a pass the console issues is verified by this gate's own
    pipeline; ``visitor_key=None`` in ``overrides`` leaves visitor passes off.
    """
    book = ZoneBook(gate.store, _configured_zones(gate))

    def lists() -> ListsSnapshot:
        return gate.lists  # read each time: the sync layer swaps the snapshot

    def lists_since(version: int) -> list[ListsSnapshot]:
        return [snap for snap in list(gate.lists_log) if snap.version > version]

    def door_state() -> dict[str, Any]:
        machine = getattr(gate.door, "machine", None)  # the door state machine, if fitted
        state = getattr(getattr(machine, "state", None), "value", None)
        return {"state": state or ("released" if gate.door.released else "locked")}

    def save_zone(zone: dict[str, Any], user: str) -> None:
        book.save(zone, user, gate.clock.time())

    visitor_key: Ed25519PrivateKey | None = None
    if "visitor_key" not in overrides:
        path = visitor_key_path(gate)
        try:
            visitor_key = load_visitor_key(path)
        except (OSError, ValueError) as exc:  # the console still serves; visitors wait
            log.error("visitor passes off: cannot use the visitor key %s: %s", path, exc)

    def keep_visitor_issuer() -> None:
        # The sync layer (a pushed trust list) and a config reload replace gate.trust with a
        # fresh TrustStore; the console's timer puts the booth's key back within a second.
        key = ctx.visitor_key
        if key is None:
            return
        public = key.public_key()
        if ed25519_kid(public) not in gate.trust.visitor_issuers:
            gate.trust.add_visitor_issuer(public)

    def confirm_scan(seq: int) -> dict[str, Any] | None:
        # The refused session itself, decided again as confirmed by a guard: the rules
        # profile, not the console, says whether that admits the person.
        session = gate.decided.get(seq)
        if session is None:
            return None
        decision = session.confirm(gate.lists, gate.clock.time())
        if decision is None:
            return None
        return {
            "allow": decision.allow,
            "reasons": [r.value for r in decision.reasons],
            "flags": [f.value for f in decision.flags],
        }

    holds = VisitorHolds.load(gate.store, gate.clock.time())
    gate.visitor_unconfirmed = lambda p: holds.held(p.pass_id)

    ctx = ConsoleContext(
        gate_id=gate.config.gate.id,
        gate_name=gate.config.gate.name,
        events=gate.events,
        store=gate.store,
        now=gate.clock.time,
        lists=lists,
        lists_since=lists_since,
        health=health_provider(gate),
        door_state=door_state,
        # a message to the door's loop (marks the door record): the console never drives it
        open_door=lambda: gate.door.submit(lambda: gate.door.grant(source="console")),
        cameras=lambda: _configured_cameras(gate),
        zones=book.all,
        save_zone=save_zone,
        snapshot_dir=getattr(_perimeter(gate), "snapshot_dir", None),
        visitor_key=visitor_key,
        housekeeping=keep_visitor_issuer,
        confirm_scan=confirm_scan,
        visitor_holds=holds,
    )
    for name, value in overrides.items():
        if not hasattr(ctx, name):
            raise TypeError(f"ConsoleContext has no provider {name!r}")
        setattr(ctx, name, value)
    keep_visitor_issuer()
    return ctx


def health_provider(
    gate: Gate,
    sync_stats: Stats | None = None,
    camera_fps: Reading | None = None,
    detector_ms: Reading | None = None,
    clock_trusted: Reading | None = None,
    workers: Reading | None = None,
) -> Stats:
    """A ``health`` provider from the gate's store plus whatever the runtime can tell.

    ``sync_stats`` is e.g. ``SyncService.stats`` (``connected``, ``last_ack_ts``, …);
    ``camera_fps`` returns {camera: frames per second}; ``detector_ms`` the mean detector
    time per frame in ms; ``clock_trusted`` a bool; ``workers`` a list of
    ``{"name", "state", "restarts", "problem"}`` (the service's supervised workers and
    components, shown as a table). Any of them left out, or raising, shows
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
        info["workers"] = worker_rows(read(workers))
        return info

    return health


def worker_rows(found: Any) -> list[dict[str, Any]] | None:
    """``workers`` readings as the Health page's rows; anything malformed is left out."""
    if not isinstance(found, list | tuple):
        return None
    rows = []
    for w in found:
        if isinstance(w, dict) and w.get("name"):
            rows.append(
                {
                    "name": str(w["name"]),
                    "state": str(w.get("state") or ""),
                    "restarts": w.get("restarts") if isinstance(w.get("restarts"), int) else None,
                    "problem": str(w.get("problem") or ""),
                }
            )
    return rows


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
