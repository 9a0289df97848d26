"""edge.tools."""
