"""The ClaimX message-field reference (``kafka-pipeline domains --domain claimx``) leaves nothing to guess."""

from __future__ import annotations

from kafka_pipeline._fields import describe_domain, message_fields
from kafka_pipeline_claimx import CLAIMX_DOMAIN, EnrichmentResult

#: The design document's "Available Routing Fields" of ClaimX, with the types the model gives them.
ROUTING_FIELDS = {
    "event.event_type": "str",
    "event.project_id": "str",
    "success": "bool",
    "error_category": "ErrorCategory | None",
    "is_retryable": "bool",
}


def test_every_field_has_a_description_nested_and_computed_ones_too() -> None:
    undescribed = [f.name for f in message_fields(EnrichmentResult) if not f.description]

    assert undescribed == []


def test_every_routing_field_of_the_design_is_listed_with_its_type() -> None:
    types = {f.name: f.type for f in message_fields(EnrichmentResult)}

    assert {name: types.get(name) for name in ROUTING_FIELDS} == ROUTING_FIELDS


def test_the_derived_trace_id_and_status_are_listed_as_computed_fields() -> None:
    computed = [f.name for f in message_fields(EnrichmentResult) if f.computed]

    assert computed == ["trace_id", "status"]


def test_the_error_categories_are_listed_as_the_values_of_error_category() -> None:
    (category,) = [f for f in message_fields(EnrichmentResult) if f.name == "error_category"]

    assert category.values == (
        '"auth"',
        '"not_found"',
        '"rate_limited"',
        '"transient"',
        '"validation"',
        '"unknown"',
    )


def test_the_trace_id_derivation_names_the_field_it_comes_from() -> None:
    assert "`event.event_id`" in describe_domain(CLAIMX_DOMAIN).trace_id
