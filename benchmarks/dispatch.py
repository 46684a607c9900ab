"""Micro-benchmark: what offering one message to N plugins costs, per plugin.

Three ways of asking N plugins ``should_route`` for the same XACT messages,
none of which match (so only the decision is measured, not the sending):

- ``worker``: the worker's own ``MessageRouter.route``, the production path
  (cached hook functions, error isolation, breaker check);
- ``direct``: a bare loop calling each plugin's bound method, the floor;
- ``pm.hook``: pluggy's per-call fan-out, ``pm.hook.should_route(message=m)``.

Run alone with ``python benchmarks/dispatch.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import CoroutineType
from typing import Any, cast

import dataset

from kafka_pipeline import PipelineConfig, PluginRegistry, RoutingPlugin, SourceRecord
from kafka_pipeline._broker.outbox import RoutedProducer
from kafka_pipeline._broker.topics import TopicAdmin
from kafka_pipeline._engine.engine import MessageRouter
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline_xact import DownloadResultMessage, XactRoutingPlugin

__all__ = ["measure", "report"]

MESSAGES = 20_000
ROUNDS = 5
#: The issue's target for the worker's dispatch, per plugin per message.
TARGET_NS = 100


def _plugin_class(index: int) -> type[RoutingPlugin[DownloadResultMessage]]:
    """A plugin with a realistic, never-true predicate: one attribute read and one comparison."""
    limit = 1_000 + index

    def should_route(self: Any, message: DownloadResultMessage) -> bool:
        return message.retry_count > limit

    async def route(self: Any, message: DownloadResultMessage) -> None:
        return None

    namespace = {"name": f"bench-{index:02d}", "should_route": should_route, "route": route}
    return cast(
        "type[RoutingPlugin[DownloadResultMessage]]", type(f"Bench{index}", (XactRoutingPlugin,), namespace)
    )


def _registry(count: int) -> PluginRegistry[DownloadResultMessage]:
    registry: PluginRegistry[DownloadResultMessage] = PluginRegistry("xact")
    for i in range(count):
        registry.register(_plugin_class(i)())
    return registry


def _best(run: Callable[[], None], messages: int) -> float:
    """The fastest of ``ROUNDS`` runs, in ns per message: noise only ever adds time."""
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter_ns()
        run()
        best = min(best, (time.perf_counter_ns() - started) / messages)
    return best


def measure(count: int, messages: list[DownloadResultMessage]) -> dict[str, float]:
    """ns per message of each way of asking ``count`` plugins."""
    registry = _registry(count)
    producer = RoutedProducer(None, cast("TopicAdmin", None), WorkerStats())
    router = MessageRouter(registry.plugins, PipelineConfig(), producer, WorkerStats(), dlq_topic="dlq")
    source = SourceRecord("bench", 0, 0, b"", None, "")
    route = router.route
    functions = [p.should_route for p in registry.plugins]
    hook = registry.plugin_manager.hook.should_route

    async def worker_loop() -> None:
        for m in messages:
            outcome = route(m, source)
            if isinstance(outcome, CoroutineType):
                await outcome

    def worker() -> None:
        asyncio.run(worker_loop())

    def direct() -> None:
        for m in messages:
            for f in functions:
                f(m)

    def fan_out() -> None:
        for m in messages:
            hook(message=m)

    n = len(messages)
    return {"worker": _best(worker, n), "direct": _best(direct, n), "pm.hook": _best(fan_out, n)}


def report() -> str:
    messages = [
        DownloadResultMessage.model_validate_json(value) for _, _, value in dataset.generate(MESSAGES, seed=7)
    ]
    results = {count: measure(count, messages) for count in (3, 20)}
    lines = [
        "registry dispatch: should_route of N plugins, none matching, ns per message",
        f"{'plugins':>8}{'worker':>10}{'direct':>10}{'pm.hook':>10}",
    ]
    for count, ns in results.items():
        cells = "".join(f"{ns[way]:>10.0f}" for way in ("worker", "direct", "pm.hook"))
        lines.append(f"{count:>8}{cells}")
    # Between 3 and 20 plugins the per-message part (one call into the router) cancels out.
    per_plugin = (results[20]["worker"] - results[3]["worker"]) / 17
    per_message = results[3]["worker"] - 3 * per_plugin
    hook_per_plugin = (results[20]["pm.hook"] - results[3]["pm.hook"]) / 17
    verdict = "meets" if per_plugin <= TARGET_NS else "misses"
    lines.append(
        f"worker: {per_plugin:.0f} ns per plugin + {per_message:.0f} ns per message "
        f"({verdict} the target of {TARGET_NS} ns per plugin); pm.hook: {hook_per_plugin:.0f} ns per plugin"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
