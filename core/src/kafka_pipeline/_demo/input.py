"""The user's own results for the demo: the lines of a JSON Lines file, as the worker will take them.

Each line is classified by the worker's own rule (the domain's model, then
its trace id and status functions), so the summary's counts hold for the
file: a valid line is keyed by its trace id, as the domain's producers key
their results; a line the worker will refuse is produced as it is, without
a key, and counted by the DLQ reason it will get.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kafka_pipeline._demo.samples import SampleKind, SampleRecord
from kafka_pipeline._dlq import DlqReason, describe_validation_error
from kafka_pipeline._domain import Domain
from kafka_pipeline._errors import KafkaPipelineError


class InputError(KafkaPipelineError):
    """The demo's input file cannot be read or holds no message."""


def input_records(domain: Domain[Any], path: Path) -> list[SampleRecord]:
    """One record per non-blank line of ``path``, in order, classified as the worker will take it."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise InputError(f"cannot read --input {path}: {exc.strerror or exc}") from exc
    records = [classify(domain, line) for line in lines if line.strip()]
    if not records:
        raise InputError(f"--input {path} holds no message: write one JSON result per line")
    return records


def classify(domain: Domain[Any], value: bytes) -> SampleRecord:
    """``value`` as a record to produce: keyed by its trace id if valid, else unkeyed with its kind."""
    try:
        message = domain.parse(value)
        key = domain.trace_id(message).encode()
        domain.table_for(message)
    except ValidationError as exc:
        reason, _ = describe_validation_error(exc)
        kind = SampleKind.NOT_JSON if reason is DlqReason.INVALID_JSON else SampleKind.SCHEMA
        return SampleRecord(None, value, kind)
    except Exception:  # the domain's trace-id or status function failed on it: the worker says schema
        return SampleRecord(None, value, SampleKind.SCHEMA)
    return SampleRecord(key, value, SampleKind.VALID)
