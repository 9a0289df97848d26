"""The picamera2 source with a stand-in module: low-res YUV420 stream, Y plane handed out."""

from __future__ import annotations

import sys
import types
from typing import Any, ClassVar

import numpy as np
import pytest

from edge.vision.camera.sources import PiCameraSource, SourceError, open_source


class FakePicamera2:
    """What the source uses of picamera2.Picamera2; YUV420 rows padded to a 64-byte stride."""

    instances: ClassVar[list[FakePicamera2]] = []

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self.started = self.closed = False
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, **kwargs: Any) -> dict[str, Any]:
        return kwargs

    def configure(self, config: dict[str, Any]) -> None:
        self.config = config

    def start(self) -> None:
        self.started = True

    def capture_array(self, stream: str) -> np.ndarray:
        assert stream == "lores"
        w, h = self.config["lores"]["size"]
        stride = (w + 63) // 64 * 64
        arr = np.full((h * 3 // 2, stride), 128, np.uint8)  # U/V rows and padding: 128
        arr[:h, :w] = np.arange(w, dtype=np.uint8)[None, :]  # luma: a horizontal ramp
        return arr

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_picamera2(monkeypatch: pytest.MonkeyPatch) -> type[FakePicamera2]:
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    FakePicamera2.instances.clear()
    return FakePicamera2


def test_y_plane_of_the_lores_stream(fake_picamera2: type[FakePicamera2]) -> None:
    src = open_source("picamera2", 650, 480)
    frame = src.read()
    cam = fake_picamera2.instances[0]
    assert cam.started
    assert cam.config["lores"] == {"size": (650, 480), "format": "YUV420"}
    assert frame is not None and frame.shape == (480, 650) and frame.dtype == np.uint8
    assert (frame[0] == np.arange(650, dtype=np.uint8)).all()  # no chroma, no padding
    src.close()
    assert cam.closed


def test_missing_picamera2_is_a_clear_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import fails as where it is absent
    with pytest.raises(SourceError, match="picamera2 is not installed"):
        PiCameraSource()
