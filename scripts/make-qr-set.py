#!/usr/bin/env python3
"""Build the generated hard QR set: ``scripts/make-qr-set.py [DIR] [--per-kind N] [--seed S]
[--kinds K,K…]``.

Writes ``X.png`` (``.jpg`` for 12-MP photos) + ``X.txt`` (expected texts, one per line) per case
into DIR (default ``var/qrset``), the layout ``edge-gate bench qr DIR`` reads. ``--kinds`` picks
kinds (default: all, the ten original ones and the extra ones: exposure curves, many codes,
small codes in 12-MP photos, curved paper, phone screens with moiré). The same seed always
gives the same set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.tools.hardset import EXTRA_KINDS, KINDS, build_set


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path("var/qrset"))
    parser.add_argument("--per-kind", type=int, default=12, help="images per kind (default 12)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS + EXTRA_KINDS),
        help="comma-separated kinds (default all: " + ",".join(KINDS + EXTRA_KINDS) + ")",
    )
    args = parser.parse_args()
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS + EXTRA_KINDS]
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)}")
    written = build_set(args.folder, args.per_kind, args.seed, kinds=kinds)
    print(f"wrote {len(written)} images with expected texts to {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
