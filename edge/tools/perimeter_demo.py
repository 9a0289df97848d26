"""A person walking into an armed zone, for the demo and smoke tests (no files needed).

The walker is a 48×106 px pedestrian cut from frame 0 of OpenCV's sample video `vtest.avi`
(OpenCV samples, Apache-2.0; shipped by Debian's opencv-doc), embedded as a 2.5 KB JPEG so the
demo runs on a gate without the test data. Scaled ×1.5 (72×159 px) in the drawn corridor both
shipped models find it: the street model (SSD) with a score of ~0.82, the overhead model
(NanoDet) ~0.81 — at ×2 NanoDet scored the blown-up crop only 0.19–0.37, so the demo stays
at a scale where the gate's default path (``auto`` = the overhead model) sees it.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.vision.camera.settings import PerimeterCameraSettings
from edge.vision.geometry import Detection
from edge.vision.perimeter.alerts import Alert, AlertSink, ListSink, SnapshotStore
from edge.vision.perimeter.monitor import CameraPipeline
from edge.vision.perimeter.settings import ZoneSettings

Frame = npt.NDArray[np.uint8]

PERSON_JPEG_B64 = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQ"
    "ERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU"
    "FBQUFBQUFBQUFBQUFBT/wAARCABqADADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAA"
    "AgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6"
    "Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXG"
    "x8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREA"
    "AgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5"
    "OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPE"
    "xcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD2vUv2Y/BNzH5cWiSRrjn/AEuQn881mt+y"
    "p4UeAQ7dUggH/LtBqc6Rv/vANz9DxX0DvUj5uPpSbkEi4GQc5+lNxvuX7R9D5hk/Yr8EzGRvLvo5GJYtFcuzMfxJHFdv8O/h"
    "FpPw5tDFoen2sUhAd5Tb5llx3Z+vTPTp/L48/wCCnHxs8VaP8TdI8E2V9eaToI0pL5ktJnhN48rsmZdhG5U8nAXpktntU/8A"
    "wTH8QeKYPH2saRqV7qLeG7/R3u4Irp3a3+0JOgV48nCkq0gOODgZGVGM/ZxZt+8cXLsfcGu+HNT1Iu0ci27Sx7ZD5S85ryvU"
    "f2ZrLVLya6vb29uLmT/lo8in+nTivpRYwud8SE4xwaY8C54iB+gpqnBaoyjUdzLS4nUE7jjvxmuO8dfFvSvAgaO/vY2uvJE6"
    "WwGWZckA+3IIrtVQbwpyM88deK+Cf2zfFsdv8Y5tLmuBZy2+mW0qSTtgFG8w5H/Ag4x9K3Ti3ZmFr6EPxk1bwj+0d4gtrrxj"
    "4fkj+wxtb2up6Td7Jo4i+4qysCsnJJ5xjJ9a+mf2YtP0y2025/sAWsGjaaFsrCBJd8yR4yWmAzsJ25x3yxr85dN8exXzljek"
    "2KttZ0O0yD0+le0/sg+NE0b9orTLCw3R2+uWdzZygOQJvLjaaMsB3UxsAeoDsM/MazdGLkpxbuuh2qvUVN02lZn6QPJcSOWO"
    "Dnt3FI5uDjHH41Vt5JADhiRgdR7VM9xMuMMR9KLNHGtmPG3jjk/pX51/8FT9Cgg8VeA9cFqpnu7C7sp3/wCenlSwMgP089/1"
    "r9BRd3BB3RBsDGA3/wBavhn/AIKj3K3XhTwTAQqXiXV1LGM5bYUjDcf72z8ql73RpS+NHwJr0iQmB0YrEzKJIF4DYINe3/Bj"
    "WR4I+NHw31mK4isLZdYsopJZOkcE0qwys3PQRyyZ+lfPWsX+8hBnKlH56ZCj/E16Qb208Q+HrWPmEyRhH5zjIxx6VUJe9qdd"
    "RcyaSP3L1GwXTb64tN6sYZGQle+OM1VeMNjHNeefBL4gXPxL+E3hXxKY1knv7CJ7lxJnM6jZN2/56I9dt9pvB92ED/gWf6Vo"
    "9WcDTW5mrdBekpGeM47fWvzK/wCCl3jVtU+MGn6MrMf7J0iNGw2QrzSO5BH+6kRz71+nZ0xtoZAQD3xXzb+19+zx4R8TfC/x"
    "94vuvDlrN4qt9JmvItVG/wA5Wgi3DO1gD8seOR0rBtFwfLK5+Ud5fWl14ZgjAAvY5MN7r6+9WfCWopFFLAzKjj5l3EjNc604"
    "MKRhFDKTlx1Ocf4VY0i6Wy1GJ5WKRbsSELkgd+Ka0N+f3kz9aP8Agnj4ik1H4CTWTyfJp+uXdvGmc7FZYpj/AOPSvX1ErkZw"
    "5b146V8qfsEeIPCF58PNY0nwrf8A294b/wC2XEbtiYPJEiElDhguYTgkYPOOlfTzExuxC7lJ4Na33l0MqiszidF+NGj3oAj1"
    "m2GBny3kCSf98Nz+lYvx9+I9jq/7P/xGht7lGu28O36xDAyWNu44FfK0t9LAqvFGmDwGA/rzXCfGnxLqOl/CzxGwuW/eW4t9"
    "oyAVldY2B/Bq+Yw2YqtUVN9TK6Z8zfAXwgnj/wCNXgfw/Nb/AGq2vtXto7iInhoBIrS5/wC2Yevtn/gob+y14cg8Oat8WdEn"
    "XR760FvFf6bFEDDeFpUhR15Gx1DDPBDBRwDkn44/ZpNzbfGfw9qNq5jl0yRr7cpwfkU4H0JIBHcE19KftpfGzU/Ffwf07RJn"
    "khE2qRSTopwsipFIQD64Yqfwr3HVh7RU76l6dTl/+CYl5c2n7R08Edw6W1xod2J4QfllAMZAP0PIPXr61+r8LxnOBzgdea/I"
    "X/gnZq8WkftHQ3VxIIoP7KukZifULgfpX6v6X4jsLtNsNyjcAnnvj9K1craMJWvoj4BXU7m2wrJ8n8Kr2/SvNf2g9c8z4X6j"
    "bvuDTNEFyOuJUP8ASu2ub6dmYvv8w/eZgVH4cV558X9Ou9e8F39tD/pEp2usMQ3uxDqeB2r8/wAD/vMPU54NXPI/2eLhbf4g"
    "ncoYvaSKoP1Un9Aa6b9pjXVkGiaSnJRWunJPr8q/+zVwXwvt7/R/HNjPJaXESR+YspMZBAKlT19yK9X8ZaVpfi6xMt9pNz/a"
    "CL5cU27AVR24+ufxr62paGKVST0t/mb9jk/2X5haeO7q5KSbY7NsyR/w5ZQB9Tz+Rr7F8O+O7zTZy1vcMz9AZM8fj2r5b+E0"
    "TeBZdQNtZu017GIWM6FgoDZDKfXr+de/aTqpaL94Yk4Hy7ep715WOrzVTnpSBtDZHO0qq7sDkyc5+g7VCNPE4yvlW7dTIq8j"
    "9afp/wC8iXd83J681Bq/7vG35eD049K+bjJxd0cadmU5vD9s4eUS7nByPLTGT+NJHo0UqMxYRn+7JwTV2ydmso8sT16mrcqK"
    "1uuVBx0yOlbwqSqpuRbmzEtdKJuJGACxgAHYQfxrUCBU2na4B4LHBpulAedNwO39auIimQ5UH6iqSum2JSbP/9k="
)


def person_sprite(scale: float = 1.5) -> Frame:
    """The embedded pedestrian, BGR, scaled by ``scale`` (1.5 → 72×159 px)."""
    data = np.frombuffer(base64.b64decode(PERSON_JPEG_B64), dtype=np.uint8)
    sprite = cv2.imdecode(data, cv2.IMREAD_COLOR)
    assert sprite is not None, "embedded JPEG is corrupt"
    return np.asarray(
        cv2.resize(sprite, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR),
        dtype=np.uint8,
    )


def walking_frames(
    width: int = 640,
    height: int = 480,
    steps: int = 14,
    wait: int = 25,
    seed: int = 0,
    background: Frame | None = None,
) -> Iterator[Frame]:
    """A person walking left to right along the floor, then waiting at the right-hand door.

    ``steps`` frames of walking, then ``wait`` frames standing; each frame has fresh
    sensor-like noise so the camera health checks see a live camera. ``background``: the
    scene the person walks through (e.g. the demo's drawn corridor), else a plain texture.
    """
    rng = np.random.default_rng(seed)
    person = person_sprite()
    ph, pw = person.shape[:2]
    if background is not None:
        background = np.asarray(cv2.resize(background, (width, height)), dtype=np.uint8)
    else:
        background = np.clip(rng.normal(150, 8, (height, width, 3)), 0, 255).astype(np.uint8)
    top = min(height - ph, int(height * 0.42))
    stop = width - pw - int(width * 0.1)
    for i in range(steps + wait):
        x = int(stop * min(i, steps) / steps)
        frame = cv2.add(background, rng.integers(0, 3, (height, width, 3), dtype=np.uint8))
        frame[top : top + ph, x : x + pw] = person
        yield np.asarray(frame, dtype=np.uint8)


DEMO_CAMERA = PerimeterCameraSettings(id="corridor-3-2", source="demo", motion_threshold=0.002)
DEMO_ZONE = ZoneSettings(
    id="door-3-2-501",
    camera="corridor-3-2",
    household="3-2-501",
    polygon=[(0.5, 0.6), (1.0, 0.6), (1.0, 1.0), (0.5, 1.0)],
    dwell_s=3.0,
)


class _Tee:
    """Hands each alert to two sinks."""

    def __init__(self, first: AlertSink, second: AlertSink) -> None:
        self._sinks = (first, second)

    def emit(self, alert: Alert) -> None:
        for sink in self._sinks:
            sink.emit(alert)


def run_scene(
    detect: Callable[[Frame], Sequence[Detection]],
    statuses: Mapping[str, str],
    snapshot_dir: Path,
    *,
    start_wall: float | None = None,
    fps: float = 5.0,
    household: str | None = None,
    sink: AlertSink | None = None,
    background: Frame | None = None,
    overhead: Callable[[Frame], Sequence[Detection]] | None = None,
) -> list[Alert]:
    """Play :func:`walking_frames` through a real :class:`CameraPipeline`; return its alerts.

    With ``statuses = {"3-2-501": "home_quarantine"}`` this yields one person-in-zone alert
    (with a JPEG snapshot in ``snapshot_dir``) about 3 s after the walker reaches the door;
    with "normal" it yields none. Time is simulated (no waiting): frame i is at i/fps s.
    ``household`` rebinds the demo zone (named ``door-<household>`` then, so an alert's zone
    and household agree); ``sink`` also receives every alert as it happens; ``background``
    is the scene (see :func:`walking_frames`); ``overhead`` the high-view model's detect,
    which the default strategy (``auto``) then runs as the gate does.
    """
    collected = ListSink()
    zone = DEMO_ZONE
    if household is not None:
        zone = DEMO_ZONE.model_copy(update={"household": household, "id": f"door-{household}"})
    pipe = CameraPipeline(
        DEMO_CAMERA,
        [zone],
        detect,
        collected if sink is None else _Tee(collected, sink),
        snapshots=SnapshotStore(snapshot_dir),
        overhead=overhead,
    )
    wall0 = dt.datetime(2026, 1, 5, 14, 0).timestamp() if start_wall is None else start_wall
    for i, frame in enumerate(walking_frames(background=background)):
        now = i / fps
        pipe.process(frame, now, wall0 + now, statuses)
    return collected.alerts
