"""The routing engine: plugins that never wait are routed synchronously, the others as before."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import CoroutineType
from typing import Any, cast

import pytest
from pydantic import BaseModel

from kafka_pipeline import PluginRegistry, RoutingPlugin, SourceRecord, parse_config
from kafka_pipeline._broker.outbox import KafkaOutbox
from kafka_pipeline._broker.topics import TopicAdmin
from kafka_pipeline._engine.engine import RoutingEngine
from kafka_pipeline._observability.stats import WorkerStats


class Thing(BaseModel):
    trace_id: str


class SendsAtOnce(RoutingPlugin[Thing]):
    name = "sends-at-once"
    domain = "things"

    def should_route(self, message: Thing) -> bool:
        return True

    async def route(self, message: Thing) -> None:
        self.send_to_topic("at-once", message)


class WaitsThenSends(RoutingPlugin[Thing]):
    name = "waits-then-sends"
    domain = "things"
    default_priority = 10

    def should_route(self, message: Thing) -> bool:
        return True

    async def route(self, message: Thing) -> None:
        await asyncio.sleep(0)
        self.send_to_topic("after-waiting", message)


class SendsThenRaises(RoutingPlugin[Thing]):
    name = "sends-then-raises"
    domain = "things"
    default_priority = 5

    def should_route(self, message: Thing) -> bool:
        return True

    async def route(self, message: Thing) -> None:
        self.send_to_topic("never", message)
        raise ValueError("broken rule")


class Hangs(RoutingPlugin[Thing]):
    name = "hangs"
    domain = "things"

    def should_route(self, message: Thing) -> bool:
        return True

    async def route(self, message: Thing) -> None:
        await asyncio.sleep(30)


class _EveryTopicExists:
    async def require_routed(self, topic: str, plugin: str) -> None:
        return None


def make_router(*plugins: RoutingPlugin[Thing], **resilience: Any) -> tuple[RoutingEngine, KafkaOutbox]:
    registry: PluginRegistry[Thing] = PluginRegistry("things")
    for plugin in plugins:
        registry.register(plugin)
    stats = WorkerStats()
    producer = KafkaOutbox(None, cast("TopicAdmin", _EveryTopicExists()), stats)
    registry.attach(producer)
    config = parse_config({"resilience": {"retry_backoff_seconds": 0, **resilience}})
    return RoutingEngine(registry.plugins, config, producer, stats, dlq_topic="things.dlq"), producer


async def route(router: RoutingEngine, message: Thing) -> Sequence[str]:
    source = SourceRecord("things", 0, 7, message.model_dump_json().encode(), message, message.trace_id)
    outcome = router.route(message, source)
    return await outcome if isinstance(outcome, CoroutineType) else cast("Sequence[str]", outcome)


def sent_to(producer: KafkaOutbox) -> list[str]:
    return [r.topic for r in producer.pending]


async def test_plugins_that_never_wait_are_routed_without_a_coroutine_once_topics_are_known() -> None:
    router, _ = make_router(SendsAtOnce())
    await route(router, Thing(trace_id="t-0"))  # the first record to a topic has the topic checked
    message = Thing(trace_id="t-1")
    source = SourceRecord("things", 0, 8, b"{}", message, "t-1")

    outcome = router.route(message, source)

    assert list(cast("Sequence[str]", outcome)) == ["at-once"]


async def test_a_plugin_that_waits_before_sending_still_routes() -> None:
    router, producer = make_router(WaitsThenSends())

    topics = await route(router, Thing(trace_id="t-1"))

    assert (list(topics), sent_to(producer)) == (["after-waiting"], ["after-waiting"])


async def test_records_keep_priority_order_when_an_earlier_plugin_waits() -> None:
    router, producer = make_router(SendsAtOnce(), WaitsThenSends())

    await route(router, Thing(trace_id="t-1"))

    assert sent_to(producer) == ["after-waiting", "at-once"]


async def test_a_plugin_raising_without_waiting_is_retried_then_parked_alone() -> None:
    router, producer = make_router(SendsThenRaises(), SendsAtOnce(), max_retries=1)

    await route(router, Thing(trace_id="t-1"))

    assert sent_to(producer) == ["things.dlq", "at-once"]
    assert router.slots[0].stats.retries == 1


@pytest.mark.parametrize("plugin", [WaitsThenSends, SendsAtOnce])
async def test_a_successful_plugin_counts_what_it_sent(plugin: type[RoutingPlugin[Thing]]) -> None:
    router, _ = make_router(plugin())

    await route(router, Thing(trace_id="t-1"))

    assert router.slots[0].stats.sent == 1


async def test_a_plugin_that_hangs_after_waiting_times_out_into_the_dlq() -> None:
    router, producer = make_router(Hangs(), timeout_seconds=0.05, max_retries=0)

    await route(router, Thing(trace_id="t-1"))

    assert (sent_to(producer), router.slots[0].stats.timeouts) == (["things.dlq"], 1)
