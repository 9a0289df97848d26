"""How the running gate plugs into sync: one call, ``start_sync(gate)``.

Applied downlink reaches the gate through :class:`GateHooks`: a new lists snapshot replaces
``gate.lists``, pushed issuer keys replace ``gate.trust`` (configured keys kept), a rules
profile replaces ``gate.rules``; commands become gate actions and ``command`` events on the
bus (zones and guards listen there). Attribute assignment is atomic in CPython, so the gate's
next decision simply sees the new object.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from edge.app.config import Config
from edge.core.events import EventBus
from edge.core.records import EventKind
from edge.gate.credentials.trust import TrustStore
from edge.gate.rules.lists import ListsSnapshot
from edge.gate.rules.profile import Rules
from edge.store.sqlite import Store
from edge.sync.lists_apply import GateHooks
from edge.sync.service import SyncService

log = logging.getLogger(__name__)


class GateLike(Protocol):
    """What sync needs of :class:`edge.app.gate.Gate`."""

    config: Config
    store: Store
    events: EventBus
    lists: ListsSnapshot
    trust: TrustStore
    rules: Rules
    door: Any


def gate_hooks(gate: GateLike, service: list[SyncService]) -> GateHooks:
    """Hooks that update ``gate`` in place; ``service`` holds the SyncService once made."""

    def on_lists(snap: ListsSnapshot) -> None:
        gate.lists = snap

    def on_trust(trust: TrustStore) -> None:
        gate.trust = trust

    def on_rules(rules: Rules) -> None:
        gate.rules = rules

    def on_command(cmd: str, args: dict[str, Any]) -> bool:
        gate.events.publish(EventKind.COMMAND, time.time(), cmd=cmd, args=args, source="central")
        if cmd == "open":
            asked = args.get("seconds")
            seconds = float(asked) if isinstance(asked, int | float) else None
            if seconds is not None and not 0 < seconds <= 3600:
                seconds = None
            # N seconds as asked (the door's max_unlock_s still caps it), else the pulse
            # a message to the door's loop: no other thread ever drives the door
            gate.door.submit(lambda: gate.door.grant(seconds=seconds, source="central"))
            return True
        if cmd == "resync" and service:
            service[0].store.requeue_all()
            return True
        return cmd in ("arm", "disarm")  # carried out by the zone owner listening on events

    def on_config(settings: dict[str, Any]) -> None:
        gate.events.publish(EventKind.CONFIG, time.time(), settings=settings, source="central")

    return GateHooks(on_lists, on_trust, on_rules, on_command, on_config)


def start_sync(gate: GateLike, components: Any = None) -> SyncService | None:
    """Start the uplink for a running gate if ``[sync] enabled``; call ``.stop()`` at exit.

    ``components`` is an optional ``() -> dict[str, str]`` of camera/detector status for the
    heartbeat. Lists already stored from earlier runs are handed to the gate at once.
    """
    if not gate.config.sync.enabled:
        return None
    holder: list[SyncService] = []
    svc = SyncService(
        gate.config.sync,
        gate.config.gate.id,
        gate.store,
        gate.events,
        gate_hooks(gate, holder),
        base_trust=gate.trust,
        components=components,
    )
    holder.append(svc)
    svc.start()
    log.info("sync started for gate %s", gate.config.gate.id)
    return svc
