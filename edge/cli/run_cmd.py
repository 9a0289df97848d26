"""`edge-gate run --config FILE`: the gate as a long-running service (systemd Type=notify).

`edge-gate safe-door --config FILE`: drive the door relay to its safe state (de-energised, the
lock type's declared unpowered state; see :mod:`edge.gate.door.io`) and exit. The unit runs it
as ``ExecStopPost=`` so the door is safe even after the service was killed (watchdog timeout,
out of memory) before it could do it itself.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from edge.app.config import ConfigError, load_config
from edge.app.logsetup import setup_logging
from edge.cli import CONFIG_HELP

log = logging.getLogger(__name__)


def _run(args: argparse.Namespace) -> int:
    from edge.app.service import Service

    journal = setup_logging(args.verbose)
    log.info(
        "edge-gate run: config %s%s", args.config, " (logging to the journal)" if journal else ""
    )
    return Service(args.config).run()


def _safe_door(args: argparse.Namespace) -> int:
    from edge.gate.door.io import DoorIO
    from edge.gate.door.pins import make_pin_factory

    setup_logging(args.verbose)
    try:
        config = load_config(args.config)
    except ConfigError:
        # The door must still be made safe: fall back to the built-in pins and polarity.
        log.error("config unreadable; putting the default relay pin in its safe state")
        config = load_config(None)
    io = DoorIO(config.door, make_pin_factory(config.service.pin_factory))
    io.close()  # the door module's own definition of safe: relay de-energised, outputs off
    log.info("door relay pin %d in its safe state (de-energised)", config.door.relay_pin)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the gate as a service (camera → door, systemd notify)")
    p.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    p.set_defaults(handler=_run)
    s = sub.add_parser("safe-door", help="lock the door relay and exit (used after a stop)")
    s.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    s.set_defaults(handler=_safe_door)
