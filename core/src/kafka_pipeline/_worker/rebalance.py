"""Rebalances: finish the revoked partitions' work before they move, read the Delta versions of new ones.

aiokafka revokes every partition at the start of a rebalance (the eager
protocol) and waits for this listener before the group moves on; Kafka
guarantees every member's revoke runs before any member's assign. So the
revoke flushes everything (acknowledgements, Delta, offsets), and a new
owner reading the Delta versions on assign sees all of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition

from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._sinks.delta import DeltaWriter
from kafka_pipeline._worker.batch import BatchProcessor

__all__ = ["Rebalancer"]

log = logging.getLogger("kafka_pipeline.worker.rebalance")


class Rebalancer(ConsumerRebalanceListener):  # type: ignore[misc]
    """The worker's rebalance listener.

    ``generation`` counts revocations: a batch polled in an earlier
    generation is handed back with :meth:`fetch_again`, never processed.
    """

    def __init__(
        self,
        *,
        lock: asyncio.Lock,
        batch: BatchProcessor,
        delta: DeltaWriter,
        stats: WorkerStats,
        source_topic: str,
        failed: Callable[[], bool],
        fail: Callable[[BaseException], None],
    ) -> None:
        self._lock = lock
        self._batch = batch
        self._delta = delta
        self._stats = stats
        self._source_topic = source_topic
        self._failed = failed
        self._fail = fail
        self.generation = 0
        #: When partitions were last assigned (``time.monotonic``).
        self.assigned_at = time.monotonic()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if not revoked:
            return
        self._stats.rebalances += 1
        async with self._lock:
            self.generation += 1
            if not self._failed():
                try:
                    await self._batch.flush()
                except Exception as exc:  # aiokafka would only log it: stop the worker instead
                    log.error("could not finish the work of revoked partitions: %s", exc)
                    self._fail(exc)
            self._batch.forget({(tp.topic, tp.partition) for tp in revoked})
            self._delta.forget(tp.partition for tp in revoked if tp.topic == self._source_topic)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._stats.assignment = sorted((tp.topic, tp.partition) for tp in assigned)
        partitions = [tp.partition for tp in assigned if tp.topic == self._source_topic]
        log.info("assigned %s[%s]", self._source_topic, ",".join(map(str, sorted(partitions))))
        async with self._lock:
            self._delta.forget(partitions)
            try:
                await self._delta.load_versions(partitions)
            except Exception as exc:  # they are read again before the first append anyway
                self._delta.forget(partitions)
                log.warning(
                    "could not read Delta versions on assignment (%s); reading them at the flush", exc
                )
        self.assigned_at = time.monotonic()

    @staticmethod
    def fetch_again(consumer: Any, records: Mapping[TopicPartition, Any]) -> None:
        """Hand back a batch that a rebalance overtook between the poll and its processing.

        Its partitions may belong to another worker now, whose Delta versions
        do not know of this batch: processing it could append rows twice. So
        the records are fetched again, from where the batch began, by whoever
        owns each partition now.
        """
        assigned = consumer.assignment()
        for tp, partition_records in records.items():
            if tp in assigned:
                consumer.seek(tp, partition_records[0].offset)
        log.info("a rebalance overtook a fetched batch; fetching it again under the new assignment")
