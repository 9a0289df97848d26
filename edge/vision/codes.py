"""What a QR reader returns: the text of a code, its symbology and where it was in the frame."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    """One code found in a frame. ``corners`` are pixel coordinates, clockwise from top-left."""

    text: str
    symbology: str
    corners: tuple[tuple[int, int], ...]

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "symbology": self.symbology,
            "corners": [list(c) for c in self.corners],
        }
