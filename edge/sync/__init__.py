"""edge.sync package."""
