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

from edge.core import limits
from edge.core.errors import HardwareError
from edge.vision.camera.imagehead import ImageHeaderError, check_image_header

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


class SourceError(HardwareError, RuntimeError):
    """The source cannot deliver frames (missing device, unreachable URL, unreadable file)."""


class FrameSource(Protocol):
    """A camera, a video, a folder of images or a synthetic generator."""

    name: str

    def read(self) -> np.ndarray | None:
        """The next frame, or ``None`` when none is available (end of a finite source)."""

    def close(self) -> None:
        """Release the device or file."""


STREAM_TIMEOUT_MS = 5000  # open/read timeout of network streams: a stalled RTSP feed fails


class OpenCVSource:
    """A USB camera (``"0"``), a video file or an RTSP/HTTP URL, through OpenCV.

    Streams get open and read timeouts of ``STREAM_TIMEOUT_MS`` so a stalled feed raises a
    failure the live capture can reconnect from, instead of blocking for FFmpeg's default
    ~30 s; cameras get a one-frame driver buffer so the newest frame is the one read.
    """

    def __init__(self, spec: str, width: int | None = None, height: int | None = None) -> None:
        self.name = spec
        target: int | str = int(spec) if spec.isdigit() else spec
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            STREAM_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            STREAM_TIMEOUT_MS,
        ]
        try:
            self._cap = cv2.VideoCapture(target, cv2.CAP_ANY, params)
        except cv2.error as exc:
            raise SourceError(f"cannot open camera or video {spec!r}: {exc}") from exc
        if not self._cap.isOpened():
            raise SourceError(f"cannot open camera or video {spec!r}")
        if isinstance(target, int):
            # V4L2 queues several frames by default: each would be older than the last
            self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if width and height:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)

    def read(self) -> np.ndarray | None:
        ok, frame = self._cap.read()
        return frame if ok else None

    def close(self) -> None:
        self._cap.release()


class PiCameraSource:
    """The Raspberry Pi camera through picamera2, as grey frames.

    Asks the ISP for a low-resolution YUV420 stream of ``width`` × ``height`` besides the main
    stream and hands out its Y (luma) plane directly: the scanner wants grey, so no colour
    conversion is spent per frame. picamera2 is imported here, not at module import, so
    nothing breaks where it is absent (it comes from Raspberry Pi OS packages, not PyPI).
    """

    def __init__(self, width: int = 640, height: int = 480) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise SourceError(
                "picamera2 is not installed: on Raspberry Pi OS `sudo apt install "
                "python3-picamera2` and create the venv with --system-site-packages"
            ) from exc
        self.name = "picamera2"
        # the ISP wants even sizes; the low-res stream may not exceed the main one
        self._w, self._h = width - width % 2, height - height % 2
        main = (max(self._w, 1280), max(self._h, 720))
        try:
            self._cam = Picamera2()
            config = self._cam.create_video_configuration(
                main={"size": main},
                lores={"size": (self._w, self._h), "format": "YUV420"},
            )
            self._cam.configure(config)
            self._cam.start()
        except Exception as exc:  # libcamera raises plain RuntimeErrors, IndexError when absent
            raise SourceError(f"cannot start the Pi camera: {exc}") from exc

    def read(self) -> np.ndarray | None:
        # YUV420 comes as one 2-D array: h rows of Y, then h/2 rows of packed U and V, and rows
        # may be padded to the stride; the top-left h × w block is the luma image
        arr = self._cam.capture_array("lores")
        if arr is None or arr.ndim != 2 or arr.shape[0] < self._h:
            return None
        return np.asarray(arr[: self._h, : self._w])

    def close(self) -> None:
        try:
            self._cam.stop()
        finally:
            self._cam.close()


MAX_FILE_BYTES = limits.IMAGE_MAX_BYTES  # larger files are refused before reading them


def read_image(path: Path) -> np.ndarray:
    """Decode an image file (EXIF orientation applied) as BGR ``uint8``.

    Raises :class:`SourceError` for missing, empty, oversized, corrupt or non-image files. The
    size the header declares is checked before decoding (:mod:`.imagehead`), so an image bomb
    (a small file declaring a huge picture) is refused in microseconds, not gigabytes.
    """
    try:
        if not path.is_file():
            raise SourceError(f"{path} is not a regular file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SourceError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB")
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)  # bounded even if the file grows meanwhile
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not raw:
        raise SourceError(f"{path} is empty")
    if len(raw) > MAX_FILE_BYTES:
        raise SourceError(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        check_image_header(raw)
    except ImageHeaderError as exc:
        raise SourceError(f"{path}: {exc}") from None
    data = np.frombuffer(raw, dtype=np.uint8)
    try:
        frame = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except (cv2.error, MemoryError) as exc:
        raise SourceError(f"{path} cannot be decoded: {exc}") from exc
    if frame is None:
        raise SourceError(f"{path} is not a readable image")
    return np.asarray(frame, np.uint8)


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


class ImageFileSource:
    """One still picture, once (size-checked from its header like every outside picture)."""

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self._frame: np.ndarray | None = read_image(path)

    def read(self) -> np.ndarray | None:
        frame, self._frame = self._frame, None
        return frame

    def close(self) -> None:
        self._frame = None


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
    """A source from a config string: ``picamera2``, a folder of images, or anything OpenCV
    opens (device index, video file, RTSP/HTTP URL). Raises :class:`SourceError`."""
    if spec == "picamera2":
        return PiCameraSource(width or 640, height or 480)
    path = Path(spec)
    if path.is_dir():
        return ImageFolderSource(path)
    if path.suffix.lower() in IMAGE_SUFFIXES and path.exists():
        return ImageFileSource(path)  # OpenCV's image-sequence backend skips the bomb check
    return OpenCVSource(spec, width, height)
