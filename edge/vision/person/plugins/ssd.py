"""TF object-detection SSD models (SSDLite-MobileNetV2, ``models/README.md``), two flavours.

* ``ssd``: the full graph, input uint8 RGB ``[1, H, W, 3]``; outputs ``detection_boxes``
  ``[1, N, 4]`` normalised ``(ymin, xmin, ymax, xmax)``, ``detection_scores`` ``[1, N]``
  sorted, ``detection_classes`` ``[1, N]`` (1 = person). NMS is inside the graph.
* ``ssd_core`` (the shipped default, the same network cut before TF's pre/post-processing
  loops): input float ``[1, H, W, 3]`` = RGB·2/255 − 1; outputs ``raw_box_locations``
  ``[1, A, 4]`` and ``convert_scores`` ``[1, A, 1+C]`` (column 0 = background). We run the NMS
  (IoU 0.6, as the graph did).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import cv2
import numpy as np
import numpy.typing as npt

from edge.vision.geometry import Detection
from edge.vision.person.nms import greedy_nms
from edge.vision.person.plugins import Family, Frame, Inference, RunFn, Signature, _Arg, dim

SSD_OUTPUTS = ("detection_boxes", "detection_scores", "detection_classes")
SSD_CORE_OUTPUTS = ("raw_box_locations", "convert_scores")
SSD_CORE_NMS_IOU = 0.6  # the iou_threshold of the NMS the TF graph ran (read from the graph)
SSD_MAX_DETECTIONS = 100  # the graph's own cap on boxes per frame


def preprocess_ssd(frame_bgr: Frame, size: tuple[int, int]) -> Frame:
    """BGR frame -> uint8 RGB ``[1, h, w, 3]`` at the network size (the package's own recipe)."""
    resized = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)[None])


def decode_ssd(
    boxes: npt.NDArray[np.floating],
    scores: npt.NDArray[np.floating],
    classes: npt.NDArray[np.floating],
    width: int,
    height: int,
    *,
    person_class: int = 1,
    min_score: float = 0.5,
) -> list[Detection]:
    """Persons from TF-SSD outputs, boxes in pixels ``(x1, y1, x2, y2)`` of a width×height frame.

    ``boxes`` are ``[1, N, 4]`` normalised ``(ymin, xmin, ymax, xmax)``; padding rows past
    ``num_detections`` have score 0, so filtering by score alone is enough.
    """
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float32).reshape(-1)
    c = np.asarray(classes).reshape(-1)
    keep = (s >= min_score) & (np.rint(c).astype(np.int64) == person_class)
    out = []
    for (ymin, xmin, ymax, xmax), score in zip(b[keep], s[keep], strict=True):
        out.append(
            Detection(
                (
                    float(np.clip(xmin, 0, 1) * width),
                    float(np.clip(ymin, 0, 1) * height),
                    float(np.clip(xmax, 0, 1) * width),
                    float(np.clip(ymax, 0, 1) * height),
                ),
                float(score),
            )
        )
    return out


def normalise_ssd(rgb: Frame) -> npt.NDArray[np.float32]:
    """uint8 RGB -> float32 in -1..1, the TF graph's own pre-processing (x·2/255 − 1)."""
    return np.asarray(rgb, dtype=np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)


def decode_ssd_core(
    boxes: npt.NDArray[np.floating],
    scores: npt.NDArray[np.floating],
    width: int,
    height: int,
    *,
    person_class: int = 1,
    min_score: float = 0.5,
    nms_iou: float = SSD_CORE_NMS_IOU,
) -> list[Detection]:
    """Persons from per-anchor SSD outputs, with our NMS; pixels of a width×height frame.

    ``boxes`` ``[1, A, 4]`` normalised ``(ymin, xmin, ymax, xmax)``, ``scores`` ``[1, A, 1+C]``.
    Filtering by ``min_score`` before NMS gives the same boxes as the graph's NMS followed by
    the threshold: a box at or above the threshold can only be suppressed by a better one.
    """
    s = np.asarray(scores, dtype=np.float32)[0]
    if s.ndim != 2 or not 0 <= person_class < s.shape[1]:
        return []
    person = s[:, person_class]
    keep = np.nonzero(person >= min_score)[0]
    if keep.size == 0:
        return []
    b = np.clip(np.asarray(boxes, dtype=np.float32)[0][keep], 0.0, 1.0)
    conf = person[keep]
    x1, y1 = b[:, 1] * width, b[:, 0] * height
    x2, y2 = b[:, 3] * width, b[:, 2] * height
    kept = greedy_nms(np.stack([x1, y1, x2, y2], axis=1), conf, nms_iou, SSD_MAX_DETECTIONS)
    return [
        Detection((float(x1[i]), float(y1[i]), float(x2[i]), float(y2[i])), float(conf[i]))
        for i in kept
    ]


class SsdCorePlugin:
    """The SSD network without TF's loops: our pre-processing and our NMS."""

    type_key: ClassVar[Family] = "ssd_core"
    default_person_class: ClassVar[int] = 1

    def match(self, inp: _Arg, outputs: Sequence[_Arg]) -> Signature | str | None:
        names = [o.name for o in outputs]
        core = {k: n for k in SSD_CORE_OUTPUTS for n in names if k in n}
        if len(core) != len(SSD_CORE_OUTPUTS):
            return None
        shape = list(inp.shape)
        if inp.type != "tensor(float)" or dim(shape[3]) not in (None, 3):
            return (
                f"SSD core outputs found but input is {inp.type} {shape}; expected float [1,H,W,3]"
            )
        return Signature(
            "ssd_core",
            inp.name,
            (dim(shape[2]), dim(shape[1])),
            tuple(core[k] for k in SSD_CORE_OUTPUTS),
        )

    def infer(
        self, run: RunFn, sig: Signature, frame_bgr: Frame, job: Inference
    ) -> list[Detection]:
        h, w = frame_bgr.shape[:2]
        normalised = normalise_ssd(preprocess_ssd(frame_bgr, job.size))
        boxes, scores = run(list(sig.outputs), {sig.input_name: normalised})
        return decode_ssd_core(
            boxes, scores, w, h, person_class=job.person_class, min_score=job.min_score
        )


class SsdPlugin:
    """The full TF graph with its own pre-processing and NMS."""

    type_key: ClassVar[Family] = "ssd"
    default_person_class: ClassVar[int] = 1

    def match(self, inp: _Arg, outputs: Sequence[_Arg]) -> Signature | str | None:
        names = [o.name for o in outputs]
        ssd = {}
        for key in SSD_OUTPUTS:
            found = [n for n in names if key in n]
            if found:
                ssd[key] = found[0]
        if len(ssd) != len(SSD_OUTPUTS):
            return None
        shape = list(inp.shape)
        if inp.type != "tensor(uint8)" or dim(shape[3]) not in (None, 3):
            return f"SSD outputs found but input is {inp.type} {shape}; expected uint8 [1,H,W,3]"
        return Signature(
            "ssd", inp.name, (dim(shape[2]), dim(shape[1])), tuple(ssd[k] for k in SSD_OUTPUTS)
        )

    def infer(
        self, run: RunFn, sig: Signature, frame_bgr: Frame, job: Inference
    ) -> list[Detection]:
        h, w = frame_bgr.shape[:2]
        tensor = preprocess_ssd(frame_bgr, job.size)
        boxes, scores, classes = run(list(sig.outputs), {sig.input_name: tensor})
        return decode_ssd(
            boxes, scores, classes, w, h, person_class=job.person_class, min_score=job.min_score
        )
