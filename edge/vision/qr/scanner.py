"""Find and read every credential code in a camera frame, within a time budget.

The ``multi`` strategy is a ladder, cheapest rung first:

1. zxing-cpp, QR only, on the grey frame at full resolution — exactly what zxing-cpp alone
   reads, at its cost (~3 ms at 720p). Only when a full-resolution read would not fit in the
   budget (a 12-MP photo on the door path) is the frame shrunk to the size that fits;
2. Aztec, only when it can be present (``aztec``) and QR found nothing: reading both
   together costs ~2.5× a QR-only read on every frame;
3. zxing-cpp on a half-size, lightly blurred copy — melts moiré and noise;
4. exposure: the frame's contrast stretched and put through a gamma ladder (dark and bright),
   then contrast-equalised tile by tile — zxing-cpp's local binarizer ignores blocks of
   little contrast, which is what an under- or over-exposed code is;
5. crops of candidate regions (symbols zxing-cpp located but could not decode, and boxes from
   a cheap edge-density finder), enlarged, read plain, sharpened and equalised; a located
   symbol rectified and un-bent (a card bent in the hand); then pyzbar on an adaptive
   threshold of each crop;
6. the whole frame enlarged 2× (faint codes), sharpened (zxing-cpp), then adaptive-thresholded
   (pyzbar).

Later rungs only *add* codes: a read whose place overlaps a code already found is dropped when
its text differs (a rescaled or warped variant that disagrees is a misread in waiting) and
ignored when it agrees; an earlier result is never replaced. On a small frame the ladder stops
at the first rung that read anything; on a large image (photos, several codes) it goes on with
the symbols located but not yet decoded while the budget lasts.

The first read always runs; every later rung starts only if its expected cost (seeded from
measurements, then learnt while running, per megapixel) fits in what is left of ``budget_ms``,
so a hopeless frame costs about the budget.

A misread is worse than no read. zxing-cpp results passed Reed-Solomon correction, and texts
are what the symbol holds (no human-readable rewriting). A pyzbar result is cross-checked with
zxing-cpp on its region: a different text there drops it, and without a confirming read only
printable ASCII (every credential format here) is accepted, because ZBar's charset guessing is
its known source of wrong reads.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from edge.vision.qr import engines
from edge.vision.qr import strategies as st
from edge.vision.qr.budget import SEED_COST_MS_PER_MP, DutyCycle
from edge.vision.qr.codes import Code
from edge.vision.qr.settings import ScannerSettings

log = logging.getLogger(__name__)

MIN_SIDE = 21  # pixels: the smallest QR code (version 1) has 21 modules a side

_CROP_PREPARATIONS: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = (
    ("crop/zxing", lambda c: c),
    ("crop-sharpen/zxing", st.sharpened),
    ("crop-clahe/zxing", st.equalised),
)


# exposure: zxing-cpp's local binarizer treats a block of less than ~24 grey levels of
# contrast as flat, which is what an under- or over-exposed code is; stretched and put through
# a gamma curve each way, then equalised tile by tile (uneven light), its modules separate again
_EXPOSURE_PREPARATIONS: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = (
    ("gamma-dark/zxing", lambda c: st.gamma(c, 0.5)),
    ("gamma-bright/zxing", lambda c: st.gamma(c, 2.0)),
    ("clahe/zxing", st.equalised),
)

MIN_FIRST_MP = 0.5  # the first read never shrinks a frame below this, megapixels
FINDER_MS = 5.0  # the edge-density finder and cutting its crops, ms: measured ~1-4 ms
FIRST_SHARE = 0.8  # of the budget left, what the first read may be expected to take

# (sag, axis) tried on a located symbol: a bend of 5 % of its side, either way, either axis
_BENDS = ((0.05, 0), (-0.05, 0), (0.05, 1), (-0.05, 1))


def _scaled(quads: list[engines.Quad], f: float) -> list[engines.Quad]:
    """Corner lists found on an image scaled by ``f``, in frame pixels."""
    return [tuple((round(x / f), round(y / f)) for x, y in q) for q in quads]


def to_grey(frame: np.ndarray) -> np.ndarray:
    """A single-channel 8-bit view of ``frame`` (BGR, BGRA or already grey)."""
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    if frame.shape[2] == 1:
        return frame[..., 0]
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def as_grey(frame: object) -> np.ndarray | None:
    """``frame`` as a contiguous grey ``uint8`` image, or None when it cannot be one."""
    if not isinstance(frame, np.ndarray) or frame.size == 0:
        return None
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (1, 3, 4)):
        return None
    if min(frame.shape[:2]) < MIN_SIDE:
        return None
    if frame.dtype != np.uint8:
        if frame.dtype == np.uint16:
            frame = (frame >> 8).astype(np.uint8)  # 16-bit sensors: keep the high byte
        elif np.issubdtype(frame.dtype, np.floating):
            frame = np.clip(np.nan_to_num(frame) * (255.0 if frame.max() <= 1.0 else 1.0), 0, 255)
            frame = frame.astype(np.uint8)
        else:
            return None
    return np.ascontiguousarray(to_grey(frame))


LARGE_MP = 2.0  # above this an image (a photo) may hold codes the first read did not find
SAME_PLACE = 0.3  # overlap of two reads' boxes (of the smaller) that makes them one symbol


@dataclass
class ScanReport:
    """What one scan did: the codes, the rung that read them, the rungs tried, time in ms."""

    codes: list[Code] = field(default_factory=list)
    step: str | None = None  # name of the first rung that read codes
    tried: list[str] = field(default_factory=list)
    ms: float = 0.0
    out_of_budget: bool = False  # rungs were skipped because the budget ran out
    deferred: bool = False  # fallbacks skipped: they used their share of time (fallback_duty)
    rejected: int = 0  # reads dropped by the cross-check or for disagreeing with another read
    steps: list[str] = field(default_factory=list)  # every rung that added codes, in order
    first_mp: float = 0.0  # megapixels the first read ran on (less than the frame: shrunk)


def _box(code: Code) -> st.Region | None:
    return st.Region.around(code.corners) if code.corners else None


def _same_place(a: Code, b: Code) -> bool:
    """Whether two reads are of one symbol: their boxes overlap (without corners: never)."""
    ra, rb = _box(a), _box(b)
    return ra is not None and rb is not None and ra.overlap(rb) >= SAME_PLACE


def merge(found: list[Code], new: list[Code]) -> tuple[list[Code], int]:
    """The reads of ``new`` that add to ``found``, and how many were dropped as misreads.

    A read in the place of a code already found adds nothing when it agrees and is dropped
    when it does not: an earlier result is never replaced. Two reads of ``new`` in one place
    with different texts are both dropped: one of them is wrong and nothing says which.
    """
    added: list[Code] = []
    dropped = 0
    for c in new:
        if any(o.text != c.text and _same_place(o, c) for o in new):
            dropped += 1
            continue
        earlier = [o for o in found + added if _same_place(o, c)]
        if any(o.text != c.text for o in earlier):
            log.warning("a later read disagrees with an earlier one in its place: dropped")
            dropped += 1
        elif not earlier and c not in added:
            added.append(c)
    return added, dropped


class _Run:
    """One scan's clock and budget; rungs report their cost to the scanner's estimates."""

    def __init__(self, scanner: Scanner, report: ScanReport) -> None:
        self.scanner = scanner
        self.report = report
        self.start = scanner.clock()

    def elapsed_ms(self) -> float:
        return (self.scanner.clock() - self.start) * 1000.0

    def left_ms(self) -> float:
        return self.scanner.budget_ms - self.elapsed_ms()

    def attempt(
        self, name: str, mp: float, read: Callable[[], list[Code]], always: bool = False
    ) -> bool:
        """Run rung ``name`` on an image of ``mp`` megapixels if its expected cost fits in
        the budget left (or ``always``: the first read); True when it added codes."""
        expected = self.scanner.expected_ms_per_mp(name) * mp
        if not always and self.elapsed_ms() + expected > self.scanner.budget_ms:
            self.report.out_of_budget = True
            return False
        t0 = self.scanner.clock()
        codes = read()
        spent = (self.scanner.clock() - t0) * 1000.0
        old = self.scanner.cost_ms_per_mp.get(name)
        per_mp = spent / max(mp, 1e-3)
        # a slow moving average: one descheduled run must not disable a rung for long
        self.scanner.cost_ms_per_mp[name] = per_mp if old is None else 0.8 * old + 0.2 * per_mp
        self.report.tried.append(name)
        added, dropped = merge(self.report.codes, codes)
        self.report.rejected += dropped
        if not added:
            return False
        self.report.codes.extend(added)
        self.report.steps.append(name)
        if self.report.step is None:
            self.report.step = name
        return True


class Scanner:
    """Reads QR (and Aztec) codes from frames. Safe to share between threads.

    ``settings`` chooses the strategy and the per-frame budget; ``clock`` (seconds, monotonic)
    is injectable for tests. ``still``: the frames are still photos (``edge-gate scan``, the
    benchmark), whose first read is always at full resolution — never fewer codes than
    zxing-cpp alone — and the budget bounds the later rungs; on the door path (``still``
    False) the budget bounds the first read too, so a 12-MP frame cannot stall the door.
    """

    def __init__(
        self,
        settings: ScannerSettings | None = None,
        clock: Callable[[], float] = time.perf_counter,
        still: bool = False,
    ) -> None:
        self.settings = settings or ScannerSettings()
        self.clock = clock
        self.still = still
        self.budget_ms = self.settings.budget_ms
        self.cost_ms_per_mp: dict[str, float] = {}  # learnt cost of each rung
        # learnt ms of the first read by size class (half-octaves of megapixels): its cost
        # per megapixel grows with the image (about 3 ms/MP at 4 MP, 8-10 at 12 MP here)
        self._first_ms: dict[int, float] = {}
        self._duty = DutyCycle(self.settings.fallback_duty, 2 * self.budget_ms)

    def expected_ms_per_mp(self, name: str) -> float:
        """What rung ``name`` is expected to cost per megapixel: learnt, else the seed."""
        return self.cost_ms_per_mp.get(name, SEED_COST_MS_PER_MP.get(name, 10.0))

    def scan(self, frame: np.ndarray) -> list[Code]:
        """Every code in ``frame``; an empty list when none can be read or it is no image."""
        return self.scan_detailed(frame).codes

    def scan_detailed(self, frame: np.ndarray) -> ScanReport:
        """Like :meth:`scan`, with which rung read the codes and how long it took."""
        report = ScanReport()
        run = _Run(self, report)
        grey = as_grey(frame)
        if grey is not None:
            try:
                if self.settings.strategy == "zxing":
                    run.attempt("zxing", grey.size / 1e6, lambda: self._zxing(grey), always=True)
                elif self.settings.strategy == "pyzbar":
                    run.attempt(
                        "pyzbar", grey.size / 1e6, lambda: engines.pyzbar(grey), always=True
                    )
                else:
                    self._multi(grey, run)
            except (cv2.error, MemoryError, ValueError, RuntimeError) as exc:
                # a frame that breaks an engine is a frame without codes, not a dead gate
                log.warning("scan failed on a %s frame: %s", frame.shape, exc)
        report.ms = run.elapsed_ms()
        return report

    def _zxing(self, grey: np.ndarray) -> list[Code]:
        """zxing-cpp alone: one read of the full-resolution frame, QR and Aztec together."""
        return engines.zxing(grey, self.settings.aztec)

    @staticmethod
    def _size_class(mp: float) -> int:
        return round(2 * math.log2(max(mp, 0.01)))

    def _first_expected_ms(self, mp: float) -> float:
        """What the first read of an ``mp``-megapixel image is expected to take, ms."""
        learnt = self._first_ms.get(self._size_class(mp))
        if learnt is not None:
            return learnt
        return SEED_COST_MS_PER_MP["zxing"] * mp * (1 + 2 * (mp / 12) ** 2)

    def _learn_first(self, mp: float, ms: float) -> None:
        k = self._size_class(mp)
        old = self._first_ms.get(k)
        self._first_ms[k] = ms if old is None else 0.8 * old + 0.2 * ms

    def _first_image(self, grey: np.ndarray, run: _Run) -> tuple[np.ndarray, float]:
        """The frame at full resolution, or (door path) halved in side until its read is
        expected to fit the budget left, so a 12-MP photo cannot stall the door; and the
        factor applied. Whole halvings: shrinking by any other factor costs more than the
        read saves."""
        mp = full = grey.size / 1e6
        if not self.still:
            # shrinking costs too: about what a read of a sixth of the frame does
            left = FIRST_SHARE * run.left_ms() - self.expected_ms_per_mp("shrink") * full
            while mp / 4 >= MIN_FIRST_MP and self._first_expected_ms(mp) > left:
                mp /= 4
        if mp >= full:
            return grey, 1.0
        t0 = self.clock()
        out = st.shrink(grey, int(mp * 1e6))
        spent = (self.clock() - t0) * 1000.0 / full
        old = self.cost_ms_per_mp.get("shrink")
        self.cost_ms_per_mp["shrink"] = spent if old is None else 0.8 * old + 0.2 * spent
        return out

    def _multi(self, grey: np.ndarray, run: _Run) -> None:
        located: list[st.Region] = []
        quads: list[engines.Quad] = []  # corners of symbols located but not decoded
        first, ff = self._first_image(grey, run)
        run.report.first_mp = first.size / 1e6
        large = grey.size / 1e6 > LARGE_MP

        def read_first() -> list[Code]:
            t0 = self.clock()
            codes, found = engines.zxing_detailed(first, aztec=False)
            self._learn_first(first.size / 1e6, (self.clock() - t0) * 1000.0)
            quads.extend(q for q in _scaled(found, ff) if len(q) == 4)
            located.extend(st.Region.around(q) for q in quads)
            return st.to_frame(codes, ff)

        if run.attempt("zxing", first.size / 1e6, read_first, always=True):
            if large:
                self._more(grey, quads, run)
            return
        if not self._duty.allow(self.clock()):
            run.report.deferred = True  # an empty scene must not eat the CPU frame after frame
            return
        t0 = self.clock()
        try:
            if self.settings.aztec and run.attempt(
                "aztec/zxing",
                first.size / 1e6,
                lambda: st.to_frame(engines.zxing(first, aztec=True, qr=False), ff),
            ):
                return
            # whole-frame rungs work on at most max_megapixels; crops from full resolution
            work, f = first, ff
            if work.size > self.settings.max_megapixels * 1e6:
                work, f = st.shrink(grey, int(self.settings.max_megapixels * 1e6))
            if self._fallbacks(grey, work, f, quads, located, run) and large:
                self._more(grey, quads, run)
        finally:
            self._duty.spend((self.clock() - t0) * 1000.0)

    def _more(self, grey: np.ndarray, quads: list[engines.Quad], run: _Run) -> None:
        """After a large image yielded codes: the symbols zxing-cpp located but could not
        decode, away from every code found, read as crops while the budget lasts."""
        h, w = grey.shape[:2]
        for quad in quads[: self.settings.max_regions + 2]:
            region = st.Region.around(quad)
            if any(
                c.corners and region.overlap(st.Region.around(c.corners)) >= SAME_PLACE
                for c in run.report.codes
            ):
                continue
            r = region.grown(0.2, w, h)
            k = st.upscale_factor(r)
            c = st.crop(grey, r, k)
            for name, prepare in _CROP_PREPARATIONS:
                if run.attempt(
                    name, c.size / 1e6, self._crop_reader(engines.zxing, prepare, c, k, r)
                ):
                    break
            else:
                self._unbend(grey, quad, run)
            if run.left_ms() <= 0:
                return

    def _fallbacks(
        self,
        grey: np.ndarray,
        work: np.ndarray,
        f: float,
        quads: list[engines.Quad],
        located: list[st.Region],
        run: _Run,
    ) -> bool:
        """The rungs after the first read, up to the first that reads; ``work`` is ``grey``
        scaled by ``f``. True when one read codes."""
        aztec = self.settings.aztec
        mp = work.size / 1e6
        if min(work.shape[:2]) >= 4 * MIN_SIDE and run.attempt(
            "half-blur/zxing",
            mp / 4,
            lambda: st.to_frame(engines.zxing(st.half_blurred(work), aztec), f / 2),
        ):
            return True
        # a symbol zxing-cpp located but could not decode is the best lead: its crop, read
        # enlarged, sharpened, equalised, then rectified and un-bent
        crops = self._crops(grey, located, finder=False)
        if self._read_crops(crops, run):
            return True
        for quad in quads[:2]:
            if self._unbend(grey, quad, run):
                return True
        whole = st.Region(0, 0, grey.shape[1], grey.shape[0])  # ``work`` is all of it, scaled
        for name, prepare in _EXPOSURE_PREPARATIONS:
            if run.attempt(name, mp, self._crop_reader(engines.zxing, prepare, work, f, whole)):
                return True
        # the finder's cost only once the cheap rungs failed, and when a crop can still be read
        crop_ms = self.expected_ms_per_mp("crop/zxing") * (st.RECT_SIDE**2 / 1e6)
        if self.settings.max_regions > len(crops) and run.left_ms() > FINDER_MS + crop_ms:
            found = self._crops(grey, located, finder=True)[len(crops) :]
            if self._read_crops(found, run):
                return True
            crops += found
        for r, k, c in crops:
            zbar = self._crop_reader(engines.pyzbar, st.thresholded, c, k, r, (grey, run))
            if run.attempt("crop-threshold/pyzbar", c.size / 1e6, zbar):
                return True
        if work.size <= 1_000_000 and run.attempt(
            "upscale/zxing",
            4 * mp,
            # faint codes give the finder nothing to find; enlarging the whole frame still
            # lets zxing-cpp's local binarizer separate modules the noise had merged
            lambda: st.to_frame(
                engines.zxing(
                    cv2.resize(work, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC), aztec
                ),
                2 * f,
            ),
        ):
            return True
        if run.attempt(
            "sharpen/zxing", mp, lambda: st.to_frame(engines.zxing(st.sharpened(work), aztec), f)
        ):
            return True

        # ZBar on more than ~1 MP only gets slower, and moiré needs the downscale anyway
        def zbar_small() -> list[Code]:
            zsmall, zf = st.shrink(grey, 1_000_000)
            return self._checked(st.to_frame(engines.pyzbar(st.thresholded(zsmall)), zf), grey, run)

        return run.attempt("threshold/pyzbar", min(1.0, grey.size / 1e6), zbar_small)

    def _unbend(self, grey: np.ndarray, quad: engines.Quad, run: _Run) -> bool:
        """Read a symbol zxing-cpp located but could not decode as if it were on a bent card:
        rectify its quad, then undo a parabolic bend each way along each axis."""
        rect: list[tuple[np.ndarray, np.ndarray]] = []
        mp = st.RECT_SIDE**2 / 1e6
        for sag, axis in _BENDS:

            def read(sag: float = sag, axis: int = axis) -> list[Code]:
                if not rect:
                    rect.append(st.rectified(grey, quad))
                img, back = rect[0]
                return st.through(
                    engines.zxing(st.unbent(img, sag, axis), self.settings.aztec), back
                )

            if run.attempt("unbend/zxing", mp, read):
                return True
        return False

    def _crops(
        self, grey: np.ndarray, located: list[st.Region], finder: bool
    ) -> list[tuple[st.Region, float, np.ndarray]]:
        """Candidate regions (located by zxing-cpp, then with ``finder`` found by the edge
        finder) as crops: (region, enlargement, enlarged pixels)."""
        h, w = grey.shape[:2]
        found = []
        if finder:
            small, f = st.shrink(grey, 1_000_000)
            found = [
                st.Region(int(r.x0 / f), int(r.y0 / f), int(r.x1 / f), int(r.y1 / f))
                for r in st.find_candidates(small, self.settings.max_regions)
            ]
        regions = st.merge_regions(
            [r.grown(0.2, w, h) for r in located + found], self.settings.max_regions
        )
        crops = []
        for r in regions:
            k = st.upscale_factor(r)
            crops.append((r, k, st.crop(grey, r, k)))
        return crops

    def _read_crops(self, crops: list[tuple[st.Region, float, np.ndarray]], run: _Run) -> bool:
        """Each crop read plain, then sharpened, then equalised, up to the first that reads."""
        for name, prepare in _CROP_PREPARATIONS:
            for r, k, c in crops:
                area = c.size / 1e6
                if run.attempt(name, area, self._crop_reader(engines.zxing, prepare, c, k, r)):
                    return True
        return False

    def _crop_reader(
        self,
        engine: Callable[..., list[Code]],
        prepare: Callable[[np.ndarray], np.ndarray],
        crop: np.ndarray,
        k: float,
        r: st.Region,
        check: tuple[np.ndarray, _Run] | None = None,
    ) -> Callable[[], list[Code]]:
        """A reader of ``prepare(crop)`` (region ``r`` enlarged ``k`` times) giving frame
        coordinates; with ``check`` = (grey frame, run) its reads are cross-checked."""

        def read() -> list[Code]:
            img = prepare(crop)
            raw = engine(img, self.settings.aztec) if engine is engines.zxing else engine(img)
            codes = st.to_frame(raw, k, r.x0, r.y0)
            return self._checked(codes, *check) if check is not None else codes

        return read

    def _checked(self, codes: list[Code], grey: np.ndarray, run: _Run) -> list[Code]:
        """The pyzbar ``codes`` that survive a zxing-cpp cross-check on their regions."""
        h, w = grey.shape[:2]
        kept = []
        for code in codes:
            region = st.Region.around(code.corners).grown(0.2, w, h)
            k = st.upscale_factor(region)
            part = st.crop(grey, region, k)
            others = {c.text for c in engines.zxing(part, self.settings.aztec)}
            others |= {c.text for c in engines.zxing(st.sharpened(part), self.settings.aztec)}
            if others and code.text not in others:
                log.warning("engines disagree on a code: dropped (misread is worse than none)")
                run.report.rejected += 1
            elif others or (code.text.isascii() and code.text.isprintable()):
                kept.append(code)
            else:
                run.report.rejected += 1  # unconfirmed non-ASCII from ZBar: maybe a bad charset
        return kept
