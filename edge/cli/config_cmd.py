"""`edge-gate check-config FILE`: validate a config file and explain every problem."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edge.app.config import Config, ConfigError, load_config


def _check(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        for line in exc.problems:
            print(line)
        print(f"{len(exc.problems)} problem(s) in {args.file}; the gate will not start with it")
        return 1
    if args.print:
        print(json.dumps(config.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        print(f"{args.file}: OK")
    return 0


def _defaults(args: argparse.Namespace) -> int:
    print(json.dumps(Config().model_dump(mode="json"), indent=2, ensure_ascii=False))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check-config", help="validate a TOML config file")
    p.add_argument("file", type=Path)
    p.add_argument("--print", action="store_true", help="print the effective config as JSON")
    p.set_defaults(handler=_check)
    d = sub.add_parser("show-defaults", help="print the embedded default config as JSON")
    d.set_defaults(handler=_defaults)
