"""The XACT message-field reference (``kafka-pipeline domains --domain xact``) leaves nothing to guess."""

from __future__ import annotations

from kafka_pipeline._fields import describe_domain, message_fields
from kafka_pipeline_xact import XACT_DOMAIN, DownloadResultMessage

#: The design document's "Available Routing Fields" of XACT, with the types the model gives them.
ROUTING_FIELDS = {
    "status": '"completed" | "failed" | "failed_permanent"',
    "status_subtype": "str | None",
    "file_type": "str | None",
    "http_status": "int | None",
    "retry_count": "int",
    "bytes_downloaded": "int",
    "error_message": "str | None",
    "assignment_id": "str",
}


def test_every_field_has_a_description() -> None:
    undescribed = [f.name for f in message_fields(DownloadResultMessage) if not f.description]

    assert undescribed == []


def test_every_routing_field_of_the_design_is_listed_with_its_type() -> None:
    types = {f.name: f.type for f in message_fields(DownloadResultMessage)}

    assert {name: types.get(name) for name in ROUTING_FIELDS} == ROUTING_FIELDS


def test_each_routing_field_shows_an_example_condition() -> None:
    fields = {f.name: f.description for f in message_fields(DownloadResultMessage)}

    assert [name for name in ROUTING_FIELDS if f"message.{name}" not in fields[name]] == []


def test_the_trace_id_and_status_derivations_are_described() -> None:
    reference = describe_domain(XACT_DOMAIN)

    assert (reference.trace_id, reference.status) == (
        "The result's own `trace_id` field, set by the downloader.",
        "The result's own `status` field.",
    )
