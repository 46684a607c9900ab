"""The ``xact`` domain: topics, Delta tables and sample messages."""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter

import pytest

from kafka_pipeline import Routable
from kafka_pipeline_xact import XACT_DOMAIN

MINIMAL = '{{"trace_id": "t-1", "assignment_id": "A-1", "status": "{status}"}}'


def test_results_are_read_from_the_downloads_results_topic() -> None:
    assert XACT_DOMAIN.source_topic == "xact.downloads.results"


def test_invalid_results_go_to_the_results_dlq_by_default() -> None:
    assert XACT_DOMAIN.default_dlq_topic == "xact.downloads.results.dlq"


@pytest.mark.parametrize(
    ("status", "table"),
    [
        ("completed", "xact_attachments"),
        ("failed_permanent", "xact_attachments_failed"),
        ("failed", None),
    ],
)
def test_each_status_is_stored_in_its_delta_table(status: str, table: str | None) -> None:
    message = XACT_DOMAIN.parse(MINIMAL.format(status=status))

    assert XACT_DOMAIN.table_for(message) == table


def test_the_trace_id_is_the_messages_own() -> None:
    message = XACT_DOMAIN.parse(MINIMAL.format(status="failed"))

    assert XACT_DOMAIN.trace_id(message) == "t-1"


def test_results_are_routable_so_cross_domain_plugins_attach() -> None:
    assert XACT_DOMAIN.satisfies(Routable)


def _samples(count: int, seed: int = 7) -> list[dict[str, object]]:
    assert XACT_DOMAIN.sample is not None
    rng = random.Random(seed)
    return [XACT_DOMAIN.sample(rng) for _ in range(count)]


def test_every_sample_is_a_valid_result() -> None:
    for raw in _samples(500):
        XACT_DOMAIN.parse(json.dumps(raw))


def test_samples_are_reproducible_from_the_seed() -> None:
    assert _samples(20, seed=3) == _samples(20, seed=3)


def test_samples_are_mostly_completed_with_some_retried_and_some_permanent_failures() -> None:
    shares = Counter(str(raw["status"]) for raw in _samples(2_000))

    assert shares["completed"] / 2_000 == pytest.approx(0.7, abs=0.05)
    assert shares["failed"] / 2_000 == pytest.approx(0.2, abs=0.05)
    assert shares["failed_permanent"] / 2_000 == pytest.approx(0.1, abs=0.05)


def test_samples_cover_what_the_seed_plugins_route_on() -> None:
    samples = _samples(2_000)

    assert {"esx", "pdf", "jpg"} <= {raw["file_type"] for raw in samples}
    assert {"estimateCreated", "documentsReceived"} < {raw["status_subtype"] for raw in samples}
    assert {raw["retry_count"] for raw in samples} == set(range(7))


def test_samples_cover_every_http_status_a_rule_may_test() -> None:
    statuses = {raw["http_status"] for raw in _samples(2_000)}

    assert statuses == {200, 206, 403, 404, 500, 502, 503, None}


def test_samples_cover_every_status_and_subtype_and_a_missing_subtype() -> None:
    samples = _samples(2_000)

    assert {raw["status"] for raw in samples} == {"completed", "failed", "failed_permanent"}
    assert {raw["status_subtype"] for raw in samples} == {
        "estimateCreated",
        "documentsReceived",
        "estimateUpdated",
        "photosReceived",
        "invoiceReceived",
        "noteAdded",
        None,
    }


def test_samples_have_esx_in_both_cases_and_failures_without_a_file_type() -> None:
    file_types = {raw["file_type"] for raw in _samples(2_000)}

    assert {"esx", "ESX", None} <= file_types


def test_permanent_failures_span_the_failure_alerters_thresholds() -> None:
    retries = {raw["retry_count"] for raw in _samples(2_000) if raw["status"] == "failed_permanent"}

    # Below the default min_retries of 3, medium from 3, high from 5.
    assert retries == {2, 3, 4, 5, 6}


def test_samples_include_large_files_timeouts_and_numeric_assignment_ids() -> None:
    samples = _samples(2_000)

    assert any(isinstance(n := raw["bytes_downloaded"], int) and n > 10_000_000 for raw in samples)
    assert any("timeout" in str(raw["error_message"] or "") for raw in samples)
    assert any(isinstance(raw["assignment_id"], int) for raw in samples)


def test_samples_are_about_430_bytes_of_json() -> None:
    mean = statistics.mean(len(json.dumps(raw)) for raw in _samples(500))

    assert 380 <= mean <= 480
