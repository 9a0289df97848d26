"""Zones in front of households' doors: arming, exemption windows, filters and occupancy.

A zone is armed exactly while its household is under home quarantine or sealed in the synced
lists (or armed/disarmed by hand), so it disarms on its own when the status changes. A person
is *in* the zone when the bottom-centre of their box (where the feet are) has been inside the
polygon for ``inertia`` consecutive detection frames and their track passes the filters.
Pure: statuses come in as a plain mapping, time as ``now`` (monotonic s) / ``wall`` (Unix s).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from edge.vision.geometry import Box, bottom_centre, point_in_polygon
from edge.vision.perimeter.settings import ExemptWindow, ZoneSettings
from edge.vision.perimeter.tracker import Track

#: Household statuses (as in the synced lists) under which an ``arm = "auto"`` zone is armed.
ARMING_STATUSES = frozenset({"home_quarantine", "sealed"})


def is_armed(zone: ZoneSettings, statuses: Mapping[str, str], manual: bool | None = None) -> bool:
    """Whether the zone raises alerts now.

    ``manual`` (a guard's override at run time) wins over the config's ``arm``; ``arm = "auto"``
    follows the household's status in ``statuses`` (household key -> "normal" |
    "home_quarantine" | "sealed" | "controlled"); an unknown household is not armed.
    """
    if manual is not None:
        return manual
    if zone.arm != "auto":
        return zone.arm == "on"
    return statuses.get(zone.household) in ARMING_STATUSES


def _in_window(window: ExemptWindow, local: dt.datetime) -> bool:
    t = local.time()
    if window.start <= window.end:
        return local.weekday() in window.days and window.start <= t < window.end
    # Spans midnight: the part after midnight belongs to the previous day's window.
    if t >= window.start:
        return local.weekday() in window.days
    return t < window.end and (local.weekday() - 1) % 7 in window.days


def exemption(zone: ZoneSettings, wall: float, tz: dt.tzinfo | None = None) -> ExemptWindow | None:
    """The exemption window covering Unix time ``wall`` (in local time, or ``tz``), if any."""
    local = dt.datetime.fromtimestamp(wall, tz)
    return next((w for w in zone.exempt if _in_window(w, local)), None)


def passes_box_filters(zone: ZoneSettings, box: Box, score: float, frame_aspect: float) -> bool:
    """Per-frame filters on a normalised box: score, area (fraction of frame), width/height.

    ``frame_aspect`` is the frame's width/height, to turn the normalised box back into the
    pixel aspect ratio a person has (tall and narrow).
    """
    w, h = box[2] - box[0], box[3] - box[1]
    if w <= 0 or h <= 0 or score < zone.min_score:
        return False
    area = w * h
    aspect = (w * frame_aspect) / h
    return zone.min_area <= area <= zone.max_area and zone.min_aspect <= aspect <= zone.max_aspect


@dataclass(frozen=True, slots=True)
class Occupant:
    """A tracked person counted in a zone."""

    track_id: int
    box: Box  # normalised
    score: float
    median_score: float
    since: float  # monotonic seconds of the first frame of the run of frames inside
    seen: bool = True  # detected in this frame (False: briefly missed, state kept)


class ZoneOccupancy:
    """Who is in one zone, frame by frame (inertia and median-score filter applied)."""

    def __init__(self, zone: ZoneSettings) -> None:
        self.zone = zone
        self._inside: dict[int, int] = {}  # track id -> consecutive frames inside
        self._since: dict[int, float] = {}  # track id -> first of those frames, monotonic s

    def update(self, tracks: Sequence[Track], now: float, frame_aspect: float) -> list[Occupant]:
        """Occupants after this detection frame, given every live track of the camera.

        Tracks missed in this frame (``misses > 0``) keep their state: one missed detection
        must not restart the dwell timer of someone standing still at a door.
        """
        zone = self.zone
        live = {t.id for t in tracks}
        for gone in set(self._inside) - live:
            self._inside.pop(gone, None)
            self._since.pop(gone, None)
        occupants: list[Occupant] = []
        for track in tracks:
            if track.misses == 0:
                inside = passes_box_filters(
                    zone, track.box, track.score, frame_aspect
                ) and point_in_polygon(bottom_centre(track.box), zone.polygon)
                if inside:
                    count = self._inside.get(track.id, 0) + 1
                    self._inside[track.id] = count
                    self._since.setdefault(track.id, now)
                else:
                    self._inside.pop(track.id, None)
                    self._since.pop(track.id, None)
            count = self._inside.get(track.id, 0)
            if count >= zone.inertia and track.median_score >= zone.median_score:
                occupants.append(
                    Occupant(
                        track.id,
                        track.box,
                        track.score,
                        track.median_score,
                        self._since[track.id],
                        track.misses == 0,
                    )
                )
        return occupants
