"""``RoutingEngine``: the one place plugins are called, each behind its timeout, retries and breaker.

The worker, replay, ``kafka-pipeline route`` and the test kit all route
through it, so a plugin behaves the same in a test, a dry run and
production. The plugins' hook functions were resolved once by the
registry, in priority order; this loop calls them directly, with no
``pm.hook`` fan-out per message. A plugin that raises (anything, a
``BaseException`` included), times out, returns something other than a
bool from ``should_route`` or sends to a topic that does not exist fails
only its own part: its records of the failed attempt are dropped, the
message is retried for it, then parked in the DLQ for it alone, and the
other plugins and the standard processing go on as if nothing happened.

One match in ``metrics.route_timing_sample_every`` per plugin (the first
always) has its ``route`` call timed into the plugin's
:class:`~kafka_pipeline._observability.timing.Timings`: a modulo per
match, and two clock reads per sampled one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from time import perf_counter
from typing import Any

from kafka_pipeline._config import PipelineConfig
from kafka_pipeline._deadline import Ignored, drive, guarded
from kafka_pipeline._dlq import DlqReason, describe_exception, dlq_headers
from kafka_pipeline._engine.resilience import BreakerState, PluginPolicy
from kafka_pipeline._engine.slot import Failure, NotABoolError, PluginSlot
from kafka_pipeline._envelope import SourceRecord, current_source
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._outbox import Outbox
from kafka_pipeline._registry import RegisteredPlugin

log = logging.getLogger("kafka_pipeline.worker.routing")

_NOWHERE: tuple[str, ...] = ()

Sleep = Callable[[float], Awaitable[None]]


def _own_cancellation() -> bool:
    """Whether a ``CancelledError`` just caught is this task being cancelled, not a plugin's raise."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _fatal(exc: BaseException) -> bool:
    """Exceptions that must not be taken for a plugin's failure: the worker's own cancellation."""
    return isinstance(exc, asyncio.CancelledError) and _own_cancellation()


class _Started:
    """A plugin's first attempt that ``route`` began by hand and could not finish synchronously."""

    __slots__ = ("began", "error", "mark", "suspended")

    def __init__(
        self,
        mark: int,
        *,
        error: BaseException | None = None,
        suspended: tuple[Coroutine[Any, Any, Any], Any] | None = None,
        began: float | None = None,
    ) -> None:
        #: ``len(pending)`` before the attempt: where a failed attempt is cut back to.
        self.mark = mark
        self.error = error
        self.suspended = suspended
        #: When a timed attempt began (``perf_counter``); None when it is not timed.
        self.began = began

    async def finish(self, ignored: Ignored) -> None:
        """Let the attempt run to its end under the caller's timeout (or raise its error).

        ``ignored``: told when the plugin swallows the timeout's cancellation (it is closed then).
        """
        if self.error is not None:
            raise self.error
        if self.suspended is not None:
            await drive(*self.suspended, ignored)


class RoutingEngine:
    """Routes valid messages through a domain's plugins, in priority order, into ``outbox``.

    Args:
        plugins: the registry's plugins, in dispatch order.
        config: where each plugin's failure policy comes from (``resilience``, ``plugins.<name>``).
        outbox: where ``send_to_topic`` and the DLQ records go; plugins must be attached to it.
        stats: the counters each plugin's calls are counted in.
        dlq_topic: where a message a plugin failed on is parked, for that plugin.
        clock: the circuit breakers' clock (tests and the test kit replace it).
        sleep: waits between retries (tests replace it).
    """

    def __init__(
        self,
        plugins: Sequence[RegisteredPlugin[Any]],
        config: PipelineConfig,
        outbox: Outbox,
        stats: WorkerStats,
        *,
        dlq_topic: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._sample_every = config.metrics.route_timing_sample_every
        self._clock = clock
        self._sleep = sleep
        self.outbox = outbox
        self.stats = stats
        self.dlq_topic = dlq_topic
        self.slots: tuple[PluginSlot, ...] = ()
        self.replace_plugins(plugins, config)

    def replace_plugins(self, plugins: Sequence[RegisteredPlugin[Any]], config: PipelineConfig) -> None:
        """Route through ``plugins`` (in this order) from the next message on: a hot reload.

        A plugin whose instance and failure policy are unchanged keeps its
        slot, breaker state included; any other gets a new, closed breaker.
        Call it between messages, never while one is being routed.
        """
        current = {slot.name: slot for slot in self.slots}
        slots = []
        for plugin in plugins:
            policy = PluginPolicy.for_plugin(config, plugin.name)
            slot = current.get(plugin.name)
            if slot is None or slot.instance is not plugin.plugin or slot.policy != policy:
                stats = self.stats.plugin(plugin.name)
                slot = PluginSlot(plugin, policy, stats, self._clock, self._sample_every)
                stats.breaker_state = slot.breaker.state.value
            slots.append(slot)
        self.slots = tuple(slots)

    def slot(self, name: str) -> PluginSlot:
        for slot in self.slots:
            if slot.name == name:
                return slot
        raise KeyError(name)

    def route(self, message: Any, source: SourceRecord) -> Sequence[str] | Coroutine[Any, Any, Sequence[str]]:
        """Offer ``message`` to every plugin; returns the topics it was routed to.

        Runs synchronously while every plugin's ``route`` finishes without
        suspending, the usual case since ``send_to_topic`` only enqueues: no
        coroutine, task or timer per message. Once a ``route`` suspends, fails
        or sends to a topic not yet checked, the rest of the work is returned
        as a coroutine for the caller to await. ``source`` is the current
        source record (``x-source-*`` headers, the default key) meanwhile.
        """
        outbox = self.outbox
        pending = outbox.pending
        start = len(pending)
        token = current_source.set(source)
        try:
            for slot in self.slots:
                # self._matches(slot, message, source), inlined: this runs per plugin per message.
                try:
                    matched = slot.should_route(message)
                except BaseException as exc:
                    if _fatal(exc):
                        raise
                    self._refused(slot, source, exc)
                    continue
                if matched is False:
                    continue
                if matched is not True:
                    self._refused(slot, source, NotABoolError(matched))
                    continue
                slot.stats.matched += 1
                breaker = slot.breaker
                if breaker.state is not BreakerState.CLOSED and not breaker.allow():
                    self._park_open(slot, source)
                    continue
                mark = len(pending)
                # Inlined slot.timed(): this line runs for every match.
                began = (
                    perf_counter() if slot.stats.matched % slot.sample_every == slot.sample_first else None
                )
                step = slot.route(message)
                try:
                    yielded = step.send(None)
                except StopIteration as done:
                    if began is not None:
                        slot.stats.route_seconds.observe(perf_counter() - began)
                    if done.value is not None:
                        slot.returned(done.value)
                    if outbox.has_unchecked_topics:
                        return self._finish(self.slots, slot, message, source, start, _Started(mark))
                    self._succeeded(slot, source, len(pending) - mark)
                    continue
                except BaseException as exc:
                    if _fatal(exc):
                        raise
                    if began is not None:
                        slot.stats.route_seconds.observe(perf_counter() - began)
                    return self._finish(self.slots, slot, message, source, start, _Started(mark, error=exc))
                started = _Started(mark, suspended=(step, yielded), began=began)
                return self._finish(self.slots, slot, message, source, start, started)
        finally:
            current_source.reset(token)
        # Most messages match nothing: answer them without another call.
        return _NOWHERE if len(pending) == start else self._topics(start)

    async def route_one(self, name: str, message: Any, source: SourceRecord) -> Sequence[str]:
        """Offer ``message`` to plugin ``name`` alone, as :meth:`route` would: a replay.

        Raises ``KeyError`` when no plugin of that name is routed here.
        """
        slot = self.slot(name)
        return await self._finish((slot,), None, message, source, len(self.outbox.pending), None)

    def _topics(self, start: int) -> Sequence[str]:
        pending = self.outbox.pending
        if len(pending) == start:
            return _NOWHERE
        topics = [r.topic for r in pending[start:] if r.plugin is not None]
        return list(dict.fromkeys(topics)) if len(topics) > 1 else topics

    async def _finish(  # noqa: PLR0917 - positional: called per message a plugin suspends on
        self,
        slots: tuple[PluginSlot, ...],
        slot: PluginSlot | None,
        message: Any,
        source: SourceRecord,
        start: int,
        started: _Started | None,
    ) -> Sequence[str]:
        """The rest of routing ``message`` through ``slots``: after ``slot``'s unfinished attempt, or all."""
        token = current_source.set(source)
        try:
            rest = slots
            if slot is not None and started is not None:
                await self._attempt(slot, message, source, started)
                rest = slots[slots.index(slot) + 1 :]
            for later in rest:
                if not self._matches(later, message, source):
                    continue
                if later.breaker.state is BreakerState.CLOSED or later.breaker.allow():
                    await self._attempt(later, message, source, timed=later.timed())
                else:
                    self._park_open(later, source)
        finally:
            current_source.reset(token)
        return self._topics(start)

    def _matches(self, slot: PluginSlot, message: Any, source: SourceRecord) -> bool:
        """``slot``'s decision on ``message``, counted; a failed one is parked. :meth:`route` inlines it."""
        try:
            matched = slot.should_route(message)
        except BaseException as exc:
            if _fatal(exc):
                raise
            self._refused(slot, source, exc)
            return False
        if matched is False:
            return False
        if matched is not True:
            self._refused(slot, source, NotABoolError(matched))
            return False
        slot.stats.matched += 1
        return True

    async def _attempt(
        self,
        slot: PluginSlot,
        message: Any,
        source: SourceRecord,
        started: _Started | None = None,
        *,
        timed: bool = False,
    ) -> None:
        """Try ``slot``'s ``route`` until it succeeds or its retries are spent.

        ``timed``: time the first try (a first try begun by :meth:`route` carries its own start).
        """
        policy = slot.policy
        outbox = self.outbox
        pending = outbox.pending
        attempts = policy.max_retries + 1
        error: BaseException | None = None
        for attempt in range(attempts):
            mark = len(pending)
            began = None
            if attempt == 0:
                began = started.began if started is not None else perf_counter() if timed else None
            try:
                # The deadline starts when a first attempt begun by ``route`` first
                # waits; before that it ran without yielding, which no timeout can stop.
                async with asyncio.timeout(policy.timeout_seconds):
                    try:
                        if attempt == 0 and started is not None:
                            mark = started.mark
                            await started.finish(slot.ignored_cancellation)
                        else:
                            returned = await guarded(slot.route(message), slot.ignored_cancellation)
                            if returned is not None:
                                slot.returned(returned)
                    finally:
                        if began is not None:  # a timeout too: it took that long
                            slot.stats.route_seconds.observe(perf_counter() - began)
                    await outbox.check_new_topics()
            except BaseException as exc:
                if _fatal(exc):
                    raise
                outbox.rollback(mark)
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
                    await self._sleep(policy.backoff(attempt))
                continue
            self._succeeded(slot, source, len(pending) - mark)
            return
        assert error is not None
        self._give_up(slot, source, error, "route")

    def _succeeded(self, slot: PluginSlot, source: SourceRecord, sent: int) -> None:
        slot.stats.sent += sent
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

    def _refused(self, slot: PluginSlot, source: SourceRecord, exc: BaseException) -> None:
        """``should_route`` failed: a failure of this plugin for this message, breaker permitting."""
        if slot.breaker.allow():
            self._give_up(slot, source, exc, "should_route")
        else:
            self._park_open(slot, source)

    def _give_up(self, slot: PluginSlot, source: SourceRecord, exc: BaseException, stage: str) -> None:
        error = describe_exception(exc, slot.policy.timeout_seconds)
        slot.failure = Failure(stage, exc)
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
            self.dlq_topic,
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
            trace=source.trace_context,
        )
        self.outbox.dead_letter(self.dlq_topic, source.key, source.value, headers)
        slot.stats.dlq += 1
        self.stats.dlq_by_reason[reason.value] += 1
