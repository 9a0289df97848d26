"""`edge-gate central …`: the reference central receiver's verbs (also ``edge-gate-central``)."""

from __future__ import annotations

from edge.central.cli import register

__all__ = ["register"]
