"""The guard console: the booth's local web page of alerts, scans, the door and households.

The app starts it with ``start_console(console_context(gate), config.console)``
(:func:`edge.app.console_context.console_context`). :class:`ConsoleContext` carries the gate's
EventBus and store plus small provider callables (health, cameras, snapshots, zones, manual
open); keyword overrides wire subsystems such as sync or the perimeter cameras.
"""

from __future__ import annotations

from edge.console.auth import AccountError, Accounts, User
from edge.console.context import HEALTH_KEYS, ConsoleContext
from edge.console.server import ConsoleServer, start_console

__all__ = [
    "HEALTH_KEYS",
    "AccountError",
    "Accounts",
    "ConsoleContext",
    "ConsoleServer",
    "User",
    "start_console",
]
