"""The community's rules: the rule profile, the lists pushed down by the central platform, and
the pure decision core ``decide()`` (no I/O, no clock)."""
