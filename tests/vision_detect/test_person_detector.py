"""The shipped SSDLite person detector on real footage, empty scenes and broken models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.cli import main as cli_main
from edge.vision.detector import Detector, DetectorState, decode_ssd, file_sha256, resolve_model
from edge.vision.geometry import Box, iou
from edge.vision.settings import DEFAULT_MODEL, DEFAULT_MODEL_SHA256, DetectorSettings

# People in vtest.avi annotated by hand (pixels x1, y1, x2, y2). The model misses people
# under ~80 px tall, so we require most (not all) to be found and nothing else.
VTEST_PEOPLE: dict[int, list[Box]] = {
    0: [(250, 218, 286, 312), (498, 157, 531, 234), (639, 239, 686, 322)],
    300: [
        (177, 160, 221, 238),
        (243, 158, 270, 221),
        (296, 158, 334, 237),
        (314, 208, 346, 297),
        (579, 163, 613, 239),
        (614, 166, 646, 238),
    ],
}


def test_shipped_model_matches_recorded_hash() -> None:
    assert file_sha256(resolve_model(DEFAULT_MODEL)) == DEFAULT_MODEL_SHA256


@pytest.mark.parametrize("index", sorted(VTEST_PEOPLE))
def test_finds_people_in_vtest_frames(detector: Detector, vtest_frames: dict, index: int) -> None:
    truth = VTEST_PEOPLE[index]
    found = detector.detect(vtest_frames[index])
    # Every detection is one of the annotated people (no false positives)...
    for det in found:
        assert max(iou(det.box, t) for t in truth) >= 0.5, det
    # ...and most people are found.
    matched = {max(range(len(truth)), key=lambda i: iou(d.box, truth[i])) for d in found}
    assert len(matched) >= 2
    assert len(matched) >= len(truth) // 2


def test_finds_the_person_in_a_close_photo(detector: Detector, testdata: Path) -> None:
    frame = cv2.imread(str(testdata / "messi5.jpg"))
    found = detector.detect(frame)
    assert found and found[0].score > 0.9
    x1, y1, x2, y2 = found[0].box
    assert x2 - x1 > 200 and y2 - y1 > 200  # the large foreground player


@pytest.mark.parametrize("name", ["fruits.jpg", "building.jpg", "board.jpg"])
def test_no_person_in_person_free_photos(detector: Detector, testdata: Path, name: str) -> None:
    frame = cv2.imread(str(testdata / name))
    assert detector.detect(frame, min_score=0.3) == []


def test_no_person_in_synthetic_empty_scenes(detector: Detector) -> None:
    gradient = np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1))
    noise = np.random.default_rng(1).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    for frame in (np.zeros((480, 640, 3), np.uint8), cv2.merge([gradient] * 3), noise):
        assert detector.detect(frame, min_score=0.3) == []


def test_grey_and_broken_frames_never_raise(detector: Detector, vtest_frames: dict) -> None:
    grey = cv2.cvtColor(vtest_frames[0], cv2.COLOR_BGR2GRAY)
    assert detector.detect(grey)  # grey cameras work too
    assert detector.detect(np.zeros((0, 0, 3), np.uint8)) == []
    assert detector.detect(np.zeros((10, 10, 5), np.uint8)) == []
    assert detector.detect(np.zeros((10, 10, 3), np.float32)) == []  # type: ignore[arg-type]
    assert detector.status.ok


def test_decode_ssd_maps_normalised_yx_boxes_to_pixels() -> None:
    boxes = np.array([[[0.1, 0.2, 0.5, 0.4], [0.0, 0.0, 1.0, 1.0], [0.2, 0.2, 0.3, 0.3]]])
    scores = np.array([[0.9, 0.8, 0.1]])
    classes = np.array([[1.0, 2.0, 1.0]])  # the second is not a person
    (only,) = decode_ssd(boxes, scores, classes, 200, 100, min_score=0.5)
    assert only.box == pytest.approx((40.0, 10.0, 80.0, 50.0))
    assert only.score == pytest.approx(0.9)


def test_missing_model_gives_a_status_not_an_exception(tmp_path: Path) -> None:
    det = Detector(DetectorSettings(model=tmp_path / "nope.onnx"))
    assert det.status.state is DetectorState.MISSING
    assert "not found" in det.status.message
    assert det.detect(np.zeros((100, 100, 3), np.uint8)) == []


def test_corrupt_model(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf" * 50)
    det = Detector(DetectorSettings(model=bad, sha256=None))
    assert det.status.state is DetectorState.CORRUPT
    assert not det.status.ok


def test_tampered_model_fails_the_hash_check(tmp_path: Path) -> None:
    copy = tmp_path / "model.onnx"
    shutil.copy(resolve_model(DEFAULT_MODEL), copy)
    with copy.open("ab") as fh:
        fh.write(b"\0")
    det = Detector(DetectorSettings(model=copy))
    assert det.status.state is DetectorState.HASH_MISMATCH
    assert DEFAULT_MODEL_SHA256 in det.status.message


def test_wrong_signature(data_dir: Path) -> None:
    det = Detector(DetectorSettings(model=data_dir / "wrong_signature.onnx", sha256=None))
    assert det.status.state is DetectorState.BAD_SIGNATURE
    assert "neither" in det.status.message


def test_disabled() -> None:
    det = Detector(DetectorSettings(enabled=False))
    assert det.status.state is DetectorState.DISABLED


def test_cli_detect_json(
    testdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = tmp_path / "frame0.png"
    cv2.imwrite(str(frame), cv2.VideoCapture(str(testdata / "vtest.avi")).read()[1])
    rc = cli_main(
        ["detect", "--json", "--min-score", "0.3", str(frame), str(testdata / "fruits.jpg")]
    )
    assert rc == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in lines] == [str(frame), str(testdata / "fruits.jpg")]
    assert len(lines[0]["persons"]) >= 2 and lines[1]["persons"] == []
    person = lines[0]["persons"][0]
    assert len(person["box"]) == 4 and 0.3 <= person["score"] <= 1.0
    assert lines[0]["ms"] > 0


def test_cli_detect_reports_unreadable_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a jpeg")
    assert cli_main(["detect", "--json", str(junk)]) == 2
    assert "error" in json.loads(capsys.readouterr().out)


def test_cli_detect_refuses_a_bad_score() -> None:
    assert cli_main(["detect", "--min-score", "2", "x.jpg"]) == 2
