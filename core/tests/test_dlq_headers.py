"""DLQ headers: why a record was parked (``x-dlq-*``) and where it came from (``x-source-*``)."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ValidationError

from kafka_pipeline._dlq import (
    MAX_ERROR_LENGTH,
    DlqReason,
    describe_exception,
    describe_validation_error,
    dlq_headers,
)
from kafka_pipeline._logs import MASK, redact


class Result(BaseModel):
    trace_id: str
    status: str
    retries: int


def validation_error(raw: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Result.model_validate_json(raw)
    return caught.value


def test_invalid_input_headers_give_the_reason_the_error_and_the_source_record() -> None:
    headers = dlq_headers(DlqReason.SCHEMA, "retries: bad", topic="results", partition=2, offset=41)

    assert headers == [
        ("x-dlq-reason", b"schema"),
        ("x-dlq-error", b"retries: bad"),
        ("x-source-topic", b"results"),
        ("x-source-partition", b"2"),
        ("x-source-offset", b"41"),
    ]


def test_plugin_failure_headers_also_name_the_plugin_and_the_trace_id() -> None:
    headers = dict(
        dlq_headers(
            DlqReason.PLUGIN_ERROR,
            "route: boom",
            topic="results",
            partition=0,
            offset=7,
            plugin="esx-processor",
            trace_id="t-1",
        )
    )

    assert (headers["x-dlq-plugin"], headers["x-trace-id"]) == (b"esx-processor", b"t-1")


def test_a_long_error_is_cut_to_fit_a_header() -> None:
    headers = dict(dlq_headers(DlqReason.SCHEMA, "x" * 5000, topic="t", partition=0, offset=0))

    assert len(headers["x-dlq-error"]) == MAX_ERROR_LENGTH
    assert headers["x-dlq-error"].endswith(b"...")


def test_an_error_spanning_lines_becomes_one_line() -> None:
    headers = dict(dlq_headers(DlqReason.SCHEMA, "first\n  second", topic="t", partition=0, offset=0))

    assert headers["x-dlq-error"] == b"first second"


def test_bytes_that_are_not_json_are_invalid_json() -> None:
    reason, error = describe_validation_error(validation_error(b"{nope"))

    assert (reason, error.startswith("not valid JSON: ")) == (DlqReason.INVALID_JSON, True)


def test_json_that_does_not_fit_the_model_is_a_schema_error_naming_each_field() -> None:
    raw = json.dumps({"trace_id": "t", "retries": "many"}).encode()

    reason, error = describe_validation_error(validation_error(raw))

    assert (reason, error) == (
        DlqReason.SCHEMA,
        "Result: status: Field required; retries: Input should be a valid integer, "
        "unable to parse string as an integer",
    )


def test_a_schema_error_with_many_problems_lists_three_and_counts_the_rest() -> None:
    class Wide(BaseModel):
        a: int
        b: int
        c: int
        d: int
        e: int

    with pytest.raises(ValidationError) as caught:
        Wide.model_validate_json(b"{}")

    _, error = describe_validation_error(caught.value)

    assert error == "Wide: a: Field required; b: Field required; c: Field required (+2 more)"


def test_a_timeout_is_described_with_the_time_allowed() -> None:
    assert describe_exception(TimeoutError(), timeout_seconds=2.5) == "timed out after 2.5s"


def test_an_exception_is_described_by_its_type_and_message() -> None:
    assert describe_exception(KeyError("assignment_id")) == "KeyError: 'assignment_id'"


def test_a_known_secret_in_an_exception_is_masked_in_the_header() -> None:
    redact("dlq-secret-sas-token")
    error = describe_exception(PermissionError("blob store refused sig=dlq-secret-sas-token"))

    headers = dict(dlq_headers(DlqReason.PLUGIN_ERROR, error, topic="t", partition=0, offset=0))

    assert headers["x-dlq-error"] == f"PermissionError: blob store refused sig={MASK}".encode()
