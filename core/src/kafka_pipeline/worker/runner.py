"""``Worker``: the consumer loop, rebalances and shutdown around the batch pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiokafka.errors import KafkaConnectionError

from kafka_pipeline.config import PipelineConfig
from kafka_pipeline.domain import Domain
from kafka_pipeline.loading import discover, strict_mode
from kafka_pipeline.metrics.server import MetricsServer, Readiness
from kafka_pipeline.registry import PluginRegistry
from kafka_pipeline.worker.batch import BatchProcessor, FlushListener, Offsets
from kafka_pipeline.worker.clients import close_quietly, make_admin, make_consumer, make_producer
from kafka_pipeline.worker.config_watch import ConfigFile
from kafka_pipeline.worker.delta_writer import DeltaWriter
from kafka_pipeline.worker.errors import BrokerConnectionError, WorkerError
from kafka_pipeline.worker.lag import LagTracker
from kafka_pipeline.worker.memory import limit_heap_growth
from kafka_pipeline.worker.offsets import commit_offsets
from kafka_pipeline.worker.producer import RoutedProducer
from kafka_pipeline.worker.rebalance import Rebalancer
from kafka_pipeline.worker.reload import Reloader
from kafka_pipeline.worker.routing import MessageRouter
from kafka_pipeline.worker.signals import WorkerSignals
from kafka_pipeline.worker.stats import FlushReport, WorkerStats
from kafka_pipeline.worker.storage import prepare_tables
from kafka_pipeline.worker.topics import DEV_TOPIC_PARTITIONS, TopicAdmin

__all__ = ["Worker"]

log = logging.getLogger("kafka_pipeline.worker")


class Worker:
    """Consumes one domain's results, routes them, appends them to Delta and commits offsets.

    The CLI's ``worker`` command, ``demo`` and the benchmarks all run this::

        worker = Worker.from_config(config, "widgets", exit_when_idle=5.0)
        await worker.run()
        print(worker.stats.as_dict())

    :meth:`run` returns after a clean stop: :meth:`request_stop` was called,
    a SIGTERM/SIGINT arrived (with ``handle_signals=True``), or no message
    came for ``exit_when_idle`` seconds. It first finishes the batch in hand,
    waits for every routed and DLQ record to be acknowledged, commits the
    Delta appends and then the Kafka offsets, and stops the plugins. When the
    worker cannot make progress (broker or storage down past every retry, a
    missing topic) :meth:`run` raises a
    :class:`~kafka_pipeline.worker.errors.WorkerError` and commits nothing
    more: the next run consumes the unfinished work again, and Delta skips
    the offsets it already holds.

    ``stats`` is updated as the worker goes; listeners added with
    :meth:`add_flush_listener` hear of every flush, i.e. of progress that
    is durable. With ``metrics.port`` set, :attr:`metrics` serves them to
    Prometheus with ``/healthz`` and ``/readyz`` (:meth:`readiness`).

    With ``config_file``, the worker reloads its plugin settings when the
    file changes or on SIGHUP (see :meth:`reload`).

    Args:
        config: the pipeline configuration (command-line overrides applied).
        domain: the message domain to consume.
        registry: the domain's plugins; each is attached to the worker's producer.
        create_topics: create missing source, DLQ and routed topics (development only).
        exit_when_idle: stop cleanly after this many seconds without a message.
        new_topic_partitions: partitions of topics that ``create_topics`` creates.
        client_options: extra keyword arguments for every aiokafka client,
            e.g. ``sasl_oauth_token_provider``.
        breaker_clock: the clock of the plugins' circuit breakers (tests replace it).
        config_file: the file ``config`` came from, watched for changes.
        reload_interval: seconds between two looks at ``config_file``; None: on SIGHUP only.
    """

    def __init__(
        self,
        config: PipelineConfig,
        domain: Domain[Any],
        registry: PluginRegistry[Any],
        *,
        create_topics: bool = False,
        exit_when_idle: float | None = None,
        new_topic_partitions: int = DEV_TOPIC_PARTITIONS,
        client_options: Mapping[str, Any] | None = None,
        breaker_clock: Callable[[], float] = time.monotonic,
        config_file: ConfigFile | None = None,
        reload_interval: float | None = 1.0,
    ) -> None:
        self.config = config
        self.domain = domain
        self.registry = registry
        self.create_topics = create_topics
        self.exit_when_idle = exit_when_idle
        self.new_topic_partitions = new_topic_partitions
        self.source_topic = config.source_topic or domain.source_topic
        self.dlq_topic = config.dlq_topic or domain.dlq_topic or f"{self.source_topic}.dlq"
        self.stats = WorkerStats()
        for plugin in registry.plugins:
            self.stats.plugin(plugin.name)
        settings = config.worker
        self.delta = DeltaWriter(
            root=config.delta.root,
            tables=domain.tables.values(),
            model=domain.model,
            source_topic=self.source_topic,
            group_id=config.kafka.group_id,
            storage_options=config.delta.resolved_storage_options(),
            partition_by={t: config.delta.partition_by(t) for t in domain.tables.values()},
            retries=settings.delivery_retries,
            backoff_seconds=settings.delivery_backoff_seconds,
        )
        self.stats.delta_tables.update(self.delta.uris)
        self._client_options = dict(client_options or {})
        self._breaker_clock = breaker_clock
        self._listeners: list[FlushListener] = []
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._fatal: BaseException | None = None
        self._rebalancer: Rebalancer | None = None
        self._batch: BatchProcessor | None = None
        self._last_activity = time.monotonic()
        self._running = False
        self._consuming = False
        self._router: MessageRouter | None = None
        self._lag = LagTracker(self.stats)
        self.config_file = config_file
        self._reload_interval = reload_interval
        self._hangup = asyncio.Event()
        self._reloader: Reloader | None = None
        #: The metrics endpoint while :meth:`run` runs, when ``metrics.port`` is set.
        self.metrics: MetricsServer | None = None

    @classmethod
    def from_config(cls, config: PipelineConfig, domain: str, **options: Any) -> Worker:
        """A worker for the installed ``domain`` with every installed, enabled plugin of it."""
        installation = discover(config)
        return cls(config, installation.domain(domain), installation.registry(domain), **options)

    def add_flush_listener(self, listener: Callable[[FlushReport], None]) -> None:
        """Call ``listener`` after every flush, once its offsets are committed."""
        self._listeners.append(listener)

    def _fail(self, exc: BaseException) -> None:
        self._fatal = exc
        self._stop.set()

    def request_stop(self) -> None:
        """Make :meth:`run` finish the batch in hand, flush, commit and return. Call it on the loop."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- the run -----------------------------------------------------------------

    async def run(self, *, handle_signals: bool = False) -> None:
        """Consume until stopped; see the class docstring. ``handle_signals`` stops on SIGTERM/SIGINT."""
        if self._running:
            raise WorkerError("this Worker is already running; create one Worker per run")
        self._running = True
        limit_heap_growth()
        async with contextlib.AsyncExitStack() as stack:
            if handle_signals:
                signals = WorkerSignals(
                    stop=self.request_stop, stopping=lambda: self.stopping, hangup=self._on_hangup
                )
                signals.install()
                stack.callback(signals.remove)
            if self.config.metrics.port is not None:
                await self._serve_metrics(stack)
            consumer, routed = await self._start(stack)
            if self.config_file is not None and self._reloader is not None:
                watch = self._reloader.watch(self.config_file, self._hangup, self._reload_interval)
                stack.push_async_callback(_cancel, asyncio.create_task(watch))
            await self._consume(consumer, routed)
            assert self._batch is not None
            async with self._lock:
                if self._fatal is None:
                    await self._batch.flush()
            if self._fatal is not None:
                raise self._fatal
            # Leaving the stack stops the plugins, then closes the consumer, producer and admin.

    async def _start(self, stack: contextlib.AsyncExitStack) -> tuple[Any, RoutedProducer]:
        """Check the tables, connect, check topics, start the producer and plugins, join the group.

        What it starts, ``stack`` stops.
        """
        # Unsafe storage settings and a table that cannot take the model's rows stop the worker here.
        await asyncio.to_thread(
            prepare_tables,
            self.config.delta,
            self.config.delta.resolved_storage_options(),
            self.delta.uris,
            self.domain.model,
        )
        kafka = self.config.kafka
        admin = make_admin(kafka, self._client_options)
        stack.push_async_callback(close_quietly, admin.close)
        await self._connect(admin)
        topics = TopicAdmin(
            admin,
            bootstrap_servers=kafka.bootstrap_servers,
            create=self.create_topics,
            partitions=self.new_topic_partitions,
        )
        await topics.require_source(self.source_topic)
        await topics.require_dlq(self.dlq_topic)

        producer = make_producer(
            kafka, self._client_options, delivery_timeout_seconds=self.config.worker.delivery_timeout_seconds
        )
        stack.push_async_callback(close_quietly, producer.stop)
        await producer.start()
        routed = RoutedProducer(
            producer,
            topics,
            self.stats,
            retries=self.config.worker.delivery_retries,
            backoff_seconds=self.config.worker.delivery_backoff_seconds,
            # aiokafka answers a non-idempotent batch by its request timeout; give it that first.
            ack_timeout=2 * self.config.worker.delivery_timeout_seconds,
        )

        consumer = make_consumer(kafka, self._client_options)
        stack.push_async_callback(close_quietly, consumer.stop)
        self._batch = self._make_batch(routed, consumer)
        self._rebalancer = Rebalancer(
            lock=self._lock,
            batch=self._batch,
            delta=self.delta,
            stats=self.stats,
            source_topic=self.source_topic,
            failed=lambda: self._fatal is not None,
            fail=self._fail,
        )
        assert self._router is not None
        self._reloader = Reloader(self, self._router, routed, self._lock)
        self.registry.attach(routed)
        stack.push_async_callback(self._stop_plugins)
        failed = await self.registry.start()
        if failed and strict_mode(self.config):
            names = ", ".join(sorted(failed))
            raise WorkerError(f"plugins failed to start (strict mode): {names}; see the log above")

        consumer.subscribe([self.source_topic], listener=self._rebalancer)
        await consumer.start()
        log.info(
            "worker for domain %s consuming %s as group %s; DLQ %s; Delta at %s",
            self.domain.name,
            self.source_topic,
            kafka.group_id,
            self.dlq_topic,
            self.config.delta.root,
        )
        return consumer, routed

    def _make_batch(self, routed: RoutedProducer, consumer: Any) -> BatchProcessor:
        router = self._router = MessageRouter(
            self.registry.plugins,
            self.config,
            routed,
            self.stats,
            dlq_topic=self.dlq_topic,
            clock=self._breaker_clock,
        )

        async def commit(offsets: Offsets) -> None:
            await commit_offsets(
                consumer,
                offsets,
                group_id=self.config.kafka.group_id,
                retries=self.config.worker.delivery_retries,
                backoff_seconds=self.config.worker.delivery_backoff_seconds,
                timeout_seconds=self.config.worker.delivery_timeout_seconds,
            )

        batch = BatchProcessor(
            self.domain,
            router,
            routed,
            self.delta,
            self.stats,
            dlq_topic=self.dlq_topic,
            commit=commit,
            flush_max_rows=self.config.delta.flush_max_rows,
            flush_max_seconds=self.config.delta.flush_max_seconds,
            max_buffered_bytes=self.config.worker.max_buffered_bytes,
        )
        batch.listeners = self._listeners
        return batch

    async def _stop_plugins(self) -> None:
        # The registry in place at the end: a reload may have swapped the one started with.
        await self.registry.stop()

    async def _connect(self, admin: Any) -> None:
        servers = self.config.kafka.bootstrap_servers
        try:
            await admin.start()
        except KafkaConnectionError as exc:
            raise BrokerConnectionError(
                f"no Kafka broker answered at {servers} ({exc}); check kafka.bootstrap_servers "
                "(or --bootstrap-servers) and that the cluster is reachable from here"
            ) from exc

    async def _consume(self, consumer: Any, routed: RoutedProducer) -> None:
        assert self._batch is not None
        assert self._rebalancer is not None
        batch, rebalancer = self._batch, self._rebalancer
        poll_ms = self.config.worker.poll_timeout_ms
        max_records = self.config.worker.batch_max_records
        stop = asyncio.ensure_future(self._stop.wait())
        self._last_activity = time.monotonic()
        self._consuming = True
        lag_generation = rebalancer.generation
        try:
            while not self._stop.is_set():
                generation = rebalancer.generation
                poll = asyncio.ensure_future(consumer.getmany(timeout_ms=poll_ms, max_records=max_records))
                await asyncio.wait((poll, stop), return_when=asyncio.FIRST_COMPLETED)
                if not poll.done():
                    # Cancelling is safe: aiokafka hands records over without awaiting after taking them.
                    poll.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await poll
                    break
                records = poll.result()
                if self._fatal is not None:
                    return
                now = self.stats.last_poll_at = time.monotonic()
                async with self._lock:
                    if lag_generation != rebalancer.generation:
                        lag_generation = rebalancer.generation
                        self._lag.forget()
                    if records and generation != rebalancer.generation:
                        rebalancer.fetch_again(consumer, records)
                    elif records:
                        self._last_activity = now
                        for tp, partition_records in records.items():
                            await batch.process(tp.topic, tp.partition, partition_records)
                        self.stats.batches += 1
                        await routed.dispatch()
                        await self._lag.update(consumer, records)
                    else:
                        await self._lag.update(consumer)
                    if batch.should_flush():
                        await batch.flush()
                idle = self.exit_when_idle
                if idle is not None and now - max(self._last_activity, rebalancer.assigned_at) >= idle:
                    log.info("no message for %gs: stopping (--exit-when-idle)", idle)
                    break
        finally:
            self._consuming = False
            stop.cancel()

    # -- metrics and health --------------------------------------------------------

    async def _serve_metrics(self, stack: contextlib.AsyncExitStack) -> None:
        # Imported here: the collector reads this package's stats, so this package cannot import it first.
        from kafka_pipeline.metrics.collector import worker_registry

        settings = self.config.metrics
        assert settings.port is not None
        registry = worker_registry(self.stats, self.domain.name, lambda: self.readiness().ready)
        server = MetricsServer(registry, self.readiness, host=settings.host, port=settings.port)
        server.start()
        self.metrics = server
        # Shutting the server down waits for its thread: not on the loop.
        stack.push_async_callback(asyncio.to_thread, server.stop)
        log.info("metrics at %s/metrics, probes at /healthz and /readyz", server.url)

    def readiness(self) -> Readiness:
        """Ready: consuming, partitions assigned, and a poll came back recently.

        "Recently" is ``kafka.max_poll_interval_ms``, the bound after which
        Kafka itself would consider the worker stuck. Safe to call from any thread.
        """
        reasons = []
        if self._stop.is_set():
            reasons.append("stopping")
        elif not self._consuming:
            reasons.append("starting: not consuming yet")
        if not self.stats.assignment:
            reasons.append(f"no partition of {self.source_topic} assigned to this worker")
        last_poll = self.stats.last_poll_at
        limit = self.config.kafka.max_poll_interval_ms / 1000
        if last_poll is not None and time.monotonic() - last_poll > limit:
            reasons.append(f"no poll for more than {limit:g}s (kafka.max_poll_interval_ms)")
        return Readiness(not reasons, tuple(reasons))

    # -- hot reload ----------------------------------------------------------------

    async def reload(self, config: PipelineConfig, *, why: str = "reload requested") -> bool:
        """Apply the plugin settings of ``config`` between two batches; False when refused.

        See :class:`~kafka_pipeline.worker.reload.Reloader`. Raises
        :class:`WorkerError` when the worker is not running.
        """
        if self._reloader is None:
            raise WorkerError("only a running worker reloads; pass the new config to a new Worker instead")
        return await self._reloader.reload(config, why=why)

    # -- signals -------------------------------------------------------------------

    def _on_hangup(self) -> None:
        if self.config_file is None:
            log.warning("SIGHUP received, but this worker has no configuration file to reload")
            return
        self._hangup.set()


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
