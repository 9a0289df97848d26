"""The int8 models give the same outputs on CPUs without VNNI (most AVX2-only desktops).

onnxruntime's u8s8 kernels for AVX2 and AVX-512 without VNNI add pairs of u8·s8 products in
16 bits, which saturates with full-range 8-bit weights: measured under `qemu-x86_64 -cpu
Haswell`, an 8-bit-weight build of the SSD moved scores by up to 0.14 and boxes by up to 7 %
of the frame, and one of NanoDet its person scores by up to 0.006 and its box logits by up to
0.11. The shipped models have 7-bit weights (``reduce_range``), which cannot saturate.
These tests run each shipped int8 model on one vtest frame under an emulated Haswell (AVX2,
no AVX-512, no VNNI) and on this machine, and compare every raw output.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from needs import unavailable

from edge.vision.person.detector import Detector, normalise_ssd, preprocess_ssd, resolve_model
from edge.vision.person.settings import DEFAULT_MODEL

Frames = dict[int, npt.NDArray[np.uint8]]

#: The high-view model (models/README.md, "NanoDet (COCO) for high views").
NANODET_INT8 = Path("models/nanodet_coco_416_int8.onnx")

RUN = """
import sys, numpy as np, onnxruntime as ort
opts = ort.SessionOptions(); opts.intra_op_num_threads = 1
s = ort.InferenceSession(sys.argv[1], opts, providers=["CPUExecutionProvider"])
x = np.load(sys.argv[2])
np.savez(sys.argv[3], *s.run(None, {s.get_inputs()[0].name: x}))
"""


def _host_and_haswell(
    model: Path, x: npt.NDArray[np.float32], tmp_path: Path
) -> tuple[list[npt.NDArray[np.float32]], list[npt.NDArray[np.float32]]]:
    """Every output of ``model`` on ``x``, run here and under an emulated Haswell."""
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        unavailable("qemu-x86_64 (Debian qemu-user) to emulate an AVX2-only CPU")
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "run.py").write_text(RUN)
    argv = [str(tmp_path / "run.py"), str(model), str(tmp_path / "x.npy")]
    subprocess.run([sys.executable, *argv, str(tmp_path / "host.npz")], check=True, timeout=60)
    # Haswell: AVX2 and FMA, no AVX-512, no VNNI. qemu warns about host-only CPUID bits.
    subprocess.run(
        [qemu, "-cpu", "Haswell", sys.executable, *argv, str(tmp_path / "avx2.npz")],
        check=True,
        timeout=240,
        stderr=subprocess.DEVNULL,
    )
    host, avx2 = np.load(tmp_path / "host.npz"), np.load(tmp_path / "avx2.npz")
    return [host[k] for k in host.files], [avx2[k] for k in host.files]


def test_same_outputs_without_vnni(
    detector: Detector, vtest_frames: Frames, tmp_path: Path
) -> None:
    x = normalise_ssd(preprocess_ssd(vtest_frames[200], (300, 300)))
    (boxes, scores), (avx2_boxes, avx2_scores) = _host_and_haswell(
        resolve_model(DEFAULT_MODEL), x, tmp_path
    )
    person = scores[0, :, 1]
    assert (person >= 0.5).sum() >= 3  # a frame with people in it, not an empty comparison
    assert np.abs(scores - avx2_scores).max() <= 1e-3
    assert np.abs(boxes - avx2_boxes).max() <= 1e-3


def test_nanodet_same_outputs_without_vnni(vtest_frames: Frames, tmp_path: Path) -> None:
    # NanoDet's input: the BGR frame squeezed to 416x416, its own per-channel mean and std.
    resized = cv2.resize(vtest_frames[200], (416, 416)).astype(np.float32)
    mean = np.array([103.53, 116.28, 123.675], dtype=np.float32)
    std = np.array([57.375, 57.12, 58.395], dtype=np.float32)
    x = (resized - mean) / std
    host, avx2 = _host_and_haswell(
        resolve_model(NANODET_INT8), np.ascontiguousarray(x.transpose(2, 0, 1)[None]), tmp_path
    )
    assert len(host) == 6  # class scores and box distributions at strides 8, 16, 32
    person = np.concatenate([out[0, :, 0] for out in host if out.shape[-1] == 80])
    assert (person >= 0.5).sum() >= 3  # a frame with people in it, not an empty comparison
    for here, there in zip(host, avx2, strict=True):
        assert np.abs(here - there).max() <= 1e-3
