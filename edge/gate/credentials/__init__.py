"""edge.gate.credentials."""
