"""The reference central receiver: stores every gate's records once, acknowledges them and pushes
signed lists down — built only on the published MQTT contract (``edge.sync``)."""
