"""NanoDet decoding and recognition without the model file (issue 20): tensors built by hand."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from edge.vision.person.detector import inspect_signature
from edge.vision.person.plugins.nanodet import decode_nanodet, preprocess_nanodet

SIZE = (416, 416)
GRIDS = ((52, 8), (26, 16), (13, 32))  # cells per side, stride
CLASSES, BINS = 80, 11


@dataclass(frozen=True)
class Arg:
    name: str
    shape: list[int | str | None]
    type: str = "tensor(float)"


Levels = list[tuple[np.ndarray, np.ndarray]]


def outputs(person: dict[tuple[int, int], tuple[float, tuple[int, int, int, int]]]) -> Levels:
    """Per level (scores, sides); ``person`` maps (level, cell) -> (score, sides in bins):
    each side's distribution is one-hot on its bin, so its expectation is exactly that bin."""
    levels = []
    for level, (cells, _stride) in enumerate(GRIDS):
        n = cells * cells
        scores = np.zeros((1, n, CLASSES), dtype=np.float32)
        sides = np.full((1, n, 4 * BINS), -30.0, dtype=np.float32)
        for (lv, cell), (score, bins) in person.items():
            if lv != level:
                continue
            scores[0, cell, 0] = score
            scores[0, cell, 5] = 0.99  # another class: never a person
            for side, b in enumerate(bins):
                sides[0, cell, side * BINS + b] = 30.0
        levels.append((scores, sides))
    return levels


def test_a_cell_and_its_side_distributions_make_a_box_in_frame_pixels() -> None:
    # Level 1 (stride 16, 26×26): cell (x=10, y=5) has its centre at (168, 88) input px.
    cell = 5 * 26 + 10
    levels = outputs({(1, cell): (0.8, (2, 3, 4, 5))})
    [found] = decode_nanodet(levels, SIZE, 1280, 720, min_score=0.5)
    # Sides: left 2·16, top 3·16, right 4·16, bottom 5·16 input px, then scaled to 1280×720.
    sx, sy = 1280 / 416, 720 / 416
    expected = ((168 - 32) * sx, (88 - 48) * sy, (168 + 64) * sx, (88 + 80) * sy)
    assert found.box == pytest.approx(expected, abs=1e-3)
    assert found.score == pytest.approx(0.8)


def test_threshold_nms_and_other_classes() -> None:
    a, b = 20 * 52 + 20, 20 * 52 + 21  # neighbouring stride-8 cells: the same person twice
    levels = outputs(
        {(0, a): (0.9, (3, 3, 3, 3)), (0, b): (0.6, (4, 3, 2, 3)), (2, 0): (0.3, (1, 1, 1, 1))}
    )
    found = decode_nanodet(levels, SIZE, 416, 416, min_score=0.5)
    assert [round(d.score, 2) for d in found] == [0.9]  # b merged into a; 0.3 below threshold
    assert len(decode_nanodet(levels, SIZE, 416, 416, min_score=0.2)) == 2
    assert decode_nanodet(levels, SIZE, 416, 416, person_class=80) == []  # no such class
    assert decode_nanodet(outputs({}), SIZE, 416, 416, min_score=0.1) == []


def test_preprocessing_squeezes_to_the_input_and_normalises_bgr() -> None:
    frame = np.zeros((720, 1280, 3), dtype=np.uint8)
    frame[..., 0] = 103  # blue ~ NanoDet's blue mean: ~0 after normalising
    x = preprocess_nanodet(frame, SIZE)
    assert x.shape == (1, 3, 416, 416) and x.dtype == np.float32
    assert abs(float(x[0, 0].mean())) < 0.02 and float(x[0, 2].mean()) < -2.0


def _nanodet_args(classes: int = CLASSES, sides: int = 4 * BINS) -> list[Arg]:
    args = []
    for i, (cells, _stride) in enumerate(GRIDS):
        args += [
            Arg(f"cls{i}", [1, cells * cells, classes]),
            Arg(f"box{i}", [1, cells * cells, sides]),
        ]
    return args


def test_recognised_by_its_output_pairs_and_not_taken_for_yolo() -> None:
    sig = inspect_signature([Arg("input_1:0", [1, 3, 416, 416])], _nanodet_args())
    assert not isinstance(sig, str)
    assert sig.family == "nanodet" and sig.size == (416, 416)
    assert sig.outputs == ("cls0", "box0", "cls1", "box1", "cls2", "box2")  # finest first
    # A one-class model (scores [1,N,1]) is told apart as well.
    one = inspect_signature([Arg("x", [1, 3, 320, 320])], _nanodet_args(classes=1, sides=32))
    assert not isinstance(one, str) and one.family == "nanodet"


@pytest.mark.parametrize(
    ("inp", "outs", "words"),
    [
        (Arg("x", [1, 3, "h", "w"]), _nanodet_args(), "fixed height and width"),
        (Arg("x", [1, 416, 416, 3]), _nanodet_args(), "expected float [1,3,H,W]"),
        (Arg("x", [1, 3, 416, 416]), _nanodet_args(classes=40), "cannot tell"),
    ],
)
def test_unusable_nanodet_models_are_refused_with_a_reason(
    inp: Arg, outs: list[Arg], words: str
) -> None:
    sig = inspect_signature([inp], outs)
    assert isinstance(sig, str) and words in sig
