"""MQTT sync with the central platform: the link, the uplink that drains the outbox with
end-to-end acks, signed downlink, topics and typed payloads (docs/sync.md).

The app starts it with :func:`edge.app.sync_wiring.start_sync`; the reference receiver on the
other side is :mod:`edge.central` (``edge-gate-central``).
"""
