"""``PluginRegistry``: dispatch order, blocking, and one plugin's failure never stopping the others.

Messages are dispatched through the routing engine, as everywhere.
"""

from __future__ import annotations

from typing import Any

import pytest

from kafka_pipeline import PluginRegistry, RoutingPlugin, SourceRecord, parse_config
from kafka_pipeline._engine.engine import RoutingEngine
from kafka_pipeline._engine.offer import PluginOutcome, offer
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._outbox import Outbox

MESSAGE = {"trace_id": "w-1", "colour": "red"}


def recorder(
    name: str, log: list[str], *, priority: int = 0, fail_in: str | None = None
) -> RoutingPlugin[Any]:
    """A plugin that matches everything and writes each hook call to ``log``; raises in ``fail_in``."""

    def act(hook: str) -> None:
        if hook == fail_in:
            raise RuntimeError(f"{name} broke in {hook}")
        log.append(f"{hook} {name}")

    class Recorder(RoutingPlugin[Any]):
        default_priority = priority

        def should_route(self, message: Any) -> bool:
            act("should_route")
            return True

        async def route(self, message: Any) -> None:
            act("route")

        async def start(self) -> None:
            act("start")

        async def stop(self) -> None:
            act("stop")

    Recorder.name = name
    return Recorder()


async def dispatch(registry: PluginRegistry[Any], message: Any) -> list[PluginOutcome]:
    outbox = Outbox()
    registry.attach(outbox)
    config = parse_config({"resilience": {"retry_backoff_seconds": 0}})
    engine = RoutingEngine(registry.plugins, config, outbox, WorkerStats(), dlq_topic="widgets.dlq")
    result = await offer(engine, message, SourceRecord("widgets", 0, 0, b"{}", message, "w-1"))
    return result.outcomes


def routed(log: list[str]) -> list[str]:
    return [entry.removeprefix("route ") for entry in log if entry.startswith("route ")]


@pytest.fixture
def log() -> list[str]:
    return []


@pytest.fixture
def registry() -> PluginRegistry[Any]:
    return PluginRegistry("widgets")


async def test_higher_priority_plugins_route_first(registry: PluginRegistry[Any], log: list[str]) -> None:
    registry.register(recorder("low", log, priority=1))
    registry.register(recorder("high", log, priority=10))
    registry.register(recorder("middle", log, priority=5))

    await dispatch(registry, MESSAGE)

    assert routed(log) == ["high", "middle", "low"]


async def test_plugins_of_equal_priority_route_in_name_order(
    registry: PluginRegistry[Any], log: list[str]
) -> None:
    for name in ("zeta", "alpha", "mu"):
        registry.register(recorder(name, log))

    await dispatch(registry, MESSAGE)

    assert routed(log) == ["alpha", "mu", "zeta"]


async def test_a_configured_priority_overrides_the_class_default(
    registry: PluginRegistry[Any], log: list[str]
) -> None:
    registry.register(recorder("first-by-default", log, priority=10))
    registry.register(recorder("promoted", log, priority=0), priority=50)

    await dispatch(registry, MESSAGE)

    assert routed(log) == ["promoted", "first-by-default"]


def test_a_blocked_name_cannot_be_registered_later(registry: PluginRegistry[Any], log: list[str]) -> None:
    registry.block("unwanted")

    accepted = registry.register(recorder("unwanted", log))

    assert (accepted, "unwanted" in registry) == (False, False)


async def test_blocking_a_registered_plugin_takes_it_out_of_dispatch(
    registry: PluginRegistry[Any], log: list[str]
) -> None:
    registry.register(recorder("kept", log))
    registry.register(recorder("blocked", log))

    registry.block("blocked")
    await dispatch(registry, MESSAGE)

    assert routed(log) == ["kept"]


async def test_an_unregistered_plugin_no_longer_sees_messages(
    registry: PluginRegistry[Any], log: list[str]
) -> None:
    registry.register(recorder("kept", log))
    registry.register(recorder("removed", log))

    registry.unregister("removed")
    await dispatch(registry, MESSAGE)

    assert routed(log) == ["kept"]


async def test_a_plugin_raising_in_should_route_does_not_keep_the_others_from_routing(
    registry: PluginRegistry[Any], log: list[str]
) -> None:
    registry.register(recorder("broken", log, priority=10, fail_in="should_route"))
    registry.register(recorder("healthy", log))

    outcomes = await dispatch(registry, MESSAGE)

    assert routed(log) == ["healthy"]
    assert [(o.plugin, o.stage, str(o.error)) for o in outcomes if o.error] == [
        ("broken", "should_route", "broken broke in should_route")
    ]


async def test_a_plugin_raising_in_route_does_not_keep_the_others_from_routing(
    registry: PluginRegistry[Any], log: list[str]
) -> None:
    registry.register(recorder("broken", log, priority=10, fail_in="route"))
    registry.register(recorder("healthy", log))

    outcomes = await dispatch(registry, MESSAGE)

    assert routed(log) == ["healthy"]
    assert [(o.plugin, o.matched, o.stage) for o in outcomes if o.error] == [("broken", True, "route")]


async def test_one_plugin_failing_to_start_does_not_keep_the_others_from_starting(
    registry: PluginRegistry[Any], log: list[str]
) -> None:
    registry.register(recorder("first", log, priority=2))
    registry.register(recorder("broken", log, priority=1, fail_in="start"))
    registry.register(recorder("last", log, priority=0))

    errors = await registry.start()

    assert log == ["start first", "start last"]
    assert list(errors) == ["broken"]


async def test_plugins_stop_in_reverse_priority_order_even_when_one_fails_to_stop(
    registry: PluginRegistry[Any], log: list[str]
) -> None:
    registry.register(recorder("first", log, priority=2))
    registry.register(recorder("broken", log, priority=1, fail_in="stop"))
    registry.register(recorder("last", log, priority=0))

    errors = await registry.stop()

    assert log == ["stop last", "stop first"]
    assert list(errors) == ["broken"]
