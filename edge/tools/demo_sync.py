"""The demo's sync step: show the records reaching a receiver, or queueing when they cannot.

With Debian's mosquitto installed, a throwaway broker (TLS, password, ACL) and an in-process
central receiver start on loopback, the demo gate's outbox drains through the real sender,
and the count central stored is printed. Without it, the queued count is printed. It never
fails the demo and gives up after ``timeout_s``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.app.sync_wiring import GateLike
from edge.gate.credentials.trust import save_keypair
from edge.sync.settings import SyncSettings
from edge.tools.localbroker import MOSQUITTO, PASSWORD, Broker


def demo_sync(gate: GateLike, out: TextIO, timeout_s: float = 20.0) -> None:
    """Drain ``gate``'s outbox to a local receiver if possible; print what happened."""
    queued = gate.store.outbox_depth()
    if not Path(MOSQUITTO).exists():
        out.write(
            f"sync: no broker here (mosquitto not installed) — {queued} records stay queued in "
            "the outbox and go out when the central platform is reachable\n"
        )
        return
    broker = None
    receiver = None
    svc = None
    try:
        from edge.central.db import CentralDB
        from edge.central.receiver import Receiver
        from edge.sync.client import LinkSettings
        from edge.sync.service import SyncService

        gate_id = gate.config.gate.id
        broker = Broker.throwaway(gates=(gate_id,))
        broker.start()
        key = Ed25519PrivateKey.generate()
        folder = broker.folder
        save_keypair(key, folder / "central.key", folder / "central.pub")
        (folder / "gate.pw").write_text(PASSWORD)
        link = LinkSettings(
            port=broker.tls, client_id="central-demo", username="central", password=PASSWORD,
            tls=True, ca_file=broker.ca(),
        )  # fmt: skip
        receiver = Receiver(str(folder / "central.sqlite3"), link, key)
        receiver.start()
        receiver.ready.wait(10)
        sync = SyncSettings(
            enabled=True, port=broker.tls, username=gate_id, password_file=folder / "gate.pw",
            tls=True, ca_file=broker.ca(), central_keys=[folder / "central.pub"],
        )  # fmt: skip
        svc = SyncService(sync, gate.config.gate.id, gate.store)
        started = time.monotonic()
        svc.start()
        while gate.store.outbox_depth() and time.monotonic() - started < timeout_s:
            time.sleep(0.05)
        took = time.monotonic() - started
        db = CentralDB(receiver.db_url)
        got = sum(s["records"] for s in db.stats() if s["gate"] == gate_id)
        db.close()
        out.write(
            f"sync: {got} of {queued} records stored by a local central receiver over MQTT 5 + "
            f"TLS (mosquitto on 127.0.0.1:{broker.tls}) and acknowledged end to end in "
            f"{took:.1f} s; {gate.store.outbox_depth()} left in the outbox\n"
        )
    except Exception as exc:  # the demo must never fail because of the sync step
        out.write(f"sync: skipped ({exc}); {queued} records queued in the outbox\n")
    finally:
        if svc is not None:
            svc.stop()
        if receiver is not None:
            receiver.stop()
        if broker is not None:
            broker.cleanup()
