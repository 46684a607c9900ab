"""The ``claimx`` domain: topics, Delta tables and sample messages."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from claimx_support import enrichment_result, failed

from kafka_pipeline_claimx import CLAIMX_DOMAIN, EnrichmentResult, ErrorCategory


def test_results_are_read_from_the_enrichment_results_topic() -> None:
    assert CLAIMX_DOMAIN.source_topic == "claimx.enrichment.results"


def test_invalid_results_go_to_the_results_dlq_by_default() -> None:
    assert CLAIMX_DOMAIN.default_dlq_topic == "claimx.enrichment.results.dlq"


@pytest.mark.parametrize(
    ("raw", "table"),
    [
        pytest.param(enrichment_result(), "claimx_enrichments", id="success"),
        pytest.param(
            enrichment_result(**failed(retryable=False)), "claimx_enrichments_failed", id="permanent"
        ),
        pytest.param(enrichment_result(**failed(retryable=True)), None, id="retryable"),
    ],
)
def test_each_outcome_is_stored_in_its_delta_table(raw: str, table: str | None) -> None:
    assert CLAIMX_DOMAIN.table_for(CLAIMX_DOMAIN.parse(raw)) == table


def _samples(count: int, seed: int = 11) -> list[EnrichmentResult]:
    assert CLAIMX_DOMAIN.sample is not None
    rng = random.Random(seed)
    return [CLAIMX_DOMAIN.parse(json.dumps(CLAIMX_DOMAIN.sample(rng))) for _ in range(count)]


def test_samples_are_valid_and_reproducible_from_the_seed() -> None:
    assert _samples(50, seed=3) == _samples(50, seed=3)


def test_samples_are_mostly_successes_with_both_kinds_of_failure() -> None:
    shares = Counter(m.status for m in _samples(2_000))

    assert shares["completed"] / 2_000 == pytest.approx(0.75, abs=0.05)
    assert min(shares["failed"], shares["failed_permanent"]) / 2_000 >= 0.05


def test_samples_cover_what_the_seed_plugins_route_on() -> None:
    types = {m.event.event_type for m in _samples(2_000)}

    assert {"media.created", "media.updated", "project.created", "project.updated"} < types


def test_samples_give_media_ids_to_media_events_only() -> None:
    samples = _samples(500)

    assert all((m.event.media_id is not None) == m.event.event_type.startswith("media.") for m in samples)


def test_samples_cover_every_event_type_of_every_family() -> None:
    types = {m.event.event_type for m in _samples(2_000)}

    assert types == {
        "media.created",
        "media.updated",
        "media.deleted",
        "project.created",
        "project.updated",
        "project.closed",
        "task.assigned",
        "task.completed",
    }


def test_samples_cover_every_error_category_by_value_and_by_name() -> None:
    assert CLAIMX_DOMAIN.sample is not None
    rng = random.Random(11)
    raw = [CLAIMX_DOMAIN.sample(rng) for _ in range(2_000)]

    categories = {r["error_category"] for r in raw if r["error_category"] is not None}
    assert {ErrorCategory(c) for c in categories} == set(ErrorCategory)
    assert any(c.isupper() for c in categories)


def test_unknown_failures_come_both_retryable_and_not() -> None:
    failures = Counter((m.error_category, m.is_retryable) for m in _samples(2_000) if not m.success)

    assert {(ErrorCategory.UNKNOWN, True), (ErrorCategory.UNKNOWN, False)} <= set(failures)


def test_events_cluster_in_projects_so_an_allow_list_matches_some() -> None:
    projects = Counter(m.event.project_id for m in _samples(2_000))

    assert max(projects.values()) >= 5
