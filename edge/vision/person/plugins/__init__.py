"""Detector plugins: one small module per model family (Frigate's ``detectors/plugins`` habit).

A plugin recognises its family from an ONNX model's inputs and outputs (:meth:`match`) and runs
one inference on a BGR frame (:meth:`infer`): its own pre-processing, the session call and its
decoding into person boxes in the frame's pixels. :class:`~edge.vision.person.detector.Detector`
loads the model, asks each plugin of :data:`PLUGINS` in turn, and keeps the one that matched. A
new family is a new module here and one entry in :data:`PLUGINS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
import numpy.typing as npt

from edge.vision.geometry import Detection
from edge.vision.person.yolo import Layout

Family = Literal["ssd", "ssd_core", "nanodet", "yolo"]
Frame = npt.NDArray[np.uint8]
#: ``session.run(output_names, {input_name: tensor})`` of onnxruntime.
RunFn = Callable[[list[str], dict[str, Any]], Sequence[Any]]


class _Arg(Protocol):
    """The parts of ``onnxruntime.NodeArg`` we read (also easy to fake in tests)."""

    @property
    def name(self) -> str: ...
    @property
    def shape(self) -> Sequence[int | str | None]: ...
    @property
    def type(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Signature:
    """How to feed and read a model, derived from its inputs and outputs."""

    family: Family
    input_name: str
    size: tuple[int | None, int | None]  # (width, height) if fixed in the graph
    outputs: tuple[str, ...] = ()  # SSD: boxes, scores, classes names; YOLO: the one output
    layout: Layout | None = None
    half: bool = False  # float16 input (some YOLO exports)


def dim(value: int | str | None) -> int | None:
    """A fixed, positive dimension of a graph's shape, or None when it is symbolic."""
    return value if isinstance(value, int) and value > 0 else None


@dataclass(frozen=True, slots=True)
class Inference:
    """What one inference needs besides the frame: the model's size and the person class."""

    size: tuple[int, int]  # (width, height) pixels fed to the network
    person_class: int
    min_score: float
    nms_iou: float  # for families whose NMS is ours (YOLO)


class DetectorPlugin(Protocol):
    """One model family."""

    type_key: ClassVar[Family]
    default_person_class: ClassVar[int]

    def match(self, inp: _Arg, outputs: Sequence[_Arg]) -> Signature | str | None:
        """Its :class:`Signature`; a sentence when the outputs are its family's but the input
        is not usable; None when the model is not of this family."""
        ...

    def infer(
        self, run: RunFn, sig: Signature, frame_bgr: Frame, job: Inference
    ) -> list[Detection]:
        """Persons in ``frame_bgr``, boxes in its pixels, best first."""
        ...


def _registry() -> tuple[DetectorPlugin, ...]:
    from edge.vision.person.plugins.nanodet import NanoDetPlugin
    from edge.vision.person.plugins.ssd import SsdCorePlugin, SsdPlugin
    from edge.vision.person.plugins.yolo import YoloPlugin

    # the order matters: SSD outputs are recognised by name, NanoDet by its pairs of outputs
    # (one of which would also pass for a YOLOv5 output), YOLO by shape (the fallback)
    return (SsdCorePlugin(), SsdPlugin(), NanoDetPlugin(), YoloPlugin())


PLUGINS: tuple[DetectorPlugin, ...] = _registry()


def plugin_for(family: Family) -> DetectorPlugin:
    """The plugin whose ``type_key`` is ``family``."""
    return next(p for p in PLUGINS if p.type_key == family)
