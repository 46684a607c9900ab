"""One poll batch through the pipeline, and the flush that makes it durable.

Per source record: validate it (invalid input goes to the DLQ), route it
through the plugins, queue its Delta row, remember its offset. A flush then
runs in the only safe order: wait for every routed and DLQ record to be
acknowledged, commit the Delta appends, and only then commit the Kafka
offsets. If the process dies anywhere in between, the uncommitted offsets
are consumed again; routed topics may see a record twice, Delta never does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import CoroutineType
from typing import Any, cast

from pydantic import ValidationError

from kafka_pipeline._broker.outbox import RoutedProducer
from kafka_pipeline._dlq import DlqReason, describe_exception, describe_validation_error, dlq_headers
from kafka_pipeline._domain import Domain
from kafka_pipeline._engine.engine import MessageRouter
from kafka_pipeline._envelope import SourceRecord, current_source
from kafka_pipeline._observability.stats import FlushReport, WorkerStats
from kafka_pipeline._sinks.delta import DeltaWriter

__all__ = ["BatchProcessor", "CommitOffsets", "FlushListener", "Offsets"]

log = logging.getLogger("kafka_pipeline.worker.batch")

#: Next offset to consume per ``(topic, partition)``.
Offsets = dict[tuple[str, int], int]
CommitOffsets = Callable[[Offsets], Awaitable[None]]
FlushListener = Callable[[FlushReport], None]


class BatchProcessor:
    """Validates, routes and stores poll batches; flushes them in order."""

    def __init__(
        self,
        domain: Domain[Any],
        router: MessageRouter,
        producer: RoutedProducer,
        delta: DeltaWriter,
        stats: WorkerStats,
        *,
        dlq_topic: str,
        commit: CommitOffsets,
        flush_max_rows: int,
        flush_max_seconds: float,
        max_buffered_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._domain = domain
        self._router = router
        self._producer = producer
        self._delta = delta
        self._stats = stats
        self._dlq_topic = dlq_topic
        self._commit = commit
        self._max_rows = flush_max_rows
        self._max_seconds = flush_max_seconds
        self._max_bytes = max_buffered_bytes
        self._clock = clock
        #: Offsets processed but not yet committed.
        self.offsets: Offsets = {}
        self._since: float | None = None
        self.listeners: list[FlushListener] = []

    async def process(self, topic: str, partition: int, records: Sequence[Any]) -> None:
        """Validate, route and queue ``records`` of one partition (aiokafka ``ConsumerRecord``\\ s)."""
        if not records:
            return
        parse = self._domain.parse
        trace_id_of = self._domain.trace_id
        table_for = self._domain.table_for
        buffers = self._delta.buffers
        route = self._router.route
        set_source = current_source.set
        reset_source = current_source.reset
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
            source = SourceRecord(topic, partition, record.offset, value, message, trace_id, record.key)
            token = set_source(source)
            try:
                outcome = route(message, source)
                # Only a plugin that suspended, failed or met a new topic costs an await.
                if isinstance(outcome, CoroutineType):
                    outcome = await outcome
                routed_to = cast("Sequence[str]", outcome)
            finally:
                reset_source(token)
            if routed_to:
                routed += 1
            if table is not None:
                buffers[table].append(
                    message, partition, record.offset, routed_to, ingested_at_us, len(value)
                )
                stored += 1
            elif not routed_to:
                skipped += 1
        self.offsets[(topic, partition)] = records[-1].offset + 1
        if self._since is None:
            self._since = self._clock()
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
        headers = dlq_headers(reason, error, topic=topic, partition=partition, offset=record.offset)
        self._producer.dead_letter(self._dlq_topic, record.key, record.value, headers)
        self._stats.dlq_by_reason[reason.value] += 1

    @property
    def buffered_bytes(self) -> int:
        return self._delta.pending_bytes + self._producer.inflight_bytes

    def should_flush(self) -> bool:
        """Whether enough rows, bytes or time have piled up since the last flush."""
        if self._since is None:
            return False
        return (
            self._delta.pending_rows >= self._max_rows
            or self.buffered_bytes >= self._max_bytes
            or self._clock() - self._since >= self._max_seconds
        )

    async def flush(self) -> FlushReport | None:
        """Acknowledgements, then Delta, then Kafka offsets; None when there was nothing to do."""
        if not self.offsets and not self._producer.outstanding and not self._delta.pending_rows:
            return None
        started = self._clock()
        records = await self._producer.drain()
        written = await self._delta.flush()
        offsets, self.offsets = self.offsets, {}
        self._since = None
        if offsets:
            await self._commit(offsets)
        report = FlushReport(
            offsets=offsets,
            rows=dict(written.rows),
            duplicates=dict(written.duplicates),
            records=records,
            seconds=self._clock() - started,
        )
        stats = self._stats
        stats.flushes += 1
        stats.offsets_committed += len(offsets)
        stats.delta_rows.update(written.rows)
        stats.delta_duplicates_skipped += sum(written.duplicates.values())
        stats.last_flush = report
        for listener in self.listeners:
            try:
                listener(report)
            except Exception:  # an observer must not undo durable progress
                log.exception("flush listener %r failed", listener)
        return report

    def forget(self, partitions: Mapping[tuple[str, int], object] | set[tuple[str, int]]) -> None:
        """Drop uncommitted offsets of partitions this worker no longer owns."""
        for key in list(self.offsets):
            if key in partitions:
                del self.offsets[key]


def _empty(value: bytes | None) -> str:
    return "null value (tombstone): nothing to parse" if value is None else "empty value: nothing to parse"
