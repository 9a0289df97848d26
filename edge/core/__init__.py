"""The core vocabulary every package shares — clock, events, records, errors, settings base,
limits — with no I/O and no import of the rest of ``edge``."""
