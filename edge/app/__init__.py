"""The app: the one place that knows every concrete class — the Gate (frame → codes → decision
→ record → door), config composition, wiring, the service loop, reload, doctor and metrics."""
