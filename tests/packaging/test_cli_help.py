"""`edge-gate --help` lists each verb once: `bench detect`, not also the old `bench-detect`."""

from __future__ import annotations

from edge.cli import build_parser


def test_help_lists_bench_detect_once_and_the_old_spelling_still_parses() -> None:
    parser = build_parser()
    text = parser.format_help()
    assert "bench-detect" not in text
    assert "\n    bench " in text
    assert parser.parse_args(["bench-detect", "--json"]).json is True
