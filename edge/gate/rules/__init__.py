"""edge.gate.rules."""
