"""The chain is never worse than the engine it wraps, only adds codes, and cannot stall.

Found on public photo sets (issue 19): on 12-MP photos the first read ran on a copy shrunk
to ~4 MP and stopped at the first read, losing codes zxing-cpp alone finds at full
resolution; reading QR and Aztec together made every camera frame slower; nothing stopped a
12-MP frame from blowing the door's budget. Read rates here use a clock that never moves
(every rung fits), so they depend on what the strategies read, not on this machine's load;
the budget tests use clocks that make every rung look too expensive.
"""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp

from edge.tools.hardset import EXTRA_KINDS, Case, cases, render_case
from edge.tools.render import Look, render_frame
from edge.vision.qr import engines
from edge.vision.qr import strategies as st
from edge.vision.qr.codes import Code
from edge.vision.qr.scanner import Scanner, as_grey, merge
from edge.vision.qr.settings import ScannerSettings

PER_KIND = 6  # 7 extra kinds x 6 = 42 images, 6 of them 12-MP photos (~40 s to render)


def frozen_clock() -> float:
    return 0.0


class Hurried:
    """A clock on which every call is a second later: nothing after the first read fits."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


@pytest.fixture(scope="module")
def extra_set() -> list[tuple[Case, np.ndarray]]:
    """The extra kinds of the generated set: exposure, many codes, 12-MP photos, curved
    paper, moiré screens."""
    return [(c, render_case(c)) for c in cases(PER_KIND, kinds=EXTRA_KINDS)]


def _reads(scanner: Scanner, items: list[tuple[Case, np.ndarray]]) -> dict[str, set[str]]:
    return {case.name: {c.text for c in scanner.scan(frame)} for case, frame in items}


@pytest.fixture(scope="module")
def chain_reads(extra_set: list[tuple[Case, np.ndarray]]) -> dict[str, set[str]]:
    return _reads(Scanner(ScannerSettings(), clock=frozen_clock, still=True), extra_set)


@pytest.fixture(scope="module")
def alone_reads(extra_set: list[tuple[Case, np.ndarray]]) -> dict[str, set[str]]:
    settings = ScannerSettings(strategy="zxing", aztec=False)
    return _reads(Scanner(settings, clock=frozen_clock), extra_set)


def test_chain_reads_every_code_zxing_alone_reads_and_no_wrong_text(
    extra_set: list[tuple[Case, np.ndarray]],
    chain_reads: dict[str, set[str]],
    alone_reads: dict[str, set[str]],
) -> None:
    for case, _ in extra_set:
        expected = set(case.texts)
        assert alone_reads[case.name] & expected <= chain_reads[case.name], case.name
        assert chain_reads[case.name] <= expected, case.name  # nothing read that is not there
    chain = sum(len(chain_reads[c.name] & set(c.texts)) for c, _ in extra_set)
    alone = sum(len(alone_reads[c.name] & set(c.texts)) for c, _ in extra_set)
    assert chain > alone, (chain, alone)


def test_exposure_ladder_reads_underexposed_codes_zxing_alone_misses(
    extra_set: list[tuple[Case, np.ndarray]],
    chain_reads: dict[str, set[str]],
    alone_reads: dict[str, set[str]],
) -> None:
    """zxing-cpp's local binarizer treats blocks of little contrast as flat; stretched and
    gamma-lifted, the dark codes read (measured: 6 of 6 against 4 of 6)."""
    dark = [c for c, _ in extra_set if c.kind == "underexposed"]
    gained = [c.name for c in dark if c.text in chain_reads[c.name] - alone_reads[c.name]]
    assert gained, {c.name: alone_reads[c.name] for c in dark}


def test_every_code_of_a_many_code_image_is_read(
    extra_set: list[tuple[Case, np.ndarray]], chain_reads: dict[str, set[str]]
) -> None:
    many = [c for c, _ in extra_set if c.kind == "many"]
    assert max(len(c.texts) for c in many) == 12
    for case in many:
        assert chain_reads[case.name] == set(case.texts), case.name


def test_small_code_in_a_12mp_photo_is_read_at_full_resolution(
    extra_set: list[tuple[Case, np.ndarray]],
) -> None:
    """The finding: a code zxing-cpp reads at full resolution but not on the 4-MP copy the
    chain's first read used to take."""
    case, frame = next((c, f) for c, f in extra_set if c.name == "photo12mp-03")
    grey = as_grey(frame)
    assert grey is not None and grey.shape == (3000, 4000)
    shrunk, _ = st.shrink(grey, 4_000_000)
    assert engines.zxing(shrunk, aztec=False) == []  # what the old first read saw
    report = Scanner(ScannerSettings(), still=True).scan_detailed(frame)
    assert [c.text for c in report.codes] == [case.text]
    assert report.first_mp == pytest.approx(12.0)
    assert report.step == "zxing"


def test_door_path_shrinks_a_12mp_frame_it_cannot_read_within_budget() -> None:
    """On a clock where everything is too slow, a 12-MP frame gets one read on a
    0.75-MP copy (two halvings) and nothing more: the door cannot stall on it."""
    frame = render_frame("-", seed=5, look=Look(code_px=1), width=4000, height=3000)
    report = Scanner(ScannerSettings(), clock=Hurried()).scan_detailed(frame)
    assert report.codes == []
    assert report.tried == ["zxing"] and report.out_of_budget
    assert report.first_mp == pytest.approx(0.75, rel=0.01)
    # still photos keep the full-resolution first read whatever the clock says
    still = Scanner(ScannerSettings(), clock=Hurried(), still=True).scan_detailed(frame)
    assert still.first_mp == pytest.approx(12.0) and still.tried == ["zxing"]


def test_a_readable_camera_frame_costs_one_qr_read() -> None:
    """No Aztec pass and no fallback after a read on a camera frame: the chain's cost on a
    readable frame is zxing-cpp's (the benchmark measures the ratio: docs/benchmarks.md)."""
    frame = render_frame("CP1:ONE-READ", seed=7, look=Look(), width=1280, height=720)
    report = Scanner(ScannerSettings(aztec=True)).scan_detailed(frame)
    assert [c.text for c in report.codes] == ["CP1:ONE-READ"]
    assert report.tried == ["zxing"] and report.first_mp == pytest.approx(0.9216)


def test_aztec_is_read_after_qr_found_nothing_and_never_when_off() -> None:
    symbol = zxingcpp.create_barcode("HC1:AZTEC-ONLY", zxingcpp.BarcodeFormat.Aztec)
    img = np.pad(np.asarray(symbol.to_image(scale=6), np.uint8), 60, constant_values=255)
    report = Scanner(ScannerSettings(), clock=frozen_clock).scan_detailed(img)
    assert [(c.text, c.symbology) for c in report.codes] == [("HC1:AZTEC-ONLY", "Aztec")]
    assert report.tried[:2] == ["zxing", "aztec/zxing"] and report.step == "aztec/zxing"
    off = Scanner(ScannerSettings(aztec=False), clock=frozen_clock).scan_detailed(img)
    assert off.codes == [] and "aztec/zxing" not in off.tried


SQUARE = ((0, 0), (100, 0), (100, 100), (0, 100))
NEAR = ((5, 5), (104, 5), (104, 104), (5, 104))
FAR = ((500, 0), (600, 0), (600, 100), (500, 100))


def test_a_later_read_never_replaces_an_earlier_one() -> None:
    first = [Code("CP1:RIGHT", "QRCode", SQUARE)]
    added, dropped = merge(first, [Code("CP1:WRONG", "QRCode", NEAR)])
    assert added == [] and dropped == 1
    added, dropped = merge(first, [Code("CP1:RIGHT", "QRCode", NEAR)])  # agrees: nothing new
    assert added == [] and dropped == 0
    added, dropped = merge(first, [Code("CP1:OTHER", "QRCode", FAR)])  # elsewhere: added
    assert [c.text for c in added] == ["CP1:OTHER"] and dropped == 0


def test_variants_that_disagree_in_one_place_are_both_dropped() -> None:
    added, dropped = merge([], [Code("CP1:A", "QRCode", SQUARE), Code("CP1:B", "QRCode", NEAR)])
    assert added == [] and dropped == 2
