"""`edge-gate simulate SCENARIO.toml [--json]`: a dry run of the real gate (docs/simulate.md).

Exit status: 0 the scenario ran (and matched its ``[expect]`` sequence when it has one),
1 it ran but the sequence differed, 2 the scenario or its config is invalid.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from edge.cli import UsageError


def _human(line: dict[str, Any]) -> str:
    """One readable line: time, kind, then the interesting fields."""
    skip = {"t", "time", "kind"}
    rest = " ".join(
        f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in line.items() if k not in skip
    )
    return f"{line['t']:9.3f}  {line['kind']:<9} {rest}"


def _run(args: argparse.Namespace) -> int:
    from edge.tools.scenario import ScenarioError, load_scenario
    from edge.tools.simulate import Simulator, token

    if not args.verbose:
        logging.getLogger("edge").setLevel(logging.WARNING)
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        raise UsageError(f"{args.scenario}: {exc}") from None

    def emit(line: dict[str, Any]) -> None:
        if args.json:
            print(json.dumps(line, ensure_ascii=False, sort_keys=False), flush=True)
        else:
            print(_human(line), flush=True)

    with tempfile.TemporaryDirectory(prefix="edge-gate-sim-") as tmp:
        try:
            lines = Simulator(scenario, Path(tmp), emit).run()
        except (ScenarioError, KeyError) as exc:
            raise UsageError(f"{args.scenario}: {exc}") from None
    got = [t for t in (token(x) for x in lines) if t is not None]
    result: dict[str, Any] = {"kind": "end", "sequence": got}
    status = 0
    if scenario.expect is not None:
        ok = list(scenario.expect) == got
        result["expect"] = "ok" if ok else "mismatch"
        if not ok:
            result["expected"] = list(scenario.expect)
            status = 1
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"sequence: {' '.join(got)}")
        if "expect" in result:
            print(f"expect: {result['expect']}")
            if status:
                print(f"expected: {' '.join(result['expected'])}", file=sys.stderr)
    return status


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="dry-run the real gate over a scenario timeline (mock pins, fake clock)",
        description="Feed a TOML timeline of scans, door contact, exit button, fire alarm, "
        "list updates and clock jumps into the real gate; print every output with its time.",
    )
    p.add_argument("scenario", type=Path, help="scenario TOML file (see docs/simulate.md)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=_run)
