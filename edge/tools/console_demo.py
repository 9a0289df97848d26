"""The console in the demo: throwaway accounts, a drawn corridor camera and one intrusion.

The demo has no real camera, so this module draws a corridor picture in front of household
3-2-601 (the demo's home-quarantined household) and, unless the perimeter already raised a
real alert during the run, publishes one *simulated* intrusion alert on the gate's EventBus
with a snapshot file — exactly the shape a perimeter alert has, so the Live page shows what
a guard would see. Accounts get fresh random passwords each run and live in the demo store.
"""

from __future__ import annotations

import secrets
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import cv2
import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.app.console_context import console_context, health_provider
from edge.console.server import ConsoleServer
from edge.console.settings import ConsoleSettings
from edge.core.records import EventKind

if TYPE_CHECKING:
    from edge.app.gate import Gate

Frame = npt.NDArray[np.uint8]

CAMERA = {"id": "corridor-3-2", "name": "3-2 6F corridor", "fps": 5.0}
# The perimeter demo's zone (edge.tools.perimeter_demo.DEMO_ZONE, bound to 3-2-601): the floor
# in front of door 601, where the walker in the demo's camera stops.
ZONE = {
    "id": "door-3-2-601",
    "camera": "corridor-3-2",
    "household": "3-2-601",
    "polygon": [[0.5, 0.6], [1.0, 0.6], [1.0, 1.0], [0.5, 1.0]],
    "source": "demo",
}
SIZE = (640, 480)  # the demo camera's frame, as the perimeter demo plays it
SPRITE = (96, 212)  # the perimeter demo's pedestrian at its scale ×2: width, height, px


def _person_at(width: int, height: int) -> tuple[int, int]:
    """Top-left corner of the pedestrian standing at door 601 (where the walker stops)."""
    return width - SPRITE[0] - int(width * 0.1), min(height - SPRITE[1], int(height * 0.42))


_LEFT, _TOP = _person_at(*SIZE)
# normalised person box of the simulated intrusion: x0, y0, x1, y1
BOX = (
    _LEFT / SIZE[0],
    _TOP / SIZE[1],
    (_LEFT + SPRITE[0]) / SIZE[0],
    (_TOP + SPRITE[1]) / SIZE[1],
)


def corridor(
    person: bool = False, width: int = SIZE[0], height: int = SIZE[1], stamp: bool = True
) -> Frame:
    """The demo's 6th-floor corridor of building 3 unit 2 (BGR): a wall, a floor in
    perspective, door 602 on the left and door 601 on the right, where the walker stops.
    ``person`` puts the demo's pedestrian (a real person cut from OpenCV's sample video)
    in front of door 601; ``stamp`` the camera's date and time in the corner (off for the
    perimeter's frames: its snapshots stamp their own). Every frame of the demo camera and
    every snapshot is this scene."""
    rng = np.random.default_rng(7)
    wall = np.clip(rng.normal(178, 4, (height, width, 3)), 0, 255).astype(np.uint8)
    img = np.asarray(cv2.add(wall, np.full_like(wall, (0, 6, 12))), dtype=np.uint8)

    def px(x: float, y: float) -> tuple[int, int]:
        return round(x * width), round(y * height)

    floor = np.array([px(0, 1), px(0, 0.62), px(1, 0.62), px(1, 1)], np.int32)
    cv2.fillPoly(img, [floor], (128, 138, 146))
    for i in range(1, 8):  # floor tiles, for depth
        y = 0.62 + 0.38 * (i / 8) ** 1.4
        cv2.line(img, px(0, y), px(1, y), (112, 120, 128), 1)
    cv2.rectangle(img, px(0, 0.6), px(1, 0.63), (90, 96, 104), -1)  # skirting board
    for x0, x1, label in ((0.08, 0.24, "602"), (0.74, 0.92, "601")):
        cv2.rectangle(img, px(x0, 0.2), px(x1, 0.62), (38, 62, 110), -1)  # a brown door
        cv2.rectangle(img, px(x0, 0.2), px(x1, 0.62), (28, 40, 70), 2)
        cv2.circle(img, px(x0 + 0.02, 0.43), 4, (40, 180, 210), -1)  # the handle
        cv2.rectangle(img, px(x0 + 0.03, 0.1), px(x1 - 0.03, 0.17), (235, 235, 235), -1)
        cv2.putText(
            img, label, px(x0 + 0.045, 0.155), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (40, 40, 40), 2
        )
    cv2.rectangle(img, px(0.4, 0.05), px(0.56, 0.09), (230, 240, 245), -1)  # ceiling light
    if person:
        from edge.tools.perimeter_demo import person_sprite

        sprite = person_sprite()
        ph, pw = sprite.shape[:2]
        left, top = _person_at(width, height)  # where the walker stops: at door 601
        img[top : top + ph, left : left + pw] = sprite
    if stamp:
        text = time.strftime("%Y-%m-%d %H:%M:%S")
        cv2.putText(img, text, px(0.02, 0.05), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 2)
        cv2.putText(img, text, px(0.02, 0.05), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (30, 30, 30), 1)
    return img


def jpeg(img: Frame) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return bytes(buf.tobytes()) if ok else b""


def simulate_intrusion(gate: Gate, snapshot_dir: Path) -> dict[str, Any]:
    """Publish one person-in-zone alert for 3-2-601 with a snapshot; returns its data."""
    alert_id = uuid.uuid4().hex
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    path = snapshot_dir / f"{alert_id}.jpg"
    path.write_bytes(jpeg(corridor(person=True)))
    now = gate.clock.time()
    data: dict[str, Any] = {
        "id": alert_id,
        "type": "person_in_zone",  # "kind" is the event's own kind ("alert")
        "phase": "new",
        "camera": ZONE["camera"],
        "zone": ZONE["id"],
        "household": ZONE["household"],
        "score": 0.87,
        "box": list(BOX),
        "snapshot": str(path),
        "started_wall": now,
        "message": "隔离户门前有人员活动（演示）",
        "message_en": "person at an isolated household's door (simulated)",
    }
    gate.events.publish(EventKind.ALERT, now, **data)
    return data


class DemoConsole:
    """A console on 127.0.0.1 for one demo run, with a guard and an admin account."""

    def __init__(self, gate: Gate, settings: ConsoleSettings, workdir: Path) -> None:
        self.gate = gate
        self.workdir = workdir
        self.saw_alert = False
        gate.events.on(self._watch)
        # A throwaway delegated visitor key, so the Visitors page issues passes this gate accepts.
        visitor_key = Ed25519PrivateKey.generate()
        gate.trust.add_visitor_issuer(visitor_key.public_key())
        ctx = console_context(
            gate,
            # The demo's gate clock runs ahead of the wall clock (10 s a scene) and stops when
            # the scenes end; the console's own time never runs behind it, so a guard's
            # acknowledgement is never dated before the alert it acknowledges.
            now=lambda: max(gate.clock.time(), time.time()),
            cameras=lambda: [dict(CAMERA)],
            camera_snapshot=lambda cam: jpeg(corridor()) if cam == CAMERA["id"] else None,
            snapshot_dir=workdir / "snapshots",  # where the demo's perimeter step writes
            visitor_key=visitor_key,
            # the Health page shows what the demo really has (no broker, no detector here)
            health=health_provider(
                gate, clock_trusted=lambda: gate.clock_trusted(gate.clock.time())
            ),
        )
        self.logins = {
            "demo-guard": secrets.token_hex(5),
            "demo-admin": secrets.token_hex(5),
        }
        try:
            # a demo does not wait for a taken port: any free one will do
            self.server = ConsoleServer(ctx, settings.model_copy(update={"bind_retry_s": 0.0}))
        except OSError:  # the usual port is taken (another demo?): any free port will do
            self.server = ConsoleServer(ctx, settings.model_copy(update={"port": 0}))
        accounts = self.server.console.accounts
        accounts.add("demo-guard", self.logins["demo-guard"], "guard", "zh")
        accounts.add("demo-admin", self.logins["demo-admin"], "admin", "en")
        if ctx.save_zone is not None:
            ctx.save_zone({k: v for k, v in ZONE.items() if k != "source"}, "demo")
        self.server.start()

    def _watch(self, event: Any) -> None:
        if event.kind == EventKind.ALERT:
            self.saw_alert = True

    def announce(self, out: TextIO) -> None:
        out.write(
            f"guard console: {self.server.url}  (logins: demo-guard / "
            f"{self.logins['demo-guard']}, demo-admin / {self.logins['demo-admin']})\n"
            "  open while the demo runs; `edge-gate demo --serve` keeps it open until Ctrl-C\n"
        )

    def finish(self) -> None:
        """Raise the simulated alert if the run produced none, so the Live page has one."""
        if not self.saw_alert:
            simulate_intrusion(self.gate, self.workdir / "snapshots")

    def stop(self) -> None:
        self.server.stop()


def start_demo_console(gate: Gate, out: TextIO, workdir: Path) -> DemoConsole:
    """Start the demo console on the configured port (or any free one) and print how to log in."""
    settings = gate.config.console.model_copy(update={"bind": "127.0.0.1"})
    console = DemoConsole(gate, settings, workdir)
    console.announce(out)
    return console
