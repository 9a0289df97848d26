"""The guard console: a local web page for the booth (issue 8).

Start it from the gate process with::

    from edge.console import ConsoleContext, start_console

    console = start_console(ConsoleContext.from_gate(gate), config.console)
    print(console.url)
    ...
    console.stop()

:class:`ConsoleContext` carries the gate's EventBus and store plus small provider callables
(health, cameras, snapshots, zones, manual open); pass keyword overrides to
:meth:`ConsoleContext.from_gate` to wire subsystems such as sync or the perimeter cameras.
"""

from __future__ import annotations

from edge.console.auth import AccountError, Accounts, User
from edge.console.context import HEALTH_KEYS, ConsoleContext, health_provider
from edge.console.server import ConsoleServer, start_console

__all__ = [
    "HEALTH_KEYS",
    "AccountError",
    "Accounts",
    "ConsoleContext",
    "ConsoleServer",
    "User",
    "health_provider",
    "start_console",
]
