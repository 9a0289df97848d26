"""edge.vision.person."""
