"""Build the tiny ONNX models the detector tests load (run by hand; needs the `onnx` package).

The test suite itself does not need `onnx`: the generated files (a few hundred bytes each)
are committed in ``data/``. Regenerate with::

    python3.11 -m venv /tmp/onnxgen && /tmp/onnxgen/bin/pip install onnx numpy
    /tmp/onnxgen/bin/python tests/vision_detect/make_models.py

The YOLO models ignore their input (it only feeds a zero-weighted term so the graph uses it)
and always output the candidates below, in pixels of a 64×64 letterboxed input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DATA = Path(__file__).parent / "data"
SIDE = 64

# cx, cy, w, h, person score, other-class score (64x64 network pixels)
CANDIDATES = np.array(
    [
        [20, 32, 10, 20, 0.90, 0.01],  # a person
        [21, 33, 10, 20, 0.80, 0.01],  # the same person again: NMS must drop it
        [50, 32, 8, 16, 0.70, 0.02],  # a second person
        [40, 40, 6, 6, 0.05, 0.95],  # a confident non-person (class 1)
        [10, 10, 4, 8, 0.20, 0.01],  # a weak person below the default threshold
        [0, 0, 0, 0, 0.0, 0.0],
        [0, 0, 0, 0, 0.0, 0.0],
        [0, 0, 0, 0, 0.0, 0.0],
    ],
    dtype=np.float32,
)


def yolo_model(const: np.ndarray, name: str) -> onnx.ModelProto:
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIDE, SIDE])
    output = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(const.shape))
    # output0 = table + 0 * mean(images): the input is used, the output is the fixed table.
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean4"], keepdims=1),  # [1,1,1,1]
        helper.make_node("Squeeze", ["mean4", "axis0"], ["mean3"]),  # [1,1,1]
        helper.make_node("Mul", ["mean3", "zero"], ["nothing"]),
        helper.make_node("Add", ["table", "nothing"], ["output0"]),
    ]
    inits = [
        numpy_helper.from_array(const, "table"),
        numpy_helper.from_array(np.zeros((1, 1, 1), np.float32), "zero"),
        numpy_helper.from_array(np.array([0], np.int64), "axis0"),
    ]
    graph = helper.make_graph(nodes, name, [images], [output], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def wrong_model() -> onnx.ModelProto:
    """An image classifier: float [1,3,8,8] -> [1,10]. Neither SSD nor YOLO."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])
    nodes = [
        helper.make_node("Flatten", ["input"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["logits"]),
    ]
    w = numpy_helper.from_array(np.zeros((192, 10), np.float32), "w")
    graph = helper.make_graph(nodes, "classifier", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> None:
    DATA.mkdir(exist_ok=True)
    v8 = CANDIDATES.T[None]  # [1, 4+C, N]
    # YOLOv5: cx, cy, w, h, objectness, class probabilities; objectness 1 keeps the scores.
    v5 = np.concatenate(
        [CANDIDATES[:, :4], np.ones((len(CANDIDATES), 1), np.float32), CANDIDATES[:, 4:]], axis=1
    )[None]  # [1, N, 5+C]
    onnx.save(yolo_model(v8, "tiny_yolov8"), DATA / "tiny_yolov8.onnx")
    onnx.save(yolo_model(v5, "tiny_yolov5"), DATA / "tiny_yolov5.onnx")
    onnx.save(wrong_model(), DATA / "wrong_signature.onnx")
    print("wrote", sorted(p.name for p in DATA.glob("*.onnx")))


if __name__ == "__main__":
    main()
