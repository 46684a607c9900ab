"""Micro-benchmark: what offering one message to N plugins costs, per plugin.

Three ways of asking N plugins ``should_route`` for the same XACT messages,
none of which match (so only the decision is measured, not the sending):

- ``worker``: the routing engine's ``route``, the production path (cached
  hook functions, error isolation, the bool check, the breaker check);
- ``direct``: a bare loop calling each plugin's bound method, the floor;
- ``pm.hook``: pluggy's per-call fan-out, ``pm.hook.should_route(message=m)``.

Then what a plugin's style of sending costs: one plugin that matches and
sends every message, with ``self.send_to_topic(...)`` and with ``await
self.send_to_topic(...)`` (the design document's style); the difference is
the price of awaiting. And the price of checking that ``should_route``
returned a bool, against a plain truth test.

Run alone with ``python benchmarks/dispatch.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine
from types import CoroutineType
from typing import Any, cast

import dataset

from kafka_pipeline import PipelineConfig, PluginRegistry, RoutingPlugin, SourceRecord
from kafka_pipeline._broker.outbox import KafkaOutbox
from kafka_pipeline._broker.topics import TopicAdmin
from kafka_pipeline._engine.engine import RoutingEngine
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._plugin import ENQUEUED
from kafka_pipeline_xact import DownloadResultMessage, XactRoutingPlugin

__all__ = ["measure", "report"]

MESSAGES = 20_000
ROUNDS = 5
#: The issue's target for the worker's dispatch, per plugin per message.
TARGET_NS = 100
#: Most that awaiting ``send_to_topic`` may add to a call.
AWAIT_TARGET_NS = 50
#: Most that checking ``should_route``'s return type may add to a call.
BOOL_CHECK_TARGET_NS = 20


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


def _best(run: Callable[[], None], messages: int, rounds: int = ROUNDS) -> float:
    """The fastest of ``rounds`` runs, in ns per message: noise only ever adds time."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter_ns()
        run()
        best = min(best, (time.perf_counter_ns() - started) / messages)
    return best


def _engine(registry: PluginRegistry[DownloadResultMessage]) -> RoutingEngine:
    outbox = KafkaOutbox(None, cast("TopicAdmin", None), WorkerStats())
    registry.attach(outbox)
    return RoutingEngine(registry.plugins, PipelineConfig(), outbox, WorkerStats(), dlq_topic="dlq")


def _run_engine(engine: RoutingEngine, messages: list[DownloadResultMessage]) -> Callable[[], None]:
    source = SourceRecord("bench", 0, 0, b"", None, "")
    route = engine.route
    outbox = engine.outbox

    async def loop() -> None:
        for m in messages:
            outcome = route(m, source)
            if isinstance(outcome, CoroutineType):
                await outcome
            outbox.pending.clear()

    def run() -> None:
        asyncio.run(loop())

    return run


def measure(count: int, messages: list[DownloadResultMessage]) -> dict[str, float]:
    """ns per message of each way of asking ``count`` plugins."""
    registry = _registry(count)
    worker = _run_engine(_engine(registry), messages)
    functions = [p.should_route for p in registry.plugins]
    hook = registry.plugin_manager.hook.should_route

    def direct() -> None:
        for m in messages:
            for f in functions:
                f(m)

    def fan_out() -> None:
        for m in messages:
            hook(message=m)

    n = len(messages)
    return {"worker": _best(worker, n), "direct": _best(direct, n), "pm.hook": _best(fan_out, n)}


class _SendsBare(XactRoutingPlugin):
    name = "sends-bare"

    def should_route(self, message: DownloadResultMessage) -> bool:
        return True

    async def route(self, message: DownloadResultMessage) -> None:
        self.send_to_topic("bench.routed", b"{}", message.trace_id)


class _SendsAwaited(XactRoutingPlugin):
    name = "sends-awaited"

    def should_route(self, message: DownloadResultMessage) -> bool:
        return True

    async def route(self, message: DownloadResultMessage) -> None:
        await self.send_to_topic("bench.routed", b"{}", message.trace_id)


def measure_sending(messages: list[DownloadResultMessage], rounds: int = 15) -> dict[str, float]:
    """ns per message of one plugin sending each message, called bare and awaited.

    The two styles take turns, ``rounds`` times each, so that a busy moment
    of the machine cannot favour one; the best of each counts.
    """
    runs = {}
    for label, plugin in (("bare", _SendsBare), ("await", _SendsAwaited)):
        registry: PluginRegistry[DownloadResultMessage] = PluginRegistry("xact")
        registry.register(plugin())
        engine = _engine(registry)
        engine.outbox._known_topics.add("bench.routed")  # type: ignore[attr-defined]
        runs[label] = _run_engine(engine, messages)
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for label, run in runs.items():
            best[label] = min(best[label], _best(run, len(messages), rounds=1))
    return best


def measure_await(calls: int = 1_000_000) -> float:
    """ns that ``await`` adds to a call returning what ``send_to_topic`` returns, the call itself aside.

    One coroutine calls a stand-in for ``send_to_topic`` ``calls`` times, another
    awaits each call; both are driven as the engine drives a plugin's ``route``.
    """

    def send() -> Awaitable[None]:
        return ENQUEUED

    async def bare() -> None:
        for _ in range(calls):
            send()

    async def awaited() -> None:
        for _ in range(calls):
            await send()

    def drive(step: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
        def run() -> None:
            with contextlib.suppress(StopIteration):
                step().send(None)

        return run

    best = {"bare": float("inf"), "awaited": float("inf")}
    for _ in range(ROUNDS):
        best["bare"] = min(best["bare"], _best(drive(bare), calls, rounds=1))
        best["awaited"] = min(best["awaited"], _best(drive(awaited), calls, rounds=1))
    return best["awaited"] - best["bare"]


def measure_bool_check(calls: int = 1_000_000) -> float:
    """ns that ``matched is False`` / ``matched is not True`` take beyond a plain ``not matched``."""
    values = [False] * calls

    def plain() -> None:
        for matched in values:
            if not matched:
                continue

    def checked() -> None:
        for matched in values:
            if matched is False:
                continue
            if matched is not True:
                raise TypeError

    return _best(checked, calls) - _best(plain, calls)


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
    sending = measure_sending(messages)
    awaiting = measure_await()
    lines.append(
        f"send_to_topic: awaiting what it returns adds {awaiting:.0f} ns per call (target <= "
        f"{AWAIT_TARGET_NS}); a routed message through the engine takes {sending['bare']:.0f} ns "
        f"called bare, {sending['await']:.0f} ns awaited"
    )
    check = measure_bool_check()
    lines.append(f"should_route bool check: {check:.1f} ns per call (target <= {BOOL_CHECK_TARGET_NS})")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
