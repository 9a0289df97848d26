"""`edge-gate demo`: the whole gate on embedded defaults, no Pi, camera or broker needed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.app.config import ConfigError, load_config
from edge.cli import CONFIG_HELP, UsageError


def _run(args: argparse.Namespace) -> int:
    import logging

    from edge.tools.demo import run_demo

    if not args.verbose:
        logging.getLogger("edge").setLevel(logging.WARNING)

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise UsageError(f"bad config:\n{exc}") from None
    after = None
    if args.serve:
        from edge.cli.console_cmd import wait_for_ctrl_c

        after = wait_for_ctrl_c
    wrong = run_demo(sys.stdout, config, workdir=args.workdir, lang=args.lang, after_gate=after)
    return 1 if wrong else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="run the gate on simulated residents (no hardware needed)")
    p.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    p.add_argument("--workdir", type=Path, default=None, help="keep the demo store here")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the output")
    p.add_argument("--serve", action="store_true", help="keep the guard console open until Ctrl-C")
    p.set_defaults(handler=_run)
