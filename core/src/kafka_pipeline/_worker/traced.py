"""The worker's parts with spans, chosen at start-up when tracing is on; the plain ones otherwise.

:func:`routing_engine` and :func:`batch_processor` are what the worker and
replay build their engine and batch processor with: with ``tracing`` None
(the default) they are the untraced classes, unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kafka_pipeline._engine.engine import RoutingEngine
from kafka_pipeline._engine.traced import TracedRoutingEngine
from kafka_pipeline._observability.tracing import Tracing
from kafka_pipeline._worker.batch import BatchProcessor


class TracedBatchProcessor(BatchProcessor):
    """A :class:`BatchProcessor` with a span around each partition's records of a poll."""

    def __init__(self, *args: Any, tracing: Tracing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tracing = tracing

    async def process(self, topic: str, partition: int, records: Sequence[Any]) -> None:
        if not records:
            return
        with self._tracing.batch_span(topic, partition, records):
            await super().process(topic, partition, records)


def routing_engine(*args: Any, tracing: Tracing | None, **kwargs: Any) -> RoutingEngine:
    """A :class:`RoutingEngine`, traced when ``tracing`` is given."""
    if tracing is None:
        return RoutingEngine(*args, **kwargs)
    return TracedRoutingEngine(*args, tracing=tracing, **kwargs)


def batch_processor(*args: Any, tracing: Tracing | None, **kwargs: Any) -> BatchProcessor:
    """A :class:`BatchProcessor`, traced when ``tracing`` is given."""
    if tracing is None:
        return BatchProcessor(*args, **kwargs)
    return TracedBatchProcessor(*args, tracing=tracing, **kwargs)
