"""``Worker``: the consumer loop of one domain, its start-up and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka_pipeline._broker.clients import close_quietly, make_consumer, start_admin, start_producer
from kafka_pipeline._broker.lag import LagTracker
from kafka_pipeline._broker.offsets import offset_committer
from kafka_pipeline._broker.outbox import KafkaOutbox
from kafka_pipeline._broker.topics import DEV_TOPIC_PARTITIONS, TopicAdmin
from kafka_pipeline._config import PipelineConfig
from kafka_pipeline._domain import Domain
from kafka_pipeline._errors import WorkerError
from kafka_pipeline._loading import discover, strict_mode, topics_of
from kafka_pipeline._logs import redact
from kafka_pipeline._observability.collector import metrics_registry
from kafka_pipeline._observability.server import MetricsServer, Readiness
from kafka_pipeline._observability.stats import FlushReport, WorkerStats
from kafka_pipeline._observability.tracing import Tracing, tracing_from_environment
from kafka_pipeline._registry import PluginRegistry
from kafka_pipeline._sinks.delta import DeltaWriter
from kafka_pipeline._sinks.sink import Sink
from kafka_pipeline._worker.batch import BatchProcessor
from kafka_pipeline._worker.checkpoint import Checkpoint
from kafka_pipeline._worker.config_watch import ConfigFile
from kafka_pipeline._worker.memory import limit_heap_growth
from kafka_pipeline._worker.rebalance import Rebalancer
from kafka_pipeline._worker.reload import LivePlugins, Reloader
from kafka_pipeline._worker.signals import WorkerSignals
from kafka_pipeline._worker.traced import batch_processor, routing_engine

log = logging.getLogger("kafka_pipeline.worker")


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker runs, beyond its configuration file: the command line's and the tests' knobs.

    Args:
        create_topics: create missing source, DLQ and routed topics (development only).
        new_topic_partitions: partitions of topics that ``create_topics`` creates.
        exit_when_idle: stop cleanly after this many seconds without a message.
        client_options: extra keyword arguments for every aiokafka client,
            e.g. ``sasl_oauth_token_provider``.
        breaker_clock: the clock of the plugins' circuit breakers (tests replace it).
        config_file: the file the configuration came from, watched for changes.
        reload_interval: seconds between two looks at ``config_file``; None: on SIGHUP only.
        sinks: where the standard processing stores results; default: the
            domain's Delta tables under ``delta.root``.
        tracing: OpenTelemetry spans; default: as the ``OTEL_*`` variables say (usually none).
    """

    create_topics: bool = False
    new_topic_partitions: int = DEV_TOPIC_PARTITIONS
    exit_when_idle: float | None = None
    client_options: Mapping[str, Any] = field(default_factory=dict)
    breaker_clock: Callable[[], float] = time.monotonic
    config_file: ConfigFile | None = None
    reload_interval: float | None = 1.0
    sinks: Sequence[Sink] | None = None
    tracing: Tracing | None = None


class Worker:
    """Consumes one domain's results, routes them, hands them to the sinks and commits offsets.

    The CLI's ``worker`` command, ``demo`` and the benchmarks all run this::

        worker = Worker.from_config(config, "widgets", exit_when_idle=5.0)
        await worker.run()
        print(worker.stats.as_dict())

    :meth:`run` returns after a clean stop: :meth:`request_stop` was called,
    a SIGTERM/SIGINT arrived (with ``handle_signals=True``), or no message
    came for ``exit_when_idle`` seconds. It first finishes the batch in hand,
    commits it through the :class:`~kafka_pipeline._worker.checkpoint.Checkpoint`
    (acknowledgements, sinks, offsets) and stops the plugins. When the worker
    cannot make progress (broker or storage down past every retry, a missing
    topic) :meth:`run` raises a :class:`~kafka_pipeline.WorkerError` and
    commits nothing more: the next run consumes the unfinished work again,
    and the sinks skip what they already hold.

    ``stats`` is updated as the worker goes; listeners added with
    :meth:`add_flush_listener` hear of every commit. With ``metrics.port``
    set, :attr:`metrics` serves them to Prometheus with ``/healthz`` and
    ``/readyz`` (:meth:`readiness`). With ``options.config_file``, the
    worker reloads its plugin settings when the file changes or on SIGHUP
    (see :meth:`reload`).
    """

    def __init__(
        self,
        config: PipelineConfig,
        domain: Domain[Any],
        registry: PluginRegistry[Any],
        options: WorkerOptions | None = None,
    ) -> None:
        self.config = config
        self.domain = domain
        self.options = options or WorkerOptions()
        redact(*config.secrets())  # whoever built the worker, its secrets stay out of logs and DLQ headers
        self.source_topic, self.dlq_topic = topics_of(config, domain)
        self.stats = WorkerStats()
        for plugin in registry.plugins:
            self.stats.plugin(plugin.name)
        self.sinks: tuple[Sink, ...] = tuple(
            self.options.sinks
            if self.options.sinks is not None
            else [
                DeltaWriter.from_config(config, list(domain.tables.values()), domain.model, self.source_topic)
            ]
        )
        for sink in self.sinks:
            if isinstance(sink, DeltaWriter):
                self.stats.delta_tables.update(sink.uris)
        self._registry = registry
        self._listeners: list[Callable[[FlushReport], None]] = []
        self._stop = asyncio.Event()
        self._hangup = asyncio.Event()
        self._fatal: BaseException | None = None
        self._running = False
        self._consuming = False
        self._live: LivePlugins | None = None
        self._reloader: Reloader | None = None
        #: The metrics endpoint while :meth:`run` runs, when ``metrics.port`` is set.
        self.metrics: MetricsServer | None = None

    @classmethod
    def from_config(cls, config: PipelineConfig, domain: str, **options: Any) -> Worker:
        """A worker for the installed ``domain`` with every runnable plugin of it.

        ``options`` are the fields of :class:`WorkerOptions`.
        """
        installation = discover(config)
        return cls(
            config, installation.domain(domain), installation.registry(domain), WorkerOptions(**options)
        )

    @property
    def registry(self) -> PluginRegistry[Any]:
        """The plugins routing now (a reload may have replaced the ones the worker started with)."""
        return self._live.registry if self._live is not None else self._registry

    def add_flush_listener(self, listener: Callable[[FlushReport], None]) -> None:
        """Call ``listener`` after every commit, once its offsets are committed."""
        self._listeners.append(listener)

    def request_stop(self) -> None:
        """Make :meth:`run` finish the batch in hand, commit and return. Call it on the loop."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _fail(self, exc: BaseException) -> None:
        self._fatal = exc
        self._stop.set()

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
            consumer, batch, checkpoint, rebalancer, outbox = await self._start(stack)
            await self._consume(consumer, batch, checkpoint, rebalancer, outbox)
            assert self._live is not None
            async with self._live.lock:
                if self._fatal is None:
                    await checkpoint.commit()
            if self._fatal is not None:
                raise self._fatal
            # Leaving the stack stops the plugins, then closes the consumer, producer and admin.

    async def _start(
        self, stack: contextlib.AsyncExitStack
    ) -> tuple[Any, BatchProcessor, Checkpoint, Rebalancer, KafkaOutbox]:
        """Prepare the sinks, connect, check topics, start the producer and plugins, join the group.

        What it starts, ``stack`` stops.
        """
        # Unsafe storage settings and a table that cannot take the model's rows stop the worker here.
        for sink in self.sinks:
            await sink.prepare()
        config, options = self.config, self.options
        kafka, settings = config.kafka, config.worker
        admin = await start_admin(stack, kafka, options.client_options)
        topics = TopicAdmin(
            admin,
            bootstrap_servers=kafka.bootstrap_servers,
            create=options.create_topics,
            partitions=options.new_topic_partitions,
        )
        await topics.require_source(self.source_topic)
        await topics.require_dlq(self.dlq_topic)
        producer = await start_producer(
            stack, kafka, options.client_options, delivery_timeout_seconds=settings.delivery_timeout_seconds
        )
        outbox = KafkaOutbox.for_settings(producer, topics, self.stats, settings)
        consumer = make_consumer(kafka, options.client_options)
        stack.push_async_callback(close_quietly, consumer.stop)

        registry = self._registry
        tracing = options.tracing or tracing_from_environment()
        if tracing is not None:
            stack.callback(tracing.close)  # runs after the plugins stopped: their spans are exported too
        engine = routing_engine(
            registry.plugins,
            config,
            outbox,
            self.stats,
            dlq_topic=self.dlq_topic,
            clock=options.breaker_clock,
            tracing=tracing,
        )
        live = self._live = LivePlugins(
            self.domain.name, config, registry, engine, outbox, self.stats, asyncio.Lock()
        )
        self._reloader = Reloader(live)
        checkpoint = Checkpoint(
            outbox,
            self.sinks,
            offset_committer(consumer, kafka.group_id, settings),
            self.stats,
            max_rows=config.delta.flush_max_rows,
            max_bytes=settings.max_buffered_bytes,
            max_seconds=config.delta.flush_max_seconds,
        )
        checkpoint.listeners = self._listeners
        batch = batch_processor(
            self.domain,
            engine,
            outbox,
            sinks=self.sinks,
            checkpoint=checkpoint,
            stats=self.stats,
            dlq_topic=self.dlq_topic,
            tracing=tracing,
        )
        rebalancer = Rebalancer(
            lock=live.lock,
            checkpoint=checkpoint,
            sinks=self.sinks,
            stats=self.stats,
            source_topic=self.source_topic,
            failed=lambda: self._fatal is not None,
            fail=self._fail,
        )

        registry.attach(outbox)
        stack.push_async_callback(self._stop_plugins)
        failed = await registry.start()
        if failed and strict_mode(config):
            names = ", ".join(sorted(failed))
            raise WorkerError(f"plugins failed to start (strict mode): {names}; see the log above")
        if options.config_file is not None:
            watch = self._reloader.watch(options.config_file, self._hangup, options.reload_interval)
            stack.push_async_callback(_cancel, asyncio.create_task(watch))

        consumer.subscribe([self.source_topic], listener=rebalancer)
        await consumer.start()
        log.info(
            "worker for domain %s consuming %s as group %s; DLQ %s; Delta at %s",
            self.domain.name,
            self.source_topic,
            kafka.group_id,
            self.dlq_topic,
            config.delta.root,
        )
        return consumer, batch, checkpoint, rebalancer, outbox

    async def _stop_plugins(self) -> None:
        # The registry in place at the end: a reload may have swapped the one started with.
        await self.registry.stop()

    async def _consume(
        self,
        consumer: Any,
        batch: BatchProcessor,
        checkpoint: Checkpoint,
        rebalancer: Rebalancer,
        outbox: KafkaOutbox,
    ) -> None:
        assert self._live is not None
        lock = self._live.lock
        lag = LagTracker(self.stats)
        poll_ms = self.config.worker.poll_timeout_ms
        max_records = self.config.worker.batch_max_records
        idle = self.options.exit_when_idle
        stop = asyncio.ensure_future(self._stop.wait())
        last_activity = began = time.monotonic()
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
                processed = None
                async with lock:
                    if records and generation != rebalancer.generation:
                        rebalancer.fetch_again(consumer, records)
                    elif records:
                        last_activity = now
                        for tp, partition_records in records.items():
                            await batch.process(tp.topic, tp.partition, partition_records)
                        self.stats.batches += 1
                        await outbox.dispatch()
                        processed = records
                    if checkpoint.due():
                        await checkpoint.commit()
                # Outside the lock: asking the consumer for a position can wait for a rebalance to
                # end, and the rebalance waits in its revoke listener for this lock.
                if lag_generation != rebalancer.generation:
                    lag_generation = rebalancer.generation
                    lag.forget()
                await lag.update(consumer, processed)
                if idle is not None and now - max(last_activity, rebalancer.assigned_at or began) >= idle:
                    log.info("no message for %gs: stopping (--exit-when-idle)", idle)
                    break
        finally:
            self._consuming = False
            stop.cancel()

    # -- metrics and health --------------------------------------------------------

    async def _serve_metrics(self, stack: contextlib.AsyncExitStack) -> None:
        settings = self.config.metrics
        assert settings.port is not None
        collectors = metrics_registry(self.stats, self.domain.name, lambda: self.readiness().ready)
        server = MetricsServer(collectors, self.readiness, host=settings.host, port=settings.port)
        server.start()
        self.metrics = server
        # Shutting the server down waits for its thread: not on the loop.
        stack.push_async_callback(asyncio.to_thread, server.stop)

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

        See :class:`~kafka_pipeline._worker.reload.Reloader`. Raises
        :class:`WorkerError` when the worker is not running.
        """
        if self._reloader is None:
            raise WorkerError("only a running worker reloads; pass the new config to a new Worker instead")
        return await self._reloader.reload(config, why=why)

    def _on_hangup(self) -> None:
        if self.options.config_file is None:
            log.warning("SIGHUP received, but this worker has no configuration file to reload")
            return
        self._hangup.set()


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
