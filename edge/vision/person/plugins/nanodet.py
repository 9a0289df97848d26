"""NanoDet (GFL head, COCO) as exported to TFJS and converted to ONNX: the high-view model.

``models/nanodet_coco_416_int8.onnx`` (``models/README.md``, ``models/convert_nanodet.py``):

* input float ``[1, 3, H, W]``: the BGR frame squeezed to W×H (416×416), normalised per channel
  with NanoDet's own mean and std (BGR order, as its training pipeline reads images with OpenCV);
* per stride s (8, 16, 32), two outputs over the ``(H/s)·(W/s)`` cells of that level, row by
  row: class scores ``[1, N, C]`` (sigmoid already applied; COCO: class 0 = person) and box
  sides ``[1, N, 4·(R+1)]``, for each of left, top, right, bottom a distribution over
  ``0..R`` cells (Generalized Focal Loss): its expectation times s is the distance in input
  pixels from the cell's centre ``((x + 0.5)·s, (y + 0.5)·s)``.

No NMS is in the graph; we run it at IoU 0.6, NanoDet's own test setting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import cv2
import numpy as np
import numpy.typing as npt

from edge.vision.geometry import Detection
from edge.vision.person.nms import greedy_nms
from edge.vision.person.plugins import Family, Frame, Inference, RunFn, Signature, _Arg, dim

#: NanoDet's normalisation (its configs' ``normalize``), BGR channel order.
NANODET_MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32)
NANODET_STD = np.array([57.375, 57.12, 58.395], dtype=np.float32)
_INV_STD = (np.float32(1.0) / NANODET_STD).reshape(1, 3, 1, 1).astype(np.float32)
NANODET_NMS_IOU = 0.6  # NanoDet's test_cfg nms iou_threshold
NANODET_MAX_DETECTIONS = 100
#: Box distributions have R+1 bins per side; NanoDet variants use R = 7 (Plus) or 10 (m).
_REG_BINS = range(8, 18)


def preprocess_nanodet(frame_bgr: Frame, size: tuple[int, int]) -> npt.NDArray[np.float32]:
    """BGR frame -> float ``[1, 3, h, w]``, squeezed to ``size`` (width, height), normalised."""
    resized = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_LINEAR)
    # blobFromImage subtracts the mean and lays out NCHW in one pass: 1.3 ms against 4.8 ms
    # for the same numbers with numpy (416×416, one thread).
    mean = (float(NANODET_MEAN[0]), float(NANODET_MEAN[1]), float(NANODET_MEAN[2]))
    blob = np.asarray(
        cv2.dnn.blobFromImage(resized, 1.0, size, mean, swapRB=False, crop=False),
        dtype=np.float32,
    )
    blob *= _INV_STD
    return blob


def _softmax(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return np.asarray(e / e.sum(axis=-1, keepdims=True), dtype=np.float32)


def decode_nanodet(
    levels: Sequence[tuple[npt.NDArray[np.floating], npt.NDArray[np.floating]]],
    size: tuple[int, int],
    width: int,
    height: int,
    *,
    person_class: int = 0,
    min_score: float = 0.5,
    nms_iou: float = NANODET_NMS_IOU,
) -> list[Detection]:
    """Persons from NanoDet outputs, boxes in pixels of a width×height frame, best first.

    ``levels`` are ``(scores [1, N, C], sides [1, N, 4·(R+1)])`` per stride; ``size`` the
    network input (width, height), from which each level's stride and grid follow.
    """
    in_w, in_h = size
    boxes: list[npt.NDArray[np.float32]] = []
    confs: list[npt.NDArray[np.float32]] = []
    for scores_out, sides_out in levels:
        scores = np.asarray(scores_out, dtype=np.float32).reshape(-1, np.shape(scores_out)[-1])
        if not 0 <= person_class < scores.shape[1]:
            return []
        bins = np.shape(sides_out)[-1] // 4
        stride = math.sqrt(in_w * in_h / scores.shape[0])
        cols = max(1, round(in_w / stride))
        person = scores[:, person_class]
        keep = np.nonzero(person >= min_score)[0]
        if keep.size == 0:
            continue
        sides = np.asarray(sides_out, dtype=np.float32).reshape(-1, 4, bins)[keep]
        dist = _softmax(sides) @ np.arange(bins, dtype=np.float32) * np.float32(stride)
        cx = (keep % cols + 0.5) * stride
        cy = (keep // cols + 0.5) * stride
        sx, sy = width / in_w, height / in_h
        box = np.stack(
            [
                np.clip((cx - dist[:, 0]) * sx, 0, width),
                np.clip((cy - dist[:, 1]) * sy, 0, height),
                np.clip((cx + dist[:, 2]) * sx, 0, width),
                np.clip((cy + dist[:, 3]) * sy, 0, height),
            ],
            axis=1,
        ).astype(np.float32)
        boxes.append(box)
        confs.append(person[keep])
    if not boxes:
        return []
    b, s = np.concatenate(boxes), np.concatenate(confs)
    kept = greedy_nms(b, s, nms_iou, NANODET_MAX_DETECTIONS)
    return [
        Detection((float(b[i, 0]), float(b[i, 1]), float(b[i, 2]), float(b[i, 3])), float(s[i]))
        for i in kept
    ]


def _levels(outputs: Sequence[_Arg]) -> list[tuple[str, str]] | str | None:
    """``(scores, sides)`` output names per level, finest first; a sentence when the outputs
    look like NanoDet's but cannot be paired; None when they are not NanoDet's."""
    if len(outputs) < 2 or len(outputs) % 2:
        return None
    by_cells: dict[int, list[_Arg]] = {}
    for out in outputs:
        shape = list(out.shape)
        if len(shape) != 3 or dim(shape[1]) is None or dim(shape[2]) is None:
            return None
        by_cells.setdefault(int(shape[1]), []).append(out)  # type: ignore[arg-type]
    if any(len(pair) != 2 for pair in by_cells.values()):
        return None
    levels = []
    for cells in sorted(by_cells, reverse=True):
        a, b = by_cells[cells]
        is_sides = [int(o.shape[2]) % 4 == 0 and int(o.shape[2]) // 4 in _REG_BINS for o in (a, b)]  # type: ignore[arg-type]
        if is_sides.count(True) != 1:
            return (
                f"outputs with {cells} cells have {a.shape[2]} and {b.shape[2]} channels; "
                "cannot tell NanoDet's class scores from its box distributions"
            )
        scores, sides = (b, a) if is_sides[0] else (a, b)
        levels.append((scores.name, sides.name))
    return levels


class NanoDetPlugin:
    """Recognised by pairs of ``[1, N, C]`` / ``[1, N, 4·(R+1)]`` outputs, one pair per stride."""

    type_key: ClassVar[Family] = "nanodet"
    default_person_class: ClassVar[int] = 0  # COCO

    def match(self, inp: _Arg, outputs: Sequence[_Arg]) -> Signature | str | None:
        levels = _levels(outputs)
        if levels is None or isinstance(levels, str):
            return levels
        shape = list(inp.shape)
        if inp.type != "tensor(float)" or dim(shape[1]) != 3:
            return (
                f"NanoDet outputs found but input is {inp.type} {shape}; expected float [1,3,H,W]"
            )
        if dim(shape[2]) is None or dim(shape[3]) is None:
            return (
                f"NanoDet input {shape} must have a fixed height and width (the grids depend on it)"
            )
        names = tuple(name for level in levels for name in level)
        return Signature("nanodet", inp.name, (dim(shape[3]), dim(shape[2])), names)

    def infer(
        self, run: RunFn, sig: Signature, frame_bgr: Frame, job: Inference
    ) -> list[Detection]:
        h, w = frame_bgr.shape[:2]
        outs = run(list(sig.outputs), {sig.input_name: preprocess_nanodet(frame_bgr, job.size)})
        levels = [(outs[i], outs[i + 1]) for i in range(0, len(outs), 2)]
        return decode_nanodet(
            levels, job.size, w, h, person_class=job.person_class, min_score=job.min_score
        )
