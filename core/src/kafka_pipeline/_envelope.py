"""The source record a message came from, and how routed payloads are encoded.

The worker and the dry-run senders share these so that a routed message looks
the same whichever path produced it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

import pydantic_core
from pydantic import BaseModel

HEADER_ROUTED_BY: Final = "x-routed-by"
HEADER_SOURCE_TOPIC: Final = "x-source-topic"
HEADER_SOURCE_PARTITION: Final = "x-source-partition"
HEADER_SOURCE_OFFSET: Final = "x-source-offset"
HEADER_TRACE_ID: Final = "x-trace-id"
#: W3C trace context (https://www.w3.org/TR/trace-context/), as Kafka headers.
HEADER_TRACEPARENT: Final = "traceparent"
HEADER_TRACESTATE: Final = "tracestate"

Headers = list[tuple[str, bytes]]

log = logging.getLogger("kafka_pipeline.worker.routing")


@dataclass(slots=True)
class SourceRecord:
    """Where the message being routed came from."""

    topic: str
    partition: int
    offset: int
    value: bytes
    message: object
    trace_id: str
    key: bytes | None = None
    #: The W3C ``traceparent`` (and ``tracestate``) that records made from this one carry:
    #: the source record's own, or, while a traced plugin call runs, its span's. None: no trace.
    trace_context: Headers | None = None


current_source: Final[ContextVar[SourceRecord]] = ContextVar("kafka_pipeline_source")


def encode_payload(payload: object, source: SourceRecord | None) -> bytes:
    """Serialize a routed payload to JSON bytes.

    Routing the very message being processed forwards its original bytes
    unchanged: no re-serialization on the hot path, and byte-identical output.
    """
    if source is not None and payload is source.message:
        return source.value
    if isinstance(payload, bytes):
        return payload
    try:
        if isinstance(payload, BaseModel):
            return payload.__pydantic_serializer__.to_json(payload)
        if isinstance(payload, str):
            return payload.encode()
        return pydantic_core.to_json(payload)
    except (pydantic_core.PydanticSerializationError, ValueError, UnicodeError) as exc:
        raise TypeError(
            f"send_to_topic(payload=...): a {type(payload).__name__} that cannot be serialised to JSON "
            f"({exc}); send a pydantic model, a JSON-serialisable mapping, str or bytes"
        ) from exc


def encode_key(key: str | bytes | None, source: SourceRecord | None) -> bytes | None:
    """The routed record's key: the plugin's, else the source message's trace id."""
    if key is None:
        return source.trace_id.encode() if source is not None else None
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode()
    raise TypeError(f"send_to_topic(key=...) must be str, bytes or None, not {type(key).__name__}")


#: Kafka's rule for topic names.
_TOPIC_NAME: Final = re.compile(r"[a-zA-Z0-9._-]{1,249}")
#: Topic names already found valid: checked once each, not per record.
_valid_topics: Final[set[str]] = set()


def check_topic(topic: object) -> None:
    """Raise ``TypeError``/``ValueError`` naming ``topic`` unless it is a valid Kafka topic name."""
    if topic in _valid_topics:
        return
    if not isinstance(topic, str):
        raise TypeError(f"send_to_topic(topic=...) must be a str, not {type(topic).__name__}")
    if not _TOPIC_NAME.fullmatch(topic) or topic in {".", ".."}:
        raise ValueError(
            f"send_to_topic(topic={topic!r}): not a valid Kafka topic name "
            "(1 to 249 of a-z, A-Z, 0-9, '.', '_', '-')"
        )
    if len(_valid_topics) < 10_000:  # bounded, whatever a plugin makes up
        _valid_topics.add(topic)


def _header(name: object, value: object) -> tuple[str, bytes]:
    if not isinstance(name, str):
        raise TypeError(
            f"send_to_topic(headers=...): header name {name!r} must be a str, not {type(name).__name__}"
        )
    if isinstance(value, bytes):
        return name, value
    if isinstance(value, str):
        return name, value.encode()
    raise TypeError(
        f"send_to_topic(headers=...): the value of header {name!r} must be str or bytes, "
        f"not {type(value).__name__}"
    )


def routed_headers(
    plugin: str, source: SourceRecord | None, extra: Mapping[str, str | bytes] | None
) -> Headers:
    """Provenance headers naming the plugin and source record, its trace context, then the plugin's own.

    The core's headers win: a plugin's header of a name the core sets on
    this record (any case) is dropped, with a warning once per plugin and
    name, so that no plugin can forge or duplicate provenance or trace context.
    """
    headers: Headers = [(HEADER_ROUTED_BY, plugin.encode())]
    if source is not None:
        headers += [
            (HEADER_SOURCE_TOPIC, source.topic.encode()),
            (HEADER_SOURCE_PARTITION, str(source.partition).encode()),
            (HEADER_SOURCE_OFFSET, str(source.offset).encode()),
            (HEADER_TRACE_ID, source.trace_id.encode()),
        ]
        if source.trace_context is not None:
            headers += source.trace_context
    if extra:
        if not isinstance(extra, Mapping):
            raise TypeError(f"send_to_topic(headers=...) must be a mapping, not {type(extra).__name__}")
        own = [_header(k, v) for k, v in extra.items()]
        if any(name.lower() in _CORE_HEADERS for name, _ in own):
            own = _without_core_headers(plugin, own, {name for name, _ in headers})
        headers += own
    return headers


#: Every header name the core may set on a routed record.
_CORE_HEADERS: Final = frozenset(
    {
        HEADER_ROUTED_BY,
        HEADER_SOURCE_TOPIC,
        HEADER_SOURCE_PARTITION,
        HEADER_SOURCE_OFFSET,
        HEADER_TRACE_ID,
        HEADER_TRACEPARENT,
        HEADER_TRACESTATE,
    }
)
#: (plugin, header) pairs already warned about: once each, bounded whatever plugins do.
_warned: Final[set[tuple[str, str]]] = set()


def _without_core_headers(plugin: str, own: Headers, core: set[str]) -> Headers:
    kept = []
    for name, value in own:
        if name.lower() not in core:
            kept.append((name, value))
            continue
        if (plugin, name) not in _warned and len(_warned) < 1_000:
            _warned.add((plugin, name))
            log.warning(
                "plugin %s: send_to_topic(headers=...) sets %r, which the core sets on every record "
                "it routes; the core's value is kept and the plugin's dropped",
                plugin,
                name,
                extra={"plugin": plugin},
            )
    return kept


#: version-traceid-parentid-flags; a later version may append fields after a dash.
_TRACEPARENT: Final = re.compile(rb"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?", re.S)
_ZERO_TRACE: Final = b"0" * 32
_ZERO_SPAN: Final = b"0" * 16


def trace_context(headers: Sequence[tuple[str, bytes]]) -> Headers | None:
    """The valid W3C ``traceparent`` among ``headers``, with the ``tracestate`` if any; else None.

    An invalid ``traceparent`` (wrong format, version ``ff``, all-zero ids)
    is no trace context, and its ``tracestate`` goes with it, as the W3C
    recommendation says.
    """
    parent = state = None
    for name, value in headers:
        if name == HEADER_TRACEPARENT:
            parent = value
        elif name == HEADER_TRACESTATE:
            state = value
    if parent is None or not isinstance(parent, bytes):
        return None
    match = _TRACEPARENT.fullmatch(parent.strip())
    if (
        match is None
        or match[1] == b"ff"
        or (match[1] == b"00" and match[5] is not None)
        or match[2] == _ZERO_TRACE
        or match[3] == _ZERO_SPAN
    ):
        return None
    context: Headers = [(HEADER_TRACEPARENT, match[0])]
    if state:
        context.append((HEADER_TRACESTATE, state))
    return context


def trace_id_of(context: Headers | None) -> str | None:
    """The W3C trace id (32 hex digits) of a trace context from :func:`trace_context`."""
    if not context:
        return None
    return context[0][1][3:35].decode()


def encode_routed(
    plugin: str,
    topic: str,
    payload: object,
    key: str | bytes | None,
    headers: Mapping[str, str | bytes] | None,
) -> tuple[bytes | None, bytes, Headers]:
    """Key, value and headers of a record ``plugin`` sends to ``topic`` while the current source is routed.

    The one encoding of ``send_to_topic``'s arguments, shared by every
    outbox so that a dry run produces the same bytes as the worker. Invalid
    arguments raise ``TypeError``/``ValueError`` naming the argument, inside
    the plugin's call: a plugin failure for this message, never a crash later.
    """
    check_topic(topic)
    source = current_source.get(None)
    return encode_key(key, source), encode_payload(payload, source), routed_headers(plugin, source, headers)
