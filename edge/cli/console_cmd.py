"""`edge-gate console` (try the guard console on the demo) and `edge-gate user` (accounts).

The console itself runs inside the gate process (``edge-gate run`` with ``[console] enabled =
true``), because it shows that process's live events and drives its door. ``console --demo``
runs the demo with the console kept open until Ctrl-C; ``user add`` creates or resets a guard
or admin account in the gate's store, reading the password from a prompt or stdin so it
never shows up in the shell history or the process list.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sqlite3
import sys
import time
from pathlib import Path

from edge.app.config import ConfigError, load_config
from edge.cli import CONFIG_HELP, UsageError


def _config(args: argparse.Namespace) -> object:
    try:
        return load_config(args.config)
    except ConfigError as exc:
        raise UsageError(f"bad config:\n{exc}") from None


def wait_for_ctrl_c(_gate: object) -> None:
    """An ``after_gate`` for :func:`edge.tools.demo.run_demo` that keeps the demo (and its console)
    running until Ctrl-C; also usable by a future ``edge-gate demo --serve``."""
    print("console open; press Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping", flush=True)


def _console(args: argparse.Namespace) -> int:
    from edge.app.config import Config
    from edge.tools.demo import run_demo

    if not args.demo:
        raise UsageError(
            "the console runs inside the gate service: set [console] enabled = true and run "
            "`edge-gate run`; use `edge-gate console --demo` to try it on simulated residents"
        )
    if not args.verbose:
        logging.getLogger("edge").setLevel(logging.WARNING)  # the demo's own lines say it all
    config = _config(args)
    assert isinstance(config, Config)
    update: dict[str, object] = {"demo": True, "bind": "127.0.0.1"}
    if args.port is not None:
        update["port"] = args.port
    config = config.model_copy(update={"console": config.console.model_copy(update=update)})
    wrong = run_demo(sys.stdout, config, workdir=args.workdir, after_gate=wait_for_ctrl_c)
    return 1 if wrong else 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise UsageError("the two passwords differ")
    return first


def _user_add(args: argparse.Namespace) -> int:
    from edge.app.config import Config
    from edge.console.auth import AccountError, Accounts
    from edge.store.sqlite import Store

    config = _config(args)
    assert isinstance(config, Config)
    password = _read_password(args)
    try:
        store = Store(config.store.path)
        try:
            user = Accounts(store).add(args.name, password, args.role, args.lang)
        finally:
            store.close()
    except AccountError as exc:
        raise UsageError(str(exc)) from None
    except (OSError, sqlite3.Error) as exc:  # a read-only or full disk: say so, no traceback
        raise UsageError(f"cannot save the account in {config.store.path}: {exc}") from None
    print(f"account {user.name} ({user.role}, {user.lang}) saved in {config.store.path}")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    from edge.app.config import Config
    from edge.console.auth import Accounts
    from edge.store.sqlite import Store

    config = _config(args)
    assert isinstance(config, Config)
    if not config.store.path.exists():
        return 0  # no store yet, so no accounts (and nothing is created by looking)
    try:  # read-only: never writes, nor creates a -wal beside a stopped gate's file
        store = Store(config.store.path, read_only=True)
        try:
            names = Accounts.names_in(store)
        finally:
            store.close()
    except (OSError, sqlite3.Error) as exc:
        raise UsageError(f"cannot read {config.store.path}: {exc}") from None
    for name, role in names:
        print(f"{name}\t{role}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("console", help="try the guard console on the demo (Ctrl-C to stop)")
    p.add_argument("--demo", action="store_true", help="run the demo and keep the console open")
    p.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    p.add_argument("--workdir", type=Path, default=None, help="keep the demo store here")
    p.add_argument("--port", type=int, default=None, help="TCP port (default from [console])")
    p.set_defaults(handler=_console)

    u = sub.add_parser("user", help="guard console accounts")
    verbs = u.add_subparsers(dest="user_verb", metavar="ACTION", required=True)
    add = verbs.add_parser("add", help="create or reset an account (asks for the password)")
    add.add_argument("name", help="account name: letters, digits, '_', '.', '-'")
    add.add_argument("--role", choices=["guard", "admin"], default="guard")
    add.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the pages")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    add.set_defaults(handler=_user_add)
    ls = verbs.add_parser("list", help="list accounts")
    ls.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    ls.set_defaults(handler=_user_list)
