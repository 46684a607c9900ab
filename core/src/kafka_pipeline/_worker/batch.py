"""One poll batch through the pipeline: validate, route, hand to the sinks, note the offsets.

Per source record: validate it (invalid input goes to the DLQ), route it
through the plugins, hand it to every sink when its domain stores it, and
advance the checkpoint. Nothing here is durable yet: the
:class:`~kafka_pipeline._worker.checkpoint.Checkpoint` commits it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from types import CoroutineType
from typing import Any, cast

from pydantic import ValidationError

from kafka_pipeline._dlq import DlqReason, describe_exception, describe_validation_error, dlq_headers
from kafka_pipeline._domain import Domain
from kafka_pipeline._engine.engine import RoutingEngine
from kafka_pipeline._envelope import SourceRecord, trace_context
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._outbox import Outbox
from kafka_pipeline._sinks.sink import Sink
from kafka_pipeline._worker.checkpoint import Checkpoint

log = logging.getLogger("kafka_pipeline.worker.batch")


class BatchProcessor:
    """Validates, routes and stores the records of poll batches."""

    def __init__(
        self,
        domain: Domain[Any],
        engine: RoutingEngine,
        outbox: Outbox,
        *,
        sinks: Sequence[Sink],
        checkpoint: Checkpoint,
        stats: WorkerStats,
        dlq_topic: str,
    ) -> None:
        self._domain = domain
        #: The engine in use; a hot reload changes its plugins, never the engine.
        self.engine = engine
        self._outbox = outbox
        self._sinks = tuple(sinks)
        self._checkpoint = checkpoint
        self._stats = stats
        self._dlq_topic = dlq_topic

    async def process(self, topic: str, partition: int, records: Sequence[Any]) -> None:
        """Validate, route and store ``records`` of one partition (aiokafka ``ConsumerRecord``\\ s)."""
        if not records:
            return
        parse = self._domain.parse
        trace_id_of = self._domain.trace_id
        table_for = self._domain.table_for
        adders = [sink.add for sink in self._sinks]
        route = self.engine.route
        ingested_at_us = time.time_ns() // 1000
        invalid = stored = routed = skipped = 0
        for record in records:
            value = record.value
            if not value:
                self._reject(record, topic, partition, DlqReason.INVALID_JSON, _empty(value))
                invalid += 1
                continue
            try:
                message = parse(value)
                trace_id = trace_id_of(message)
                table = table_for(message)
            except ValidationError as exc:
                reason, error = describe_validation_error(exc)
                self._reject(record, topic, partition, reason, error)
                invalid += 1
                continue
            except Exception as exc:  # the domain's trace-id or status function failed on it
                self._reject(record, topic, partition, DlqReason.SCHEMA, describe_exception(exc))
                invalid += 1
                continue
            # Only a record with headers pays for looking for a W3C traceparent among them.
            headers = record.headers
            source = SourceRecord(
                topic,
                partition,
                record.offset,
                value,
                message,
                trace_id,
                record.key,
                trace_context(headers) if headers else None,
            )
            outcome = route(message, source)
            # Only a plugin that suspended, failed or met a new topic costs an await.
            if isinstance(outcome, CoroutineType):
                outcome = await outcome
            routed_to = cast("Sequence[str]", outcome)
            if routed_to:
                routed += 1
            if table is not None:
                for add in adders:
                    add(table, source, routed_to, ingested_at_us)
                stored += 1
            elif not routed_to:
                skipped += 1
        self._checkpoint.advance(topic, partition, records[-1].offset + 1)
        stats = self._stats
        stats.consumed += len(records)
        counts = stats.messages
        counts["invalid"] += invalid
        counts["stored"] += stored
        counts["routed"] += routed
        counts["skipped"] += skipped

    def _reject(self, record: Any, topic: str, partition: int, reason: DlqReason, error: str) -> None:
        log.warning(
            "invalid message at %s[%d]@%d parked in DLQ %s: %s",
            topic,
            partition,
            record.offset,
            self._dlq_topic,
            error,
            extra={"topic": topic, "partition": partition, "offset": record.offset},
        )
        headers = dlq_headers(
            reason,
            error,
            topic=topic,
            partition=partition,
            offset=record.offset,
            trace=trace_context(record.headers) if record.headers else None,
        )
        self._outbox.dead_letter(self._dlq_topic, record.key, record.value, headers)
        self._stats.dlq_by_reason[reason.value] += 1


def _empty(value: bytes | None) -> str:
    return "null value (tombstone): nothing to parse" if value is None else "empty value: nothing to parse"
