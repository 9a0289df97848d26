"""De-duplication: a code held in view is processed once, again after it left or a while."""

from __future__ import annotations

import pytest

from edge.vision.qr.codes import Code
from edge.vision.qr.dedupe import Deduper
from edge.vision.qr.settings import ScannerSettings

A = Code("CP1:AAA", "QRCode", ((0, 0), (10, 0), (10, 10), (0, 10)))
B = Code("CP1:BBB", "QRCode", ((20, 0), (30, 0), (30, 10), (20, 10)))


def frames(d: Deduper, start: float, end: float, codes: list[Code], step: float = 0.1) -> list[str]:
    """Feed ``codes`` at every frame from ``start`` to ``end`` s; the texts let through."""
    out, t = [], start
    while t < end - 1e-9:
        out += [c.text for c in d.filter(codes, t)]
        t = round(t + step, 6)
    return out


def test_held_code_is_processed_once() -> None:
    d = Deduper(repeat_after_s=5.0, gone_after_s=1.0)
    assert frames(d, 0.0, 3.0, [A]) == ["CP1:AAA"]  # 30 frames, one pass
    assert len(d) == 1


def test_code_is_processed_again_after_leaving_the_view() -> None:
    d = Deduper(repeat_after_s=60.0, gone_after_s=1.0)
    assert d.filter([A], 0.0) == [A]
    assert frames(d, 0.1, 0.9, []) == []  # out of view for 0.8 s: not yet gone
    assert d.filter([A], 0.9) == []  # back within the gap: still the same presentation
    assert frames(d, 1.0, 2.1, []) == []  # now away for 1.2 s
    assert d.filter([A], 2.1) == [A]


def test_missed_frames_do_not_count_as_leaving() -> None:
    d = Deduper(repeat_after_s=60.0, gone_after_s=1.0)
    seen = []
    for i in range(50):  # the reader misses every other frame (blur, a finger)
        seen += d.filter([A] if i % 2 == 0 else [], i * 0.1)
    assert seen == [A]


def test_code_still_in_view_is_processed_again_after_the_interval() -> None:
    d = Deduper(repeat_after_s=2.0, gone_after_s=1.0)
    assert frames(d, 0.0, 5.0, [A]) == ["CP1:AAA"] * 3  # at 0, 2 and 4 s


def test_codes_are_independent_and_duplicates_in_a_frame_count_once() -> None:
    d = Deduper(repeat_after_s=5.0, gone_after_s=1.0)
    assert d.filter([A, A, B], 0.0) == [A, B]
    assert d.filter([A, B], 0.1) == []
    for t in (0.5, 1.0):
        assert d.filter([B], t) == []
    # A left, B stayed: only A comes back as new
    assert d.filter([A, B], 1.5) == [A]


def test_clock_going_backwards_starts_afresh() -> None:
    d = Deduper(repeat_after_s=5.0, gone_after_s=1.0)
    assert d.filter([A], 100.0) == [A]
    assert d.filter([A], 50.0) == [A]


def test_reset_and_settings() -> None:
    d = Deduper.from_settings(ScannerSettings(repeat_after_s=7.0, gone_after_s=0.5))
    assert (d.repeat_after_s, d.gone_after_s) == (7.0, 0.5)
    d.filter([A], 0.0)
    d.reset()
    assert d.filter([A], 0.1) == [A]
    with pytest.raises(ValueError):
        Deduper(repeat_after_s=0.0)


def test_code_json_round_trip_and_geometry() -> None:
    assert Code.from_json(A.to_json()) == A
    assert A.box == (0, 0, 11, 11)
    assert A.side_px == pytest.approx(10.0)
    with pytest.raises(ValueError):
        Code.from_json({"text": "x"})
    with pytest.raises(ValueError):
        Code.from_json({"text": 1, "symbology": "QRCode", "corners": []})
