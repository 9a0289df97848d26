"""edge.app."""
