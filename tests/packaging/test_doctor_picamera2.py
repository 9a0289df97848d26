"""`edge-gate doctor` checks that picamera2 imports when a camera uses it (or on a Pi).

picamera2 comes from Raspberry Pi OS, never from PyPI: on this Debian machine it is absent,
which is the failure a technician meets when the venv cannot see it.
"""

from __future__ import annotations

import importlib.util

import pytest

from edge.app.config import Config
from edge.app.doctor import check_picamera2
from edge.vision.camera.settings import CameraSettings

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("picamera2") is not None, reason="picamera2 is installed here"
)


def test_a_picamera2_camera_without_picamera2_fails_with_the_fix() -> None:
    config = Config(camera=CameraSettings(source="picamera2"))
    check = check_picamera2(config, on_pi=False)
    assert check.status == "fail"
    assert check.detail.startswith("cannot import picamera2 (numpy ")
    assert "python3-picamera2" in check.fix and "numpy" in check.fix


def test_on_a_pi_a_missing_picamera2_is_a_warning_when_no_camera_uses_it() -> None:
    check = check_picamera2(Config(), on_pi=True)
    assert check.status == "warn"


def test_off_a_pi_with_other_cameras_it_is_skipped() -> None:
    assert check_picamera2(Config(), on_pi=False).status == "skip"
