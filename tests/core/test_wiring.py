"""The running gate's optional parts wired together: perimeter ↔ sync, console and commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from edge.app.components import Runtime
from edge.app.config import Config
from edge.app.gate import build_gate
from edge.app.metrics import GateMetrics
from edge.app.wiring import AlertRecorder, PerimeterComponent, start_perimeter
from edge.console.zones import ZoneBook
from edge.store.settings import StoreSettings
from edge.vision.camera.settings import PerimeterCameraSettings
from edge.vision.perimeter.alerts import Alert, AlertKind, AlertPhase
from edge.vision.perimeter.settings import PerimeterSettings, ZoneSettings

SQUARE = [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)]


def _config(tmp_path: Path) -> Config:
    perimeter = PerimeterSettings(
        enabled=True,
        snapshot_dir=tmp_path / "snaps",
        cameras=[PerimeterCameraSettings(id="cam1", source=str(tmp_path / "no-such-video.avi"))],
        zones=[ZoneSettings(id="door-601", camera="cam1", household="3-2-601", polygon=SQUARE)],
    )
    return Config(store=StoreSettings(path=tmp_path / "g.sqlite3"), perimeter=perimeter)


def test_perimeter_takes_console_zones_and_central_arm_commands(tmp_path: Path) -> None:
    config = _config(tmp_path)
    gate = build_gate(config, pin_factory=MockFactory())
    ZoneBook(gate.store).save(
        {"id": "door-602", "camera": "cam1", "household": "3-2-602", "polygon": SQUARE},
        "guard1",
        1.0,
    )
    rt = Runtime(config, gate, GateMetrics(), lambda: {})
    component = start_perimeter(rt)
    assert isinstance(component, PerimeterComponent)
    try:
        zone_ids = sorted(z.id for z in component.service.settings.zones)
        assert zone_ids == ["door-601", "door-602"]  # the guard's zone reaches detection
        gate.events.publish("command", 1.0, cmd="arm", args={"zone": "door-601"})
        gate.events.publish("command", 1.0, cmd="disarm", args={"zone": "door-602"})
        gate.events.publish("command", 1.0, cmd="open", args={})  # not the perimeter's
        assert component.service.manual_arming() == {"door-601": True, "door-602": False}
    finally:
        component.close()
        gate.close()


def test_alert_snapshot_is_queued_for_its_own_sync_topic(tmp_path: Path) -> None:
    gate = build_gate(_config(tmp_path), pin_factory=MockFactory())
    queued: list[tuple[bytes, float, dict[str, Any]]] = []
    jpeg = tmp_path / "a.jpg"
    jpeg.write_bytes(b"\xff\xd8 fake jpeg \xff\xd9")
    recorder = AlertRecorder(gate, lambda data, ts, meta: queued.append((data, ts, meta)))
    base = Alert(
        "a1",
        AlertKind.PERSON_IN_ZONE,
        AlertPhase.NEW,
        1.0,
        100.0,
        100.0,
        "cam1",
        "door-601",
        "3-2-601",
        snapshot=jpeg,
    )
    recorder.emit(base)
    recorder.emit(
        Alert(
            "a1",
            AlertKind.PERSON_IN_ZONE,
            AlertPhase.END,
            9.0,
            108.0,
            100.0,
            "cam1",
            "door-601",
            "3-2-601",
            snapshot=jpeg,
        )
    )
    (record_new, record_end) = [r for r in gate.store.records() if r.kind == "alert"]
    assert record_new.body["snapshot"] == "a.jpg" and record_end.body["phase"] == "end"
    assert len(queued) == 1  # the snapshot once, raw bytes, never inside the record
    data, ts, meta = queued[0]
    assert data == jpeg.read_bytes() and ts == 100.0
    assert meta == {"alert_id": "a1", "alert_seq": record_new.seq, "camera": "cam1"}
    gate.close()


def test_console_shows_the_perimeter_cameras_newest_frame(tmp_path: Path) -> None:
    import time

    import cv2
    import numpy as np

    from edge.app.wiring import ConsoleComponent, start_console
    from edge.console.settings import ConsoleSettings

    video = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for i in range(20):
        writer.write(np.full((240, 320, 3), 40 + 5 * i, np.uint8))
    writer.release()
    config = _config(tmp_path)
    cams = [PerimeterCameraSettings(id="cam1", source=str(video))]
    config = config.model_copy(
        update={
            "perimeter": config.perimeter.model_copy(update={"cameras": cams}),
            "console": ConsoleSettings(enabled=True, port=0),
        }
    )
    gate = build_gate(config, pin_factory=MockFactory())
    rt = Runtime(config, gate, GateMetrics(), lambda: {})
    perimeter = start_perimeter(rt)
    assert isinstance(perimeter, PerimeterComponent)
    rt.started["perimeter"] = perimeter
    console = start_console(rt)
    assert isinstance(console, ConsoleComponent)
    try:
        snapshot = console.server.console.ctx.camera_snapshot
        deadline = time.monotonic() + 10
        while (jpeg := snapshot("cam1")) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert jpeg is not None and jpeg[:2] == b"\xff\xd8"  # a real JPEG of the live view
        assert snapshot("no-such-camera") is None
    finally:
        console.close()
        perimeter.close()
        gate.close()


def _perimeter_with(tmp_path: Path, **detector: Any) -> tuple[Any, PerimeterComponent]:
    from edge.vision.person.settings import DetectorSettings

    config = _config(tmp_path)
    config = config.model_copy(update={"detector": DetectorSettings(**detector)})
    gate = build_gate(config, pin_factory=MockFactory())
    component = start_perimeter(Runtime(config, gate, GateMetrics(), lambda: {}))
    assert isinstance(component, PerimeterComponent)
    return gate, component


def test_perimeter_loads_the_overhead_model_for_the_default_strategy(tmp_path: Path) -> None:
    gate, component = _perimeter_with(tmp_path)
    try:
        assert component.overhead is not None and component.overhead.status.ok
        assert component.overhead.status.family == "nanodet"
        pipe = component.service.pipelines["cam1"]
        assert pipe.overhead is not None and pipe.overhead_ready()
        assert "overhead" not in component.problem()
    finally:
        component.close()
        gate.close()
    # A street-level strategy does not load it (memory on a Pi).
    gate, component = _perimeter_with(tmp_path, strategy="single")
    try:
        assert component.overhead is None
        assert component.service.pipelines["cam1"].overhead is None
    finally:
        component.close()
        gate.close()


def test_a_missing_overhead_model_falls_back_under_auto_and_alerts_under_overhead(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-model.onnx"
    gate, component = _perimeter_with(tmp_path, overhead_model=missing)
    try:
        assert component.overhead is not None and not component.overhead.status.ok
        assert not component.service.pipelines["cam1"].overhead_ready()  # auto: regions/tiles
        assert "overhead detector" in component.problem() and "not found" in component.problem()
        # The street-level model still detects, so no "detector unavailable" alarm to guards.
        assert [r for r in gate.store.records() if r.kind == "alert"] == []
    finally:
        component.close()
        gate.close()
    (tmp_path / "g.sqlite3").unlink()
    gate, component = _perimeter_with(tmp_path, overhead_model=missing, strategy="overhead")
    try:
        # A camera set to overhead detects nothing without it: raised once, at start.
        alerts = [r.body for r in gate.store.records() if r.kind == "alert"]
        assert [(a["alert"], a["phase"]) for a in alerts] == [("detector_unavailable", "new")]
        assert "no-such-model.onnx" in str(alerts[0])
        assert component.service.check_detector() == []  # not again while it lasts
    finally:
        component.close()
        gate.close()
