"""On-device person detection with onnxruntime (issue 5).

The model family is recognised from the ONNX signature by the plugins of
:mod:`edge.vision.person.plugins` (TF-SSD, the SSD core network shipped by default, YOLOv5/v8),
so a user can drop in a model; each plugin owns its pre-processing and decoding.

The detector never raises to its caller: a missing, corrupt, tampered or unrecognised model
gives a :class:`DetectorStatus` that is not ``ok`` and :meth:`Detector.detect` returns no
persons, so the QR gate keeps working and the app can raise a "detector unavailable" alert.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import statistics
import sys
import sysconfig
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from edge.vision.geometry import Detection
from edge.vision.person.plugins import (
    PLUGINS,
    DetectorPlugin,
    Family,
    Frame,
    Inference,
    Signature,
    _Arg,
    plugin_for,
)
from edge.vision.person.plugins.ssd import (
    SSD_CORE_NMS_IOU,
    decode_ssd,
    decode_ssd_core,
    normalise_ssd,
    preprocess_ssd,
)
from edge.vision.person.settings import SHIPPED_MODELS, DetectorSettings

__all__ = [
    "SSD_CORE_NMS_IOU",
    "Detector",
    "DetectorState",
    "DetectorStatus",
    "Family",
    "Signature",
    "bench",
    "decode_ssd",
    "decode_ssd_core",
    "file_sha256",
    "inspect_signature",
    "normalise_ssd",
    "preprocess_ssd",
    "resolve_model",
]

log = logging.getLogger(__name__)

INSTALL_ROOT = Path(__file__).resolve().parents[3]  # the checkout / installation root
# Where a wheel puts models/ (setup.cfg [options.data_files]): <venv>/share/edge-gate.
DATA_ROOTS = tuple(
    dict.fromkeys(Path(p) / "share" / "edge-gate" for p in (sysconfig.get_path("data"), sys.prefix))
)


class DetectorState(StrEnum):
    READY = "ready"
    DISABLED = "disabled"
    MISSING = "missing"  # no file at the configured path
    CORRUPT = "corrupt"  # onnxruntime could not load it
    HASH_MISMATCH = "hash_mismatch"  # file differs from the configured sha256
    BAD_SIGNATURE = "bad_signature"  # loads, but is neither SSD nor YOLO as we know them
    FAILED = "failed"  # inference raised at run time


@dataclass(frozen=True, slots=True)
class DetectorStatus:
    """What the detector can do now, in words a guard or installer can act on."""

    state: DetectorState
    message: str
    model: str = ""
    sha256: str | None = None
    family: Family | None = None
    input_size: tuple[int, int] | None = None  # (width, height) pixels fed to the network

    @property
    def ok(self) -> bool:
        return self.state is DetectorState.READY


def inspect_signature(inputs: Sequence[_Arg], outputs: Sequence[_Arg]) -> Signature | str:
    """The model family from its inputs/outputs (asking each plugin in turn), or a sentence
    saying why it is not usable."""
    if len(inputs) != 1:
        return f"expected 1 image input, the model has {len(inputs)}"
    inp = inputs[0]
    shape = list(inp.shape)
    if len(shape) != 4:
        return f"input {inp.name!r} has shape {shape}; expected a 4-D image batch"
    for plugin in PLUGINS:
        found = plugin.match(inp, outputs)
        if found is not None:
            return found
    shapes = {o.name: list(o.shape) for o in outputs}
    return (
        f"outputs {shapes} are neither TF-SSD (detection_boxes/scores/classes) "
        "nor YOLO ([1,4+C,N] or [1,N,5+C])"
    )


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (12 MB model: ~20 ms)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_model(path: Path) -> Path:
    """A relative model path: from the working directory if it is there, else the checkout,
    else the installed data folder (<venv>/share/edge-gate); the checkout's path when none has it.
    """
    if path.is_absolute() or path.exists():
        return path
    for root in (INSTALL_ROOT, *DATA_ROOTS):
        if (root / path).exists():
            return root / path
    return INSTALL_ROOT / path


@dataclass
class Detector:
    """A loaded person detector; construct it once at start (loads, checks, warms up).

    ``detect`` is safe to call from several camera threads: onnxruntime sessions are
    thread-safe for ``run`` and release the GIL while computing.
    """

    settings: DetectorSettings = field(default_factory=DetectorSettings)
    status: DetectorStatus = field(init=False)
    _session: Any = field(init=False, default=None, repr=False)
    _sig: Signature | None = field(init=False, default=None, repr=False)
    _plugin: DetectorPlugin | None = field(init=False, default=None, repr=False)
    _size: tuple[int, int] = field(init=False, default=(300, 300))
    _person: int = field(init=False, default=1)

    def __post_init__(self) -> None:
        self.status = self._load()
        if self.status.ok:
            log.info("person detector ready: %s", self.status.message)
        else:
            log.warning("person detector unavailable: %s", self.status.message)

    def _load(self) -> DetectorStatus:
        s = self.settings
        name = str(s.model)
        if not s.enabled:
            return DetectorStatus(DetectorState.DISABLED, "detection disabled in [detector]", name)
        path = resolve_model(s.model)
        name = str(path)
        if not path.is_file():
            return DetectorStatus(
                DetectorState.MISSING,
                f"model file {path} not found; set [detector] model or reinstall models/",
                name,
            )
        try:
            digest = file_sha256(path)
        except OSError as exc:
            return DetectorStatus(DetectorState.MISSING, f"cannot read {path}: {exc}", name)
        if s.sha256 and digest != s.sha256:
            return DetectorStatus(
                DetectorState.HASH_MISMATCH,
                f"model {path} has sha256 {digest}, expected {s.sha256}; the file is damaged "
                "or replaced (set [detector] sha256 to the new value for your own model)",
                name,
                digest,
            )
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = s.threads
        opts.inter_op_num_threads = 1  # one frame at a time: no parallel branches to run
        opts.log_severity_level = 3  # onnxruntime's warnings are about graph internals
        try:
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises several private exception types
            return DetectorStatus(
                DetectorState.CORRUPT, f"onnxruntime cannot load {path}: {exc}", name, digest
            )
        sig = inspect_signature(session.get_inputs(), session.get_outputs())
        if isinstance(sig, str):
            return DetectorStatus(DetectorState.BAD_SIGNATURE, f"{path}: {sig}", name, digest)
        self._session, self._sig = session, sig
        self._size = (sig.size[0] or s.input_size, sig.size[1] or s.input_size)
        self._plugin = plugin_for(sig.family)
        default_person = self._plugin.default_person_class
        self._person = default_person if s.person_class is None else s.person_class
        try:
            blank = np.zeros((self._size[1], self._size[0], 3), dtype=np.uint8)
            for _ in range(s.warmup_runs):
                self._infer(blank, 1.0)
        except Exception as exc:
            return DetectorStatus(
                DetectorState.BAD_SIGNATURE,
                f"{path}: warm-up inference failed: {exc}",
                name,
                digest,
            )
        return DetectorStatus(
            DetectorState.READY,
            f"{sig.family} model {path.name}, input {self._size[0]}x{self._size[1]}, "
            f"{s.threads} thread(s)",
            name,
            digest,
            sig.family,
            self._size,
        )

    def _infer(self, frame_bgr: Frame, min_score: float) -> list[Detection]:
        sig, plugin = self._sig, self._plugin
        assert sig is not None and plugin is not None and self._session is not None
        job = Inference(self._size, self._person, min_score, self.settings.nms_iou)
        return plugin.infer(self._session.run, sig, frame_bgr, job)

    def detect(self, frame_bgr: Frame, min_score: float | None = None) -> list[Detection]:
        """Persons in a BGR (or grey) frame, boxes in its pixels, best first; [] if unavailable.

        ``min_score`` (0..1) overrides ``[detector] min_score`` (evaluation wants low scores).
        A broken frame (empty, wrong channels) gives [] rather than an exception.
        """
        if not self.status.ok:
            return []
        frame = _as_bgr(frame_bgr)
        if frame is None:
            return []
        threshold = self.settings.min_score if min_score is None else min_score
        try:
            return self._infer(frame, threshold)
        except Exception as exc:  # keep the camera loop and the gate alive
            log.exception("person detection failed")
            self.status = DetectorStatus(
                DetectorState.FAILED,
                f"inference failed: {exc}",
                self.status.model,
                self.status.sha256,
                self.status.family,
                self.status.input_size,
            )
            return []


def _as_bgr(frame: npt.NDArray[Any] | None) -> Frame | None:
    """A 3-channel uint8 view of a camera frame, or None when it is unusable."""
    if frame is None or not isinstance(frame, np.ndarray) or frame.size == 0:
        return None
    if frame.dtype != np.uint8:
        return None
    if frame.ndim == 2:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 4:
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
    return None


def vtest_frames(video: Path, count: int, every: int = 40) -> list[Frame]:
    """Every ``every``-th frame of a video (vtest.avi for benchmarks), at most ``count``."""
    cap = cv2.VideoCapture(str(video))
    frames: list[Frame] = []
    index = 0
    try:
        while len(frames) < count:
            ok, frame = cap.read()
            if not ok:
                break
            if index % every == 0:
                frames.append(np.asarray(frame, dtype=np.uint8))
            index += 1
    finally:
        cap.release()
    return frames


def cpu_name() -> str:
    """CPU model from /proc/cpuinfo (for benchmark records), else the platform string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bench(
    models: Sequence[Path] = SHIPPED_MODELS,
    threads: Sequence[int] = (1, 2),
    video: Path = Path(".cache/testdata/vtest.avi"),
    frames: int = 20,
    repeats: int = 5,
    min_score: float = 0.5,
) -> dict[str, Any]:
    """Milliseconds per frame (median, p95) of :meth:`Detector.detect` per model and thread count.

    Frames are every 40th frame of ``video`` (768×576 CCTV); without it, random noise frames
    (timing only; person counts are then meaningless). ``repeats`` rounds each time every
    frame once per variant, variants interleaved within a round, so a burst of load from other
    processes hits all variants alike instead of skewing one. ``persons`` counts detections
    ≥ ``min_score`` over the sample. With 1 thread, ``cpu_median_ms`` is the calling thread's
    CPU time, a fairer figure on a busy machine. Models load without a sha256 check.
    """
    sample = vtest_frames(resolve_model(video), frames) if resolve_model(video).exists() else []
    source = str(video) if sample else "random noise 576x768"
    if not sample:
        rng = np.random.default_rng(0)
        sample = [rng.integers(0, 255, (576, 768, 3), dtype=np.uint8) for _ in range(frames)]
    rows: list[dict[str, Any]] = []
    ready: list[tuple[dict[str, Any], Detector, list[float]]] = []
    for model in models:
        for n in threads:
            det = Detector(
                DetectorSettings(model=model, sha256=None, threads=n, min_score=min_score)
            )
            row: dict[str, Any] = {"model": str(model), "threads": n, "status": det.status.state}
            rows.append(row)
            if det.status.ok:
                row["persons"] = sum(len(det.detect(f)) for f in sample)
                ready.append((row, det, []))
            else:
                row["error"] = det.status.message
    cpu: dict[int, list[float]] = {id(det): [] for _row, det, _t in ready}
    for _ in range(repeats):
        for _row, det, times in ready:
            for frame in sample:
                start, start_cpu = time.perf_counter(), time.thread_time()
                det.detect(frame)
                times.append((time.perf_counter() - start) * 1000.0)
                cpu[id(det)].append((time.thread_time() - start_cpu) * 1000.0)
    for row, det, times in ready:
        row |= {
            "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(float(np.percentile(times, 95)), 2),
            "frames": len(sample),
            "timings": len(times),
        }
        if row["threads"] == 1:
            # With one thread onnxruntime computes on the calling thread, so its CPU time is
            # the work itself, unaffected by waiting for a core other processes hold.
            row["cpu_median_ms"] = round(statistics.median(cpu[id(det)]), 2)
    return {
        "machine": cpu_name(),
        "cores": _cores(),
        "onnxruntime": ort.__version__,
        "frames_from": source,
        "results": rows,
    }


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
