"""What a QR reader returns: the text of a code, its symbology and where it was in the frame.

``Code`` is the one type that crosses from vision to the gate: the scanner produces it, the
de-duplicator keys on (symbology, text), the gate verifies ``text``, and ``edge-gate scan
--json`` prints :meth:`Code.to_json`. Corners are integer pixel coordinates of the frame the
code was read in, clockwise (in image coordinates, y down) from the code's top-left corner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SYMBOLOGIES = ("QRCode", "Aztec")  # the only ones the scanner reports (credentials use these)


@dataclass(frozen=True)
class Code:
    """One code found in a frame. ``corners`` are pixel coordinates, clockwise from top-left."""

    text: str
    symbology: str
    corners: tuple[tuple[int, int], ...]
    # the bytes the symbol holds, for payload types that are binary rather than text; left
    # out of equality so a code is still identified by (symbology, text)
    raw: bytes | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, object]:
        """``{"text", "symbology", "corners": [[x, y], …]}`` as ``edge-gate scan`` prints it."""
        return {
            "text": self.text,
            "symbology": self.symbology,
            "corners": [list(c) for c in self.corners],
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Code:
        """The inverse of :meth:`to_json`; raises ValueError on a malformed object."""
        try:
            text, symbology = data["text"], data["symbology"]
            corners = tuple((int(p[0]), int(p[1])) for p in data["corners"])
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise ValueError(f"not a code object: {exc}") from None
        if not isinstance(text, str) or not isinstance(symbology, str):
            raise ValueError("text and symbology must be strings")
        return Code(text, symbology, corners)

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The axis-aligned box around the corners: (x0, y0, x1, y1) in pixels, x1/y1 excluded.
        (0, 0, 0, 0) when the engine gave no corners."""
        if not self.corners:
            return (0, 0, 0, 0)
        xs = [p[0] for p in self.corners]
        ys = [p[1] for p in self.corners]
        return (min(xs), min(ys), max(xs) + 1, max(ys) + 1)

    @property
    def side_px(self) -> float:
        """The code's mean side length in pixels (0 without corners): how large it appears,
        e.g. to ask a resident to come closer when codes are read only at the edge of range."""
        n = len(self.corners)
        if n < 2:
            return 0.0
        total = 0.0
        for i in range(n):
            (x0, y0), (x1, y1) = self.corners[i], self.corners[(i + 1) % n]
            total += ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        return total / n
