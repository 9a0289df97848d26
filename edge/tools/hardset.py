"""A generated, reproducible hard set of QR photos for developing and testing the reader.

Each case is a camera-like frame (:func:`edge.tools.render.render_frame`) of a code presented
the way residents present them at the door, in ten kinds. Within a kind the difficulty rises
from the first case to the last, from easy to beyond what any reader here manages, so the
set measures how far a strategy reaches rather than whether it passes one fixed bar.

The extra kinds (:data:`EXTRA_KINDS`) are the categories where a reader loses on public photo
sets: exposure curves (under-, over-exposed, uneven light), many codes in one image, small
codes in 12-MP photos, strongly curved paper and phone screens with moiré. They come from their
own random stream, so adding them left the first ten kinds' images unchanged.

``build_set(folder)`` writes ``<kind>-<nn>.png`` (``.jpg`` for the 12-MP photos) with the
expected texts, one per line, in ``<kind>-<nn>.txt`` beside it: the layout ``edge-gate bench
qr`` reads. The same seed always gives the same files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import base45
import cv2
import numpy as np

from edge.tools.render import Look, render_frame

KINDS = (
    "versions",
    "perspective",
    "blur",
    "noise",
    "glare",
    "lowcontrast",
    "inverted",
    "tiny",
    "moire",
    "printed",
)


EXTRA_KINDS = (
    "underexposed",
    "overexposed",
    "uneven",
    "many",
    "photo12mp",
    "curved",
    "screen",
)


@dataclass(frozen=True)
class Case:
    """One image of the set: what it shows and how it is presented."""

    name: str
    kind: str
    text: str
    seed: int
    look: Look
    width: int = 1280  # frame width, pixels
    height: int = 720  # frame height, pixels
    others: tuple[str, ...] = ()  # further codes in the image ("many"), each in its own tile
    suffix: str = ".png"  # file type written; photos are JPEG as a phone writes them

    @property
    def texts(self) -> tuple[str, ...]:
        """Every text expected in the image."""
        return (self.text, *self.others)


def _b45(rng: np.random.Generator, n_bytes: int) -> str:
    text: str = base45.b45encode(rng.bytes(n_bytes)).decode("ascii")
    return text


def payloads(rng: np.random.Generator) -> list[str]:
    """Credential-like texts of several QR versions (2 to 16 at level M)."""
    return [
        "CP1:" + _b45(rng, 240),  # community pass, dynamic variant: ~364 chars, version 12
        "CP1:" + _b45(rng, 150),  # static pass: ~229 chars, version 9
        "CP1:" + _b45(rng, 40),  # short code: version 4
        "https://pass.example.org/v/" + rng.bytes(6).hex(),  # byte mode, version 3
        "HC1:" + _b45(rng, 380),  # EU-certificate-sized: ~574 chars, version 16
        "shc:/" + "".join(str(d) for d in rng.integers(0, 10, 120)),  # numeric mode, version 5
    ]


def _looks(kind: str, t: float, rng: np.random.Generator) -> tuple[Look, int, int]:
    """The look of a case of ``kind`` at difficulty ``t`` (0 easy .. 1 hardest) and its size."""
    base = Look(
        code_px=int(rng.uniform(260, 380)),
        tilt=rng.uniform(0, 15),
        rotate=rng.uniform(-20, 20),
        blur=0.8,
        noise=5.0,
        glare=rng.uniform(0.0, 0.3),
    )
    w, h = 1280, 720
    if kind == "versions":
        look = replace(base, code_px=int(280 + 160 * t))
    elif kind == "perspective":
        look = replace(base, tilt=25 + 28 * t, rotate=rng.uniform(-60, 60))
    elif kind == "blur":
        look = replace(base, blur=1.2 + 2.8 * t, motion=rng.choice([0.0, 6 + 10 * t]))
    elif kind == "noise":
        look = replace(base, noise=12 + 40 * t, blur=0.6)
    elif kind == "glare":
        look = replace(base, glare=0.6 + 0.39 * t)
    elif kind == "lowcontrast":
        look = replace(base, contrast=0.30 - 0.24 * t, noise=3 + 4 * t)
    elif kind == "inverted":
        look = replace(base, invert=True, blur=0.8 + 1.8 * t, noise=5 + 15 * t)
    elif kind == "tiny":
        # module size falls from ~3 px to ~1.2 px on a 640x480 frame
        look = replace(base, code_px=0, blur=0.5, noise=4.0)
        w, h = 640, 480
    elif kind == "moire":
        look = replace(base, moire=True, blur=0.3 + 0.6 * t, code_px=int(rng.uniform(240, 420)))
    elif kind == "printed":
        look = replace(
            base,
            phone=False,
            glare=rng.uniform(0.0, 0.2),
            curve=0.02 + 0.10 * t,
            shadow=0.3 + 0.5 * t,
            jpeg=int(85 - 60 * t),
            tilt=rng.uniform(5, 35),
            blur=0.8 + 0.8 * t,
        )
        w, h = (1920, 1080) if rng.random() < 0.5 else (1280, 960)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return look, w, h


def _extra_looks(kind: str, t: float, rng: np.random.Generator) -> tuple[Look, int, int]:
    """Like :func:`_looks` for the extra kinds."""
    base = Look(
        code_px=int(rng.uniform(260, 380)),
        tilt=rng.uniform(0, 15),
        rotate=rng.uniform(-20, 20),
        blur=0.8,
        noise=4.0,
        glare=rng.uniform(0.0, 0.2),
        jpeg=90,
    )
    w, h = 1280, 720
    if kind == "underexposed":
        look = replace(base, exposure=0.35 - 0.29 * t, noise=2.0 + 2.0 * t, gamma=1.0 + 0.6 * t)
    elif kind == "overexposed":
        look = replace(base, exposure=1.6 + 2.4 * t, glare=0.1 + 0.3 * t, gamma=1.0 - 0.4 * t)
    elif kind == "uneven":
        look = replace(base, shadow=0.6 + 0.35 * t, glare=0.3 + 0.5 * t, exposure=1.3)
    elif kind == "many":
        look = replace(base, code_px=int(240 - 110 * t), glare=rng.uniform(0.0, 0.15))
        w, h = 800, 600  # one tile; the image is a grid of them
    elif kind == "photo12mp":
        look = replace(base, code_px=0, blur=1.0 + 0.6 * t, phone=bool(rng.random() < 0.5))
        w, h = 4000, 3000
    elif kind == "curved":
        look = replace(
            base,
            phone=False,
            curve=0.04 + 0.12 * t,
            shadow=0.2 + 0.3 * t,
            tilt=rng.uniform(5, 30),
            jpeg=int(90 - 30 * t),
        )
        w, h = (1920, 1080) if rng.random() < 0.5 else (1280, 960)
    elif kind == "screen":
        look = replace(
            base,
            moire=True,
            code_px=int(rng.uniform(300, 620)),
            blur=0.2 + 0.6 * t,
            tilt=rng.uniform(0, 30),
            glare=0.2 + 0.5 * t,
        )
        w, h = (1920, 1080) if rng.random() < 0.5 else (1280, 720)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return look, w, h


def _extra_cases(per_kind: int, seed: int) -> Iterator[Case]:
    rng = np.random.default_rng(seed + 1)  # its own stream: the first ten kinds stay as they were
    texts = payloads(rng)
    for kind in EXTRA_KINDS:
        for i in range(per_kind):
            t = i / max(per_kind - 1, 1)
            look, w, h = _extra_looks(kind, t, rng)
            text = texts[(i + EXTRA_KINDS.index(kind)) % len(texts)]
            others: tuple[str, ...] = ()
            suffix = ".png"
            if kind == "many":
                # 4 to 12 distinct short passes, one per tile of a grid
                n = 4 + round(8 * t)
                text = "CP1:" + _b45(rng, int(rng.integers(30, 90)))
                others = tuple("CP1:" + _b45(rng, int(rng.integers(30, 90))) for _ in range(n - 1))
            elif kind == "photo12mp":
                from edge.tools.render import qr_version

                # a code across a room: modules from ~6 px down to ~2 px in a 4000x3000 photo
                modules = 17 + 4 * qr_version(text) + 8
                look = replace(look, code_px=int(modules * (6.0 - 4.0 * t)))
                suffix = ".jpg"
            name = f"{kind}-{i:02d}"
            yield Case(name, kind, text, int(rng.integers(1 << 31)), look, w, h, others, suffix)


def cases(per_kind: int = 12, seed: int = 2026, kinds: tuple[str, ...] = KINDS) -> Iterator[Case]:
    """The cases of ``kinds`` (of :data:`KINDS` and :data:`EXTRA_KINDS`), ``per_kind`` of
    each, in a fixed order for ``seed``."""
    for case in _base_cases(per_kind, seed):
        if case.kind in kinds:
            yield case
    if any(k in kinds for k in EXTRA_KINDS):
        for case in _extra_cases(per_kind, seed):
            if case.kind in kinds:
                yield case


def _base_cases(per_kind: int = 12, seed: int = 2026) -> Iterator[Case]:
    """The cases of the set, ``per_kind`` of each kind, in a fixed order for ``seed``."""
    rng = np.random.default_rng(seed)
    texts = payloads(rng)
    for kind in KINDS:
        for i in range(per_kind):
            t = i / max(per_kind - 1, 1)
            look, w, h = _looks(kind, t, rng)
            text = texts[(i + KINDS.index(kind)) % len(texts)]
            if kind == "tiny":
                from edge.tools.render import qr_version

                modules = 17 + 4 * qr_version(text) + 8  # with its quiet zone
                look = replace(look, code_px=int(modules * (3.0 - 1.8 * t)))
            yield Case(f"{kind}-{i:02d}", kind, text, int(rng.integers(1 << 31)), look, w, h)


def render_case(case: Case) -> np.ndarray:
    """The BGR frame of ``case``; with several texts a grid of tiles, one code in each."""
    if not case.others:
        return render_frame(case.text, case.seed, case.look, case.width, case.height)
    texts = case.texts
    cols = 4 if len(texts) > 6 else 3 if len(texts) > 4 else 2
    rows = -(-len(texts) // cols)
    rng = np.random.default_rng(case.seed)
    grid = np.zeros((rows * case.height, cols * case.width, 3), np.uint8)
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        if i < len(texts):
            look = replace(case.look, rotate=float(rng.uniform(-30, 30)), tilt=rng.uniform(0, 20))
            tile = render_frame(texts[i], case.seed + i, look, case.width, case.height)
        else:  # an empty tile: the same kind of background, no code
            tile = render_frame(
                "-", case.seed + i, replace(case.look, code_px=1), case.width, case.height
            )
        grid[r * case.height : (r + 1) * case.height, c * case.width : (c + 1) * case.width] = tile
    return grid


def build_set(
    folder: Path,
    per_kind: int = 12,
    seed: int = 2026,
    progress: Callable[[Case], None] | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> list[Case]:
    """Write every case of ``kinds`` into ``folder`` as ``X.png`` (or ``.jpg``) + ``X.txt``;
    returns the cases written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for case in cases(per_kind, seed, kinds):
        frame = render_case(case)
        path = folder / f"{case.name}{case.suffix}"
        if case.suffix == ".jpg":
            cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
        else:
            # PNG level 1: the set is regenerated often, write speed matters more than size
            cv2.imwrite(str(path), frame, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        (folder / f"{case.name}.txt").write_text("\n".join(case.texts) + "\n", encoding="utf-8")
        written.append(case)
        if progress is not None:
            progress(case)
    return written
