"""The Kafka outbox: where ``send_to_topic`` lands in the worker, and how records reach the broker.

It is the :class:`~kafka_pipeline._outbox.Outbox` of the worker: the
engine's marks and rollbacks work on its ``pending`` list, and before a
plugin attempt counts as a success every topic it sent to for the first
time is checked to exist (a broker that auto-creates topics would
otherwise swallow a typo). After each poll batch the pending records go to
one shared ``AIOKafkaProducer`` as one record batch per topic partition
(``send_batch``); before offsets are committed, every batch's delivery
future is awaited, and failed records are sent again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Self

from aiokafka.errors import KafkaError

from kafka_pipeline._broker.partitioner import KeyPartitioner
from kafka_pipeline._broker.topics import TopicAdmin
from kafka_pipeline._config import WorkerSettings
from kafka_pipeline._envelope import encode_routed
from kafka_pipeline._errors import DeliveryError
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._outbox import Outbox, OutgoingRecord

log = logging.getLogger("kafka_pipeline.worker.producer")

Sleep = Callable[[float], Awaitable[None]]


class KafkaOutbox(Outbox):
    """Buffers routed and DLQ records, hands them to ``producer`` and tracks every acknowledgement."""

    def __init__(
        self,
        producer: Any,
        topics: TopicAdmin,
        stats: WorkerStats,
        *,
        retries: int = 5,
        backoff_seconds: float = 0.5,
        ack_timeout: float | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__()
        self._producer = producer
        #: Longest wait for one round of acknowledgements; an idempotent aiokafka
        #: producer never expires a batch itself, so without this an outage hangs.
        self._ack_timeout = ack_timeout
        self._topics = topics
        self._stats = stats
        self._retries = retries
        self._backoff = backoff_seconds
        self._sleep = sleep
        #: Batches handed to the producer: their records, delivery future and value bytes.
        self._inflight: list[tuple[list[OutgoingRecord], asyncio.Future[Any], int]] = []
        #: Records acknowledged since the last :meth:`drain`.
        self._acknowledged = 0
        self._partitioner = KeyPartitioner()
        self._failed: list[tuple[OutgoingRecord, BaseException]] = []
        self._known_topics: set[str] = set()
        self._unchecked: dict[str, str] = {}
        #: Bytes handed to the producer and not yet acknowledged.
        self.inflight_bytes = 0

    @classmethod
    def for_settings(
        cls, producer: Any, topics: TopicAdmin, stats: WorkerStats, settings: WorkerSettings
    ) -> Self:
        """An outbox with the ``worker:`` delivery settings (retries, backoff, acknowledgement timeout)."""
        return cls(
            producer,
            topics,
            stats,
            retries=settings.delivery_retries,
            backoff_seconds=settings.delivery_backoff_seconds,
            # aiokafka answers a non-idempotent batch by its request timeout; give it that first.
            ack_timeout=2 * settings.delivery_timeout_seconds,
        )

    # -- called by plugins and the engine, synchronous ---------------------------

    def send(
        self,
        plugin: str,
        topic: str,
        payload: object,
        key: str | bytes | None,
        headers: Mapping[str, str | bytes] | None,
    ) -> None:
        # Outbox.send's two lines, not a call to it: this runs for every routed record.
        key_bytes, value, record_headers = encode_routed(plugin, topic, payload, key, headers)
        self.pending.append(OutgoingRecord(topic, key_bytes, value, record_headers, plugin))
        if topic not in self._known_topics:
            self._unchecked.setdefault(topic, plugin)

    def rollback(self, mark: int) -> None:
        del self.pending[mark:]
        self._unchecked.clear()

    @property
    def has_unchecked_topics(self) -> bool:
        return bool(self._unchecked)

    async def check_new_topics(self) -> None:
        """Make sure every topic first sent to in this attempt exists (or create it).

        Raises :class:`~kafka_pipeline._errors.TopicMissingError`
        naming the plugin and the topic: the attempt then fails like any
        plugin error, instead of the producer hanging on the topic's metadata.
        """
        while self._unchecked:
            topic, plugin = next(iter(self._unchecked.items()))
            await self._topics.require_routed(topic, plugin)
            self._known_topics.add(topic)
            del self._unchecked[topic]

    # -- to the broker and back --------------------------------------------------

    async def dispatch(self) -> None:
        """Hand every pending record to the producer; acknowledgements are awaited in :meth:`drain`."""
        pending, self.pending = self.pending, []
        by_topic = self._stats.routed_by_topic
        for record in pending:
            if record.plugin is not None:
                by_topic[record.topic] += 1
        await self._hand_over(pending)
        self._forget_acknowledged()

    async def _hand_over(self, records: list[OutgoingRecord]) -> None:
        """Send ``records`` as one record batch per topic partition.

        aiokafka's per-record ``send`` (a coroutine, a future, a partition
        lookup and, on acknowledgement, a metadata object per record) was
        the largest cost of routing. Building the batches here is a plain
        loop; each record goes to the partition Kafka's key rule gives it
        (:class:`~kafka_pipeline._broker.partitioner.KeyPartitioner`), as with
        ``send``, and keeps its order within the partition.
        """
        groups: dict[tuple[str, int], list[OutgoingRecord]] = {}
        partitions_of: dict[str, list[int] | KafkaError] = {}
        partition_for = self._partitioner
        for record in records:
            topic = record.topic
            partitions = partitions_of.get(topic)
            if partitions is None:
                try:
                    partitions = sorted(await self._producer.partitions_for(topic))
                except KafkaError as exc:  # no metadata: one wait per topic, not per record
                    partitions = exc
                partitions_of[topic] = partitions
            if isinstance(partitions, KafkaError):
                self._failed.append((record, partitions))
                continue
            where = (topic, partition_for(record.key, partitions, partitions))
            group = groups.get(where)
            if group is None:
                groups[where] = [record]
            else:
                group.append(record)
        for (topic, partition), group in groups.items():
            await self._send_batches(topic, partition, group)

    async def _send_batches(self, topic: str, partition: int, records: list[OutgoingRecord]) -> None:
        producer = self._producer
        builder = producer.create_batch()
        batch: list[OutgoingRecord] = []
        for record in records:
            value = record.value
            # Kafka needs a key or a value; an empty, keyless source record is parked as b"".
            if value is None and record.key is None:
                value = b""
            # A full builder refuses the record; a fresh one takes any first record, however big.
            if builder.append(timestamp=None, key=record.key, value=value, headers=record.headers) is None:
                await self._submit(builder, topic, partition, batch)
                builder, batch = producer.create_batch(), []
                builder.append(timestamp=None, key=record.key, value=value, headers=record.headers)
            batch.append(record)
        await self._submit(builder, topic, partition, batch)

    async def _submit(self, builder: Any, topic: str, partition: int, batch: list[OutgoingRecord]) -> None:
        try:
            future = await self._producer.send_batch(builder, topic, partition=partition)
        except KafkaError as exc:
            self._failed.extend((record, exc) for record in batch)
            return
        size = sum(len(r.value or b"") for r in batch)
        self._inflight.append((batch, future, size))
        self.inflight_bytes += size

    def _forget_acknowledged(self) -> None:
        """Let go of batches the broker has acknowledged: memory stays bounded between flushes."""
        still: list[tuple[list[OutgoingRecord], asyncio.Future[Any], int]] = []
        for entry in self._inflight:
            batch, future, size = entry
            if future.done() and not future.cancelled() and future.exception() is None:
                self._acknowledged += len(batch)
                self.inflight_bytes -= size
            else:
                still.append(entry)
        self._inflight = still

    @property
    def outstanding(self) -> int:
        """Records handed over or pending and not yet acknowledged."""
        return len(self.pending) + sum(len(b) for b, _, _ in self._inflight) + len(self._failed)

    async def drain(self) -> int:
        """Wait until every record handed over is acknowledged, sending failed ones again.

        Returns how many records were acknowledged since the last drain. Raises
        :class:`DeliveryError` once ``retries`` rounds could not deliver them all.
        """
        await self.dispatch()
        attempt = 0
        while True:
            inflight, self._inflight = self._inflight, []
            failed, self._failed = self._failed, []
            loop = asyncio.get_running_loop()
            deadline = None if self._ack_timeout is None else loop.time() + self._ack_timeout
            for batch, future, _ in inflight:
                try:
                    if deadline is None or future.done():
                        await future
                    else:
                        await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - loop.time()))
                except TimeoutError:
                    unanswered = KafkaError(f"not acknowledged within {self._ack_timeout:g}s")
                    failed.extend((record, unanswered) for record in batch)
                except asyncio.CancelledError:
                    if not future.cancelled():
                        raise
                    failed.extend((record, KafkaError("delivery was cancelled")) for record in batch)
                except Exception as exc:
                    failed.extend((record, exc) for record in batch)
                else:
                    self._acknowledged += len(batch)
            if not failed:
                self.inflight_bytes = 0
                delivered, self._acknowledged = self._acknowledged, 0
                return delivered
            topics = sorted({r.topic for r, _ in failed})
            if attempt >= self._retries:
                raise DeliveryError(
                    f"{len(failed)} records for {', '.join(topics)} were not acknowledged after "
                    f"{attempt + 1} attempts (last error: {failed[-1][1]!r}). No offsets were "
                    "committed, so nothing is lost: check the brokers and restart the worker"
                )
            delay = self._backoff * 2**attempt
            log.warning(
                "%d records for %s not acknowledged (%r); sending again in %.1fs (retry %d/%d)",
                len(failed),
                ", ".join(topics),
                failed[-1][1],
                delay,
                attempt + 1,
                self._retries,
            )
            await self._sleep(delay)
            attempt += 1
            self.inflight_bytes = 0
            await self._hand_over([record for record, _ in failed])
