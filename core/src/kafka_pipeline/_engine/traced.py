"""``TracedRoutingEngine``: the routing engine with a span around every plugin's route call.

Chosen at start-up, only when tracing is on
(:func:`~kafka_pipeline._observability.tracing.tracing_from_environment`),
so that the untraced engine's per-message path holds not even a check for
it. It gives up the synchronous fast path: a span must stay current
across a plugin's awaits, which only the asynchronous path allows, and a
span costs far more than the coroutine anyway.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import Any

from kafka_pipeline._engine.engine import RoutingEngine, _Started
from kafka_pipeline._engine.slot import PluginSlot
from kafka_pipeline._envelope import SourceRecord
from kafka_pipeline._observability.tracing import NOTHING_SENT, PLUGIN_ERROR, ROUTED, Tracing


class TracedRoutingEngine(RoutingEngine):
    """A :class:`RoutingEngine` whose plugins' route calls are spans of ``tracing``.

    While a plugin's call runs, ``source.trace_context`` is its span's, so
    that what it sends, and its DLQ record if it fails, continue the trace
    under that span.
    """

    def __init__(self, *args: Any, tracing: Tracing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tracing = tracing

    def route(self, message: Any, source: SourceRecord) -> Coroutine[Any, Any, Sequence[str]]:
        return self._finish(self.slots, None, message, source, len(self.outbox.pending), None)

    async def _attempt(
        self,
        slot: PluginSlot,
        message: Any,
        source: SourceRecord,
        started: _Started | None = None,
        *,
        timed: bool = False,
    ) -> None:
        stats = slot.stats
        errors, retries = stats.errors, stats.retries
        pending = self.outbox.pending
        mark = len(pending)
        own = source.trace_context
        with self.tracing.route_span(slot.name, source) as span:
            source.trace_context = self.tracing.headers_of(span)
            try:
                await super()._attempt(slot, message, source, started, timed=timed)
            finally:
                source.trace_context = own
            routed_to = list(dict.fromkeys(r.topic for r in pending[mark:] if r.plugin == slot.name))
            failure = slot.failure if stats.errors > errors else None
            self.tracing.outcome(
                span,
                PLUGIN_ERROR if failure is not None else ROUTED if routed_to else NOTHING_SENT,
                error=failure.error if failure is not None else None,
                routed_to=routed_to,
                retries=stats.retries - retries,
            )
