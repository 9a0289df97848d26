#!/usr/bin/env python3
"""Build the high-view person set: ``scripts/make-highview-set.py [DIR] [--per-kind N] [--seed S]``.

People cut out of vtest.avi (Debian's opencv-doc; ``scripts/fetch-test-data.sh`` fetches it
into ``.cache/testdata``) are warped as a high corridor camera sees them and pasted into
rendered corridors, with their boxes in ``DIR/truth.json`` (default DIR ``var/highview``), the
layout ``edge-gate bench detect --set DIR`` reads. The same seed and video give the same set.
See ``edge/tools/highview.py`` and ``docs/perimeter.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.tools.highview import build_set


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=Path("var/highview"))
    parser.add_argument("--per-kind", type=int, default=30, help="images per kind (default 30)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument(
        "--video", type=Path, default=Path(".cache/testdata/vtest.avi"), help="vtest.avi"
    )
    args = parser.parse_args()
    if not args.video.exists():
        print(f"{args.video} missing: run scripts/fetch-test-data.sh first", file=sys.stderr)
        return 2
    truth = build_set(args.video, args.folder, args.per_kind, args.seed)
    people = sum(len(i["persons"]) for i in truth["images"])
    print(f"wrote {len(truth['images'])} images, {people} people, to {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
