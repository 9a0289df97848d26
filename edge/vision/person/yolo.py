"""Pure pre- and post-processing for YOLO-family ONNX detectors ("bring your own model").

Two output layouts are in the wild, both produced by the Ultralytics exporters:

* YOLOv8/v11: ``[1, 4 + C, N]`` — per candidate ``cx, cy, w, h`` then C class scores;
* YOLOv5: ``[1, N, 5 + C]`` — ``cx, cy, w, h, objectness`` then C class probabilities
  (the class score is objectness × class probability).

Coordinates are pixels of the letterboxed network input. No NMS is in these graphs, so we run
greedy NMS (``edge.vision.person.nms``) on the person candidates, at most 300 kept (Ultralytics'
``max_det``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from edge.vision.geometry import Detection
from edge.vision.person.nms import greedy_nms

Layout = Literal["v8", "v5"]
LETTERBOX_GREY = 114  # the padding value Ultralytics trains with
YOLO_MAX_DETECTIONS = 300  # Ultralytics' own max_det


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a frame was fitted into the square network input: scale and padding, pixels."""

    scale: float
    pad_x: float
    pad_y: float
    width: int
    height: int


def layout_of(shape: tuple[int | str | None, ...]) -> Layout | None:
    """The YOLO layout an output shape implies, or None when it is not a YOLO output.

    ``[1, A, B]`` with A < B is v8 (attributes first: 4+C is small, N is thousands), else v5.
    Symbolic dims (strings/None) are taken as "large" because they are always N.
    """
    if len(shape) != 3:
        return None
    a, b = shape[1], shape[2]
    if isinstance(a, int) and (not isinstance(b, int) or a < b):
        return "v8" if a >= 5 else None
    if isinstance(b, int) and b >= 6:
        return "v5"
    return None


def letterbox(
    frame_bgr: npt.NDArray[np.uint8], side: int
) -> tuple[npt.NDArray[np.float32], Letterbox]:
    """Resize keeping aspect ratio, pad to ``side``², return NCHW float RGB 0..1 and the mapping."""
    h, w = frame_bgr.shape[:2]
    scale = min(side / w, side / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(frame_bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = (side - nw) / 2.0, (side - nh) / 2.0
    top, left = int(pad_y), int(pad_x)
    canvas = np.full((side, side, 3), LETTERBOX_GREY, dtype=np.uint8)
    canvas[top : top + nh, left : left + nw] = resized
    rgb = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)
    tensor = (rgb.transpose(2, 0, 1)[None].astype(np.float32)) / np.float32(255.0)
    return tensor, Letterbox(scale, float(left), float(top), w, h)


def decode_yolo(
    output: npt.NDArray[np.floating],
    layout: Layout,
    box: Letterbox,
    *,
    person_class: int = 0,
    min_score: float = 0.5,
    nms_iou: float = 0.45,
) -> list[Detection]:
    """Persons from one YOLO output tensor, boxes in pixels of the original frame, best first.

    ``output`` is the raw ``[1, 4+C, N]`` (v8) or ``[1, N, 5+C]`` (v5) array; ``box`` undoes the
    letterbox; ``min_score`` (0..1) filters before NMS; ``nms_iou`` (0..1) merges overlaps.
    A class index outside the model's classes yields no detections rather than an error.
    """
    pred = np.asarray(output, dtype=np.float32)
    if pred.ndim != 3 or pred.shape[0] != 1:
        raise ValueError(f"YOLO output must be [1, ?, ?], got {list(pred.shape)}")
    rows = pred[0].T if layout == "v8" else pred[0]  # -> [N, attrs]
    first_class = 4 if layout == "v8" else 5
    if rows.shape[1] <= first_class + person_class:
        return []
    scores = rows[:, first_class + person_class]
    if layout == "v5":
        scores = scores * rows[:, 4]
    keep = scores >= min_score
    if not np.any(keep):
        return []
    cx, cy, bw, bh = (rows[keep, i] for i in range(4))
    scores = scores[keep]
    # Letterbox pixels -> original pixels, clipped to the frame.
    x1 = np.clip((cx - bw / 2 - box.pad_x) / box.scale, 0, box.width)
    y1 = np.clip((cy - bh / 2 - box.pad_y) / box.scale, 0, box.height)
    x2 = np.clip((cx + bw / 2 - box.pad_x) / box.scale, 0, box.width)
    y2 = np.clip((cy + bh / 2 - box.pad_y) / box.scale, 0, box.height)
    order = greedy_nms(np.stack([x1, y1, x2, y2], axis=1), scores, nms_iou, YOLO_MAX_DETECTIONS)
    return [
        Detection(
            (float(x1[i]), float(y1[i]), float(x2[i]), float(y2[i])),
            float(scores[i]),
        )
        for i in order
    ]
