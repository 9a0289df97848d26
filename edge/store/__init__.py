"""edge.store."""
