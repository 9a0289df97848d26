"""The console's colour-change check sees every lists snapshot the gate took, not a sample:
a household pushed new (v1) and recoloured (v2) between two of its one-second ticks is a
colour change. Before, the check compared v0 with v2 directly, where the household was new,
so the change was lost (seen as a flaky booth walk-through on a loaded machine)."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from types import SimpleNamespace

from edge.console import watch
from edge.core.events import EventBus
from edge.gate.rules.lists import ColourClass, Household, ListsSnapshot
from edge.store.sqlite import Store


def _snap(version: int, colour: ColourClass | None) -> ListsSnapshot:
    households = {} if colour is None else {"3-1-103": Household(colour=colour)}
    return ListsSnapshot(version=version, households=households)


def _colour_alerts(store: Store) -> list[str]:
    return [
        r.body["reason"]
        for r in store.records()
        if r.kind == "alert" and r.body.get("alert") == "colour_change"
    ]


def _console(store: Store, log: deque[ListsSnapshot], stepped: bool) -> SimpleNamespace:
    ctx = SimpleNamespace(
        gate_id="gate-w",
        store=store,
        events=EventBus(),
        lists=lambda: log[-1],
        lists_since=(lambda v: [s for s in log if s.version > v]) if stepped else None,
    )
    return SimpleNamespace(ctx=ctx, settings=SimpleNamespace(escalate_after_s=0), board=None)


def test_two_pushes_within_one_tick_are_two_steps(tmp_path: Path) -> None:
    store = Store(tmp_path / "gate.sqlite3")
    log: deque[ListsSnapshot] = deque([_snap(0, None)])
    con = _console(store, log, stepped=True)
    w = watch.Watch(con)  # type: ignore[arg-type]
    log.append(_snap(1, ColourClass.GREEN))  # new household: not a change
    log.append(_snap(2, ColourClass.RED))  # recoloured before the next tick
    w.check(100.0)
    assert _colour_alerts(store) == ["colour green → red"]
    w.check(101.0)  # nothing new: nothing more
    assert len(_colour_alerts(store)) == 1


def test_without_the_log_the_jump_hides_the_change(tmp_path: Path) -> None:
    """What the sampled check did (a context that cannot list the steps): the control."""
    store = Store(tmp_path / "gate.sqlite3")
    log: deque[ListsSnapshot] = deque([_snap(0, None)])
    w = watch.Watch(_console(store, log, stepped=False))  # type: ignore[arg-type]
    log.append(_snap(1, ColourClass.GREEN))
    log.append(_snap(2, ColourClass.RED))
    w.check(100.0)
    assert _colour_alerts(store) == []


def test_stop_waits_for_the_check_in_flight(tmp_path: Path) -> None:
    """Stopping the console waits (bounded) for a check that is running, so the store is not
    closed under it: before, ``stop`` returned at once and the gate closed the store while an
    escalation was being written ("Cannot operate on a closed database", seen once in CI)."""
    import threading
    import time

    from gpiozero.pins.mock import MockFactory

    from edge.app.config import Config
    from edge.app.console_context import console_context
    from edge.app.gate import build_gate
    from edge.console import ConsoleServer
    from edge.console.settings import ConsoleSettings
    from edge.store.settings import StoreSettings

    gate = build_gate(
        Config(store=StoreSettings(path=tmp_path / "gate.sqlite3")), pin_factory=MockFactory()
    )
    ctx = console_context(gate)
    started, finished = threading.Event(), threading.Event()

    def slow_housekeeping() -> None:  # a check that takes a while (a slow disk)
        started.set()
        time.sleep(0.8)
        finished.set()

    ctx.housekeeping = slow_housekeeping
    server = ConsoleServer(ctx, ConsoleSettings(port=0)).start()
    try:
        assert started.wait(5), "the console's checks never ran"
    finally:
        server.stop()
        stopped_with_check_done = finished.is_set()
        gate.close()
    assert stopped_with_check_done
