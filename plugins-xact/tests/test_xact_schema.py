"""What a valid XACT download result is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from kafka_pipeline._sinks.schema import table_schema
from kafka_pipeline_xact import XACT_DOMAIN, DownloadResultMessage


def test_unknown_fields_from_a_newer_downloader_are_ignored() -> None:
    message = XACT_DOMAIN.parse(
        '{"trace_id": "t-1", "assignment_id": "A-1", "status": "completed", "mime_type": "x/esx"}'
    )

    assert message.trace_id == "t-1"


def test_a_failed_download_needs_only_its_identity_and_status() -> None:
    message = XACT_DOMAIN.parse('{"trace_id": "t-1", "assignment_id": "A-1", "status": "failed"}')

    assert (message.file_type, message.http_status, message.blob_path, message.bytes_downloaded) == (
        None,
        None,
        None,
        0,
    )


def test_numeric_assignment_ids_are_kept_as_text() -> None:
    message = XACT_DOMAIN.parse('{"trace_id": "t-1", "assignment_id": 4711, "status": "failed"}')

    assert message.assignment_id == "4711"


def test_created_at_is_read_as_an_aware_timestamp() -> None:
    message = XACT_DOMAIN.parse(
        '{"trace_id": "t-1", "assignment_id": "A-1", "status": "completed",'
        ' "created_at": "2026-11-29T08:15:00Z"}'
    )

    assert message.created_at == datetime(2026, 11, 29, 8, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"assignment_id": "A-1", "status": "completed"}', id="no trace_id"),
        pytest.param('{"trace_id": "t-1", "assignment_id": "A-1", "status": "done"}', id="unknown status"),
        pytest.param(
            '{"trace_id": "t-1", "assignment_id": "A-1", "status": "failed", "retry_count": -1}',
            id="negative retry_count",
        ),
    ],
)
def test_results_that_cannot_be_routed_fail_validation(raw: str) -> None:
    with pytest.raises(ValidationError):
        XACT_DOMAIN.parse(raw)


def test_plugins_cannot_change_the_message_other_plugins_see() -> None:
    message = XACT_DOMAIN.parse('{"trace_id": "t-1", "assignment_id": "A-1", "status": "failed"}')

    with pytest.raises(ValidationError):
        message.status = "completed"  # type: ignore[misc]


def test_the_delta_writer_derives_a_column_for_every_field() -> None:
    schema = table_schema(DownloadResultMessage)

    assert set(DownloadResultMessage.model_fields) <= set(schema.names)
