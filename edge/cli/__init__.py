"""The `edge-gate` command line.

Each module in this package that defines ``register(subparsers)`` adds its own verbs, so
capabilities plug in without editing a central list. A verb's handler takes the parsed
arguments and returns the exit status: 0 success, 1 a negative answer (refused, unhealthy),
2 a usage or input error.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from edge import __version__
from edge.core.errors import InputError

#: The ``--config`` help of every verb: the lookup is shared (:mod:`edge.app.config_lookup`).
CONFIG_HELP = (
    "TOML config (default: $EDGE_GATE_CONFIG, else /etc/edge-gate/edge-gate.toml if it exists, "
    "else the embedded defaults)"
)


class UsageError(InputError):
    """Bad arguments or input: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-gate",
        description="Smart entrance gate: passes, health codes, door, person detection, sync.",
    )
    parser.add_argument("--version", action="version", version=f"edge-gate {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    if hasattr(args, "config"):
        # One lookup for every verb that reads a config; its first log line names the file.
        from edge.app.config_lookup import announce, find_config

        choice = find_config(args.config)
        args.config = choice.path
        announce(args.verb, choice)
    try:
        return int(handler(args))
    except InputError as exc:  # UsageError and every other refusal of bad input: one line
        print(f"edge-gate {args.verb}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
