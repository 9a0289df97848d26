"""A small IoU tracker: gives each person a stable id across frames of one camera.

Detections of consecutive frames are matched greedily by box overlap (highest IoU first).
At 5 fps a briskly walking person moves about half a body width between frames, which can
drop the IoU of their boxes under the threshold, so a pair that does not overlap enough may
still match when the box centre moved less than ``max_jump`` body heights; such matches rank
below every proper overlap. No motion model or appearance features: this runs on a small CPU.
Pure: time comes in as ``now`` (monotonic seconds); no clock is read here.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.vision.geometry import Box, Detection, iou


@dataclass
class Track:
    """One person followed over time; boxes in the units of the detections (normalised here)."""

    id: int
    box: Box
    score: float
    first_seen: float  # monotonic seconds
    last_seen: float  # monotonic seconds
    hits: int = 1  # frames the person was detected in
    misses: int = 0  # consecutive detection frames without a match
    scores: deque[float] = field(default_factory=lambda: deque(maxlen=30))

    @property
    def median_score(self) -> float:
        """Median confidence over the recent track, robust to one lucky or unlucky frame."""
        return statistics.median(self.scores) if self.scores else self.score


class IouTracker:
    """Assigns track ids to detections frame by frame.

    ``iou_threshold`` (0..1): least overlap to continue a track. ``max_misses`` (frames) and
    ``max_age_s`` (seconds): a track not seen for more frames OR longer than this is dropped,
    so a person who leaves and comes back later gets a new id (and a new dwell timer).
    """

    def __init__(
        self,
        iou_threshold: float = 0.3,
        max_misses: int = 5,
        max_age_s: float = 3.0,
        max_jump: float = 0.5,
    ) -> None:
        self.iou_threshold = iou_threshold
        self.max_jump = max_jump
        self.max_misses = max_misses
        self.max_age_s = max_age_s
        self._tracks: list[Track] = []
        self._next_id = 1

    @property
    def tracks(self) -> list[Track]:
        """All live tracks, including those missed in the last few frames."""
        return list(self._tracks)

    def update(self, detections: Sequence[Detection], now: float) -> list[Track]:
        """Match this frame's detections to tracks; return the tracks seen in this frame."""
        pairs = sorted(
            (
                (self._affinity(t.box, d.box), ti, di)
                for ti, t in enumerate(self._tracks)
                for di, d in enumerate(detections)
            ),
            reverse=True,
        )
        used_t: set[int] = set()
        used_d: set[int] = set()
        seen: list[Track] = []
        for affinity, ti, di in pairs:
            if affinity <= 0.0:
                break
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            track, det = self._tracks[ti], detections[di]
            track.box, track.score, track.last_seen = det.box, det.score, now
            track.hits += 1
            track.misses = 0
            track.scores.append(det.score)
            seen.append(track)
        for ti, track in enumerate(self._tracks):
            if ti not in used_t:
                track.misses += 1
        for di, det in enumerate(detections):
            if di in used_d:
                continue
            track = Track(self._next_id, det.box, det.score, now, now)
            track.scores.append(det.score)
            self._next_id += 1
            self._tracks.append(track)
            seen.append(track)
        self._tracks = [
            t
            for t in self._tracks
            if t.misses <= self.max_misses and now - t.last_seen <= self.max_age_s
        ]
        return sorted(seen, key=lambda t: t.id)

    def _affinity(self, track_box: Box, det_box: Box) -> float:
        """How well a detection continues a track: IoU, or a lower score for a short jump."""
        overlap = iou(track_box, det_box)
        if overlap >= self.iou_threshold:
            return overlap
        height = max(track_box[3] - track_box[1], 1e-9)
        dx = (det_box[0] + det_box[2] - track_box[0] - track_box[2]) / 2.0
        dy = (det_box[1] + det_box[3] - track_box[1] - track_box[3]) / 2.0
        jump = math.hypot(dx, dy) / height
        size = (det_box[3] - det_box[1]) / height
        if jump >= self.max_jump or not 0.67 <= size <= 1.5:
            return 0.0
        # Below iou_threshold, so any real overlap match is preferred.
        return self.iou_threshold * (1.0 - jump / self.max_jump) * 0.999

    def reset(self) -> None:
        """Forget every track (camera reconnected: old boxes no longer mean anything)."""
        self._tracks.clear()
