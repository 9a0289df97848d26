"""A generated, reproducible hard set of QR photos for developing and testing the reader.

Each case is a camera-like frame (:func:`edge.tools.render.render_frame`) of a code presented
the way residents present them at the door, in ten kinds. Within a kind the difficulty rises
from the first case to the last, from easy to beyond what any reader here manages, so the
set measures how far a strategy reaches rather than whether it passes one fixed bar.

``build_set(folder)`` writes ``<kind>-<nn>.png`` with the expected text in ``<kind>-<nn>.txt``
beside it: the layout ``edge-gate bench qr`` reads. The same seed always gives the same files.
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


def cases(per_kind: int = 12, seed: int = 2026) -> Iterator[Case]:
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
    """The BGR frame of ``case``."""
    return render_frame(case.text, case.seed, case.look, case.width, case.height)


def build_set(
    folder: Path,
    per_kind: int = 12,
    seed: int = 2026,
    progress: Callable[[Case], None] | None = None,
) -> list[Case]:
    """Write every case into ``folder`` as ``X.png`` + ``X.txt``; returns the cases written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for case in cases(per_kind, seed):
        frame = render_case(case)
        # PNG level 1: the set is regenerated often, write speed matters more than size
        cv2.imwrite(str(folder / f"{case.name}.png"), frame, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        (folder / f"{case.name}.txt").write_text(case.text + "\n", encoding="utf-8")
        written.append(case)
        if progress is not None:
            progress(case)
    return written
