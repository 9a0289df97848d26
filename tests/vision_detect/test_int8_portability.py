"""The int8 model gives the same scores on CPUs without VNNI (most AVX2-only desktops).

onnxruntime's u8s8 kernels for AVX2 and AVX-512 without VNNI add pairs of u8·s8 products in
16 bits, which saturates with full-range 8-bit weights: measured under `qemu-x86_64 -cpu
Haswell`, an 8-bit-weight build of the model moved scores by up to 0.14 and boxes by up to 7 %
of the frame. The shipped model has 7-bit weights (``reduce_range``), which cannot saturate.
This test runs the default model on one vtest frame under an emulated Haswell (AVX2, no
AVX-512, no VNNI) and on this machine, and compares the raw outputs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from needs import unavailable

from edge.vision.person.detector import Detector, normalise_ssd, preprocess_ssd, resolve_model
from edge.vision.person.settings import DEFAULT_MODEL

RUN = """
import sys, numpy as np, onnxruntime as ort
opts = ort.SessionOptions(); opts.intra_op_num_threads = 1
s = ort.InferenceSession(sys.argv[1], opts, providers=["CPUExecutionProvider"])
x = np.load(sys.argv[2])
boxes, scores = s.run(None, {s.get_inputs()[0].name: x})
np.savez(sys.argv[3], boxes=boxes, scores=scores)
"""


def test_same_outputs_without_vnni(detector: Detector, vtest_frames: dict, tmp_path: Path) -> None:
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        unavailable("qemu-x86_64 (Debian qemu-user) to emulate an AVX2-only CPU")
    x = normalise_ssd(preprocess_ssd(vtest_frames[200], (300, 300)))
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "run.py").write_text(RUN)
    model = str(resolve_model(DEFAULT_MODEL))
    argv = [str(tmp_path / "run.py"), model, str(tmp_path / "x.npy")]
    subprocess.run([sys.executable, *argv, str(tmp_path / "host.npz")], check=True, timeout=60)
    # Haswell: AVX2 and FMA, no AVX-512, no VNNI. qemu warns about host-only CPUID bits.
    subprocess.run(
        [qemu, "-cpu", "Haswell", sys.executable, *argv, str(tmp_path / "avx2.npz")],
        check=True,
        timeout=240,
        stderr=subprocess.DEVNULL,
    )
    host, avx2 = np.load(tmp_path / "host.npz"), np.load(tmp_path / "avx2.npz")
    person = host["scores"][0, :, 1]
    assert (person >= 0.5).sum() >= 3  # a frame with people in it, not an empty comparison
    assert np.abs(host["scores"] - avx2["scores"]).max() <= 1e-3
    assert np.abs(host["boxes"] - avx2["boxes"]).max() <= 1e-3
