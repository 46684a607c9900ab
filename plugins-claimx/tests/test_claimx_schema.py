"""What a valid ClaimX enrichment result is, and the status it counts as."""

from __future__ import annotations

import json

import pytest
from claimx_support import EVENT_ID, enrichment_result, failed
from pydantic import ValidationError

from kafka_pipeline import Routable
from kafka_pipeline._protocols import satisfies
from kafka_pipeline._sinks.schema import table_schema
from kafka_pipeline_claimx import CLAIMX_DOMAIN, EnrichmentResult, ErrorCategory


def test_a_successful_enrichment_is_completed() -> None:
    assert CLAIMX_DOMAIN.parse(enrichment_result()).status == "completed"


def test_a_retryable_failure_is_failed() -> None:
    assert CLAIMX_DOMAIN.parse(enrichment_result(**failed(retryable=True))).status == "failed"


def test_a_failure_that_will_not_be_retried_is_failed_permanent() -> None:
    assert CLAIMX_DOMAIN.parse(enrichment_result(**failed(retryable=False))).status == "failed_permanent"


def test_a_failure_that_does_not_say_whether_it_is_retryable_counts_as_permanent() -> None:
    raw = '{"event": {"event_id": "e-1", "event_type": "media.created", "project_id": "1",'
    raw += ' "occurred_at": "2026-11-29T08:15:00Z"}, "success": false}'

    assert CLAIMX_DOMAIN.parse(raw).status == "failed_permanent"


def test_the_trace_id_is_the_enriched_events_id() -> None:
    assert CLAIMX_DOMAIN.trace_id(CLAIMX_DOMAIN.parse(enrichment_result())) == EVENT_ID


def test_trace_id_and_status_appear_in_the_serialized_row() -> None:
    row = CLAIMX_DOMAIN.parse(enrichment_result(**failed(retryable=True))).model_dump(mode="json")

    assert (row["trace_id"], row["status"]) == (EVENT_ID, "failed")


def test_the_delta_tables_get_trace_id_and_status_columns() -> None:
    schema = table_schema(EnrichmentResult)

    assert {"event", "success", "error_category", "trace_id", "status"} <= set(schema.names)


def test_a_status_in_the_input_does_not_override_the_derived_one() -> None:
    raw = enrichment_result(**failed(retryable=False), status="completed", trace_id="forged")

    message = CLAIMX_DOMAIN.parse(raw)

    assert (message.status, message.trace_id) == ("failed_permanent", EVENT_ID)


def test_results_are_routable_so_cross_domain_plugins_attach() -> None:
    message = CLAIMX_DOMAIN.parse(enrichment_result())

    assert satisfies(EnrichmentResult, Routable)
    assert isinstance(message, Routable)


@pytest.mark.parametrize("spelling", ["not_found", "NOT_FOUND", "Not_Found"])
def test_error_categories_are_read_in_any_case(spelling: str) -> None:
    message = CLAIMX_DOMAIN.parse(enrichment_result(**failed(retryable=False, category=spelling)))

    assert message.error_category is ErrorCategory.NOT_FOUND


def test_error_categories_are_written_as_lower_case_names() -> None:
    assert {c.name.lower() for c in ErrorCategory} == {c.value for c in ErrorCategory}


def test_an_unknown_error_category_fails_validation_instead_of_becoming_unknown() -> None:
    with pytest.raises(ValidationError, match="error_category"):
        CLAIMX_DOMAIN.parse(enrichment_result(**failed(retryable=False, category="quota")))


def test_numeric_ids_are_kept_as_text() -> None:
    message = CLAIMX_DOMAIN.parse(enrichment_result(project_id=552301))

    assert message.event.project_id == "552301"


def test_unknown_fields_are_ignored_at_every_level() -> None:
    message = json.loads(enrichment_result(pipeline_version="2.1"))
    message["event"]["source_system"] = "claimx-webhooks"

    assert CLAIMX_DOMAIN.parse(json.dumps(message)).trace_id == EVENT_ID


def test_an_event_without_media_is_valid() -> None:
    message = json.loads(enrichment_result(event_type="project.created"))
    del message["event"]["media_id"]

    assert CLAIMX_DOMAIN.parse(json.dumps(message)).event.media_id is None


@pytest.mark.parametrize("missing", ["event_id", "event_type", "project_id", "occurred_at"])
def test_an_event_missing_an_identifying_field_fails_validation(missing: str) -> None:
    message = json.loads(enrichment_result())
    del message["event"][missing]

    with pytest.raises(ValidationError, match=missing):
        CLAIMX_DOMAIN.parse(json.dumps(message))
