"""Rebalances: finish the revoked partitions' work before they move, tell the sinks of new ones.

aiokafka revokes every partition at the start of a rebalance (the eager
protocol) and waits for this listener before the group moves on; Kafka
guarantees every member's revoke runs before any member's assign. So the
revoke commits everything (acknowledgements, sinks, offsets), and a new
owner's sinks reading what they hold on assign see all of it. The worker
and replay both use this listener.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition

from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._sinks.sink import Sink
from kafka_pipeline._worker.checkpoint import Checkpoint

log = logging.getLogger("kafka_pipeline.worker.rebalance")


class Rebalancer(ConsumerRebalanceListener):  # type: ignore[misc]
    """The rebalance listener of a consumer loop that commits through ``checkpoint``.

    ``generation`` counts revocations: a batch polled in an earlier
    generation is handed back with :meth:`fetch_again`, never processed.
    ``lock`` is held by the loop while it processes a batch, so a revoke
    waits for the batch in hand and then commits it.
    """

    def __init__(
        self,
        *,
        lock: asyncio.Lock,
        checkpoint: Checkpoint,
        sinks: Sequence[Sink],
        stats: WorkerStats,
        source_topic: str,
        failed: Callable[[], bool],
        fail: Callable[[BaseException], None],
    ) -> None:
        self._lock = lock
        self._checkpoint = checkpoint
        self._sinks = tuple(sinks)
        self._stats = stats
        self._source_topic = source_topic
        self._failed = failed
        self._fail = fail
        self.generation = 0
        #: When partitions were last assigned (``time.monotonic``); None before the group's first answer.
        self.assigned_at: float | None = None

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if not revoked:
            return
        self._stats.rebalances += 1
        async with self._lock:
            self.generation += 1
            if not self._failed():
                try:
                    await self._checkpoint.commit()
                except Exception as exc:  # aiokafka would only log it: stop the worker instead
                    log.error("could not finish the work of revoked partitions: %s", exc)
                    self._fail(exc)
            self._checkpoint.forget({(tp.topic, tp.partition) for tp in revoked})
            partitions = [tp.partition for tp in revoked if tp.topic == self._source_topic]
            for sink in self._sinks:
                sink.on_revoked(partitions)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._stats.assignment = sorted((tp.topic, tp.partition) for tp in assigned)
        partitions = [tp.partition for tp in assigned if tp.topic == self._source_topic]
        log.info("assigned %s[%s]", self._source_topic, ",".join(map(str, sorted(partitions))))
        async with self._lock:
            for sink in self._sinks:
                await sink.on_assigned(partitions)
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
