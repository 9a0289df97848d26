"""Bring-your-own-model: YOLOv5/v8 output decoding with our NMS, pure and through onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from edge.vision.person.detector import Detector, inspect_signature
from edge.vision.person.settings import DetectorSettings
from edge.vision.person.yolo import Letterbox, decode_yolo, layout_of, letterbox

IDENTITY = Letterbox(scale=1.0, pad_x=0.0, pad_y=0.0, width=640, height=640)


def v8(rows: list[list[float]]) -> np.ndarray:
    """[1, 4+C, N] from rows of cx, cy, w, h, class scores."""
    return np.asarray(rows, dtype=np.float32).T[None]


def test_v8_decodes_persons_and_suppresses_duplicates() -> None:
    out = v8(
        [
            [100, 100, 40, 80, 0.9, 0.0],
            [102, 101, 40, 80, 0.8, 0.0],  # duplicate of the first
            [300, 200, 50, 100, 0.6, 0.1],
            [500, 500, 20, 20, 0.1, 0.99],  # a confident other class
        ]
    )
    found = decode_yolo(out, "v8", IDENTITY, min_score=0.5, nms_iou=0.45)
    assert [round(d.score, 2) for d in found] == [0.9, 0.6]
    assert found[0].box == pytest.approx((80, 60, 120, 140))


def test_v5_multiplies_objectness_and_class_probability() -> None:
    rows = np.array([[100, 100, 40, 80, 0.5, 0.9, 0.0], [300, 300, 40, 80, 1.0, 0.7, 0.0]])
    found = decode_yolo(rows[None].astype(np.float32), "v5", IDENTITY, min_score=0.5)
    assert [round(d.score, 2) for d in found] == [0.7]  # 0.5 * 0.9 = 0.45 is dropped


def test_person_class_is_configurable_and_out_of_range_is_empty() -> None:
    out = v8([[100, 100, 40, 80, 0.1, 0.9]])
    assert len(decode_yolo(out, "v8", IDENTITY, person_class=1)) == 1
    assert decode_yolo(out, "v8", IDENTITY, person_class=7) == []


def test_letterbox_round_trip() -> None:
    frame = np.zeros((360, 640, 3), np.uint8)
    tensor, box = letterbox(frame, 320)
    assert tensor.shape == (1, 3, 320, 320) and tensor.dtype == np.float32
    assert box.scale == pytest.approx(0.5) and box.pad_y == pytest.approx(70)
    # A box drawn in network pixels maps back to the original frame.
    out = v8([[160, 160, 20, 40, 0.9]])
    (det,) = decode_yolo(out, "v8", box)
    assert det.box == pytest.approx((300, 140, 340, 220))


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((1, 84, 8400), "v8"),
        ((1, 5, "anchors"), "v8"),
        ((1, 25200, 85), "v5"),
        ((1, 10), None),
        ((1, 3, 4), None),
    ],
)
def test_layout_from_shape(shape: tuple, expected: str | None) -> None:
    assert layout_of(shape) == expected


class Arg(NamedTuple):
    name: str
    shape: list
    type: str


def test_signature_tells_ssd_from_yolo() -> None:
    ssd = inspect_signature(
        [Arg("image_tensor:0", ["n", "h", "w", 3], "tensor(uint8)")],
        [
            Arg("num_detections:0", ["n"], "tensor(float)"),
            Arg("detection_boxes:0", ["n", 100, 4], "tensor(float)"),
            Arg("detection_scores:0", ["n", 100], "tensor(float)"),
            Arg("detection_classes:0", ["n", 100], "tensor(float)"),
        ],
    )
    assert not isinstance(ssd, str) and ssd.family == "ssd" and ssd.size == (None, None)
    yolo = inspect_signature(
        [Arg("images", [1, 3, 640, 640], "tensor(float)")],
        [Arg("output0", [1, 84, 8400], "tensor(float)")],
    )
    assert not isinstance(yolo, str) and yolo.family == "yolo" and yolo.layout == "v8"
    bad = inspect_signature([Arg("x", [1, 3, 8, 8], "tensor(float)")], [Arg("y", [1, 10], "t")])
    assert isinstance(bad, str)


@pytest.mark.parametrize("name", ["tiny_yolov8.onnx", "tiny_yolov5.onnx"])
def test_tiny_yolo_models_through_onnxruntime(data_dir: Path, name: str) -> None:
    det = Detector(DetectorSettings(model=data_dir / name, sha256=None))
    assert det.status.ok and det.status.family == "yolo"
    assert det.status.input_size == (64, 64)
    # 128x64 frame -> scale 0.5, 16 px of padding above and below in the 64x64 input.
    found = det.detect(np.zeros((64, 128, 3), np.uint8))
    assert [round(d.score, 2) for d in found] == [0.9, 0.7]
    assert found[0].box == pytest.approx((30, 12, 50, 52))
    assert found[1].box == pytest.approx((92, 16, 108, 48))
    assert det.detect(np.zeros((64, 128, 3), np.uint8), min_score=0.1)[-1].score == (
        pytest.approx(0.2)
    )
