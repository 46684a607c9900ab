"""What ``top`` shows: counts and per-second rates of several workers, merged.

Counters are summed over the workers. A rate is a worker's increase between
its previous scrape and this one, divided by the time between them, summed
over the workers scraped both times; a counter that went down means the
worker restarted, and counts from 0 (as Prometheus's ``rate()`` assumes).
With no previous scrape a rate is ``None`` (shown as n/a). Where it matters
which worker holds something (a partition's lag, an open breaker), the
worker is named by its URL's ``host:port``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from kafka_pipeline._top.scrape import Scrape, ScrapeError


@dataclass(frozen=True)
class Count:
    """A counter summed over the workers, and its rate per second (None before a second scrape)."""

    key: str
    total: float
    rate: float | None


@dataclass(frozen=True)
class PluginRow:
    plugin: str
    matched: Count
    sent: Count
    errors: Count
    #: The workers on which the plugin's circuit breaker is open.
    open_on: tuple[str, ...]


@dataclass(frozen=True)
class LagRow:
    topic: str
    partition: int
    worker: str
    lag: float


@dataclass(frozen=True)
class WorkerRow:
    worker: str
    url: str
    #: Why it could not be scraped; None when it was.
    error: str | None = None
    ready: bool = False
    consumed: float = 0.0


@dataclass(frozen=True)
class Snapshot:
    """Everything one refresh shows, in display order."""

    workers: tuple[WorkerRow, ...]
    #: Seconds between the two scrapes the rates come from; None without rates.
    window: float | None
    consumed: tuple[Count, ...]
    outcomes: tuple[Count, ...]
    plugins: tuple[PluginRow, ...]
    lag: tuple[LagRow, ...]
    dlq: tuple[Count, ...]
    delta: tuple[Count, ...]

    @property
    def unreachable(self) -> tuple[WorkerRow, ...]:
        return tuple(w for w in self.workers if w.error is not None)


def worker_labels(urls: list[str]) -> dict[str, str]:
    """``host:port`` per URL; the whole URL where two URLs share a ``host:port``."""
    netlocs = {url: urllib.parse.urlsplit(url).netloc for url in urls}
    shared = {n for n in netlocs.values() if list(netlocs.values()).count(n) > 1}
    return {url: url if netloc in shared else netloc for url, netloc in netlocs.items()}


def snapshot(current: Mapping[str, Scrape | ScrapeError], previous: Mapping[str, Scrape]) -> Snapshot:
    """Merge this round of scrapes (with the last good scrape of each worker, for rates)."""
    labels = worker_labels(list(current))
    scrapes = {url: s for url, s in current.items() if isinstance(s, Scrape)}
    pairs = {
        url: (previous[url], s) for url, s in scrapes.items() if url in previous and s.at > previous[url].at
    }
    windows = [after.at - before.at for before, after in pairs.values()]

    def counts(name: str, label: str) -> tuple[Count, ...]:
        totals: dict[str, float] = {}
        rates: dict[str, float] = {}
        for scrape in scrapes.values():
            for (key,), value in scrape.by(name, label).items():
                totals[key] = totals.get(key, 0.0) + value
        for before, after in pairs.values():
            old = before.by(name, label)
            for (key,), value in after.by(name, label).items():
                increase = value - old.get((key,), 0.0)
                # A counter that went down: the worker restarted and counts from 0 again.
                rates[key] = rates.get(key, 0.0) + (value if increase < 0 else increase) / (
                    after.at - before.at
                )
        return tuple(
            Count(key, totals[key], rates.get(key, 0.0) if pairs else None) for key in sorted(totals)
        )

    matched = {c.key: c for c in counts("kafka_pipeline_plugin_matched_total", "plugin")}
    sent = {c.key: c for c in counts("kafka_pipeline_plugin_routed_total", "plugin")}
    errors = {c.key: c for c in counts("kafka_pipeline_plugin_errors_total", "plugin")}
    none = Count("", 0.0, 0.0 if pairs else None)
    plugins = tuple(
        PluginRow(
            plugin,
            matched.get(plugin, none),
            sent.get(plugin, none),
            errors.get(plugin, none),
            tuple(
                labels[url]
                for url, scrape in scrapes.items()
                if scrape.by("kafka_pipeline_circuit_open", "plugin").get((plugin,), 0.0) >= 1
            ),
        )
        for plugin in sorted(matched.keys() | sent.keys() | errors.keys())
    )
    lag = tuple(
        sorted(
            (
                LagRow(topic, int(partition), labels[url], value)
                for url, scrape in scrapes.items()
                for (topic, partition), value in scrape.by(
                    "kafka_pipeline_consumer_lag", "topic", "partition"
                ).items()
            ),
            key=lambda row: (row.topic, row.partition, row.worker),
        )
    )
    workers = tuple(
        WorkerRow(labels[url], url, error=result.reason)
        if isinstance(result, ScrapeError)
        else WorkerRow(
            labels[url],
            url,
            ready=result.by("kafka_pipeline_ready").get((), 0.0) >= 1,
            consumed=sum(result.by("kafka_pipeline_consumed_total").values()),
        )
        for url, result in current.items()
    )
    return Snapshot(
        workers=workers,
        window=max(windows) if windows else None,
        consumed=counts("kafka_pipeline_consumed_total", "domain"),
        outcomes=counts("kafka_pipeline_messages_total", "outcome"),
        plugins=plugins,
        lag=lag,
        dlq=counts("kafka_pipeline_dlq_total", "reason"),
        delta=counts("kafka_pipeline_delta_rows_total", "table"),
    )
