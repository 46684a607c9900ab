"""``Replayer``: dead-lettered plugin failures run again through the plugin that failed, and nothing else.

A ``plugin_error`` or ``circuit_open`` record is a source message that every
other plugin routed and Delta stored; only the plugin named in
``x-dlq-plugin`` still owes it. So replay reads the DLQ topic with a consumer
group of its own, parses each such record's original bytes again, and runs
that plugin alone on it, through the worker's engine (with its timeout,
retries and breaker), as if it came from its original source record: routed
records carry the original ``x-source-*`` headers and its W3C trace
context. Nothing is written to Delta. It commits through a checkpoint after
each batch (acknowledgements, then offsets), so a stopped replay resumes
where it was and replays nothing twice that it had committed.

What it does with each DLQ record (see :class:`~kafka_pipeline._replay.selection.Verdict`):

- ``invalid_json``, ``schema`` and ``replay_exhausted`` records are left
  alone (fixing bad input is producing it again to the source topic, a
  decision for an operator).
- A record failing again goes back to the end of the DLQ topic, with a new
  ``x-dlq-error``, ``x-replay-run`` (this run's id) and ``x-replay-count``;
  when that count reaches ``max_attempts`` its reason becomes
  ``replay_exhausted`` instead, and no replay takes it again.
- A record that ``--reason``/``--plugin``/``--since``/``--until`` did not
  select, or whose plugin is not running here, is copied to the end of the
  DLQ topic unchanged but for ``x-replay-run`` (and ``x-dlq-timestamp``, its
  original time): the group commits past the original, and a later replay
  finds the copy.

Loops: a replay stops reading a partition when it meets a record that it
put there itself (its ``x-replay-run``), and does not commit past it, so a
plugin that still fails costs one attempt per record per run, and the next
run starts from those copies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import TopicPartition

from kafka_pipeline._broker.clients import close_quietly, make_consumer, start_admin, start_producer
from kafka_pipeline._broker.offsets import offset_committer
from kafka_pipeline._broker.outbox import KafkaOutbox
from kafka_pipeline._broker.topics import TopicAdmin
from kafka_pipeline._config import PipelineConfig
from kafka_pipeline._dlq import (
    HEADER_DLQ_ERROR,
    HEADER_DLQ_REASON,
    MAX_ERROR_LENGTH,
    DlqReason,
)
from kafka_pipeline._domain import Domain
from kafka_pipeline._engine.engine import RoutingEngine
from kafka_pipeline._envelope import (
    HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
    HEADER_TRACE_ID,
    Headers,
    SourceRecord,
    trace_context,
)
from kafka_pipeline._errors import TopicMissingError
from kafka_pipeline._loading import topics_of
from kafka_pipeline._observability.stats import WorkerStats
from kafka_pipeline._observability.tracing import tracing_from_environment
from kafka_pipeline._registry import PluginRegistry
from kafka_pipeline._replay.reading import Progress, remaining, replay_group
from kafka_pipeline._replay.selection import (
    HEADER_DLQ_TIMESTAMP,
    HEADER_REPLAY_COUNT,
    HEADER_REPLAY_RUN,
    DlqRecord,
    Selection,
    Verdict,
)
from kafka_pipeline._replay.stats import ReplayStats
from kafka_pipeline._worker.checkpoint import EVERY_BATCH, Checkpoint
from kafka_pipeline._worker.rebalance import Rebalancer
from kafka_pipeline._worker.traced import routing_engine

log = logging.getLogger("kafka_pipeline.worker.replay")


class _ReplayOutbox(KafkaOutbox):
    """Marks every record it dead-letters with the run's id, so the run knows its own output.

    While :attr:`exhausting` is set, a record dead-lettered again gets the reason ``replay_exhausted``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Headers added to the next dead-letter records: set per DLQ record being replayed.
        self.marks: Headers = []
        self.exhausting = False

    def dead_letter(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> None:
        if self.exhausting:
            exhausted = DlqReason.REPLAY_EXHAUSTED.value.encode()
            headers = [(k, exhausted if k == HEADER_DLQ_REASON else v) for k, v in headers]
        super().dead_letter(topic, key, value, [*headers, *self.marks])


class Replayer:
    """Replays a domain's dead-lettered plugin failures; see the module docstring.

    Args:
        config: the pipeline configuration (the plugins' settings are those of the replay).
        domain: the domain whose DLQ topic is read.
        registry: the plugins that may replay: each record goes to the one it names only.
        selection: which records to replay, and how often at most.
        group_id: the replay's consumer group; default ``<kafka.group_id>.replay``.
        exit_when_idle: stop once no record arrived for this long (the DLQ is drained).
        progress: called after each batch with the records read and about how many there are.
    """

    def __init__(
        self,
        config: PipelineConfig,
        domain: Domain[Any],
        registry: PluginRegistry[Any],
        *,
        selection: Selection | None = None,
        group_id: str | None = None,
        exit_when_idle: float = 5.0,
        client_options: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config
        self.domain = domain
        self.registry = registry
        self.selection = selection or Selection()
        self.group_id = replay_group(config, group_id)
        self.exit_when_idle = exit_when_idle
        self.dlq_topic = topics_of(config, domain).dlq
        self.run_id = uuid.uuid4().hex
        self.stats = ReplayStats()
        self.plugin_stats = WorkerStats()
        self._client_options = dict(client_options or {})
        self._plugins = {p.name for p in registry.plugins}
        self._progress = progress
        self._outbox: _ReplayOutbox  # set by run()
        self._engine: RoutingEngine  # set by run()
        self._fatal: BaseException | None = None

    def _fail(self, exc: BaseException) -> None:
        self._fatal = exc

    async def run(self) -> ReplayStats:
        """Replay until the DLQ topic has been drained for ``exit_when_idle`` seconds."""
        kafka = self.config.kafka
        settings = self.config.worker
        async with contextlib.AsyncExitStack() as stack:
            admin = await start_admin(stack, kafka, self._client_options)
            topics = TopicAdmin(admin, bootstrap_servers=kafka.bootstrap_servers)
            if not await topics.exists(self.dlq_topic):
                raise TopicMissingError(
                    f"dead-letter topic {self.dlq_topic!r} does not exist on {kafka.bootstrap_servers}: "
                    "nothing to replay. Check dlq_topic (or source_topic) in the configuration",
                    topic=self.dlq_topic,
                    bootstrap_servers=kafka.bootstrap_servers,
                )
            producer = await start_producer(
                stack, kafka, self._client_options, delivery_timeout_seconds=settings.delivery_timeout_seconds
            )
            outbox = self._outbox = _ReplayOutbox.for_settings(producer, topics, self.plugin_stats, settings)
            tracing = tracing_from_environment()
            if tracing is not None:
                stack.callback(tracing.close)
            self._engine = routing_engine(
                self.registry.plugins,
                self.config,
                outbox,
                self.plugin_stats,
                dlq_topic=self.dlq_topic,
                tracing=tracing,
            )
            self.registry.attach(outbox)
            stack.push_async_callback(self.registry.stop)
            await self.registry.start()

            replay_kafka = kafka.model_copy(
                update={"group_id": self.group_id, "auto_offset_reset": "earliest"}
            )
            consumer = make_consumer(replay_kafka, self._client_options)
            stack.push_async_callback(close_quietly, consumer.stop)
            checkpoint = Checkpoint(
                outbox,
                (),
                offset_committer(consumer, self.group_id, settings),
                self.plugin_stats,
                max_rows=0,
                max_bytes=0,
                max_seconds=EVERY_BATCH,
            )
            lock = asyncio.Lock()
            rebalancer = Rebalancer(
                lock=lock,
                checkpoint=checkpoint,
                sinks=(),
                stats=self.plugin_stats,
                source_topic=self.dlq_topic,
                failed=lambda: self._fatal is not None,
                fail=self._fail,
            )
            consumer.subscribe([self.dlq_topic], listener=rebalancer)
            await consumer.start()
            log.info(
                "replaying %s from %s as group %s (run %s)",
                ", ".join(sorted(self.selection.reasons)),
                self.dlq_topic,
                self.group_id,
                self.run_id,
            )
            await self._consume(consumer, checkpoint, rebalancer, lock)
        self.stats.routed_by_topic.update(self.plugin_stats.routed_by_topic)
        return self.stats

    async def _consume(
        self, consumer: Any, checkpoint: Checkpoint, rebalancer: Rebalancer, lock: asyncio.Lock
    ) -> None:
        settings = self.config.worker
        last_record = time.monotonic()
        while True:
            generation = rebalancer.generation
            records = await consumer.getmany(
                timeout_ms=settings.poll_timeout_ms, max_records=settings.batch_max_records
            )
            now = time.monotonic()
            if self._fatal is not None:
                raise self._fatal
            async with lock:
                if records and generation != rebalancer.generation:
                    rebalancer.fetch_again(consumer, records)
                    continue
                for tp, partition_records in records.items():
                    done = await self._partition(consumer, tp, partition_records)
                    if done is not None:
                        checkpoint.advance(tp.topic, tp.partition, done)
                if records:
                    last_record = now
                    report = await checkpoint.commit()
                    self.stats.committed += len(report.offsets) if report is not None else 0
            if self._progress is not None and consumer.assignment():
                self._progress(self.stats.read, self.stats.read + await remaining(consumer))
            assigned = consumer.assignment()
            if assigned and assigned <= consumer.paused():
                log.info("every partition of %s is replayed up to this run's own records", self.dlq_topic)
                return
            assigned_at = rebalancer.assigned_at
            if assigned_at is not None and now - max(last_record, assigned_at) >= self.exit_when_idle:
                log.info("no DLQ record for %gs: replay finished", self.exit_when_idle)
                return

    async def _partition(self, consumer: Any, tp: TopicPartition, records: Sequence[Any]) -> int | None:
        """Handle one partition's records; returns the offset to commit (None: nothing handled)."""
        next_offset: int | None = None
        for record in records:
            dlq = DlqRecord.of(record)
            if dlq.headers.get(HEADER_REPLAY_RUN) == self.run_id:
                # This run's own output: everything before it is done; the copy waits for the next run.
                consumer.pause(tp)
                return int(record.offset)
            self.stats.read += 1
            await self._one(record, dlq)
            next_offset = record.offset + 1
        return next_offset

    async def _one(self, record: Any, dlq: DlqRecord) -> None:
        outbox = self._outbox
        verdict = self.selection.verdict(dlq, self._plugins)
        if verdict is Verdict.LEFT_ALONE:
            self.stats.left_alone[dlq.reason or "unknown"] += 1
            return
        original_time = (HEADER_DLQ_TIMESTAMP, str(dlq.dead_lettered_ms).encode())
        outbox.marks = [(HEADER_REPLAY_RUN, self.run_id.encode()), original_time]
        outbox.exhausting = False
        if verdict is Verdict.NOT_SELECTED:
            self.stats.not_selected += 1
            self._copy(record)
            return
        if verdict is Verdict.OUTSIDE_WINDOW:
            self.stats.outside_window += 1
            self._copy(record)
            return
        if verdict is Verdict.UNAVAILABLE:
            log.warning(
                "DLQ record %s[%d]@%d is for plugin %r, which is not running here (not installed, "
                "disabled or not loaded); kept in the DLQ",
                record.topic,
                record.partition,
                record.offset,
                dlq.plugin,
                extra={"plugin": dlq.plugin, "trace_id": dlq.trace_id},
            )
            self.stats.unavailable[dlq.plugin] += 1
            self._copy(record)
            return
        if verdict is Verdict.EXHAUSTED:
            self.stats.exhausted[dlq.plugin] += 1
            self._copy(record, reason=DlqReason.REPLAY_EXHAUSTED)
            return
        await self._replay(record, dlq)

    async def _replay(self, record: Any, dlq: DlqRecord) -> None:
        outbox = self._outbox
        plugin = dlq.plugin
        replays = dlq.replays + 1
        outbox.marks.append((HEADER_REPLAY_COUNT, str(replays).encode()))
        # Its last attempt: failing it leaves the record in the DLQ for good.
        outbox.exhausting = replays >= self.selection.max_attempts
        headers = dlq.headers
        try:
            message = self.domain.parse(record.value)
            trace_id = headers.get(HEADER_TRACE_ID) or self.domain.trace_id(message)
            source = SourceRecord(
                topic=headers[HEADER_SOURCE_TOPIC],
                partition=int(headers[HEADER_SOURCE_PARTITION]),
                offset=int(headers[HEADER_SOURCE_OFFSET]),
                value=record.value,
                message=message,
                trace_id=trace_id,
                key=record.key,
                trace_context=trace_context(record.headers) if record.headers else None,
            )
        except Exception as exc:  # the model changed, or the headers were tampered with
            log.error(
                "DLQ record %s[%d]@%d cannot be replayed (%s); kept in the DLQ",
                record.topic,
                record.partition,
                record.offset,
                exc,
                extra={"plugin": plugin, "trace_id": headers.get(HEADER_TRACE_ID)},
            )
            self._count_failure(plugin, exhausted=outbox.exhausting)
            reason = DlqReason.REPLAY_EXHAUSTED if outbox.exhausting else None
            self._copy(record, error=f"replay: {type(exc).__name__}: {exc}", counted=True, reason=reason)
            return
        stats = self.plugin_stats.plugin(plugin)
        parked_before = stats.dlq
        await self._engine.route_one(plugin, message, source)
        if stats.dlq > parked_before:
            self._count_failure(plugin, exhausted=outbox.exhausting)
        else:
            self.stats.replayed[plugin] += 1
            log.debug(
                "replayed DLQ record %s[%d]@%d through plugin %s",
                record.topic,
                record.partition,
                record.offset,
                plugin,
                extra={"plugin": plugin, "trace_id": trace_id},
            )

    def _count_failure(self, plugin: str, *, exhausted: bool) -> None:
        if exhausted:
            self.stats.exhausted[plugin] += 1
            log.warning(
                "plugin %s failed a DLQ record on its last replay (--max-attempts %d): it stays in the "
                "DLQ as %s and no replay takes it again",
                plugin,
                self.selection.max_attempts,
                DlqReason.REPLAY_EXHAUSTED.value,
                extra={"plugin": plugin},
            )
        else:
            self.stats.failed_again[plugin] += 1

    def _copy(
        self,
        record: Any,
        *,
        error: str | None = None,
        counted: bool = False,
        reason: DlqReason | None = None,
    ) -> None:
        """Put ``record`` back at the end of the DLQ with the run's marks, and a new error or reason if given.

        ``counted``: the marks hold a new ``x-replay-count``, which replaces the record's.
        """
        dropped = {HEADER_REPLAY_RUN, HEADER_DLQ_TIMESTAMP}
        if counted:
            dropped.add(HEADER_REPLAY_COUNT)
        if error is not None:
            dropped.add(HEADER_DLQ_ERROR)
        if reason is not None:
            dropped.add(HEADER_DLQ_REASON)
        headers: Headers = [(k, v) for k, v in record.headers or () if k not in dropped]
        if reason is not None:
            headers.insert(0, (HEADER_DLQ_REASON, reason.value.encode()))
        if error is not None:
            headers.append((HEADER_DLQ_ERROR, error[:MAX_ERROR_LENGTH].encode()))
        self._outbox.exhausting = False  # the reason, if any, is set here
        self._outbox.dead_letter(self.dlq_topic, record.key, record.value, headers)
