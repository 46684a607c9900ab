"""Every metric the Grafana dashboard and the alert rules name is one a real worker exports.

A worker started with ``kafka-pipeline worker --metrics-port``-style
settings routes a batch with every outcome, so that labelled series exist;
its ``/metrics`` is scraped as Prometheus would, and compared with the names
(and label names) in every query of ``deploy/``. A rename in the collector,
or a typo in a panel, fails here instead of leaving an empty panel or an
alert that can never fire.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from deploy_queries import all_queries, parse

from integration.served import ServedWorker, scrape, serve_worker

pytestmark = pytest.mark.integration

#: Named by the dashboard before a worker exports them (the loop-stall metrics are being added).
#: Must shrink to empty: a name here that the worker exports, or that nothing names, fails the test.
NOT_YET_EXPORTED: Final = frozenset(
    {"kafka_pipeline_loop_stalls_total", "kafka_pipeline_loop_stall_seconds_bucket"}
)
#: Series Prometheus makes itself, for every target.
PROMETHEUS_SERIES: Final = frozenset({"up"})
#: Labels Prometheus adds to every series it scrapes.
TARGET_LABELS: Final = frozenset({"job", "instance"})


@pytest.fixture(scope="module")
def served(
    bootstrap: str, parcels_site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedWorker]:
    worker = serve_worker(bootstrap, parcels_site, tmp_path_factory.mktemp("deploy-metrics"))
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def exported(served: ServedWorker) -> dict[str, frozenset[str]]:
    """Each exported sample name, with the label names its series carry."""
    labels: dict[str, set[str]] = {}
    for name, sample_labels in scrape(served.url):
        labels.setdefault(name, set()).update(label for label, _ in sample_labels)
    return {name: frozenset(names) for name, names in labels.items()}


def test_every_metric_the_dashboard_and_the_alerts_name_is_exported(
    exported: dict[str, frozenset[str]],
) -> None:
    referenced = set().union(*(parse(q.expr).metrics for q in all_queries())) - PROMETHEUS_SERIES
    missing = referenced - exported.keys()
    print(
        f"\n{len(referenced)} kafka-pipeline metrics referenced by the dashboard and the alert rules"
        f" (besides Prometheus's own {sorted(PROMETHEUS_SERIES)}):"
        + "".join(
            f"\n  {name}: {'PENDING (not yet exported)' if name in missing else 'exported'}"
            for name in sorted(referenced)
        )
        + f"\n{len(referenced - missing)} exported; pending (NOT_YET_EXPORTED): {sorted(missing) or 'none'}"
    )

    assert {
        "referenced, not exported, not pending": sorted(missing - NOT_YET_EXPORTED),
        "pending, but exported now: remove from NOT_YET_EXPORTED": sorted(NOT_YET_EXPORTED & exported.keys()),
        "pending, but no query names it: remove from NOT_YET_EXPORTED": sorted(NOT_YET_EXPORTED - referenced),
    } == {
        "referenced, not exported, not pending": [],
        "pending, but exported now: remove from NOT_YET_EXPORTED": [],
        "pending, but no query names it: remove from NOT_YET_EXPORTED": [],
    }


def test_every_label_a_query_groups_matches_or_shows_is_on_its_metrics(
    exported: dict[str, frozenset[str]],
) -> None:
    wrong = {}
    for query in all_queries():
        parsed = parse(query.expr)
        if parsed.metrics & NOT_YET_EXPORTED:
            continue  # their labels are not known yet
        known = TARGET_LABELS.union(*(exported.get(name, frozenset()) for name in parsed.metrics))
        unknown = (parsed.labels | query.shown_labels) - known
        if unknown:
            wrong[query.where] = sorted(unknown)

    assert wrong == {}


def test_flushes_are_timed_and_stamped(served: ServedWorker) -> None:
    samples = scrape(served.url)

    # One observation per flush: the histogram is fed where flushes complete.
    assert (
        samples[("kafka_pipeline_flush_seconds_count", ())]
        == samples[("kafka_pipeline_flushes_total", ())]
        >= 1
    )
