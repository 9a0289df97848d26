"""MQTT sync with the central platform (issue 7); see docs/sync.md.

Gate side: :func:`edge.app.sync_wiring.start_sync` (or :class:`edge.sync.service.SyncService`)
drains the durable outbox with end-to-end acks and applies signed downlink. Central side:
:class:`edge.central.receiver.Receiver` (``edge-gate central``).
"""
