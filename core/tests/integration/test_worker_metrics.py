"""``/metrics``, ``/healthz`` and ``/readyz`` of a worker that has really consumed, routed and stored."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from integration.kit import Names, config_data, create_topics, encode, make_names, parcel, produce
from integration.ops import Progress, Samples, by_label, probe, scrape
from kafka_pipeline import parse_config
from kafka_pipeline._worker.runner import Worker

pytestmark = pytest.mark.integration

EXPRESS = [(f"e{i}".encode(), encode(parcel(f"e{i}", carrier="express"))) for i in range(4)]
LOST = [(f"l{i}".encode(), encode(parcel(f"l{i}", "failed_permanent"))) for i in range(2)]
RETRYING = [(b"r1", encode(parcel("r1", "failed")))]
FUSSY = [(f"f{i}".encode(), encode(parcel(f"f{i}", tags=["fussy"]))) for i in range(3)]
NOT_JSON = [(b"x1", b"{not json")]
SENT = EXPRESS + LOST + RETRYING + FUSSY + NOT_JSON


@dataclass
class Run:
    names: Names
    samples: Samples
    health: tuple[int, Any]
    ready: tuple[int, Any]


async def scenario(bootstrap: str, names: Names) -> Run:
    await create_topics(bootstrap, names.source, names.dlq, partitions=1)
    await create_topics(bootstrap, names.topic("express"), names.topic("alerts"), names.topic("fussy"))
    config = parse_config(
        config_data(
            bootstrap,
            names,
            {
                "express-router": {"config": {"topic": names.topic("express")}},
                "loss-alerter": {"config": {"topic": names.topic("alerts")}},
                # Fails on every message; its breaker opens after the second.
                "fussy": {
                    "config": {"topic": names.topic("fussy")},
                    "max_retries": 0,
                    "breaker_failure_threshold": 2,
                },
            },
            metrics={"host": "127.0.0.1", "port": 0, "route_timing_sample_every": 1},
        )
    )
    worker = Worker.from_config(config, "parcels")
    progress = Progress(worker)
    running = asyncio.create_task(worker.run())
    try:
        await produce(bootstrap, names.source, SENT)
        await progress.consumed(len(SENT))
        return Run(
            names, await scrape(worker), await probe(worker, "/healthz"), await probe(worker, "/readyz")
        )
    finally:
        worker.request_stop()
        await asyncio.wait_for(running, 60)


@pytest.fixture(scope="module")
def run(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return asyncio.run(scenario(bootstrap, make_names(tmp_path_factory.mktemp("metrics"), "metrics")))


def test_messages_are_counted_by_outcome(run: Run) -> None:
    assert by_label(run.samples, "kafka_pipeline_messages_total", "outcome") == {
        "stored": 9,  # 4 express + 3 fussy completed, 2 lost
        "routed": 6,  # 4 express, 2 lost
        "skipped": 1,  # failed: no table, no plugin
        "invalid": 1,
    }


def test_messages_are_labelled_with_their_domain(run: Run) -> None:
    assert set(by_label(run.samples, "kafka_pipeline_messages_total", "domain")) == {"parcels"}


def test_each_plugin_counts_the_records_it_routed(run: Run) -> None:
    assert by_label(run.samples, "kafka_pipeline_plugin_routed_total", "plugin") == {
        "express-router": 4,
        "loss-alerter": 2,
        "fussy": 0,
    }


def test_a_failing_plugin_counts_its_errors_and_shows_its_open_breaker(run: Run) -> None:
    errors = by_label(run.samples, "kafka_pipeline_plugin_errors_total", "plugin")
    circuit = by_label(run.samples, "kafka_pipeline_circuit_open", "plugin")

    assert (errors["fussy"], circuit) == (2, {"express-router": 0, "loss-alerter": 0, "fussy": 1})


def test_route_times_are_a_histogram_of_every_timed_call(run: Run) -> None:
    counts = by_label(run.samples, "kafka_pipeline_plugin_route_seconds_count", "plugin")

    # Every match is timed (route_timing_sample_every: 1), except those an open breaker parked.
    assert counts == {"express-router": 4, "loss-alerter": 2, "fussy": 2}


def test_dlq_records_are_counted_by_reason(run: Run) -> None:
    assert by_label(run.samples, "kafka_pipeline_dlq_total", "reason") == {
        "invalid_json": 1,
        "schema": 0,
        "plugin_error": 2,
        "circuit_open": 1,
        "replay_exhausted": 0,
    }


def test_delta_rows_are_counted_by_table(run: Run) -> None:
    assert by_label(run.samples, "kafka_pipeline_delta_rows_total", "table") == {
        "parcels": 7,
        "parcels_failed": 2,
    }


def test_consumer_lag_is_zero_once_the_topic_is_drained(run: Run) -> None:
    assert by_label(run.samples, "kafka_pipeline_consumer_lag", "topic") == {run.names.source: 0}


def test_healthz_says_the_process_is_alive(run: Run) -> None:
    assert run.health == (200, {"status": "alive"})


def test_readyz_is_ready_while_the_worker_consumes_its_partitions(run: Run) -> None:
    assert run.ready == (200, {"ready": True, "reasons": []})
