"""One MQTT connection done right, driven by its owner's loop (no paho threads).

paho's own loop thread reconnects without jitter and lets publish() from another thread write
to the socket; here the owner calls :meth:`MqttLink.poll` from one worker thread, paho's
callbacks only append to a list, and the owner handles the events it gets back. MQTT 5 with
``clean_start=False`` and a session expiry (3.1.1 fallback with a persistent session),
reconnect back-off with jitter, in-flight window, and the broker's maximum packet size.
With ``failover`` nodes (a clustered broker), each failed or lost connection moves on to the
next node in turn.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, ConnackCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.core.errors import SyncError

log = logging.getLogger(__name__)

# Reason codes as paho's own types (they compare equal to their numbers), never bare integers.
UNSUPPORTED_PROTOCOL = ReasonCode(PacketTypes.CONNACK, "Unsupported protocol version")
REFUSED_PROTOCOL = (UNSUPPORTED_PROTOCOL, ConnackCode.CONNACK_REFUSED_PROTOCOL_VERSION)
PACKET_OVERHEAD = 16  # fixed header, length bytes, packet id, properties length; bytes
NO_MATCHING_SUBSCRIBERS = ReasonCode(PacketTypes.PUBACK, "No matching subscribers")
CONNACK_TIMEOUT_S = 10.0  # give up on a connection that got no CONNACK in this time, s


class NotConnected(SyncError, ConnectionError):
    """The link is down, or the client refused the message: publish again once connected."""


class PacketTooLarge(SyncError, ValueError):
    """The message would exceed the broker's (or our) maximum packet size."""


@dataclass(frozen=True)
class LinkSettings:
    """Where and how to connect. Times in seconds, sizes in bytes."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "edge-gate"
    protocol: Literal["auto", "v5", "v311"] = "auto"
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = 30
    session_expiry_s: int = 604800
    inflight: int = 64
    max_packet_bytes: int = 262144
    # MQTT 5 Maximum Packet Size declared on CONNECT: the broker drops larger messages for us
    # instead of delivering them, so an oversize downlink never reaches our memory; 0 = none
    max_incoming_bytes: int = 0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    subscriptions: tuple[str, ...] = ()
    will: tuple[str, bytes] | None = None  # retained QoS 1 last will (topic, payload)
    # further nodes of a clustered broker, (host, port), tried in turn after host:port
    failover: tuple[tuple[str, int], ...] = ()


@dataclass
class LinkEvent:
    """``kind``: connected, disconnected, published (mid, code) or message."""

    kind: Literal["connected", "disconnected", "published", "message"]
    mid: int = 0
    code: int = 0
    delivered: bool = True  # published: the broker passed it on (no failure, had subscribers)
    topic: str = ""
    payload: bytes = b""
    retain: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def backoff_delay(attempt: int, lo: float, hi: float, rng: random.Random) -> float:
    """Exponential back-off with jitter, seconds: half fixed, half random, so a fleet that lost
    its broker together spreads its reconnects instead of arriving in lockstep."""
    cap = min(hi, lo * (2 ** min(attempt, 30)))
    return float(cap / 2 + rng.uniform(0, cap / 2))


class MqttLink:
    """A persistent-session MQTT client; call :meth:`poll` often from a single thread."""

    def __init__(self, s: LinkSettings, rng: random.Random | None = None) -> None:
        self.s = s
        self._rng = rng or random.Random()
        self._proto = mqtt.MQTTv311 if s.protocol == "v311" else mqtt.MQTTv5
        self._client: mqtt.Client | None = None
        self._events: list[LinkEvent] = []
        self._attempt = 0
        self._next_try = 0.0  # monotonic time of the next connect attempt
        self._connected_at = 0.0
        self._dialled_at = 0.0
        self.connected = False
        self.max_packet = s.max_packet_bytes
        self.window = s.inflight
        self.connects = 0
        self.nodes = ((s.host, s.port), *s.failover)
        self.node = 0  # index in ``nodes`` of the one we use or try next
        self._silent_closes = 0  # MQTT 5 CONNECTs closed without a CONNACK, in a row

    @property
    def endpoint(self) -> tuple[str, int]:
        return self.nodes[self.node % len(self.nodes)]

    @property
    def protocol(self) -> str:
        return "v5" if self._proto == mqtt.MQTTv5 else "v311"

    def _make_client(self) -> mqtt.Client:
        s = self.s
        kwargs: dict[str, Any] = {"client_id": s.client_id, "protocol": self._proto}
        if self._proto != mqtt.MQTTv5:
            kwargs["clean_session"] = False  # 3.1.1: keep the broker session
        c = mqtt.Client(CallbackAPIVersion.VERSION2, **kwargs)
        if s.username is not None:
            c.username_pw_set(s.username, s.password)
        if s.tls:
            c.tls_set(
                ca_certs=str(s.ca_file) if s.ca_file else None,
                certfile=str(s.cert_file) if s.cert_file else None,
                keyfile=str(s.key_file) if s.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if s.will is not None:
            c.will_set(s.will[0], s.will[1], qos=1, retain=True)
        c.max_inflight_messages_set(s.inflight)
        c.max_queued_messages_set(0)
        c.on_connect = self._on_connect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        return c

    # paho callbacks: run inside poll() on our thread; they only record what happened.
    def _on_connect(self, c: Any, u: Any, flags: Any, rc: Any, props: Any) -> None:
        self._events.append(LinkEvent("connected", code=int(rc.value), extra={"props": props}))

    def _on_publish(self, c: Any, u: Any, mid: int, rc: Any, props: Any) -> None:
        delivered = not (rc.is_failure or rc == NO_MATCHING_SUBSCRIBERS)
        self._events.append(
            LinkEvent("published", mid=mid, code=int(rc.value), delivered=delivered)
        )

    def _on_message(self, c: Any, u: Any, msg: Any) -> None:
        self._events.append(LinkEvent("message", topic=msg.topic, payload=msg.payload))

    def _connect(self) -> None:
        s = self.s
        host, port = self.endpoint
        c = self._make_client()
        try:
            if self._proto == mqtt.MQTTv5:
                props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
                props.SessionExpiryInterval = s.session_expiry_s
                if s.max_incoming_bytes > 0:
                    props.MaximumPacketSize = s.max_incoming_bytes
                c.connect(host, port, s.keepalive_s, clean_start=False, properties=props)
            else:
                c.connect(host, port, s.keepalive_s)
        except (OSError, ssl.SSLError, ValueError) as exc:
            log.warning("mqtt connect to %s:%d failed: %s", host, port, exc)
            self.node += 1
            self._schedule_retry()
            return
        self._client = c
        self._dialled_at = time.monotonic()

    def _schedule_retry(self) -> None:
        delay = backoff_delay(
            self._attempt, self.s.reconnect_min_s, self.s.reconnect_max_s, self._rng
        )
        self._attempt += 1
        self._next_try = time.monotonic() + delay

    def _handle_connack(self, ev: LinkEvent) -> bool:
        """True if the connection is usable; otherwise drops it (and maybe falls back)."""
        if ev.code != 0:  # CONNACK success is 0 in both versions (paho maps 3.1.1 codes)
            fallback = self.s.protocol == "auto" and self._proto == mqtt.MQTTv5
            if fallback and ev.code in REFUSED_PROTOCOL:
                log.warning("broker refused MQTT 5; falling back to 3.1.1")
                self._proto = mqtt.MQTTv311
                self._next_try = 0.0
            else:
                log.warning("mqtt connection refused, reason code 0x%02x", ev.code)
                self.node += 1
                self._schedule_retry()
            self._drop()
            return False
        props = ev.extra.get("props")
        self.max_packet = self.s.max_packet_bytes
        self.window = self.s.inflight
        if props is not None:
            self.max_packet = min(self.max_packet, getattr(props, "MaximumPacketSize", 1 << 28))
            self.window = min(self.window, getattr(props, "ReceiveMaximum", 65535))
        if self._client is not None:
            for topic in self.s.subscriptions:
                self._client.subscribe(topic, qos=1)
        self.connected = True
        self.connects += 1
        self._silent_closes = 0
        self._connected_at = time.monotonic()
        return True

    def _drop(self) -> None:
        c, self._client = self._client, None
        if c is not None:
            try:
                c.disconnect()
                c.loop(timeout=0.01)
                sock = c.socket()
                if sock is not None:
                    sock.close()  # paho leaves it open if DISCONNECT could not be written
            except Exception:  # the socket may already be gone; nothing to save
                pass

    def poll(self, timeout: float) -> list[LinkEvent]:
        """Connect if due, run network I/O for up to ``timeout`` s, and return the events."""
        if self._client is None:
            if time.monotonic() >= self._next_try:
                self._connect()
            else:
                time.sleep(min(timeout, max(0.0, self._next_try - time.monotonic())))
        if self._client is not None:
            rc = self._client.loop(timeout=timeout)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                # a close that may be a refusal of MQTT 5 is retried on the same node
                same = not self.connected and self._closed_before_connack()
                self._lost(f"rc {rc}", next_node=not same)
            elif not self.connected and time.monotonic() - self._dialled_at > CONNACK_TIMEOUT_S:
                self._lost("no CONNACK")  # a hung broker must not hold us forever
        out: list[LinkEvent] = []
        for ev in self._events:
            if ev.kind == "connected" and not self._handle_connack(ev):
                continue
            out.append(ev)
        self._events.clear()
        return out

    def _closed_before_connack(self) -> bool:
        """A 3.1.1-only broker that cannot parse an MQTT 5 CONNECT may close the connection
        without any CONNACK (RabbitMQ 3.10's MQTT plugin does): in 'auto', two such closes in
        a row mean 3.1.1 (one could be a network glitch). True if this close counted."""
        if self.s.protocol != "auto" or self._proto != mqtt.MQTTv5:
            return False
        self._silent_closes += 1
        if self._silent_closes >= 2:
            log.warning("broker closed MQTT 5 CONNECTs without a CONNACK; falling back to 3.1.1")
            self._proto = mqtt.MQTTv311
        return True

    def _lost(self, why: str, next_node: bool = True) -> None:
        was = self.connected
        self.connected = False
        if next_node:
            self.node += 1  # a clustered broker: the next node (the same one if there is one)
        if was and time.monotonic() - self._connected_at > 30.0:
            self._attempt = 0  # a connection that lasted resets the back-off
        self._drop()
        self._schedule_retry()
        log.warning(
            "mqtt connection lost (%s); retry in %.1f s", why, self._next_try - time.monotonic()
        )
        if was:
            self._events.append(LinkEvent("disconnected"))

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        """Queue one message; returns its mid. Raises PacketTooLarge or NotConnected."""
        if len(payload) + len(topic) + PACKET_OVERHEAD > self.max_packet:
            raise PacketTooLarge(f"{len(payload)} bytes on {topic} > {self.max_packet}")
        if self._client is None or not self.connected:
            raise NotConnected("not connected")
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self._lost(f"publish rc {info.rc}")
            raise NotConnected(f"publish failed rc {info.rc}")
        return int(info.mid)

    def close(self, last_words: tuple[str, bytes] | None = None) -> None:
        """Disconnect cleanly, publishing ``last_words`` (retained) first if connected."""
        if self._client is not None and self.connected and last_words is not None:
            try:
                info = self._client.publish(last_words[0], last_words[1], qos=1, retain=True)
                deadline = time.monotonic() + 2.0
                while not info.is_published() and time.monotonic() < deadline:
                    self._client.loop(timeout=0.05)
            except Exception:  # best effort: the last will covers an unclean end
                log.debug("could not publish last words", exc_info=True)
        self.connected = False
        self._drop()
