"""In-process events: what the gate did, for local listeners (guard console, metrics, buzzer).

Records are the durable truth (:mod:`edge.store.sqlite`); events are the live notification that a
record was written or a state changed. Publishing never blocks on a slow listener: each
subscriber gets a bounded queue and the oldest events are dropped for it when it lags.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.core.records import EventKind

log = logging.getLogger(__name__)

_ids = itertools.count(1)


@dataclass(frozen=True)
class Event:
    """``kind`` says what happened (:class:`~edge.core.records.EventKind`); ``ts`` Unix s."""

    kind: EventKind
    ts: float
    data: dict[str, Any] = field(default_factory=dict)
    id: int = field(default_factory=lambda: next(_ids))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "ts": self.ts, **self.data}


class Subscription:
    """A subscriber's bounded queue. ``get`` waits up to ``timeout`` seconds."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self.queue: queue.Queue[Event] = queue.Queue(maxsize=maxsize)
        self.dropped = 0
        # Called (publisher's thread, must not block) after each event is queued, so an
        # asyncio reader can wait for a wake-up instead of polling the queue.
        self.notify: Callable[[], None] | None = None

    def put(self, event: Event) -> None:
        while True:
            try:
                self.queue.put_nowait(event)
                break
            except queue.Full:
                try:
                    self.queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass
        notify = self.notify
        if notify is not None:
            try:
                notify()
            except Exception:  # a closed reader must never stop the publisher
                log.exception("event subscriber wake-up failed")

    def get(self, timeout: float | None = None) -> Event | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._bus.unsubscribe(self)


class EventBus:
    """Fan-out of events to queue subscribers and to quick synchronous callbacks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._callbacks: list[Callable[[Event], None]] = []

    def subscribe(self, maxsize: int = 1000) -> Subscription:
        sub = Subscription(self, maxsize)
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def on(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback`` for every event, on the publisher's thread: it must not block."""
        with self._lock:
            self._callbacks.append(callback)

    def publish(self, kind: EventKind, ts: float, **data: Any) -> Event:
        event = Event(EventKind(kind), ts, data)
        with self._lock:
            subs = list(self._subs)
            callbacks = list(self._callbacks)
        for sub in subs:
            sub.put(event)
        for cb in callbacks:
            try:
                cb(event)
            except Exception:  # a broken listener must never stop the gate
                log.exception("event listener failed on %s", kind)
        return event
