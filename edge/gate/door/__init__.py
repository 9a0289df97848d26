"""edge.gate.door."""
