"""``ChildrenCollector``: the metrics of several worker processes, served once under the same names.

The supervisor of ``worker --processes N`` runs each child with its own
metrics endpoint on a loopback port, and serves one ``/metrics`` for all of
them: when Prometheus scrapes it, this collector scrapes every child and
merges what they answer. Counters and histograms are summed (the group's
totals); gauges and everything else keep one series per child, with a
``process`` label (its index, ``0`` to ``N-1``, stable across restarts).

A child restarted after a crash starts its counters from 0 again: its
predecessor's last scraped counts are kept and added, so that the sums never
go down (what it counted after the last scrape is lost, as it would be for a
single worker that crashed).
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector, CollectorRegistry

log = logging.getLogger("kafka_pipeline.metrics.server")

#: The label that tells the children's gauges apart.
PROCESS_LABEL: Final = "process"
#: The longest one child's scrape may take; a slow child must not stall the whole scrape.
SCRAPE_TIMEOUT_SECONDS: Final = 2.0
_SUMMED: Final = frozenset({"counter", "histogram"})

SampleKey = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Child:
    """One child process to scrape: its index, which start of it this is, and where it serves."""

    index: int
    generation: int
    url: str | None


def scrape(url: str, path: str, timeout: float = SCRAPE_TIMEOUT_SECONDS) -> tuple[int, str]:
    """Status and body of ``GET url + path``; an error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url + path, timeout=timeout) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode(errors="replace")


class ChildrenCollector(Collector):
    """Merges the ``/metrics`` of the children that ``children()`` lists, at scrape time."""

    def __init__(self, children: Callable[[], Sequence[Child]]) -> None:
        self._children = children
        self._lock = threading.Lock()
        #: Per child index: (generation, its last scraped counter and histogram samples).
        self._last: dict[int, tuple[int, dict[SampleKey, float]]] = {}
        #: Counts of children that were replaced, kept so that the sums never go down.
        self._retired: dict[SampleKey, float] = {}
        #: Name -> (type, help) of every family seen, so that a retired count keeps its family.
        self._families: dict[str, tuple[str, str]] = {}

    def describe(self) -> Iterator[Metric]:
        return iter(())  # registering must not scrape children that may not be up yet

    def collect(self) -> Iterator[Metric]:
        with self._lock:  # two scrapes at once must not retire a child's counts twice
            yield from self._merge()

    def _merge(self) -> list[Metric]:
        counted: list[dict[SampleKey, float]] = []
        gauges: dict[str, list[tuple[str, dict[str, str], float]]] = {}
        for child in self._children():
            families = self._scrape(child)
            summed: dict[SampleKey, float] = {}
            for family in families:
                self._families.setdefault(family.name, (family.type, family.documentation))
                for sample in family.samples:
                    if sample.name.endswith("_created"):
                        continue
                    if family.type in _SUMMED:
                        key = (family.name, sample.name, tuple(sorted(sample.labels.items())))
                        summed[key] = summed.get(key, 0.0) + sample.value
                    else:
                        labels = {**sample.labels, PROCESS_LABEL: str(child.index)}
                        gauges.setdefault(family.name, []).append((sample.name, labels, sample.value))
            counted.append(self._remember(child, summed if families else None))
        sums = dict(self._retired)  # after the children: one of them may just have retired counts
        for summed in counted:
            for key, value in summed.items():
                sums[key] = sums.get(key, 0.0) + value
        metrics: dict[str, Metric] = {}
        for (name, sample_name, label_pairs), value in sums.items():
            self._metric(metrics, name).add_sample(sample_name, dict(label_pairs), value)
        for name, samples in gauges.items():
            metric = self._metric(metrics, name)
            for sample_name, labels, value in samples:
                metric.add_sample(sample_name, labels, value)
        return list(metrics.values())

    def _metric(self, metrics: dict[str, Metric], name: str) -> Metric:
        if name not in metrics:
            kind, documentation = self._families[name]
            metrics[name] = Metric(name, documentation, kind)
        return metrics[name]

    def _scrape(self, child: Child) -> list[Metric]:
        if child.url is None:
            return []
        try:
            status, body = scrape(child.url, "/metrics")
        except OSError as exc:
            log.debug("process %d: no metrics (%s)", child.index, exc)
            return []
        if status != 200:
            return []
        return list(text_string_to_metric_families(body))

    def _remember(self, child: Child, summed: dict[SampleKey, float] | None) -> dict[SampleKey, float]:
        """The child's counts to add: these if it answered, else its last ones; retires a predecessor's."""
        last = self._last.get(child.index)
        if last is not None and last[0] != child.generation:
            for key, value in last[1].items():
                self._retired[key] = self._retired.get(key, 0.0) + value
            last = None
            del self._last[child.index]
        if summed is None:
            return last[1] if last is not None else {}
        self._last[child.index] = (child.generation, summed)
        return summed


def children_registry(children: Callable[[], Sequence[Child]]) -> CollectorRegistry:
    """A registry of its own serving the merged metrics of ``children()``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ChildrenCollector(children))
    return registry
