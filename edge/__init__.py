"""edge-gate: the software inside a residential community's smart entrance gate."""

__version__ = "0.1.0"
