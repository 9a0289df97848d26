"""edge.vision.camera."""
