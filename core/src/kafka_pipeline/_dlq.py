"""Dead-letter records: what could not be processed, with why and where it came from.

A DLQ record keeps the source record's key and bytes unchanged, so it can be
replayed as it was: to the whole pipeline for invalid input, or to the plugin
named in ``x-dlq-plugin`` only for a plugin failure. The headers say why
(``x-dlq-reason``, ``x-dlq-error``) and where from (``x-source-*``). An error
text is masked as the logs are: a plugin's exception may quote a credential,
and a DLQ topic is read by more people than the worker's log.
"""

from __future__ import annotations

import enum
from typing import Final

from pydantic import ValidationError

from kafka_pipeline._envelope import (
    HEADER_SOURCE_OFFSET,
    HEADER_SOURCE_PARTITION,
    HEADER_SOURCE_TOPIC,
    HEADER_TRACE_ID,
    Headers,
)
from kafka_pipeline._logs import mask_secrets

HEADER_DLQ_REASON: Final = "x-dlq-reason"
HEADER_DLQ_ERROR: Final = "x-dlq-error"
HEADER_DLQ_PLUGIN: Final = "x-dlq-plugin"

#: ``x-dlq-error`` is cut to this many characters: enough to act on, small enough for a header.
MAX_ERROR_LENGTH: Final = 500


class DlqReason(enum.StrEnum):
    """The values of ``x-dlq-reason``."""

    #: The value is not JSON (or is empty, or null).
    INVALID_JSON = "invalid_json"
    #: The value is JSON but does not fit the domain's message model.
    SCHEMA = "schema"
    #: A plugin raised or timed out on every attempt.
    PLUGIN_ERROR = "plugin_error"
    #: The plugin's circuit breaker was open; the plugin was not called.
    CIRCUIT_OPEN = "circuit_open"
    #: Replayed ``--max-attempts`` times and failed each time: no replay takes it again.
    REPLAY_EXHAUSTED = "replay_exhausted"


def _short(text: str) -> str:
    # Masked before it is cut: a secret cut in two would no longer be recognised.
    text = " ".join(mask_secrets(text).split())
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 3] + "..."


def describe_validation_error(exc: ValidationError) -> tuple[DlqReason, str]:
    """The DLQ reason for a failed ``model_validate_json``, and a one-line account of it."""
    errors = exc.errors(include_url=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return DlqReason.INVALID_JSON, _short(f"not valid JSON: {errors[0]['msg']}")
    shown = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors[:3]]
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return DlqReason.SCHEMA, _short(f"{exc.title}: " + "; ".join(shown) + more)


def describe_exception(exc: BaseException, timeout_seconds: float | None = None) -> str:
    """A one-line account of a plugin failure; a timeout says how long was allowed."""
    if isinstance(exc, TimeoutError) and timeout_seconds is not None and not str(exc):
        return f"timed out after {timeout_seconds:g}s"
    message = str(exc)
    return _short(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def dlq_headers(
    reason: DlqReason,
    error: str,
    *,
    topic: str,
    partition: int,
    offset: int,
    plugin: str | None = None,
    trace_id: str | None = None,
    trace: Headers | None = None,
) -> Headers:
    """The headers of a DLQ record for the source record at ``topic``/``partition``/``offset``.

    ``trace``: the W3C trace context (``traceparent``, ``tracestate``) the record carries on.
    """
    headers: Headers = [
        (HEADER_DLQ_REASON, reason.value.encode()),
        (HEADER_DLQ_ERROR, _short(error).encode()),
    ]
    if plugin is not None:
        headers.append((HEADER_DLQ_PLUGIN, plugin.encode()))
    headers += [
        (HEADER_SOURCE_TOPIC, topic.encode()),
        (HEADER_SOURCE_PARTITION, str(partition).encode()),
        (HEADER_SOURCE_OFFSET, str(offset).encode()),
    ]
    if trace_id:
        headers.append((HEADER_TRACE_ID, trace_id.encode()))
    if trace is not None:
        headers += trace
    return headers
