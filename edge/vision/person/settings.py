"""Settings of the on-device person detector (``[detector]``) and the models it ships with."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from edge.core.settings import Section

#: The default model, int8 (``models/convert.py quantize``): ~60 % of the fp32 time.
DEFAULT_MODEL = Path("models/ssdlite_person_300_core_int8.onnx")


DEFAULT_MODEL_SHA256 = "52a5ccb92f6daceef03017aec80b9d4ed557286ffde76e268f74469252ed3190"


#: The fp32 core network it was quantised from (``convert.py core``): the TF graph's boxes.
FP32_MODEL = Path("models/ssdlite_person_300_core.onnx")


FP32_MODEL_SHA256 = "c2ebf56a116c8d76275ba016f1793859ed78738a037b6ee66ea4378311e5a2a4"


#: The same network with TF's in-graph pre-processing and NMS (reference, slower).
NMS_MODEL = Path("models/ssdlite_person_300.onnx")


NMS_MODEL_SHA256 = "49bdc1d287d503405834d00d46548c37f22de9b770319f2d49091dc835a069ea"


#: The high-view model (issue 20): NanoDet trained on COCO, int8 (``models/convert_nanodet.py``).
#: It sees people from above that the street-level SSD misses (docs/perimeter.md).
OVERHEAD_MODEL = Path("models/nanodet_coco_416_int8.onnx")


OVERHEAD_MODEL_SHA256 = "461b72498d7df27d63bcf121cfee1f5bd04a79dac299d83bddcb87b5d9c7be80"


#: Every shipped street-level variant, fastest first, then the overhead model (what
#: ``edge-gate bench detect`` times by default).
SHIPPED_MODELS = (DEFAULT_MODEL, FP32_MODEL, NMS_MODEL, OVERHEAD_MODEL)


class DetectorSettings(Section):
    """The on-device person detector."""

    enabled: bool = Field(default=True, description="run person detection at all")
    model: Path = Field(
        default=DEFAULT_MODEL,
        description="ONNX model file; relative paths are tried from the working directory, "
        "then from the installation root. TF-SSD (with or without in-graph NMS), NanoDet or "
        "YOLOv5/v8",
    )
    sha256: str | None = Field(
        default=DEFAULT_MODEL_SHA256,
        pattern=r"^([0-9a-f]{64})?$",
        description="expected sha256 of the model file (hex); empty or null skips the check",
    )
    threads: int = Field(
        default=1, ge=1, le=16, description="onnxruntime intra-op threads (CPU cores) per frame"
    )
    min_score: float = Field(
        default=0.5, ge=0.0, le=1.0, description="minimum detection confidence, 0..1"
    )
    nms_iou: float = Field(
        default=0.45,
        ge=0.05,
        le=0.95,
        description="IoU above which overlapping YOLO boxes are merged by our NMS, 0..1 "
        "(SSD models keep the IoU they were trained with, 0.6)",
    )
    input_size: int = Field(
        default=300,
        ge=64,
        le=1920,
        description="square input side, pixels, used only when the model's input is dynamic",
    )
    person_class: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="class index of 'person'; null = the model family's default "
        "(1 for TF SSD, 0 for COCO YOLO)",
    )
    warmup_runs: int = Field(
        default=2, ge=0, le=20, description="inferences on a blank frame at start, count"
    )
    strategy: Literal["single", "tiles", "regions", "overhead", "auto"] = Field(
        default="auto",
        description="how a perimeter frame is fed to a model: single = the whole frame "
        "squeezed into the street-level model's input; tiles = letterboxed frame + "
        "overlapping tiles; regions = squares around armed zones and motion (both with the "
        "street-level model); overhead = the whole frame once through overhead_model, made "
        "for high corridor cameras; auto = overhead when that model is ready, else regions "
        "when there are any, else tiles (docs/perimeter.md)",
    )
    overhead_model: Path = Field(
        default=OVERHEAD_MODEL,
        description="ONNX model for the overhead strategy (high cameras looking down); "
        "resolved like model. NanoDet (shipped), TF-SSD or YOLOv5/v8",
    )
    overhead_sha256: str | None = Field(
        default=OVERHEAD_MODEL_SHA256,
        pattern=r"^([0-9a-f]{64})?$",
        description="expected sha256 of overhead_model (hex); empty or null skips the check",
    )
    budget_ms: float = Field(
        default=50.0,
        ge=1.0,
        le=2000.0,
        description="detection time per perimeter frame, ms, that decides how many regions "
        "or tiles a frame gets (at least one inference always runs); per camera: "
        "[[perimeter.cameras]] budget_ms",
    )
    region_px: int = Field(
        default=224,
        ge=64,
        le=1920,
        description="side of the square regions, px of the frame; smaller magnifies small "
        "people more (the model sees 300x300) but needs more regions per zone",
    )
    zone_margin: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="margin around an armed zone's bounding box, fraction of the frame "
        "height on each side and twice that above (a person stands up from the zone)",
    )
    tile_overlap: float = Field(
        default=0.2, ge=0.0, le=0.5, description="overlap of neighbouring tiles, fraction"
    )
    tile_aspect: float = Field(
        default=16 / 9,
        ge=1.0,
        le=3.0,
        description="widest tile (width/height or height/width) fed to the model without "
        "padding; the model's square input squeezes it. 1 = square tiles, letterboxed; the "
        "default 16/9 squeezes a tile no more than a whole 16:9 frame is, and lets 4 runs "
        "cover a 16:9 frame with 2x2 tiles of half its size (docs/perimeter.md)",
    )

    def uses_overhead(self, *strategies: str | None) -> bool:
        """Whether the overhead model is needed by this section's strategy or any of
        ``strategies`` (per-camera overrides; None = this section's)."""
        wanted = {self.strategy} | {self.strategy if s is None else s for s in strategies}
        return self.enabled and bool(wanted & {"overhead", "auto"})

    def names_overhead(self, *strategies: str | None) -> bool:
        """Whether a camera runs the ``overhead`` strategy by name (so it has no fallback):
        ``strategies`` are the cameras' own (None = this section's); none given = this one's."""
        return any((self.strategy if s is None else s) == "overhead" for s in strategies or (None,))

    def overhead(self) -> DetectorSettings:
        """These settings with the overhead model in place of the street-level one."""
        return self.model_copy(
            update={
                "model": self.overhead_model,
                "sha256": self.overhead_sha256,
                "strategy": "single",
                "person_class": None,
            }
        )
