"""The reader on the generated hard set: stated read rates, zero misreads, multi beats zxing-cpp.

Rates are measured with a clock that never moves, so the budget never runs out and they depend
on what the strategies can read, not on how fast or loaded this machine is (the benchmark
measures speed; tests never do). Measured
on 2026-11-22: multi reads 109 of 120, zxing-cpp alone 90 of 120, pyzbar alone 54 of 120.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from edge.tools.hardset import KINDS, Case
from edge.vision.qr.scanner import Scanner
from edge.vision.qr.settings import ScannerSettings

MULTI_MIN = 105  # of 120: the measured 109 minus a margin for library version drift
ZXING_MAX = 94  # of 120: the measured 90 plus the same margin


def frozen_clock() -> float:
    """A clock that never advances: every rung of the ladder fits in the budget."""
    return 0.0


@dataclass
class Score:
    read: set[str]  # names of the cases read
    misreads: int
    per_kind: dict[str, int]


def _score(strategy: str, items: list[tuple[Case, np.ndarray]]) -> Score:
    settings = ScannerSettings(strategy=strategy)  # type: ignore[arg-type]
    scanner = Scanner(settings, clock=frozen_clock)
    score = Score(set(), 0, dict.fromkeys(KINDS, 0))
    for case, frame in items:
        texts = {c.text for c in scanner.scan(frame)}
        if case.text in texts:
            score.read.add(case.name)
            score.per_kind[case.kind] += 1
        score.misreads += len(texts - {case.text})
    return score


@pytest.fixture(scope="module")
def multi(hard_set: list[tuple[Case, np.ndarray]]) -> Score:
    return _score("multi", hard_set)


@pytest.fixture(scope="module")
def zxing_alone(hard_set: list[tuple[Case, np.ndarray]]) -> Score:
    return _score("zxing", hard_set)


def test_multi_reads_the_hard_set_at_the_stated_rate(multi: Score) -> None:
    assert multi.misreads == 0
    assert len(multi.read) >= MULTI_MIN, multi.per_kind
    # the easy end of every kind is read: no kind is broken outright
    assert all(n >= 6 for n in multi.per_kind.values()), multi.per_kind


def test_multi_beats_zxing_alone_by_five_points(
    multi: Score, zxing_alone: Score, hard_set: list[tuple[Case, np.ndarray]]
) -> None:
    assert zxing_alone.misreads == 0
    assert len(zxing_alone.read) <= ZXING_MAX  # the set stays hard for zxing-cpp alone
    gain = (len(multi.read) - len(zxing_alone.read)) / len(hard_set)
    assert gain >= 0.05, (len(multi.read), len(zxing_alone.read))


def test_fallbacks_only_add_reads(multi: Score, zxing_alone: Score) -> None:
    """What zxing-cpp alone reads, multi reads too: its first rung is the same read."""
    assert zxing_alone.read <= multi.read


def test_corners_lie_on_the_code(hard_set: list[tuple[Case, np.ndarray]]) -> None:
    case, frame = next((c, f) for c, f in hard_set if c.kind == "versions")
    codes = Scanner().scan(frame)
    assert [c.text for c in codes] == [case.text]
    corners = np.array(codes[0].corners)
    assert corners.shape == (4, 2)
    h, w = frame.shape[:2]
    assert (corners[:, 0] >= 0).all() and (corners[:, 0] < w).all()
    assert (corners[:, 1] >= 0).all() and (corners[:, 1] < h).all()
    assert codes[0].symbology == "QRCode"


def test_bent_cards_are_read_by_unbending(hard_set: list[tuple[Case, np.ndarray]]) -> None:
    """Printed cards bent by 6-11 % of their height defeat zxing-cpp alone (every printed
    failure of it is the bend); rectifying and un-bending the located symbol reads them."""
    scanner = Scanner(ScannerSettings(), clock=frozen_clock)
    bent = [(c, f) for c, f in hard_set if c.kind == "printed" and 0.06 <= c.look.curve <= 0.11]
    assert len(bent) >= 5
    steps = []
    for case, frame in bent:
        report = scanner.scan_detailed(frame)
        assert [c.text for c in report.codes] == [case.text], case.name
        steps.append(report.step)
    assert steps.count("unbend/zxing") >= len(bent) - 1, steps  # one yields to a crop
