"""Optional components of the running gate, each started behind a guard.

The entrance (camera → scan → decide → door → store) is the service's core and must run
whatever else breaks. Everything else — person detection, MQTT sync, the guard console — is a
:class:`Component`: started by a factory here, asked for its health, closed at stop. A factory
that raises, or a module that is not installed, yields a :class:`FailedComponent` whose
problem shows in ``STATUS=`` and the metrics instead of stopping the gate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from edge.app import Gate
from edge.config import Config
from edge.metrics import GateMetrics

log = logging.getLogger(__name__)


class Component(Protocol):
    """A part of the running gate besides the entrance core."""

    name: str

    def problem(self) -> str:
        """ "" while working; otherwise a short sentence for STATUS= (degraded, not dead)."""

    def close(self) -> None:
        """Stop threads and release resources; must not raise."""


@dataclass
class FailedComponent:
    """A component that could not start: reported, never retried until a restart."""

    name: str
    reason: str

    def problem(self) -> str:
        return self.reason

    def close(self) -> None:
        pass


# (name, factory): a factory returns None when its component is not configured.
Factory = Callable[[Config, Gate, GateMetrics], Component | None]
FACTORIES: list[tuple[str, Factory]] = []


def start_components(config: Config, gate: Gate, metrics: GateMetrics) -> list[Component]:
    """Start every configured component; failures become :class:`FailedComponent`."""
    started: list[Component] = []
    for name, factory in FACTORIES:
        try:
            component = factory(config, gate, metrics)
        except Exception as exc:  # any failure here degrades the gate, never stops it
            log.exception("%s failed to start", name)
            started.append(FailedComponent(name, f"failed to start: {exc}"))
            continue
        if component is not None:
            log.info("%s started", name)
            started.append(component)
    return started


__all__ = ["FACTORIES", "Component", "FailedComponent", "start_components"]
