"""Optional components of the running gate, each started behind a guard.

The entrance (camera → scan → decide → door → store) is the service's core and must run
whatever else breaks. Everything else — person detection, MQTT sync, the guard console — is a
:class:`Component`: started by a factory here, asked for its health, closed at stop. A factory
that raises, or a module that is not installed, yields a :class:`FailedComponent` whose
problem shows in ``STATUS=`` and the metrics instead of stopping the gate; the service's
supervisor tries it again alone, with back-off (:func:`restart_failed`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from edge.app.config import Config
from edge.app.gate import Gate
from edge.app.metrics import GateMetrics

log = logging.getLogger(__name__)


class Component(Protocol):
    """A part of the running gate besides the entrance core."""

    name: str

    def problem(self) -> str:
        """ "" while working; otherwise a short sentence for STATUS= (degraded, not dead)."""

    def close(self) -> None:
        """Stop threads and release resources; must not raise."""


RETRY_FIRST_S = 30.0  # a failed component is tried again after this, s
RETRY_MAX_S = 600.0  # then after twice as long each time, up to this, s


@dataclass
class FailedComponent:
    """A component that could not start: reported, and tried again with back-off."""

    name: str
    reason: str
    attempts: int = 1
    next_try: float = field(default_factory=lambda: time.monotonic() + RETRY_FIRST_S)

    def problem(self) -> str:
        return self.reason

    def close(self) -> None:
        pass


@dataclass
class Runtime:
    """What a component factory may use: the gate, its config and metrics, the entrance
    cameras' state, and the components started before it (by name)."""

    config: Config
    gate: Gate
    metrics: GateMetrics
    camera_fps: Callable[[], dict[str, float]]
    started: dict[str, Component] = field(default_factory=dict)
    # every supervised part's {"name", "state", "restarts", "problem"} (the console shows it)
    workers: Callable[[], list[dict[str, Any]]] = list


# A factory returns None when its component is not configured (or not enabled).
Factory = Callable[[Runtime], Component | None]


def start_components(runtime: Runtime, factories: list[tuple[str, Factory]]) -> list[Component]:
    """Start every configured component in order; failures become :class:`FailedComponent`."""
    started: list[Component] = []
    for name, factory in factories:
        try:
            component = factory(runtime)
        except Exception as exc:  # any failure here degrades the gate, never stops it
            # config, files, a store that cannot be opened yet: said in one line, no traceback
            expected = isinstance(exc, ValueError | OSError | ImportError | sqlite3.Error)
            log.error("%s failed to start: %s", name, exc, exc_info=not expected)
            component = FailedComponent(name, f"failed to start: {exc}")
        if component is not None:
            if not isinstance(component, FailedComponent):
                log.info("%s started", name)
            started.append(component)
            runtime.started[name] = component
    return started


def restart_failed(
    runtime: Runtime,
    factories: list[tuple[str, Factory]],
    components: list[Component],
    now: float | None = None,
    force: bool = False,
) -> list[Component]:
    """The components with each failed one whose back-off has run out (every failed one
    with ``force``) started again (alone: the others and the entrance are not touched).
    Returns the new list."""
    now = time.monotonic() if now is None else now
    by_name = dict(factories)
    out: list[Component] = []
    for component in components:
        factory = by_name.get(component.name)
        if (
            not isinstance(component, FailedComponent)
            or not factory
            or not (force or component.next_try <= now)
        ):
            out.append(component)
            continue
        try:
            fresh = factory(runtime)
        except Exception as exc:  # still failing: wait twice as long
            wait = min(RETRY_FIRST_S * 2**component.attempts, RETRY_MAX_S)
            log.warning("%s still fails (%s); next try in %.0f s", component.name, exc, wait)
            out.append(
                FailedComponent(
                    component.name, f"failed to start: {exc}", component.attempts + 1, now + wait
                )
            )
            continue
        if fresh is None:  # no longer configured
            continue
        log.info("%s started after %d failed attempt(s)", component.name, component.attempts)
        runtime.started[component.name] = fresh
        out.append(fresh)
    return out


__all__ = [
    "Component",
    "Factory",
    "FailedComponent",
    "Runtime",
    "restart_failed",
    "start_components",
]
