"""Flush latency and the last flush's time, as Prometheus reads them: what "no flush for N minutes" needs."""

from __future__ import annotations

import time

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from kafka_pipeline._observability.collector import metrics_registry
from kafka_pipeline._observability.stats import WorkerStats

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(stats: WorkerStats) -> Samples:
    text = generate_latest(metrics_registry(stats, "widgets")).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_flush_durations_are_a_histogram() -> None:
    stats = WorkerStats()
    stats.flush_seconds.observe(0.004)
    stats.flush_seconds.observe(0.3)
    stats.flush_seconds.observe(200.0)

    samples = scrape(stats)

    assert [
        samples[("kafka_pipeline_flush_seconds_bucket", (("le", le),))] for le in ("0.005", "0.5", "+Inf")
    ] == [
        1,
        2,
        3,
    ]
    assert samples[("kafka_pipeline_flush_seconds_count", ())] == 3


def test_the_last_flush_is_exported_as_a_unix_timestamp() -> None:
    stats = WorkerStats()
    stats.last_flush_at = time.monotonic() - 120

    exported = scrape(stats)[("kafka_pipeline_last_flush_timestamp_seconds", ())]

    assert abs(exported - (time.time() - 120)) < 5


def test_before_the_first_flush_the_timestamp_is_the_workers_start() -> None:
    stats = WorkerStats(started_at=time.monotonic() - 600)

    exported = scrape(stats)[("kafka_pipeline_last_flush_timestamp_seconds", ())]

    assert abs(exported - (time.time() - 600)) < 5
