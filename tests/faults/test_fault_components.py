"""A part that fails to start is tried again alone, with back-off, and joins when it works."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.app.components import (
    RETRY_FIRST_S,
    Component,
    FailedComponent,
    Runtime,
    restart_failed,
    start_components,
)


@dataclass
class Part:
    name: str

    def problem(self) -> str:
        return ""

    def close(self) -> None:
        pass


def test_failed_component_restarted_alone_with_back_off() -> None:
    tries = {"flaky": 0}

    def flaky(runtime: Runtime) -> Component | None:
        tries["flaky"] += 1
        if tries["flaky"] < 3:
            raise OSError("port 8443 in use")
        return Part("flaky")

    def steady(runtime: Runtime) -> Component | None:
        return Part("steady")

    factories = [("steady", steady), ("flaky", flaky)]
    runtime: Any = Runtime.__new__(Runtime)
    runtime.started = {}
    parts = start_components(runtime, factories)
    assert isinstance(parts[1], FailedComponent) and parts[0].name == "steady"
    t0 = parts[1].next_try
    assert restart_failed(runtime, factories, parts, now=t0 - 1) == parts  # not yet
    again = restart_failed(runtime, factories, parts, now=t0)
    assert isinstance(again[1], FailedComponent) and again[1].attempts == 2
    assert again[1].next_try - t0 >= 2 * RETRY_FIRST_S - 1e-6  # backs off
    assert again[0] is parts[0], "the working part is not touched"
    done = restart_failed(runtime, factories, again, now=again[1].next_try)
    assert isinstance(done[1], Part) and runtime.started["flaky"] is done[1]
    assert tries["flaky"] == 3
