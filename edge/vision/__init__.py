"""edge.vision package."""
