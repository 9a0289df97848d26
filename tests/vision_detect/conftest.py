"""Fixtures for person detection and perimeter tests (issue 5).

Real footage comes from Debian's opencv-doc package via ``scripts/fetch-test-data.sh``
(cached in ``.cache/testdata``); the fixture runs the script when the cache is empty and
skips the real-data tests only if that is impossible (no apt on the machine).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from needs import unavailable

from edge.vision.person.detector import Detector
from edge.vision.person.settings import DetectorSettings

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TESTDATA = ROOT / ".cache" / "testdata"
Frame = npt.NDArray[np.uint8]


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not (TESTDATA / "vtest.avi").exists():
        if shutil.which("apt-get") is None:
            unavailable("no cached test data and no apt-get to fetch it")
        proc = subprocess.run(
            ["bash", str(ROOT / "scripts" / "fetch-test-data.sh")],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            unavailable(f"cannot fetch test data: {proc.stderr.strip()[-300:]}")
    return TESTDATA


@pytest.fixture(scope="session")
def vtest_frames(testdata: Path) -> dict[int, Frame]:
    """Selected frames of vtest.avi by index (795 frames, 768×576, 10 fps)."""
    wanted = {0, 100, 200, 300, 600}  # the hand-annotated frames
    cap = cv2.VideoCapture(str(testdata / "vtest.avi"))
    frames: dict[int, Frame] = {}
    index = 0
    while len(frames) < len(wanted):
        ok, frame = cap.read()
        if not ok:
            break
        if index in wanted:
            frames[index] = frame
        index += 1
    cap.release()
    assert set(frames) == wanted, "vtest.avi is shorter than expected"
    return frames


@pytest.fixture(scope="session")
def detector() -> Detector:
    det = Detector(DetectorSettings(threads=1))
    assert det.status.ok, det.status.message
    return det


@pytest.fixture(scope="session")
def overhead_detector() -> Detector:
    """The shipped high-view model (NanoDet), as the overhead strategy loads it."""
    det = Detector(DetectorSettings(threads=1).overhead())
    assert det.status.ok, det.status.message
    return det


@pytest.fixture
def data_dir() -> Path:
    return HERE / "data"
