"""``WorkerCollector``: a worker's :class:`WorkerStats` as Prometheus metrics, read at scrape time.

The worker never calls ``prometheus_client`` while it routes: it bumps plain
counters in :class:`~kafka_pipeline._observability.stats.WorkerStats`, and this
collector reads them when Prometheus asks. It runs on the endpoint's thread
while the worker's loop keeps writing, so it reads each dict through one
C-level copy (``dict(...)``, ``list(d.items())``), which cannot see a dict
change size half-way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from kafka_pipeline._dlq import DlqReason
from kafka_pipeline._observability.stats import WorkerStats

#: The ``outcome`` label values of ``kafka_pipeline_messages_total``; all four are always exported.
MESSAGE_OUTCOMES: Final = ("stored", "routed", "skipped", "invalid")

PREFIX: Final = "kafka_pipeline"


_COUNTER, _GAUGE, _HISTOGRAM = CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

#: Every exported family: short name -> (kind, help, labels). Counters get ``_total`` appended.
_Kind = type[CounterMetricFamily] | type[GaugeMetricFamily] | type[HistogramMetricFamily]

FAMILIES: Final[dict[str, tuple[_Kind, str, tuple[str, ...]]]] = {
    "messages": (
        _COUNTER,
        "Source messages by outcome: stored (a Delta row), routed (a plugin sent something), "
        "skipped (valid, neither), invalid (sent to the DLQ). Routed and stored overlap.",
        ("domain", "outcome"),
    ),
    "consumed": (_COUNTER, "Source records consumed.", ("domain",)),
    "plugin_matched": (_COUNTER, "Messages for which the plugin's should_route returned True.", ("plugin",)),
    "plugin_routed": (
        _COUNTER,
        "Records the plugin sent to a topic (successful attempts only).",
        ("plugin",),
    ),
    "plugin_errors": (
        _COUNTER,
        "Messages the plugin failed on after every retry (should_route raising included).",
        ("plugin",),
    ),
    "plugin_retries": (_COUNTER, "Failed plugin attempts that were retried.", ("plugin",)),
    "plugin_timeouts": (_COUNTER, "Plugin attempts that hit the plugin's timeout.", ("plugin",)),
    "plugin_route_seconds": (
        _HISTOGRAM,
        "Duration of the plugin's route call, for a sample of its matched messages "
        "(one in metrics.route_timing_sample_every, the first always).",
        ("plugin",),
    ),
    "circuit_open": (
        _GAUGE,
        "1 while the plugin's circuit breaker is open (its matches go to the DLQ), else 0.",
        ("plugin",),
    ),
    "dlq": (_COUNTER, "Records sent to the dead-letter topic, by x-dlq-reason.", ("reason",)),
    "routed_records": (_COUNTER, "Routed records handed to the producer, by topic.", ("topic",)),
    "delta_rows": (_COUNTER, "Rows appended to each Delta table (committed flushes only).", ("table",)),
    "delta_duplicates_skipped": (
        _COUNTER,
        "Rows not appended because an earlier run had already written their offsets.",
        (),
    ),
    "consumer_lag": (
        _GAUGE,
        "Records between the worker's position and the high watermark of the last fetch, "
        "per assigned source partition, as of the last poll.",
        ("topic", "partition"),
    ),
    "flushes": (_COUNTER, "Flushes: acknowledged, appended to Delta, then committed.", ()),
    "flush_seconds": (
        _HISTOGRAM,
        "Duration of each flush: waiting for acknowledgements, the Delta append and the offset commit.",
        (),
    ),
    "last_flush_timestamp_seconds": (
        _GAUGE,
        "Unix time when the last flush completed; the worker's start time before the first.",
        (),
    ),
    "rebalances": (_COUNTER, "Consumer-group rebalances that revoked partitions of this worker.", ()),
    "config_reloads": (_COUNTER, "Configuration reloads by result (applied, refused).", ("result",)),
    "seconds_since_last_poll": (
        _GAUGE,
        "Seconds since the consumer loop last came back from a poll; -1 before the first.",
        (),
    ),
    "ready": (_GAUGE, "1 when /readyz answers 200, else 0.", ()),
}


class WorkerCollector(Collector):
    """Exports one worker's counters; ``ready`` (optional) becomes ``kafka_pipeline_ready``."""

    def __init__(self, stats: WorkerStats, domain: str, ready: Callable[[], bool] | None = None) -> None:
        self._stats = stats
        self._domain = domain
        self._ready = ready

    @staticmethod
    def _empty() -> dict[str, Metric]:
        return {
            short: kind(f"{PREFIX}_{short}", help, labels=list(labels))
            for short, (kind, help, labels) in FAMILIES.items()
        }

    def describe(self) -> Iterator[Metric]:
        # Names only: registering must not read the stats, which may not be filled yet.
        yield from self._empty().values()

    def collect(self) -> Iterator[Metric]:
        families = self._empty()
        self._fill(families)
        yield from families.values()

    def _fill(self, f: dict[str, Metric]) -> None:
        stats, domain = self._stats, self._domain

        counts = dict(stats.messages)
        for outcome in MESSAGE_OUTCOMES:
            _add(f["messages"], [domain, outcome], counts.get(outcome, 0))
        _add(f["consumed"], [domain], stats.consumed)

        histogram = f["plugin_route_seconds"]
        assert isinstance(histogram, HistogramMetricFamily)
        for name, plugin in sorted(stats.plugins.items()):
            _add(f["plugin_matched"], [name], plugin.matched)
            _add(f["plugin_routed"], [name], plugin.sent)
            _add(f["plugin_errors"], [name], plugin.errors)
            _add(f["plugin_retries"], [name], plugin.retries)
            _add(f["plugin_timeouts"], [name], plugin.timeouts)
            _add(f["circuit_open"], [name], 1 if plugin.breaker_state == "open" else 0)
            buckets, total = plugin.route_seconds.snapshot()
            histogram.add_metric([name], [(_le(bound), count) for bound, count in buckets], total)

        known = [r.value for r in DlqReason]
        by_reason = dict(stats.dlq_by_reason)
        for reason in [*known, *sorted(set(by_reason) - set(known))]:
            _add(f["dlq"], [reason], by_reason.get(reason, 0))
        for topic, count in sorted(dict(stats.routed_by_topic).items()):
            _add(f["routed_records"], [topic], count)
        rows = dict(stats.delta_rows)
        for table in sorted(set(dict(stats.delta_tables)) | set(rows)):
            _add(f["delta_rows"], [table], rows.get(table, 0))
        _add(f["delta_duplicates_skipped"], [], stats.delta_duplicates_skipped)
        for (topic, partition), behind in sorted(dict(stats.consumer_lag).items()):
            _add(f["consumer_lag"], [topic, str(partition)], behind)
        _add(f["flushes"], [], stats.flushes)
        flush_histogram = f["flush_seconds"]
        assert isinstance(flush_histogram, HistogramMetricFamily)
        buckets, total = stats.flush_seconds.snapshot()
        flush_histogram.add_metric([], [(_le(bound), count) for bound, count in buckets], total)
        # Monotonic in the stats, so that a clock step cannot fake a flush; wall time for Prometheus.
        flushed_at = stats.started_at if stats.last_flush_at is None else stats.last_flush_at
        _add(f["last_flush_timestamp_seconds"], [], time.time() - (time.monotonic() - flushed_at))
        _add(f["rebalances"], [], stats.rebalances)
        results = dict(stats.reloads)
        for result in ("applied", "refused"):
            _add(f["config_reloads"], [result], results.get(result, 0))
        last_poll = stats.last_poll_at
        since = -1.0 if last_poll is None else max(0.0, time.monotonic() - last_poll)
        _add(f["seconds_since_last_poll"], [], since)
        _add(f["ready"], [], 1 if self._ready is not None and self._ready() else 0)


def _le(bound: float) -> str:
    """A bucket bound as Prometheus writes it: ``0.005``, ``1e-05``, ``+Inf``."""
    return "+Inf" if bound == float("inf") else repr(bound)


def _add(family: Metric, labels: list[str], value: float) -> None:
    assert isinstance(family, CounterMetricFamily | GaugeMetricFamily)
    family.add_metric(labels, value)


def metrics_registry(
    stats: WorkerStats, domain: str, ready: Callable[[], bool] | None = None
) -> CollectorRegistry:
    """A registry of its own for one worker: never the process-global one, so workers never collide."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(WorkerCollector(stats, domain, ready))
    return registry
