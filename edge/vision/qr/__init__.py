"""edge.vision.qr."""
