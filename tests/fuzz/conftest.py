"""Fuzz tests reuse the real signed test credentials of the gate tests (healthkit)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "gate"))
