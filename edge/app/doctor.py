"""`edge-gate doctor`: is this gate fit to run? One check per thing that can be wrong on site.

Each check says ok, warn (works, but look at it), fail (the gate will not work properly) or
skip (not configured, or a check it depends on failed), with a detail and — for warn and fail
— the fix, in words for a technician. The gate is fit to run when nothing failed.

Doctor only reads: it never drives the relay, never migrates the store and never sends to the
broker, so it is safe to run beside the live service.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from prometheus_client.parser import text_string_to_metric_families

from edge.app.config import Config, ConfigError, load_config
from edge.app.feeds import open_camera
from edge.app.secrets import load_trust, resolve_path
from edge.gate.door.pins import on_raspberry_pi
from edge.store.sqlite import MIGRATIONS, open_read_only

Status = Literal["ok", "warn", "fail", "skip"]
CAMERA_TIMEOUT_S = 8.0  # time for a camera to deliver its first frames, s
CAMERA_FRAMES = 3  # frames a camera must deliver to pass
BROKER_TIMEOUT_S = 3.0  # TCP connect and TLS handshake, s
METRICS_TIMEOUT_S = 2.0  # the running service's /metrics, s
MAX_METRICS_BYTES = 4 << 20  # more than any gate's metrics page
EARLIEST_SANE_TIME = 1_767_225_600.0  # 2026-01-01: a Pi without RTC that booted unsynced is older


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def check_config(path: Path | None) -> tuple[Check, Config | None]:
    where = str(path) if path else "embedded defaults"
    try:
        config = load_config(path)
    except ConfigError as exc:
        detail = f"{len(exc.problems)} problem(s): " + "; ".join(exc.problems)
        return Check("config", "fail", detail, f"run: edge-gate check-config {where}"), None
    return Check("config", "ok", f"{where} is valid"), config


def check_keys(config: Config) -> Check:
    paths = config.trust.pass_issuer_keys
    if not paths:
        return Check(
            "keys",
            "fail",
            "no community pass issuer key configured: every pass would be refused",
            "copy the issuer public key to /etc/edge-gate/keys/issuer.pub and list it in "
            "[trust] pass_issuer_keys",
        )
    try:
        trust = load_trust(config)
    except ValueError as exc:
        return Check("keys", "fail", str(exc), "replace the file with the issuer's PEM public key")
    problems = []
    for secret in (config.sync.password_file, config.sync.key_file):
        if secret is None:
            continue
        real = resolve_path(secret)
        if not os.access(real, os.R_OK):
            problems.append(f"{secret} is not readable")
        elif real == secret and real.stat().st_mode & 0o004:
            problems.append(f"{secret} is readable by every user")
    if problems:
        return Check(
            "keys",
            "fail",
            "; ".join(problems),
            "keep secrets in /etc/edge-gate/secrets (root only, mode 0600); systemd passes them "
            "to the service (LoadCredential=)",
        )
    n = sum(len(keys) for keys in trust.pass_issuers.values())
    return Check("keys", "ok", f"{n} pass issuer key(s) loaded")


def check_clock(now: float | None = None) -> Check:
    now = time.time() if now is None else now
    if now < EARLIEST_SANE_TIME:
        return Check(
            "clock",
            "fail",
            f"system time {time.strftime('%Y-%m-%d', time.gmtime(now))} is in the past",
            "connect the network for NTP (timedatectl set-ntp true) or fit an RTC",
        )
    try:
        out = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        synced = out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        synced = ""
    if synced == "yes":
        return Check("clock", "ok", "synchronised (NTP)")
    if synced == "no":
        return Check(
            "clock",
            "fail",
            "not synchronised: dynamic passes (30 s steps) and test windows need the right time",
            "sudo timedatectl set-ntp true; check the network reaches an NTP server",
        )
    return Check(
        "clock",
        "warn",
        "cannot tell whether the clock is synchronised (timedatectl unavailable)",
        "on the Pi: timedatectl status should say 'System clock synchronized: yes'",
    )


def _first_frames(spec: str, width: int, height: int) -> tuple[int, str, float]:
    """(frames read, problem, seconds) from a camera, giving up after CAMERA_TIMEOUT_S."""
    result: dict[str, Any] = {"frames": 0, "problem": "no frame within the timeout"}
    start = time.monotonic()

    def read() -> None:
        try:
            source = open_camera(spec, width, height)
        except Exception as exc:  # any driver error is a failed check, not a crash
            result["problem"] = f"cannot open: {exc}"
            return
        try:
            while result["frames"] < CAMERA_FRAMES:
                frame = source.read()
                if frame is None:
                    result["problem"] = "the source delivered no frame"
                    return
                result["frames"] += 1
                result["shape"] = frame.shape
            result["problem"] = ""
        except Exception as exc:
            result["problem"] = f"read failed: {exc}"
        finally:
            source.close()

    thread = threading.Thread(target=read, daemon=True)  # a hung driver is abandoned
    thread.start()
    thread.join(CAMERA_TIMEOUT_S)
    return int(result["frames"]), str(result["problem"]), time.monotonic() - start


def _camera_check(name: str, spec: str, width: int, height: int) -> Check:
    frames, problem, took = _first_frames(spec, width, height)
    if not problem:
        return Check(f"camera {name}", "ok", f"{spec}: {frames} frames in {took:.1f} s")
    return Check(
        f"camera {name}",
        "fail",
        f"{spec}: {problem}",
        "check the camera's source and cable; USB cameras are /dev/video* ('0' = first); "
        "the Pi camera is 'picamera2'; an RTSP URL must play in VLC from this network",
    )


def _uses_picamera2(config: Config) -> bool:
    perimeter = getattr(config, "perimeter", None)
    sources = [config.camera.source]
    if perimeter is not None and perimeter.enabled:
        sources += [str(pc.source) for pc in perimeter.cameras]
    return "picamera2" in sources


def check_picamera2(config: Config, on_pi: bool | None = None) -> Check:
    """picamera2 must import in this venv (the camera check then reads its frames).

    It comes from Raspberry Pi OS (python3-picamera2, compiled against the system's numpy);
    a venv that pulled its own numpy 2.x over the system's 1.x makes it fail to import with
    "A module that was compiled using NumPy 1.x cannot be run in NumPy 2.x".
    """
    needed = _uses_picamera2(config)
    if not needed and not (on_raspberry_pi() if on_pi is None else on_pi):
        return Check("picamera2", "skip", "no camera uses picamera2 and this is not a Pi")
    import numpy as np

    try:
        import picamera2  # the import itself is the check
    except Exception as exc:  # ImportError, or numpy's ABI error raised while importing
        fix = (
            "sudo apt install python3-picamera2, and keep the system's numpy in the venv: "
            "rerun scripts/install-pi.sh (it pins numpy and simplejpeg to the system's versions)"
        )
        detail = f"cannot import picamera2 (numpy {np.__version__}): {exc}".splitlines()[0]
        return Check("picamera2", "fail" if needed else "warn", detail, fix)
    where = Path(picamera2.__file__ or "?").parent
    return Check("picamera2", "ok", f"imports from {where} (numpy {np.__version__})")


def check_cameras(config: Config) -> list[Check]:
    """The entrance camera, then each enabled perimeter camera, must deliver frames."""
    cam = config.camera
    checks = [_camera_check("gate", cam.source, cam.width, cam.height)]
    perimeter = getattr(config, "perimeter", None)
    if perimeter is not None and perimeter.enabled:
        for pc in perimeter.cameras:
            checks.append(_camera_check(str(pc.id), str(pc.source), 640, 480))
    return checks


def check_gpio(config: Config) -> Check:
    kind = config.service.pin_factory
    if kind == "mock":
        return Check(
            "gpio",
            "warn",
            "pin_factory = 'mock': the relay is simulated, the door never moves",
            "set [service] pin_factory = 'auto' on the gate",
        )
    if not on_raspberry_pi():
        return Check(
            "gpio",
            "warn",
            "not a Raspberry Pi: gpiozero MockFactory, no real pins",
            "run on the gate's Raspberry Pi for the real relay",
        )
    chips = sorted(Path("/dev").glob("gpiochip*"))
    usable = [c for c in chips if os.access(c, os.R_OK | os.W_OK)]
    if not usable:
        return Check(
            "gpio",
            "fail",
            f"no accessible /dev/gpiochip* ({len(chips)} present)",
            "add the service user to the gpio group: sudo usermod -aG gpio edge-gate",
        )
    if importlib.util.find_spec("lgpio") is None:
        return Check(
            "gpio",
            "fail",
            "the lgpio module is missing",
            "sudo apt install python3-lgpio (the venv uses system site packages)",
        )
    return Check("gpio", "ok", f"lgpio on {', '.join(c.name for c in usable)}")


def check_model(config: Config) -> Check:
    settings = getattr(config, "detector", None)
    if settings is None or importlib.util.find_spec("edge.vision.person.detector") is None:
        return Check("model", "skip", "no person detector configured")
    from edge.vision.person.detector import Detector

    # Only perimeter cameras use the detector: without them a broken model is a warning.
    perimeter = getattr(config, "perimeter", None)
    bad: Status = "fail" if perimeter is not None and perimeter.enabled else "warn"
    det = Detector(settings)
    st = det.status
    if st.state == "disabled":
        return Check("model", "skip", st.message)
    if not st.ok:
        fix = "reinstall models/ (scripts/install-pi.sh) or fix [detector] model/sha256"
        return Check("model", bad, st.message, fix)
    return _test_inference("model", det, bad)


def _test_inference(name: str, det: Any, bad: Status) -> Check:
    """One inference of a loaded detector on a blank VGA frame: its time, or why it failed."""
    import numpy as np

    t0 = time.perf_counter()
    det.detect(np.zeros((480, 640, 3), dtype=np.uint8))
    ms = (time.perf_counter() - t0) * 1000
    st = det.status
    if not st.ok:
        return Check(name, bad, st.message, "check the model file and onnxruntime")
    return Check(name, "ok", f"{st.message}; sha256 {(st.sha256 or '')[:12]}…; test {ms:.0f} ms")


def check_overhead_model(config: Config) -> list[Check]:
    """The high-view model, when a strategy in use needs it (``[detector] strategy`` or a
    camera's): missing under ``auto`` is a warning (the street model's tiles stand in, seeing
    far fewer people from above); under ``overhead`` a failure (that camera detects nothing)."""
    settings = getattr(config, "detector", None)
    perimeter = getattr(config, "perimeter", None)
    cameras = list(perimeter.cameras) if perimeter is not None else []
    if settings is None or not settings.uses_overhead(*(c.strategy for c in cameras)):
        return []
    from edge.vision.person.detector import Detector

    explicit = settings.names_overhead(*(c.strategy for c in cameras))
    enabled = perimeter is not None and perimeter.enabled
    bad: Status = "fail" if enabled and explicit else "warn"
    det = Detector(settings.overhead())
    st = det.status
    if not st.ok:
        fix = (
            "reinstall models/ (scripts/install-pi.sh) or fix [detector] overhead_model/"
            "overhead_sha256; until then auto uses the street model's tiles"
        )
        return [Check("overhead_model", bad, st.message, fix)]
    return [_test_inference("overhead_model", det, bad)]


def check_broker(config: Config) -> Check:
    s = config.sync
    if not s.enabled:
        return Check("broker", "skip", "sync disabled in [sync]")
    where = f"{s.host}:{s.port}"
    try:
        raw = socket.create_connection((s.host, s.port), timeout=BROKER_TIMEOUT_S)
    except OSError as exc:
        return Check(
            "broker",
            "fail",
            f"cannot reach {where}: {exc}",
            "check [sync] host/port, the network and the broker's firewall",
        )
    try:
        if not s.tls:
            return Check(
                "broker", "warn", f"{where} reachable, without TLS", "set [sync] tls = true"
            )
        ctx = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        if s.cert_file and s.key_file:
            ctx.load_cert_chain(str(resolve_path(s.cert_file)), str(resolve_path(s.key_file)))
        with ctx.wrap_socket(raw, server_hostname=s.host) as tls:
            version = tls.version()
        return Check("broker", "ok", f"{where} reachable, {version}, certificate verified")
    except (OSError, ssl.SSLError) as exc:
        return Check(
            "broker",
            "fail",
            f"TLS to {where} failed: {exc}",
            "check [sync] ca_file matches the broker's CA, and the clock (certificates expire)",
        )
    finally:
        raw.close()


def _existing_parent(path: Path) -> Path:
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path


def check_disk(config: Config) -> Check:
    folder = _existing_parent(config.store.path.parent)
    free_mb = shutil.disk_usage(folder).free / (1 << 20)
    need = config.retention.min_free_mb
    if free_mb < need:
        return Check(
            "disk",
            "fail",
            f"{free_mb:.0f} MB free on {folder} (want {need:.0f} MB)",
            "free space (journalctl --vacuum-size=100M, old files) or use a larger SD card",
        )
    return Check("disk", "ok", f"{free_mb:.0f} MB free on {folder}")


def check_store(config: Config) -> Check:
    path = config.store.path
    if not path.exists():
        parent = _existing_parent(path.parent)
        if not os.access(parent, os.W_OK):
            return Check(
                "store",
                "fail",
                f"{path} does not exist and {parent} is not writable",
                "point [store] path into /var/lib/edge-gate",
            )
        return Check("store", "ok", f"{path} will be created at first start")
    try:
        db = open_read_only(path)  # beside a stopped gate: creates no -wal/-shm either
        try:
            result = db.execute("PRAGMA quick_check").fetchone()[0]
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
        finally:
            db.close()
    except (sqlite3.Error, OSError) as exc:
        return Check("store", "fail", f"{path}: {exc}", "restore the store from a backup")
    if result != "ok":
        return Check(
            "store",
            "fail",
            f"{path}: integrity check: {result}",
            "stop the gate and restore the store from a backup (docs/operations.md)",
        )
    latest = len(MIGRATIONS)
    if version > latest:
        return Check(
            "store",
            "fail",
            f"schema {version} is newer than this edge-gate ({latest})",
            "install the edge-gate version that wrote it",
        )
    note = f"; schema {version} is upgraded to {latest} at next start" if version < latest else ""
    return Check(
        "store",
        "ok" if not note else "warn",
        f"integrity ok, schema {version}{note}",
        "restart the service to upgrade" if note else "",
    )


def service_workers(config: Config) -> list[dict[str, Any]] | None:
    """The running service's supervised parts as its ``/metrics`` reports them
    (``{"name", "state", "restarts"}``); None when metrics are off or nothing answers."""
    m = config.metrics
    if not m.enabled:
        return None
    host = "127.0.0.1" if m.host in ("0.0.0.0", "", "::") else m.host
    url = f"http://{host}:{m.port}/metrics"
    try:
        # no proxy: the service is on this machine whatever http_proxy says
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=METRICS_TIMEOUT_S) as reply:
            text = reply.read(MAX_METRICS_BYTES).decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    rows: dict[str, dict[str, Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.labels.get("worker")
            if name is None:
                continue
            row = rows.setdefault(name, {"name": name, "state": "", "restarts": 0})
            if sample.name == "edge_gate_worker_state" and sample.value == 1:
                row["state"] = sample.labels.get("state", "")
            elif sample.name == "edge_gate_worker_restarts_total":
                row["restarts"] = int(sample.value)
    return list(rows.values())


def check_service(config: Config, workers: list[dict[str, Any]] | None = None) -> Check:
    """What the running gate says about its own parts (workers, components, cameras)."""
    if workers is None:
        workers = service_workers(config)
    if workers is None:
        why = "[metrics] disabled" if not config.metrics.enabled else "no answer"
        return Check("service", "skip", f"running service not reachable ({why})")
    if not workers:
        return Check("service", "skip", "the service reports no parts (an older edge-gate?)")
    bad = [w for w in workers if w["state"] != "running"]
    restarts = sum(int(w["restarts"]) for w in workers if not w["name"].startswith("camera "))
    summary = f"{len(workers) - len(bad)}/{len(workers)} parts running, {restarts} restart(s)"
    if not bad:
        return Check("service", "ok", summary)
    detail = summary + ": " + ", ".join(f"{w['name']} {w['state']}" for w in bad)
    return Check(
        "service",
        "warn",
        detail,
        "the gate runs on without them; see systemctl status edge-gate (STATUS line) and "
        "journalctl -u edge-gate -p warning for why",
    )


def run_checks(path: Path | None) -> list[Check]:
    """Every check, in the order a technician would fix them."""
    first, config = check_config(path)
    checks = [first]
    names = ["keys", "clock", "picamera2", "camera gate", "gpio", "model", "broker", "disk"]
    names += ["store", "service"]
    if config is None:
        # The clock does not depend on the config: worth knowing while fixing the file.
        rest = [Check(n, "skip", "config is invalid") for n in names if n != "clock"]
        return [*checks, check_clock(), *rest]
    steps: list[Callable[[], list[Check]]] = [
        lambda: [check_keys(config)],
        lambda: [check_clock()],
        lambda: [check_picamera2(config)],
        lambda: check_cameras(config),
        lambda: [check_gpio(config)],
        lambda: [check_model(config), *check_overhead_model(config)],
        lambda: [check_broker(config)],
        lambda: [check_disk(config)],
        lambda: [check_store(config)],
        lambda: [check_service(config)],
    ]
    for name, step in zip(names, steps, strict=True):
        try:
            checks += step()
        except Exception as exc:  # a broken check is reported, the others still run
            checks.append(Check(name, "fail", f"check crashed: {exc}", "report this as a bug"))
    return checks


def fit_to_run(checks: list[Check]) -> bool:
    return not any(c.status == "fail" for c in checks)


def as_json(checks: list[Check]) -> dict[str, Any]:
    return {"fit": fit_to_run(checks), "checks": [asdict(c) for c in checks]}


def as_table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'CHECK':<{width}}  STATUS  DETAIL"]
    for c in checks:
        lines.append(f"{c.name:<{width}}  {c.status.upper():<6}  {c.detail}")
        if c.fix and c.status in ("warn", "fail"):
            lines.append(f"{'':<{width}}  {'':<6}  fix: {c.fix}")
    verdict = "FIT TO RUN" if fit_to_run(checks) else "NOT FIT TO RUN: fix the FAIL lines above"
    return "\n".join([*lines, "", verdict])


__all__ = ["Check", "as_json", "as_table", "fit_to_run", "run_checks", "service_workers"]
