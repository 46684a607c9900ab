"""Offering one message to every plugin, each behind its timeout, retries and breaker.

The plugins' hook functions were resolved once by the registry, in priority
order; this loop calls them directly, with no ``pm.hook`` fan-out per
message. A plugin that raises, times out or sends to a topic that does not
exist fails only its own part: its records of the failed attempt are
dropped, the message is retried for it, then parked in the DLQ for it alone,
and the other plugins and the Delta row go on as if nothing happened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from kafka_pipeline.config import PipelineConfig
from kafka_pipeline.envelope import SourceRecord
from kafka_pipeline.registry import RegisteredPlugin
from kafka_pipeline.worker.dlq import DlqReason, describe_exception, dlq_headers
from kafka_pipeline.worker.producer import RoutedProducer
from kafka_pipeline.worker.resilience import BreakerState, CircuitBreaker, PluginPolicy
from kafka_pipeline.worker.stats import PluginStats, WorkerStats

__all__ = ["MessageRouter", "PluginSlot"]

log = logging.getLogger(__name__)

_NOWHERE: tuple[str, ...] = ()


class PluginSlot:
    """A plugin's hook functions with its failure policy, breaker and counters."""

    __slots__ = ("breaker", "name", "policy", "route", "should_route", "stats")

    def __init__(
        self,
        plugin: RegisteredPlugin[Any],
        policy: PluginPolicy,
        stats: PluginStats,
        clock: Callable[[], float],
    ) -> None:
        self.name = plugin.name
        self.should_route: Callable[[Any], bool] = plugin.should_route
        self.route: Callable[[Any], Awaitable[None]] = plugin.route
        self.policy = policy
        self.breaker = CircuitBreaker(policy.failure_threshold, policy.reset_seconds, clock)
        self.stats = stats


class MessageRouter:
    """Routes valid messages through a domain's plugins, in priority order."""

    def __init__(
        self,
        plugins: Sequence[RegisteredPlugin[Any]],
        config: PipelineConfig,
        producer: RoutedProducer,
        stats: WorkerStats,
        *,
        dlq_topic: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots = tuple(
            PluginSlot(p, PluginPolicy.for_plugin(config, p.name), stats.plugin(p.name), clock)
            for p in plugins
        )
        self._producer = producer
        self._stats = stats
        self._dlq_topic = dlq_topic

    async def route(self, message: Any, source: SourceRecord) -> Sequence[str]:
        """Offer ``message`` to every plugin; returns the topics it was routed to.

        ``source`` must already be the current source (``envelope.current_source``).
        """
        pending = self._producer.pending
        start = len(pending)
        for slot in self.slots:
            try:
                matched = slot.should_route(message)
            except Exception as exc:
                if slot.breaker.allow():
                    self._give_up(slot, source, exc, "should_route")
                else:
                    self._park_open(slot, source)
                continue
            if not matched:
                continue
            slot.stats.matched += 1
            if slot.breaker.state is BreakerState.CLOSED or slot.breaker.allow():
                await self._attempt(slot, message, source)
            else:
                self._park_open(slot, source)
        if len(pending) == start:
            return _NOWHERE
        topics = [r.topic for r in pending[start:] if r.plugin is not None]
        return list(dict.fromkeys(topics)) if len(topics) > 1 else topics

    async def _attempt(self, slot: PluginSlot, message: Any, source: SourceRecord) -> None:
        policy = slot.policy
        producer = self._producer
        pending = producer.pending
        attempts = policy.max_retries + 1
        error: Exception | None = None
        for attempt in range(attempts):
            mark = len(pending)
            try:
                async with asyncio.timeout(policy.timeout_seconds):
                    await slot.route(message)
                    await producer.check_new_topics()
            except Exception as exc:
                producer.rollback(mark)
                error = exc
                if isinstance(exc, TimeoutError):
                    slot.stats.timeouts += 1
                log.warning(
                    "plugin %s failed on %s[%d]@%d, attempt %d of %d: %s",
                    slot.name,
                    source.topic,
                    source.partition,
                    source.offset,
                    attempt + 1,
                    attempts,
                    describe_exception(exc, policy.timeout_seconds),
                    extra={"plugin": slot.name, "trace_id": source.trace_id},
                )
                if attempt + 1 < attempts:
                    slot.stats.retries += 1
                    await asyncio.sleep(policy.backoff(attempt))
                continue
            slot.stats.sent += len(pending) - mark
            breaker = slot.breaker
            if breaker.failures or breaker.state is not BreakerState.CLOSED:
                if breaker.state is BreakerState.HALF_OPEN:
                    log.warning(
                        "plugin %s recovered: circuit breaker closed",
                        slot.name,
                        extra={"plugin": slot.name, "trace_id": source.trace_id},
                    )
                breaker.record_success()
                slot.stats.breaker_state = breaker.state.value
            return
        assert error is not None
        self._give_up(slot, source, error, "route")

    def _give_up(self, slot: PluginSlot, source: SourceRecord, exc: BaseException, stage: str) -> None:
        error = describe_exception(exc, slot.policy.timeout_seconds)
        slot.stats.errors += 1
        opened = slot.breaker.record_failure()
        slot.stats.breaker_state = slot.breaker.state.value
        log.error(
            "plugin %s failed in %s on %s[%d]@%d (%s); message parked in DLQ %s for this plugin",
            slot.name,
            stage,
            source.topic,
            source.partition,
            source.offset,
            error,
            self._dlq_topic,
            extra={"plugin": slot.name, "trace_id": source.trace_id},
        )
        if opened:
            slot.stats.breaker_opened += 1
            log.error(
                "circuit breaker of plugin %s opened after %d failed messages in a row; its matches "
                "go to the DLQ (circuit_open) for the next %gs, then one is tried again",
                slot.name,
                slot.breaker.failures,
                slot.breaker.reset_seconds,
                extra={"plugin": slot.name, "trace_id": source.trace_id},
            )
        self._park(slot, source, DlqReason.PLUGIN_ERROR, f"{stage}: {error}")

    def _park_open(self, slot: PluginSlot, source: SourceRecord) -> None:
        log.debug(
            "plugin %s circuit open; message parked in DLQ",
            slot.name,
            extra={"plugin": slot.name, "trace_id": source.trace_id},
        )
        self._park(
            slot,
            source,
            DlqReason.CIRCUIT_OPEN,
            f"circuit breaker open after {slot.breaker.failures} failed messages in a row; "
            "the plugin was not called",
        )

    def _park(self, slot: PluginSlot, source: SourceRecord, reason: DlqReason, error: str) -> None:
        headers = dlq_headers(
            reason,
            error,
            topic=source.topic,
            partition=source.partition,
            offset=source.offset,
            plugin=slot.name,
            trace_id=source.trace_id,
        )
        self._producer.dead_letter(self._dlq_topic, source.key, source.value, headers)
        slot.stats.dlq += 1
        self._stats.dlq_by_reason[reason.value] += 1
