"""Reading QR (and Aztec) codes in camera frames within a time budget, and de-duplicating codes
held in view."""
