"""Zones drawn in the console: validation of what the browser sends, and a small zone book.

A zone is a polygon on one camera's picture bound to one household, with corners normalised
to the frame (0..1, x to the right, y down), the same convention as ``[[perimeter.zones]]``,
so a zone drawn here can be copied into the config or handed to the perimeter as is.
Everything from the browser is untrusted: sizes, types and geometry are checked here and a
refusal says what is wrong in words a volunteer can act on.
"""

from __future__ import annotations

import json
import math
import re
import threading
from typing import Any

from edge.core.errors import ConsoleError
from edge.store.sqlite import Store

ZONE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
HOUSEHOLD_RE = re.compile(r"^[^-\s]{1,16}-[^-\s]{1,16}-[^-\s]{1,16}$")
MAX_CORNERS = 32  # more corners than this is a drawing accident, not a door

Point = tuple[float, float]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS console_zones (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_ts REAL NOT NULL
)
"""


class ZoneError(ConsoleError, ValueError):
    """A zone that cannot be saved: ``str()`` says why in English, ``zh`` in Chinese."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """True when segments ab and cd properly cross (touching at an end does not count)."""
    d1, d2 = _cross(c, d, a), _cross(c, d, b)
    d3, d4 = _cross(a, b, c), _cross(a, b, d)
    return ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4)


def check_polygon(raw: Any) -> list[Point]:
    """The polygon as float pairs, or :class:`ZoneError` naming the first problem."""
    if not isinstance(raw, list) or not 3 <= len(raw) <= MAX_CORNERS:
        raise ZoneError(
            f"a zone needs 3 to {MAX_CORNERS} corners", f"区域需要 3 到 {MAX_CORNERS} 个角"
        )
    pts: list[Point] = []
    for i, p in enumerate(raw, 1):
        if not (isinstance(p, list | tuple) and len(p) == 2):
            raise ZoneError(f"corner {i} must be [x, y]", f"第 {i} 个角应为 [x, y]")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in p):
            raise ZoneError(f"corner {i} must be two numbers", f"第 {i} 个角应为两个数字")
        x, y = float(p[0]), float(p[1])
        if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= 1 and 0 <= y <= 1):
            raise ZoneError(
                f"corner {i} is outside the picture (use 0..1 of width and height)",
                f"第 {i} 个角在画面之外",
            )
        pts.append((x, y))
    n = len(pts)
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # first and last edge share corner 1
            if _segments_cross(pts[i], pts[(i + 1) % n], pts[j], pts[(j + 1) % n]):
                raise ZoneError(
                    f"edges {i + 1} and {j + 1} cross; click the corners in order",
                    f"第 {i + 1} 条边与第 {j + 1} 条边交叉，请按顺序点击各角",
                )
    area = sum(pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1] for i in range(n))
    if abs(area) / 2 < 1e-4:  # less than 0.01 % of the picture: a line, not an area
        raise ZoneError(
            "the zone has no area; draw it around the doorway", "区域没有面积，请围绕门口画出区域"
        )
    return pts


def check_zone(raw: Any, cameras: set[str]) -> dict[str, Any]:
    """A clean zone dict (id, camera, household, polygon) from untrusted JSON."""
    if not isinstance(raw, dict):
        raise ZoneError("send a zone as a JSON object", "请以 JSON 对象提交区域")
    zid, cam, household = raw.get("id"), raw.get("camera"), raw.get("household")
    if not isinstance(zid, str) or not ZONE_ID_RE.match(zid):
        raise ZoneError(
            "zone name: 1-32 letters, digits, '_' or '-'", "区域名称：1-32 个字母、数字、'_' 或 '-'"
        )
    if not isinstance(cam, str) or cam not in cameras:
        raise ZoneError("choose one of the gate's cameras", "请选择本门岗的摄像头")
    if not isinstance(household, str) or not HOUSEHOLD_RE.match(household):
        raise ZoneError(
            "household must look like building-unit-room, e.g. 3-2-501",
            "住户应为 楼-单元-房号，例如 3-2-501",
        )
    return {
        "id": zid,
        "camera": cam,
        "household": household,
        "polygon": check_polygon(raw.get("polygon")),
    }


class ZoneBook:
    """Zones saved from the console, in the console's own table of the gate store.

    ``seed`` zones (from ``[[perimeter.zones]]``) are shown until the console saves one with
    the same id, which then wins.
    """

    def __init__(self, store: Store, seed: list[dict[str, Any]] | None = None) -> None:
        self._store = store
        self._seed = {z["id"]: z for z in seed or []}
        self._lock = threading.Lock()
        with store.transaction() as db:
            db.execute(_SCHEMA)

    def all(self) -> list[dict[str, Any]]:
        with self._store.transaction() as db:
            rows = db.execute(
                "SELECT body, updated_by, updated_ts FROM console_zones ORDER BY id"
            ).fetchall()
        saved = {}
        for body, by, ts in rows:
            zone = json.loads(body)
            saved[zone["id"]] = {**zone, "updated_by": by, "updated_ts": ts}
        merged = {**self._seed, **saved}
        return [merged[k] for k in sorted(merged)]

    def save(self, zone: dict[str, Any], user: str, ts: float) -> None:
        """Store ``zone`` (already checked by :func:`check_zone`); ``ts`` Unix seconds."""
        body = json.dumps(zone, separators=(",", ":"))
        with self._lock, self._store.transaction() as db:
            db.execute(
                "INSERT INTO console_zones (id, body, updated_by, updated_ts) VALUES (?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET body=excluded.body, "
                "updated_by=excluded.updated_by, updated_ts=excluded.updated_ts",
                (zone["id"], body, user, ts),
            )


def merge_console_zones(perimeter: Any, store: Store) -> Any:
    """``perimeter`` (a ``PerimeterSettings``) with the zones saved in the console added,
    replacing configured zones of the same id, for the perimeter to start from.

    Each saved zone goes through the perimeter's own ``ZoneSettings`` validation, inheriting
    the tuning fields (dwell, filters) of the configured zone it replaces; a zone that fails
    it (e.g. its camera was removed from the config) is skipped, never fatal.
    """
    from edge.vision.perimeter.settings import ZoneSettings

    book = ZoneBook(store)
    configured = {z.id: z for z in perimeter.zones}
    cameras = {c.id for c in perimeter.cameras}
    merged = dict(configured)
    for zone in book.all():
        if zone["camera"] not in cameras:
            continue
        fields = {k: zone[k] for k in ("id", "camera", "household", "polygon")}
        base = configured.get(zone["id"])
        try:
            data = {**(base.model_dump() if base is not None else {}), **fields}
            merged[zone["id"]] = ZoneSettings.model_validate(data)
        except ValueError:  # pydantic's ValidationError is a ValueError: keep what was there
            continue
    return perimeter.model_copy(update={"zones": list(merged.values())})
