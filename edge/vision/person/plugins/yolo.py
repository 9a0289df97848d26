"""YOLOv5/v8 models (Ultralytics export, "bring your own model"): input float ``[1, 3, H, W]``,
one output decoded and NMS'd by :mod:`edge.vision.person.yolo`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from edge.vision.geometry import Detection
from edge.vision.person.plugins import Family, Frame, Inference, RunFn, Signature, _Arg, dim
from edge.vision.person.yolo import decode_yolo, layout_of, letterbox


class YoloPlugin:
    """Recognised by the shape of its one output; the fallback after the SSD families."""

    type_key: ClassVar[Family] = "yolo"
    default_person_class: ClassVar[int] = 0  # COCO

    def match(self, inp: _Arg, outputs: Sequence[_Arg]) -> Signature | str | None:
        shape = list(inp.shape)
        if inp.type not in ("tensor(float)", "tensor(float16)"):
            return f"input {inp.name!r} is {inp.type}; YOLO models take float [1,3,H,W]"
        if dim(shape[1]) not in (None, 3):
            return f"input {inp.name!r} has shape {shape}; YOLO models take [1,3,H,W]"
        for out in outputs:
            layout = layout_of(tuple(out.shape))
            if layout is not None:
                return Signature(
                    "yolo",
                    inp.name,
                    (dim(shape[3]), dim(shape[2])),
                    (out.name,),
                    layout,
                    half=inp.type == "tensor(float16)",
                )
        return None

    def infer(
        self, run: RunFn, sig: Signature, frame_bgr: Frame, job: Inference
    ) -> list[Detection]:
        assert sig.layout is not None
        tensor, box = letterbox(frame_bgr, job.size[0])
        if sig.half:
            tensor = tensor.astype(np.float16)
        (out,) = run(list(sig.outputs), {sig.input_name: tensor})
        return decode_yolo(
            out,
            sig.layout,
            box,
            person_class=job.person_class,
            min_score=job.min_score,
            nms_iou=job.nms_iou,
        )
