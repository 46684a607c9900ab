"""A worker's counters, as Prometheus reads them at scrape time."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from kafka_pipeline._observability.collector import metrics_registry
from kafka_pipeline._observability.stats import WorkerStats


def scrape(stats: WorkerStats, ready: bool = True) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape: (name, sorted labels) -> value."""
    text = generate_latest(metrics_registry(stats, "widgets", lambda: ready)).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def busy_stats() -> WorkerStats:
    stats = WorkerStats()
    stats.consumed = 7
    stats.messages.update({"stored": 5, "routed": 3, "invalid": 1})
    red = stats.plugin("red-router")
    red.matched, red.sent = 3, 4
    broken = stats.plugin("exploding")
    broken.matched, broken.errors, broken.breaker_state = 2, 2, "open"
    broken.route_seconds.observe(0.0002)
    broken.route_seconds.observe(3.0)
    stats.dlq_by_reason.update({"invalid_json": 1, "plugin_error": 2})
    stats.delta_tables.update({"widgets": "/d/widgets", "widgets_failed": "/d/widgets_failed"})
    stats.delta_rows.update({"widgets": 5})
    stats.consumer_lag = {("widgets.results", 0): 12, ("widgets.results", 1): 0}
    return stats


def test_messages_are_counted_by_domain_and_outcome_with_every_outcome_present() -> None:
    samples = scrape(busy_stats())

    by_outcome = {
        dict(labels)["outcome"]: value
        for (name, labels), value in samples.items()
        if name == "kafka_pipeline_messages_total"
    }
    assert by_outcome == {"stored": 5, "routed": 3, "skipped": 0, "invalid": 1}
    assert samples[("kafka_pipeline_messages_total", (("domain", "widgets"), ("outcome", "stored")))] == 5


def test_each_plugin_has_its_routed_records_errors_and_breaker_state() -> None:
    samples = scrape(busy_stats())

    assert samples[("kafka_pipeline_plugin_routed_total", (("plugin", "red-router"),))] == 4
    assert samples[("kafka_pipeline_plugin_errors_total", (("plugin", "exploding"),))] == 2
    assert samples[("kafka_pipeline_circuit_open", (("plugin", "exploding"),))] == 1
    assert samples[("kafka_pipeline_circuit_open", (("plugin", "red-router"),))] == 0


def test_route_times_are_a_histogram_per_plugin() -> None:
    samples = scrape(busy_stats())

    exploding = (("plugin", "exploding"),)
    assert samples[("kafka_pipeline_plugin_route_seconds_count", exploding)] == 2
    assert samples[("kafka_pipeline_plugin_route_seconds_bucket", (("le", "0.00025"), *exploding))] == 1
    assert samples[("kafka_pipeline_plugin_route_seconds_bucket", (("le", "+Inf"), *exploding))] == 2


def test_dlq_records_are_counted_by_reason_with_every_reason_present() -> None:
    samples = scrape(busy_stats())

    by_reason = {
        dict(labels)["reason"]: value
        for (name, labels), value in samples.items()
        if name == "kafka_pipeline_dlq_total"
    }
    assert by_reason == {
        "invalid_json": 1,
        "schema": 0,
        "plugin_error": 2,
        "circuit_open": 0,
        "replay_exhausted": 0,
    }


def test_every_delta_table_has_a_row_count_even_before_its_first_row() -> None:
    samples = scrape(busy_stats())

    assert samples[("kafka_pipeline_delta_rows_total", (("table", "widgets"),))] == 5
    assert samples[("kafka_pipeline_delta_rows_total", (("table", "widgets_failed"),))] == 0


def test_consumer_lag_is_a_gauge_per_topic_and_partition() -> None:
    samples = scrape(busy_stats())

    assert samples[("kafka_pipeline_consumer_lag", (("partition", "0"), ("topic", "widgets.results")))] == 12
    assert samples[("kafka_pipeline_consumer_lag", (("partition", "1"), ("topic", "widgets.results")))] == 0


def test_a_scrape_reads_the_counters_as_they_are_now() -> None:
    stats = busy_stats()
    registry = metrics_registry(stats, "widgets")
    generate_latest(registry)

    stats.plugin("red-router").sent += 10
    text = generate_latest(registry).decode()

    assert 'kafka_pipeline_plugin_routed_total{plugin="red-router"} 14.0' in text


def test_two_workers_in_one_process_export_separately() -> None:
    first, second = WorkerStats(), WorkerStats()
    first.consumed, second.consumed = 1, 2

    assert scrape(first)[("kafka_pipeline_consumed_total", (("domain", "widgets"),))] == 1
    assert scrape(second)[("kafka_pipeline_consumed_total", (("domain", "widgets"),))] == 2


def test_readiness_is_exported_as_a_gauge() -> None:
    assert scrape(WorkerStats(), ready=False)[("kafka_pipeline_ready", ())] == 0
