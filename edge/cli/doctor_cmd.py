"""`edge-gate doctor [--config FILE] [--json]`: check the gate is fit to run; exit 0 when it is.

With ``[metrics]`` enabled and the service running, the ``service`` check (and ``workers`` in
``--json``) shows each supervised part's state and restarts as the service reports them.

Without ``--config``: ``$EDGE_GATE_CONFIG``, else the installed ``/etc/edge-gate/edge-gate.toml``
when it exists, else the embedded defaults (the lookup every verb shares,
:mod:`edge.app.config_lookup`, done before this handler runs).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from edge.cli import CONFIG_HELP


def _doctor(args: argparse.Namespace) -> int:
    from edge.app.doctor import as_json, as_table, fit_to_run, run_checks

    if not args.verbose:
        # The checks' own log lines (mock pins, detector loading) would clutter the table.
        logging.getLogger("edge").setLevel(logging.ERROR)
    path = args.config
    checks = run_checks(path)
    if args.json:
        print(
            json.dumps(
                {
                    "config": str(path) if path else None,
                    **as_json(checks),
                    "workers": _workers(path),
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        print(f"edge-gate doctor: {path or 'embedded defaults'}\n")
        print(as_table(checks))
    return 0 if fit_to_run(checks) else 1


def _workers(path: Path | None) -> list[dict[str, object]] | None:
    """The running service's parts (``{"name", "state", "restarts"}``), None when unknown."""
    from edge.app.config import ConfigError, load_config
    from edge.app.doctor import service_workers

    try:
        return service_workers(load_config(path))
    except ConfigError:
        return None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctor", help="check config, keys, clock, cameras, GPIO, model, broker")
    p.add_argument("--config", type=Path, default=None, help=CONFIG_HELP)
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.set_defaults(handler=_doctor)
