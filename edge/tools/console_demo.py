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

CAMERA = {"id": "corridor-3-2", "name": "3-2 6F corridor", "fps": 5.0}
ZONE = {
    "id": "door-3-2-601",
    "camera": "corridor-3-2",
    "household": "3-2-601",
    "polygon": [[0.52, 0.42], [0.80, 0.42], [0.86, 0.97], [0.47, 0.97]],
    "source": "demo",
}
BOX = (0.58, 0.30, 0.70, 0.92)  # normalised person box of the simulated intrusion


def corridor(person: bool = False, width: int = 640, height: int = 360) -> npt.NDArray[np.uint8]:
    """A drawn corridor with door 601 (BGR); ``person`` adds a figure standing in front of it."""
    img = np.full((height, width, 3), (92, 96, 100), np.uint8)

    def px(x: float, y: float) -> tuple[int, int]:
        return round(x * width), round(y * height)

    floor = np.array([px(0, 1), px(0.3, 0.55), px(0.7, 0.55), px(1, 1)], np.int32)
    cv2.fillPoly(img, [floor], (140, 150, 160))
    cv2.rectangle(img, px(0.57, 0.12), px(0.75, 0.6), (40, 70, 120), -1)  # door 601
    cv2.putText(img, "601", px(0.62, 0.22), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (230, 230, 230), 2)
    cv2.rectangle(img, px(0.12, 0.15), px(0.28, 0.58), (60, 80, 90), -1)  # door 602
    cv2.putText(img, "602", px(0.15, 0.25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (230, 230, 230), 2)
    if person:
        cx, top, bottom = (BOX[0] + BOX[2]) / 2, BOX[1], BOX[3]
        cv2.circle(img, px(cx, top + 0.06), round(0.05 * height), (40, 40, 40), -1)
        cv2.rectangle(
            img, px(cx - 0.04, top + 0.12), px(cx + 0.04, bottom - 0.25), (30, 30, 150), -1
        )
        cv2.rectangle(img, px(cx - 0.035, bottom - 0.25), px(cx + 0.035, bottom), (50, 40, 30), -1)
    stamp = time.strftime("%H:%M:%S")
    cv2.putText(img, stamp, px(0.02, 0.07), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    return img


def jpeg(img: npt.NDArray[np.uint8]) -> bytes:
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
