"""(a) The framework: the real ``Worker`` with the installed XACT plugins and Delta writes.

Exactly what ``kafka-pipeline worker`` runs (discovery, plugin configs, the
worker's consumer loop, routed producer, resilience and Delta writer); only
the topics are renamed per run, through the plugins' own configuration.
"""

from __future__ import annotations

import asyncio
from typing import Any

import dataset
from spec import RunSpec, Stopwatch

from kafka_pipeline import PipelineConfig, parse_config
from kafka_pipeline._observability.stats import FlushReport
from kafka_pipeline._worker.runner import Worker

__all__ = ["PLUGINS", "config_data", "config_for", "run"]

PLUGINS = ("esx-processor", "failure-alerter", "status-subtype-router")


def config_for(spec: RunSpec) -> PipelineConfig:
    return parse_config(config_data(spec))


def config_data(spec: RunSpec) -> dict[str, Any]:
    """The worker's configuration for ``spec``, as its YAML file would hold it."""
    ns = spec.namespace
    return {
        # Tansu refuses aiokafka's idempotent producer (see DESIGN.md).
        "kafka": {
            "bootstrap_servers": spec.bootstrap_servers,
            "group_id": spec.group_id,
            "enable_idempotence": False,
            # aiokafka's default, as (b) and (c) use: Tansu holds a group's first
            # join for half the session timeout, which is set-up, not throughput.
            "session_timeout_ms": 10_000,
        },
        "source_topic": spec.source_topic,
        "dlq_topic": ns.dlq,
        "delta": {"root": spec.delta_root},
        "worker": {"batch_max_records": spec.batch_max_records},
        # The three XACT plugins of the measured set-up, whatever else is installed.
        "load": list(PLUGINS),
        "plugins": {
            "esx-processor": {"config": {"topic": ns.topic(dataset.ESX)}},
            "failure-alerter": {"config": {"topic": ns.topic(dataset.ALERTS)}},
            "status-subtype-router": {
                "config": {
                    "routes": {
                        "estimateCreated": ns.topic(dataset.ESTIMATES),
                        "documentsReceived": ns.topic(dataset.DOCUMENTS),
                    }
                }
            },
        },
    }


async def _watch(worker: Worker, spec: RunSpec, watch: Stopwatch) -> None:
    """Start the clock when partitions are assigned; ask the worker to stop once it has read everything.

    The worker then flushes what it holds and commits; the flush listener
    stops the clock at that last commit, as (b) stops it after its own.
    """
    # The worker has no event for either; polling its counters costs next to nothing.
    while not worker.stats.assignment:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    watch.start()
    if not spec.messages:
        await _report_progress(worker)
        return
    while worker.stats.consumed < spec.messages:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    worker.request_stop()


async def _report_progress(worker: Worker) -> None:
    """One of several workers: tell the parent how far this one got, so it knows when the group is done."""
    reported = 0
    while True:
        if worker.stats.consumed != reported:
            reported = worker.stats.consumed
            print(f"consumed {reported}", flush=True)
        await asyncio.sleep(0.02)


async def run(spec: RunSpec, watch: Stopwatch) -> int:
    worker = Worker.from_config(config_for(spec), "xact")
    committed: dict[tuple[str, int], int] = {}

    def on_flush(report: FlushReport) -> None:
        committed.update(report.offsets)
        # One of several workers (scaling run): the last flush before SIGTERM ends the window.
        if not spec.messages or sum(committed.values()) >= spec.messages:
            watch.stop()

    worker.add_flush_listener(on_flush)
    watcher = asyncio.create_task(_watch(worker, spec, watch))
    try:
        await worker.run(handle_signals=not spec.messages)
    finally:
        watcher.cancel()
    stats: dict[str, Any] = worker.stats.as_dict()
    if stats["messages"].get("invalid") or any(p["errors"] for p in stats["plugins"].values()):
        raise RuntimeError(f"the worker reported failures: {stats}")
    return worker.stats.consumed
