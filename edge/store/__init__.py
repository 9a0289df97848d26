"""The gate's local store: SQLite where every record becomes durable, the outbox that sync
drains, and retention that keeps the SD card alive."""
