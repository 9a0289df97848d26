#!/usr/bin/env python3
"""Build the generated hard QR set: ``scripts/make-qr-set.py [DIR] [--per-kind N] [--seed S]``.

Writes ``X.png`` + ``X.txt`` (expected text) per case into DIR (default ``var/qrset``), the
layout ``edge-gate bench qr DIR`` reads. The same seed always gives the same set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.tools.hardset import build_set


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path("var/qrset"))
    parser.add_argument("--per-kind", type=int, default=12, help="images per kind (default 12)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    args = parser.parse_args()
    written = build_set(args.folder, args.per_kind, args.seed)
    print(f"wrote {len(written)} images with expected texts to {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
