"""``Checkpoint``: what was processed but is not committed yet, and the one order that commits it.

Every commit runs in the only safe order:

1. wait until every routed and DLQ record is acknowledged (the outbox drains),
2. make every sink durable (the Delta appends commit),
3. commit the Kafka offsets.

If the process dies anywhere in between, the uncommitted offsets are
consumed again: routed topics may see a record twice (at least once), the
sinks never store one twice (they skip what they hold). The worker and
replay both commit through a checkpoint, in the manner of Quix Streams'
``Checkpoint``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Final

from kafka_pipeline._broker.outbox import KafkaOutbox
from kafka_pipeline._observability.stats import FlushReport, WorkerStats
from kafka_pipeline._sinks.sink import Sink

log = logging.getLogger("kafka_pipeline.worker.batch")

#: Next offset to consume per ``(topic, partition)``.
Offsets = dict[tuple[str, int], int]
CommitOffsets = Callable[[Offsets], Awaitable[None]]
FlushListener = Callable[[FlushReport], None]

#: A checkpoint that commits after every batch (replay) is due whenever it holds anything.
EVERY_BATCH: Final = 0.0


class Checkpoint:
    """Offsets processed since the last commit, and when and how to commit them.

    A commit is due when the sinks hold ``max_rows`` rows, the sinks and
    the outbox hold ``max_bytes``, or ``max_seconds`` passed since the first
    offset after the last commit. Listeners hear of every commit, i.e. of
    progress that is durable.
    """

    def __init__(
        self,
        outbox: KafkaOutbox,
        sinks: Sequence[Sink],
        commit_offsets: CommitOffsets,
        stats: WorkerStats,
        *,
        max_rows: int,
        max_bytes: int,
        max_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._outbox = outbox
        self._sinks = tuple(sinks)
        self._commit_offsets = commit_offsets
        self._stats = stats
        self._max_rows = max_rows
        self._max_bytes = max_bytes
        self._max_seconds = max_seconds
        self._clock = clock
        #: Offsets processed but not yet committed.
        self.offsets: Offsets = {}
        self._since: float | None = None
        self.listeners: list[FlushListener] = []

    def advance(self, topic: str, partition: int, next_offset: int) -> None:
        """Everything of ``topic``/``partition`` before ``next_offset`` is processed (not yet durable)."""
        self.offsets[(topic, partition)] = next_offset
        if self._since is None:
            self._since = self._clock()

    @property
    def pending_rows(self) -> int:
        return sum(sink.pending_rows for sink in self._sinks)

    @property
    def buffered_bytes(self) -> int:
        return sum(sink.pending_bytes for sink in self._sinks) + self._outbox.inflight_bytes

    def due(self) -> bool:
        """Whether enough rows, bytes or time have piled up since the last commit."""
        if self._since is None:
            return False
        return (
            self.pending_rows >= self._max_rows
            or self.buffered_bytes >= self._max_bytes
            or self._clock() - self._since >= self._max_seconds
        )

    async def commit(self) -> FlushReport | None:
        """Acknowledgements, then the sinks, then the Kafka offsets; None when there was nothing to do."""
        if not self.offsets and not self._outbox.outstanding and not self.pending_rows:
            return None
        started = self._clock()
        records = await self._outbox.drain()
        rows: dict[str, int] = {}
        duplicates: dict[str, int] = {}
        for sink in self._sinks:
            stored = await sink.flush()
            rows.update(stored.rows)
            duplicates.update(stored.duplicates)
        offsets, self.offsets = self.offsets, {}
        self._since = None
        if offsets:
            await self._commit_offsets(offsets)
        report = FlushReport(
            offsets=offsets,
            rows=rows,
            duplicates=duplicates,
            records=records,
            seconds=self._clock() - started,
        )
        stats = self._stats
        stats.flushes += 1
        stats.offsets_committed += len(offsets)
        stats.delta_rows.update(rows)
        stats.delta_duplicates_skipped += sum(duplicates.values())
        stats.last_flush = report
        stats.last_flush_at = time.monotonic()
        stats.flush_seconds.observe(report.seconds)
        for listener in self.listeners:
            try:
                listener(report)
            except Exception:  # an observer must not undo durable progress
                log.exception("flush listener %r failed", listener)
        return report

    def forget(self, partitions: Collection[tuple[str, int]]) -> None:
        """Drop uncommitted offsets of partitions this worker no longer owns."""
        for key in [key for key in self.offsets if key in partitions]:
            del self.offsets[key]
