"""edge.vision.perimeter."""
