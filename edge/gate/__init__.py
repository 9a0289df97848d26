"""edge.gate package."""
