"""Frame sources: where camera frames come from.

Every source yields BGR ``uint8`` frames (H×W×3) or grey frames (H×W); ``read`` returns
``None`` at the end of a finite source or when no frame is available right now.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


class SourceError(RuntimeError):
    """The source cannot deliver frames (missing device, unreachable URL, unreadable file)."""


class FrameSource(Protocol):
    """A camera, a video, a folder of images or a synthetic generator."""

    name: str

    def read(self) -> np.ndarray | None:
        """The next frame, or ``None`` when none is available (end of a finite source)."""

    def close(self) -> None:
        """Release the device or file."""


class OpenCVSource:
    """A USB camera (``"0"``), a video file or an RTSP/HTTP URL, through OpenCV."""

    def __init__(self, spec: str, width: int | None = None, height: int | None = None) -> None:
        self.name = spec
        target: int | str = int(spec) if spec.isdigit() else spec
        self._cap = cv2.VideoCapture(target)
        if not self._cap.isOpened():
            raise SourceError(f"cannot open camera or video {spec!r}")
        if width and height:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)

    def read(self) -> np.ndarray | None:
        ok, frame = self._cap.read()
        return frame if ok else None

    def close(self) -> None:
        self._cap.release()


def read_image(path: Path) -> np.ndarray:
    """Decode an image file; raises :class:`SourceError` for missing or non-image files."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from exc
    if data.size == 0:
        raise SourceError(f"{path} is empty")
    frame = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if frame is None:
        raise SourceError(f"{path} is not a readable image")
    return frame


class ImageFolderSource:
    """Each image of a folder (sorted by name), once; unreadable files are logged and skipped."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise SourceError(f"{folder} is not a folder")
        self.name = str(folder)
        self._paths: Iterator[Path] = iter(
            sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        )

    def read(self) -> np.ndarray | None:
        for path in self._paths:
            try:
                return read_image(path)
            except SourceError as exc:
                log.warning("skipping %s", exc)
        return None

    def close(self) -> None:
        self._paths = iter(())


class SyntheticSource:
    """Frames handed in by the caller (the demo's rendered scenes, tests)."""

    def __init__(self, frames: Iterable[np.ndarray], name: str = "synthetic") -> None:
        self.name = name
        self._frames = iter(frames)

    def read(self) -> np.ndarray | None:
        return next(self._frames, None)

    def close(self) -> None:
        self._frames = iter(())


def open_source(spec: str, width: int | None = None, height: int | None = None) -> FrameSource:
    """A source from a config string: a folder of images, or anything OpenCV opens."""
    path = Path(spec)
    if path.is_dir():
        return ImageFolderSource(path)
    return OpenCVSource(spec, width, height)
