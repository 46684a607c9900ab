"""A plugin that blocks the event loop is seen: logged by name, counted, and ``/healthz`` fails.

``blocker`` calls ``time.sleep(2)`` in ``route``. Before the loop watchdog
the call counted as a success, nothing was logged, and ``/healthz`` stayed
200, so an orchestrator never restarted a worker a plugin had wedged.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any

import pytest

from integration.kit import config_data, create_topics, encode, make_names, parcel, produce
from integration.ops import Progress, Samples, probe, scrape
from kafka_pipeline import parse_config
from kafka_pipeline._worker.runner import Worker

pytestmark = pytest.mark.integration

SENT = [(f"p{i}".encode(), encode(parcel(f"p{i}"))) for i in range(5)]
SENT.insert(2, (b"blocks", encode(parcel("blocks", tags=["block"]))))


@dataclass
class Run:
    samples: Samples
    health: tuple[int, Any]
    log: str
    errors: int


class _Keep(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def run(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    names = make_names(tmp_path_factory.mktemp("stall"), "loop-stall")
    config = parse_config(
        config_data(
            bootstrap,
            names,
            {"blocker": {"config": {"seconds": 2.0}}},
            metrics={"host": "127.0.0.1", "port": 0},
            worker={"poll_timeout_ms": 200, "stall_warning_seconds": 0.5, "stall_unhealthy_seconds": 1.5},
        )
    )
    records: list[logging.LogRecord] = []
    handler = _Keep(records)
    watched = logging.getLogger("kafka_pipeline.worker.watchdog")
    watched.addHandler(handler)

    async def scenario() -> Run:
        await create_topics(bootstrap, names.source, names.dlq, partitions=1)
        worker = Worker.from_config(config, "parcels")
        progress = Progress(worker)
        running = asyncio.create_task(worker.run())
        try:
            await produce(bootstrap, names.source, SENT)
            await progress.consumed(len(SENT))
            return Run(
                await scrape(worker),
                await probe(worker, "/healthz"),
                "\n".join(r.getMessage() for r in records),
                worker.stats.plugins["blocker"].errors,
            )
        finally:
            worker.request_stop()
            await asyncio.wait_for(running, 60)

    try:
        return asyncio.run(scenario())
    finally:
        watched.removeHandler(handler)


def test_the_stall_is_logged_naming_the_plugin_its_hook_and_the_duration(run: Run) -> None:
    # Two seconds of sleep, less the part of a heartbeat interval that passed before it.
    assert re.search(
        r"event loop stalled for (1\.[89]|2\.\d)s in plugin blocker \(route\), at parcels_plugins", run.log
    )


def test_the_stall_is_counted_in_the_loop_and_plugin_metrics(run: Run) -> None:
    samples = run.samples
    assert (
        samples["kafka_pipeline_loop_stalls_total", ()],
        samples["kafka_pipeline_loop_stall_seconds_bucket", (("le", "1.0"),)],
        samples["kafka_pipeline_loop_stall_seconds_bucket", (("le", "2.5"),)],
        samples["kafka_pipeline_plugin_stalls_total", (("plugin", "blocker"),)],
        samples["kafka_pipeline_healthy", ()],
    ) == (1, 0, 1, 1, 0)


def test_healthz_answers_503_naming_the_plugin(run: Run) -> None:
    status, body = run.health
    assert (status, body["status"]) == (503, "unhealthy")
    assert re.search(r"stalled for \d\.\ds in plugin blocker \(route\)", body["reasons"][0])
    assert "worker.stall_unhealthy_seconds" in body["reasons"][0]


def test_the_blocked_call_itself_still_routed_its_message(run: Run) -> None:
    assert run.errors == 0
